"""Models people bring: any transformers architecture built from its config class (``hf:GPT2LMHeadModel``
with ``n_layer=24,…`` overrides), named presets written as config values with their source, and the
built-in workloads (``cnn/resnet50``). Nothing is ever downloaded: offline mode is forced and models
are built from config classes, with random weights.

Each model comes with a batch of the right shape for its kind (causal LM, masked LM, sequence or
image classification, speech, seq2seq) and a loss: transformers heads compute it from ``labels``.
torch and transformers are imported inside the functions: this module is loaded by the probing
side only (the CLI's ``analyze`` and the probe child), never by ``import core`` or the dashboard.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from core.errors import AccelscopeError

HF_PREFIX = "hf:"
DEFAULT_SEQ = 2048  # a language model's sequence when neither --seq nor a shorter context is given
IMAGE_SIZE = 224


@dataclass(frozen=True)
class Preset:
    """A named model: a transformers class and the config values that make it, with their source."""

    model_class: str
    config: Mapping[str, object]
    source: str
    note: str = ""


def _preset(model_class: str, source: str, note: str = "", **config) -> Preset:
    return Preset(model_class, MappingProxyType(config), source, note)


_HUB = "https://huggingface.co/{}/blob/main/config.json"
PRESETS: Mapping[str, Preset] = MappingProxyType({
    "gpt2-small": _preset("GPT2LMHeadModel", _HUB.format("openai-community/gpt2"),
                          n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257),
    "gpt2-medium": _preset("GPT2LMHeadModel", _HUB.format("openai-community/gpt2-medium"),
                           n_layer=24, n_embd=1024, n_head=16, n_positions=1024, vocab_size=50257),
    "gpt2-large": _preset("GPT2LMHeadModel", _HUB.format("openai-community/gpt2-large"),
                          n_layer=36, n_embd=1280, n_head=20, n_positions=1024, vocab_size=50257),
    "gpt2-xl": _preset("GPT2LMHeadModel", _HUB.format("openai-community/gpt2-xl"),
                       n_layer=48, n_embd=1600, n_head=25, n_positions=1024, vocab_size=50257),
    "llama-3-8b-like": _preset(
        "LlamaForCausalLM", _HUB.format("meta-llama/Meta-Llama-3-8B"), "random weights, the published shape",
        hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192,
        rope_parameters={"rope_theta": 500000.0, "rope_type": "default"}, tie_word_embeddings=False),
    "llama-3-70b-like": _preset(
        "LlamaForCausalLM", _HUB.format("meta-llama/Meta-Llama-3-70B"), "random weights, the published shape",
        hidden_size=8192, intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64,
        num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192,
        rope_parameters={"rope_theta": 500000.0, "rope_type": "default"}, tie_word_embeddings=False),
    "mistral-7b-like": _preset(
        "MistralForCausalLM", _HUB.format("mistralai/Mistral-7B-v0.1"), "random weights, the published shape",
        hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768, sliding_window=4096,
        tie_word_embeddings=False),
    "bert-base": _preset("BertForMaskedLM", _HUB.format("google-bert/bert-base-uncased"),
                         hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                         vocab_size=30522, max_position_embeddings=512),
    "bert-large": _preset("BertForMaskedLM", _HUB.format("google-bert/bert-large-uncased"),
                          hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                          vocab_size=30522, max_position_embeddings=512),
    "vit-base": _preset("ViTForImageClassification", _HUB.format("google/vit-base-patch16-224"),
                        hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                        image_size=224, patch_size=16, num_labels=1000),
    "vit-large": _preset("ViTForImageClassification", _HUB.format("google/vit-large-patch16-224"),
                         hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                         image_size=224, patch_size=16, num_labels=1000),
    "resnet-50": _preset("ResNetForImageClassification", _HUB.format("microsoft/resnet-50"),
                         depths=[3, 4, 6, 3], hidden_sizes=[256, 512, 1024, 2048], layer_type="bottleneck",
                         embedding_size=64, num_labels=1000),
    "whisper-small": _preset("WhisperForConditionalGeneration", _HUB.format("openai/whisper-small"),
                             d_model=768, encoder_layers=12, decoder_layers=12, encoder_attention_heads=12,
                             decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
                             vocab_size=51865, num_mel_bins=80, max_source_positions=1500,
                             max_target_positions=448),
    "t5-base": _preset("T5ForConditionalGeneration", _HUB.format("google-t5/t5-base"),
                       d_model=768, d_ff=3072, d_kv=64, num_layers=12, num_decoder_layers=12, num_heads=12,
                       vocab_size=32128, decoder_start_token_id=0, pad_token_id=0),
})

KINDS = ("causal-lm", "masked-lm", "sequence-classification", "image-classification", "speech", "seq2seq")


def model_kind(model_class: str) -> str | None:
    """What a transformers head trains on, from its class name."""
    if model_class.startswith("Whisper") and model_class.endswith("ForConditionalGeneration"):
        return "speech"
    for suffix, kind in (("ForCausalLM", "causal-lm"), ("LMHeadModel", "causal-lm"), ("ForMaskedLM", "masked-lm"),
                         ("ForSequenceClassification", "sequence-classification"),
                         ("ForImageClassification", "image-classification"),
                         ("ForConditionalGeneration", "seq2seq"), ("ForSeq2SeqLM", "seq2seq")):
        if model_class.endswith(suffix):
            return kind
    return None


def parse_overrides(text: str | None) -> dict[str, object]:
    """``n_layer=24,n_embd=1024,tie_word_embeddings=false`` → typed values (int, float, bool, str)."""
    overrides: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise AccelscopeError(f"--config: {item!r} is not key=value (e.g. --config n_layer=24,n_embd=1024)")
        overrides[key.strip()] = _typed(raw.strip())
    return overrides


def _typed(raw: str) -> object:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


@dataclass(frozen=True)
class ModelSpec:
    """A model to analyse or probe: a preset name, ``hf:<transformers class>``, or a built-in
    ``workload/size`` (``cnn/resnet50``); ``overrides`` change config values."""

    name: str
    overrides: Mapping[str, object] = field(default_factory=dict)

    @property
    def is_builtin(self) -> bool:
        return "/" in self.name and not self.name.startswith(HF_PREFIX) and not self.is_custom

    @property
    def is_custom(self) -> bool:
        """``package.module:function``: your own PyTorch model (see build_custom)."""
        return ":" in self.name and not self.name.startswith(HF_PREFIX)

    def model_class(self) -> str:
        if self.name in PRESETS:
            return PRESETS[self.name].model_class
        if self.name.startswith(HF_PREFIX):
            return self.name[len(HF_PREFIX):]
        raise AccelscopeError(f"unknown model {self.name!r}: use a preset ({', '.join(PRESETS)}), "
                              "hf:<transformers model class> (e.g. hf:GPT2LMHeadModel), a built-in workload/size "
                              "(e.g. cnn/resnet50), or your own package.module:function")

    def source(self) -> str:
        if self.name in PRESETS:
            return PRESETS[self.name].source
        if self.is_custom:
            return "your function"
        return "built-in workload" if self.is_builtin else "transformers config class defaults"


def offline() -> None:
    """No hub access, ever: models are built from config classes."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def hf_config(spec: ModelSpec):
    """The transformers config of ``spec``: the class's defaults, the preset's values, the overrides."""
    offline()
    try:
        import transformers
    except ImportError as exc:
        raise AccelscopeError("transformers is not installed: pip install -r requirements.txt") from exc
    model_class = getattr(transformers, spec.model_class(), None)
    if model_class is None or not hasattr(model_class, "config_class"):
        raise AccelscopeError(f"transformers {transformers.__version__} has no model class {spec.model_class()!r} "
                              "(the name is case-sensitive, e.g. GPT2LMHeadModel, LlamaForCausalLM)")
    values = {**(PRESETS[spec.name].config if spec.name in PRESETS else {}), **spec.overrides}
    values = {key: dict(value) if isinstance(value, Mapping) else value for key, value in values.items()}
    config = model_class.config_class()
    for key, value in values.items():
        if key in spec.overrides and not hasattr(config, key):
            raise AccelscopeError(f"--config: {model_class.config_class.__name__} has no field {key!r}")
        setattr(config, key, value)
    if hasattr(config, "loss_type"):
        config.loss_type = None
    return model_class, config


