"""Each workload really trains on the CPU (the loss falls); FLOP and parameter counts are right."""

import pytest
import torch

from core.facts.spec import ProbeSpec
from core.measure import backends
from core.measure.probe import count_flops, run_probe
from core.measure.stats import LoopPolicy
from core.measure.workloads import WORKLOADS, cnn, gemm, mlp, transformer

SHORT = LoopPolicy(seconds=0.3, warmup_bound_s=0.5, warmup_bound_cap_s=2.0, min_steps=8)


@pytest.fixture(scope="module")
def cpu():
    return backends.open_backend(backends.find("cpu", backends.discover()))


@pytest.mark.parametrize("workload", ["gemm", "mlp", "cnn", "transformer"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_workload_trains_and_loss_falls(workload, precision, cpu):
    batch = {"gemm": 256, "mlp": 256, "cnn": 16, "transformer": 8}[workload]
    spec = ProbeSpec(workload=workload, size="S", precision=precision, batch_size=batch)
    result = run_probe(spec, cpu, "run", policy=SHORT)
    assert result.status == "ok"
    assert result.loss_last < result.loss_first, (result.loss_first, result.loss_last)
    assert result.steps >= 8 and len(result.step_times_s) == result.steps
    assert result.samples_per_s > 0 and result.achieved_tflops > 0
    assert result.step_time_p10_s <= result.step_time_s <= result.step_time_p90_s
    assert result.params > 0 and result.peak_memory_bytes > 0
    assert result.env["torch"] == torch.__version__ and len(result.env["host"]) == 12
    assert result.energy is None  # no meters given


def test_transformer_reports_tokens_per_second(cpu):
    spec = ProbeSpec(workload="transformer", size="S", batch_size=4)
    result = run_probe(spec, cpu, "run", policy=SHORT)
    context = WORKLOADS["transformer"].sizes["S"]["context"]
    assert result.tokens_per_s == pytest.approx(result.samples_per_s * context)


def test_gemm_flops_match_analytic_count(cpu):
    spec = ProbeSpec(workload="gemm", size="S", batch_size=128)
    result = run_probe(spec, cpu, "run", policy=SHORT)
    assert result.flops_per_step == gemm.analytic_flops(512, 128)


def test_mlp_flops_match_analytic_count(cpu):
    spec = ProbeSpec(workload="mlp", size="S", batch_size=64)
    result = run_probe(spec, cpu, "run", policy=SHORT)
    p = WORKLOADS["mlp"].sizes["S"]
    assert result.flops_per_step == mlp.analytic_flops(p["features"], p["hidden"], p["layers"], p["classes"], 64)


def test_resnet50_is_the_reference_model():
    model = cnn.make_model(dict(WORKLOADS["cnn"].sizes["resnet50"]))
    assert sum(p.numel() for p in model.parameters()) == 25_557_032  # torchvision resnet50
    model = cnn.make_model(dict(WORKLOADS["cnn"].sizes["resnet18"]))
    assert sum(p.numel() for p in model.parameters()) == 11_689_512  # torchvision resnet18


def test_resnet50_forward_flops_match_published_figure():
    model = cnn.make_model(dict(WORKLOADS["cnn"].sizes["resnet50"])).eval()
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    # 4.1 GMACs per 224x224 image is the commonly cited figure (convolutions and the classifier).
    assert counter.get_total_flops() / 2 == pytest.approx(4.09e9, rel=0.02)


def test_gpt2_small_is_the_reference_model():
    model = transformer.make_model(dict(WORKLOADS["transformer"].sizes["gpt2-small"]))
    assert sum(p.numel() for p in model.parameters()) == 124_439_808  # GPT-2 small, tied embeddings


def test_channels_last_cnn_trains(cpu):
    spec = ProbeSpec(workload="cnn", size="S", batch_size=8, channels_last=True)
    result = run_probe(spec, cpu, "run", policy=SHORT)
    assert result.ok and result.channels_last and result.loss_last < result.loss_first


def test_count_flops_of_a_step_without_matmuls_is_none():
    flops, method = count_flops(lambda: torch.ones(3) + 1)
    assert flops is None and "FlopCounterMode" in method
