"""The workload catalog: names, size presets and units, with no torch import.

A workload module (``gemm``, ``mlp``, ``cnn``, ``transformer``) imports torch and is loaded only
inside a probe process, through :func:`load_builder`. A custom workload is named
``package.module:function``; the function takes ``(params, batch_size, device)`` like the
built-ins' ``build`` and returns a :class:`core.measure.workloads.base.Workload`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping


@dataclass(frozen=True)
class WorkloadInfo:
    name: str
    description: str
    unit: str  # what one sample is, for humans: "row", "image", "sequence"
    sizes: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


def _frozen(sizes: dict) -> Mapping[str, Mapping[str, object]]:
    return MappingProxyType({k: MappingProxyType(v) for k, v in sizes.items()})


WORKLOADS: Mapping[str, WorkloadInfo] = MappingProxyType({
    "gemm": WorkloadInfo(
        "gemm", "one square linear layer: the matrix-multiply ceiling of a device", "row",
        _frozen({
            "S": {"n": 512, "batch_size": 512},
            "M": {"n": 2048, "batch_size": 2048},
            "L": {"n": 4096, "batch_size": 4096},
            "XL": {"n": 8192, "batch_size": 8192},
        })),
    "mlp": WorkloadInfo(
        "mlp", "multi-layer perceptron, tabular classification", "row",
        _frozen({
            "S": {"features": 64, "hidden": 256, "layers": 3, "classes": 10, "batch_size": 4096},
            "M": {"features": 256, "hidden": 1024, "layers": 4, "classes": 100, "batch_size": 1024},
            "L": {"features": 1024, "hidden": 4096, "layers": 6, "classes": 1000, "batch_size": 4096},
        })),
    "cnn": WorkloadInfo(
        "cnn", "ResNet family, image classification", "image",
        _frozen({
            "S": {"block": "basic", "layers": (1, 1, 1), "widths": (16, 32, 64), "image": 32,
                  "classes": 10, "stem": "cifar", "batch_size": 32},
            "M": {"block": "basic", "layers": (2, 2, 2, 2), "widths": (64, 128, 256, 512), "image": 128,
                  "classes": 100, "stem": "imagenet", "batch_size": 32},
            "L": {"block": "bottleneck", "layers": (3, 4, 6, 3), "widths": (64, 128, 256, 512),
                  "image": 224, "classes": 1000, "stem": "imagenet", "batch_size": 64},
            "resnet18": {"block": "basic", "layers": (2, 2, 2, 2), "widths": (64, 128, 256, 512),
                         "image": 224, "classes": 1000, "stem": "imagenet", "batch_size": 64},
            "resnet50": {"block": "bottleneck", "layers": (3, 4, 6, 3), "widths": (64, 128, 256, 512),
                         "image": 224, "classes": 1000, "stem": "imagenet", "batch_size": 64},
        })),
    "transformer": WorkloadInfo(
        "transformer", "GPT-style decoder language model", "sequence",
        _frozen({
            "S": {"layers": 2, "d_model": 128, "heads": 4, "context": 64, "vocab": 1024, "batch_size": 16},
            "M": {"layers": 6, "d_model": 384, "heads": 6, "context": 256, "vocab": 8192, "batch_size": 16},
            "L": {"layers": 12, "d_model": 768, "heads": 12, "context": 1024, "vocab": 50257, "batch_size": 8},
            "gpt2-small": {"layers": 12, "d_model": 768, "heads": 12, "context": 1024, "vocab": 50257,
                           "batch_size": 8},
        })),
    "zoo": WorkloadInfo(
        "zoo", "transformers models from their config classes (python -m core analyze --model NAME)", "sample",
        _frozen({name: {"model": name, "batch_size": batch, "seq": seq} for name, batch, seq in (
            ("gpt2-small", 8, 1024), ("gpt2-medium", 8, 1024), ("gpt2-large", 4, 1024), ("gpt2-xl", 2, 1024),
            ("llama-3-8b-like", 1, 2048), ("llama-3-70b-like", 1, 2048), ("mistral-7b-like", 1, 2048),
            ("bert-base", 8, 512), ("bert-large", 8, 512), ("vit-base", 32, None), ("vit-large", 16, None),
            ("resnet-50", 32, None), ("whisper-small", 8, 448), ("t5-base", 8, 512))})),
})


def is_custom_workload(name: str) -> bool:
    return ":" in name


def load_builder(name: str) -> Callable:
    """Return the ``build(params, batch_size, device)`` function of a workload (imports torch)."""
    if is_custom_workload(name):
        module_name, _, func_name = name.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, func_name)
    module = importlib.import_module(f"core.measure.workloads.{name}")
    return module.build


def size_params(name: str, size: str) -> dict:
    if is_custom_workload(name):
        return {"size": size}
    return dict(WORKLOADS[name].sizes[size])