ATTENTION_DROPOUT_FIELDS = ("attn_pdrop", "attention_dropout", "attention_probs_dropout_prob", "dropout_rate")


def attention_dropout(config) -> dict[str, float]:
    """The config's attention-dropout fields that are on: PyTorch's CPU attention keeps the
    attention matrix for them (GPU flash kernels do not), which changes the memory estimate."""
    return {key: float(getattr(config, key)) for key in ATTENTION_DROPOUT_FIELDS
            if isinstance(getattr(config, key, None), (int, float)) and getattr(config, key) > 0}


def without_attention_dropout(spec: ModelSpec) -> ModelSpec:
    """``spec`` with its attention dropout off: the memory GPU attention kernels need (they keep no
    attention matrix for dropout; the CPU's do)."""
    return ModelSpec(spec.name, {**spec.overrides, **{key: 0.0 for key in attention_dropout(hf_config(spec)[1])}})


def sequence_length(config, seq: int | None) -> int:
    """The sequence to train on: ``seq`` if given (refused beyond the model's context), else the
    model's context up to DEFAULT_SEQ."""
    context = next((getattr(config, name) for name in ("n_positions", "max_position_embeddings",
                                                        "max_target_positions") if getattr(config, name, None)),
                   None)
    if seq is not None:
        if seq < 1:
            raise AccelscopeError("--seq must be at least 1")
        if context and seq > context:
            raise AccelscopeError(f"--seq {seq} is longer than the model's context ({context} positions)")
        return seq
    return min(context or DEFAULT_SEQ, DEFAULT_SEQ)


@dataclass
class Training:
    """A model and the loss of one forward pass over its batch (inputs and labels already built);
    ``make_optimizer`` is the built-in workload's own optimizer, None for transformers models."""

    model: object
    forward_loss: Callable[[], object]
    kind: str
    seq: int | None
    samples: int
    make_optimizer: Callable | None = None
    inputs: dict | None = None  # a transformers model's keyword arguments, labels included


def build_training(spec: ModelSpec, batch: int, seq: int | None, device: str = "cpu", seed: int = 0,
                   initialise: bool = True, checkpointing: bool = False) -> Training:
    """Build the model (random weights) and one learnable batch on ``device`` (under a FakeTensorMode
    nothing is allocated). ``initialise=False`` skips weight initialisation (values do not matter
    to an analysis on fake tensors, and some initialisers read data)."""
    if batch < 1:
        raise AccelscopeError("--batch must be at least 1")
    if spec.is_custom:
        return build_custom(spec, batch, seq, device)
    if spec.is_builtin:
        if checkpointing:
            raise AccelscopeError("activation checkpointing is for transformers models (hf:… or a preset)")
        if seq is not None:
            raise AccelscopeError("--seq: a built-in size fixes its own sequence; use a preset (gpt2-small) or "
                                  "hf:… to choose one")
        return _builtin_training(spec, batch, device)
    model_class, config = hf_config(spec)
    kind = model_kind(model_class.__name__)
    if kind is None:
        raise AccelscopeError(f"{model_class.__name__}: no training task for this head; use a class ending in "
                              "ForCausalLM, LMHeadModel, ForMaskedLM, ForSequenceClassification, "
                              "ForImageClassification or ForConditionalGeneration")
    import torch

    from transformers.initialization import no_init_weights

    torch.manual_seed(seed)
    try:
        with torch.device(device), (contextlib.nullcontext() if initialise else no_init_weights()):
            model = model_class(config)
    except (ValueError, TypeError, ZeroDivisionError, AttributeError) as exc:
        raise AccelscopeError(f"{model_class.__name__} cannot be built with these config values "
                              f"({dict(spec.overrides) or 'the preset'}): {exc}") from None
    if not initialise:
        model.tie_weights()  # done by the initialisation that was skipped (GPT-2 shares its embedding and head)
    if checkpointing:
        if not getattr(model, "supports_gradient_checkpointing", False):
            raise AccelscopeError(f"{model_class.__name__} does not support activation checkpointing in transformers")
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    inputs, seq = _inputs(kind, config, batch, seq, device, seed)
    return Training(model, lambda: model(**inputs).loss, kind, seq, batch, inputs=inputs)


def batch_inputs(spec: ModelSpec, batch: int, seq: int | None, device: str, seed: int) -> dict:
    """Another learnable batch for ``spec`` (a different seed), on ``device``."""
    _, config = hf_config(spec)
    return _inputs(model_kind(spec.model_class()), config, batch, seq, device, seed)[0]


def _inputs(kind: str, config, batch: int, seq: int | None, device: str, seed: int) -> tuple[dict, int | None]:
    """A learnable synthetic batch: token sequences are arithmetic progressions modulo the vocabulary
    (the next token follows from the context), images and spectrograms carry their class as a bias."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    if kind in ("image-classification",):
        size = int(getattr(config, "image_size", IMAGE_SIZE) or IMAGE_SIZE)
        labels = torch.randint(0, int(config.num_labels), (batch,), generator=generator)
        pixels = torch.randn(batch, int(getattr(config, "num_channels", 3)), size, size, generator=generator)
        pixels += (labels.float() / config.num_labels).view(-1, 1, 1, 1)
        return {"pixel_values": pixels.to(device), "labels": labels.to(device)}, None
    if kind == "speech":
        frames = 2 * int(config.max_source_positions)  # the encoder's two stride-2 convolutions halve it
        target = sequence_length(config, seq)
        labels = _progressions(batch, target, int(config.vocab_size), generator)
        features = torch.randn(batch, int(config.num_mel_bins), frames, generator=generator)
        features += (labels[:, :1].float() / config.vocab_size).view(-1, 1, 1)
        return {"input_features": features.to(device), "labels": labels.to(device)}, target
    seq = sequence_length(config, seq)
    tokens = _progressions(batch, seq, int(config.vocab_size), generator)
    if kind == "causal-lm":
        return {"input_ids": tokens.to(device), "labels": tokens.to(device)}, seq
    if kind == "masked-lm":
        masked = torch.rand(tokens.shape, generator=generator) < 0.15  # BERT's 15% (no data-dependent shapes)
        labels = torch.where(masked, tokens, torch.full_like(tokens, -100))
        corrupted = torch.where(masked, torch.full_like(tokens, int(getattr(config, "mask_token_id", None) or 0)),
                                tokens)
        return {"input_ids": corrupted.to(device), "labels": labels.to(device)}, seq
    if kind == "sequence-classification":
        labels = tokens[:, 0] % int(config.num_labels)
        return {"input_ids": tokens.to(device), "labels": labels.to(device)}, seq
    return {"input_ids": tokens.to(device), "labels": tokens.flip(1).to(device)}, seq  # seq2seq: reverse the input


def _progressions(batch: int, seq: int, vocab: int, generator):
    import torch

    start = torch.randint(0, vocab, (batch, 1), generator=generator)
    stride = torch.randint(1, 8, (batch, 1), generator=generator)
    return (start + stride * torch.arange(seq).view(1, -1)) % vocab


def build_custom(spec: ModelSpec, batch: int, seq: int | None, device: str) -> Training:
    """Your own model: ``package.module:function`` called as ``function(batch_size, seq, device)``
    returns ``(model, inputs)``, where ``model(**inputs)`` gives the loss (a scalar tensor) or an
    object with ``.loss`` (as transformers heads do). ``seq`` is --seq (None if not given)."""
    import importlib

    module_name, _, function_name = spec.name.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise AccelscopeError(f"--model {spec.name}: cannot import it ({exc}); it must be package.module:function "
                              "on the Python path") from None
    try:
        built = function(batch, seq, device)
    except Exception as exc:  # the user's code: say whose error it is
        raise AccelscopeError(f"--model {spec.name}: your function raised {type(exc).__name__}: {exc}") from None
    if not (isinstance(built, tuple) and len(built) == 2 and isinstance(built[1], dict)):
        raise AccelscopeError(f"--model {spec.name}: the function must return (model, inputs) with inputs a dict of "
                              "keyword arguments for model(**inputs)")
    model, inputs = built

    def forward_loss():
        output = model(**inputs)
        return output.loss if hasattr(output, "loss") else output

    return Training(model, forward_loss, "custom", seq, batch, inputs=inputs)


def _builtin_training(spec: ModelSpec, batch: int, device: str) -> Training:
    from core.measure.workloads import WORKLOADS, load_builder, size_params

    workload, _, size = spec.name.partition("/")
    if workload not in WORKLOADS or size not in WORKLOADS[workload].sizes:
        raise AccelscopeError(f"unknown built-in workload {spec.name!r}")
    params = {**size_params(workload, size), **spec.overrides}
    built = load_builder(workload)(params, batch, device)
    x, y = built.batches[0]
    seq = int(params["context"]) if "context" in params else None
    return Training(built.model, lambda: built.loss_fn(built.model(x), y), "builtin", seq, batch,
                    built.make_optimizer)
