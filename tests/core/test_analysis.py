"""Your model, analysed without running it: parameters, FLOPs and memory on fake tensors, checked
against a real training step; fit and speed on every catalog accelerator."""

import json
import subprocess
import sys

import pytest

from core.errors import AccelscopeError
from core.facts.analysis import MemoryBreakdown, ModelAnalysis
from core.views import catalog, fit

pytest.importorskip("transformers")

CATALOG = catalog.load_catalog()
BY_MODEL = {a.model: a for a in CATALOG}


def test_gpt2_from_its_config_class_has_its_published_size_and_flops():
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec

    analysis = analyze(ModelSpec("hf:GPT2LMHeadModel"), batch=8, seq=1024, precision="bf16")
    assert analysis.params == 124_439_808 and analysis.kind == "causal-lm" and analysis.seq == 1024
    assert analysis.flops_per_sample == pytest.approx(875e9, rel=0.01)
    memory = analysis.memory
    # mixed precision as the probe trains: fp32 weights and gradients, AdamW's two fp32 moments
    assert memory.weights_bytes == 4 * analysis.params and memory.gradients_bytes == 4 * analysis.params
    assert memory.optimizer_state_bytes == 8 * analysis.params
    assert memory.weight_copies_bytes == pytest.approx(2 * analysis.params, rel=0.01)  # autocast's bf16 copies
    assert memory.peak_bytes > memory.states_bytes + memory.activations_bytes * 0.5


def test_the_estimate_is_within_15_percent_of_a_real_training_step():
    """The same model trained for real (two AdamW steps, fp32) in a fresh process: its resident-set
    growth (glibc returning freed tensors, MEASURE_ENV) against the fake-tensor estimate."""
    import os

    from core.measure.analysis import MEASURE_ENV, analyze
    from core.measure.models import ModelSpec

    overrides = "n_layer=4,n_embd=256,n_head=4,n_positions=256"
    from core.measure.models import parse_overrides

    estimate = analyze(ModelSpec("hf:GPT2LMHeadModel", parse_overrides(overrides)), 8, 256, "fp32").memory.peak_bytes
    out = subprocess.run([sys.executable, "-m", "core.measure.analysis", "hf:GPT2LMHeadModel", "8", "256", "fp32",
                          overrides], capture_output=True, text=True, check=True, timeout=300,
                         env={**os.environ, **MEASURE_ENV})
    measured = int(out.stdout.strip().splitlines()[-1])
    assert abs(estimate / measured - 1) <= 0.15, (estimate, measured)


@pytest.mark.parametrize("name,kind", [("bert-base", "masked-lm"), ("vit-base", "image-classification"),
                                       ("whisper-small", "speech"), ("t5-base", "seq2seq")])
def test_every_model_kind_gets_inputs_of_the_right_shape(name, kind):
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec

    analysis = analyze(ModelSpec(name), batch=1, seq=64, precision="fp32")
    assert analysis.kind == kind and analysis.flops_per_sample > 0 and analysis.memory.peak_bytes > 0


@pytest.mark.parametrize("name,overrides,seq,message", [
    ("hf:NoSuchModel", {}, None, "has no model class 'NoSuchModel'"),
    ("gpt2-small", {"n_lawyer": 2}, None, "has no field 'n_lawyer'"),
    ("gpt2-small", {}, 4096, "longer than the model's context \\(1024"),
    ("llama-9000", {}, None, "unknown model 'llama-9000'"),
    ("hf:GPT2Model", {}, None, "no training task for this head"),
    ("gpt2-small", {"n_head": 7}, None, "cannot be built with these config values"),
    ("cnn/resnet50", {}, 512, "a built-in size fixes its own sequence"),
])
def test_bad_models_are_refused_with_what_to_do(name, overrides, seq, message):
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec

    with pytest.raises(AccelscopeError, match=message):
        analyze(ModelSpec(name, overrides), batch=1, seq=seq, precision="fp32")


def _analysis(peak_gb: float, states_gb: float, activations_gb: float, batch: int = 1) -> ModelAnalysis:
    gb = 1e9
    memory = MemoryBreakdown(int(states_gb / 4 * gb), int(states_gb / 4 * gb), int(states_gb / 2 * gb),
                             int(activations_gb * gb), int(peak_gb * gb))
    return ModelAnalysis("m", "test", "causal-lm", batch, 2048, "bf16", "adamw", False, 10**9, 1e12, memory, "test", 0.1)


def test_a_model_that_does_not_fit_one_device_is_sharded_over_the_fewest_that_do():
    usable = 80 * fit.USABLE_MEMORY_FRACTION  # GB on an H100 SXM
    small = fit.devices_needed(_analysis(peak_gb=30, states_gb=20, activations_gb=10), BY_MODEL["H100 SXM"])
    assert small == (True, 1, None)
    big = fit.devices_needed(_analysis(peak_gb=1000, states_gb=960, activations_gb=40), BY_MODEL["H100 SXM"])
    assert big[:2] == (False, -(-960 // int(usable - 40)))  # ceil(960 / 32) = 30
    hopeless = fit.devices_needed(_analysis(peak_gb=1000, states_gb=900, activations_gb=100), BY_MODEL["H100 SXM"])
    assert hopeless[:2] == (False, None) and "shorten --seq" in hopeless[2]


def test_every_catalog_accelerator_gets_a_fit_and_a_speed_or_a_reason():
    from core.facts.references import load_references
    from core.views import projection

    analysis = _analysis(peak_gb=30, states_gb=20, activations_gb=10)
    points = projection.published_points(load_references(), "transformer", "gpt2-small", CATALOG)
    fits = fit.device_fits(analysis, CATALOG, points)
    assert {f.device for f in fits} == {a.model for a in CATALOG if a.type != "CPU"}
    h100 = next(f for f in fits if f.device == "H100 SXM")
    assert h100.kind == "estimated" and h100.samples_per_s and h100.low <= h100.samples_per_s <= h100.high
    assert "MFU" in h100.basis and "A100" in h100.caveat  # GPT-2 references cover A100s only
    t4 = next(f for f in fits if f.device == "T4")
    assert t4.samples_per_s is None and "bf16" in t4.reason
    inferentia = next(f for f in fits if f.device == "Inferentia2")  # refused, not papered over by an estimate
    assert inferentia.samples_per_s is None and inferentia.reason.startswith("not a training device")
    assert all(f.samples_per_s is not None or f.reason for f in fits)


def test_a_model_that_cannot_train_on_a_device_at_all_gets_no_speed_there():
    from core.facts.references import load_references
    from core.views import projection

    analysis = _analysis(peak_gb=1000, states_gb=900, activations_gb=100)
    points = projection.published_points(load_references(), "transformer", "gpt2-small", CATALOG)
    l4 = next(f for f in fit.device_fits(analysis, CATALOG, points) if f.device == "L4")
    assert l4.samples_per_s is None and l4.devices_needed is None and "activations" in l4.reason


def test_analyze_prints_one_json_object_with_every_device():
    out = subprocess.run([sys.executable, "-m", "core", "analyze", "--model", "gpt2-small", "--config",
                          "n_layer=2,n_embd=128,n_head=2", "--seq", "128", "--batch", "2", "--precision", "fp32",
                          "--json", "--db", "sqlite:///:memory:"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["params"] > 0 and result["memory_train_bytes"]["kind"] == "estimated"
    assert len(result["devices"]) == sum(a.type != "CPU" for a in CATALOG)
    assert "plan" not in result  # only when a run is described
    planned = subprocess.run([sys.executable, "-m", "core", "analyze", "--model", "gpt2-small", "--config",
                              "n_layer=2,n_embd=128,n_head=2", "--seq", "128", "--batch", "2", "--tokens", "1e9",
                              "--price-sheet", "gcp", "--json", "--db", "sqlite:///:memory:"],
                             capture_output=True, text=True, timeout=300)
    plan = json.loads(planned.stdout)["plan"]
    assert plan and plan[0]["usd"] > 0 and any("TPU" in (p["accelerator"] or "") for p in plan)
    bad = subprocess.run([sys.executable, "-m", "core", "analyze", "--model", "gpt2-small", "--config", "n_layer"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "not key=value" in bad.stderr


def test_the_probing_side_keeps_transformers_out_of_import_core():
    code = "import sys, core, core.cli.parser, core.views.fit; assert 'transformers' not in sys.modules; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"


@pytest.fixture
def db_url(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSCOPE_LOCK_DIR", str(tmp_path / "locks"))
    return f"sqlite:///{tmp_path / 'zoo.db'}"


def _probe(db_url, *args):
    import os

    env = dict(os.environ, ACCELSCOPE_DB=db_url)
    return subprocess.run([sys.executable, "-m", "core", "probe", "--workload", "zoo", *args, "--json", "--meters",
                           "none"], capture_output=True, text=True, timeout=600, env=env)


def test_a_zoo_model_trains_for_real_in_a_probe(db_url):
    proc = _probe(db_url, "--size", "resnet-50", "--batch-size", "2", "--seconds", "0.5")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok" and result["params"] == 25_557_032 and result["samples_per_s"] > 0
    assert result["flops_per_step"] == pytest.approx(2 * 24.3e9, rel=0.01)  # the analysis's count, per sample × 2


def test_a_zoo_model_that_cannot_fit_is_refused_with_the_estimate_before_allocating(db_url):
    proc = _probe(db_url, "--size", "llama-3-8b-like", "--seconds", "0.5")
    assert proc.returncode == 1
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "oom" and "predicted before allocating" in result["error"]
    assert "GB free" in result["error"] and "llama-3-8b-like needs 132.7 GB" in result["error"]


def test_a_training_run_is_planned_on_every_instance_cheapest_first_with_reasons():
    from core.facts.references import load_references
    from core.views import pricing, projection

    analysis = _analysis(peak_gb=100, states_gb=80, activations_gb=20)  # needs 2 × 80 GB, one 141 GB H200
    points = projection.published_points(load_references(), "transformer", "gpt2-small", CATALOG)
    fits = fit.device_fits(analysis, CATALOG, points)
    sheet = pricing.parse_sheet(
        "provider,instance_type,region,accelerator,accelerator_type,accelerator_count,vcpus,memory_gb,"
        "on_demand_usd_per_h,spot_usd_per_h,currency,source_url,retrieved_on,note\n"
        "x,h100x1,r,H100,GPU,1,,,10,,USD,https://e.org,2025-05-01,\n"
        "x,h100x8,r,H100,GPU,8,,,80,,USD,https://e.org,2025-05-01,\n"
        "x,h200x1,r,H200,GPU,1,,,12,,USD,https://e.org,2025-05-01,\n"
        "x,mystery,r,Mystery9000,GPU,1,,,1,,USD,https://e.org,2025-05-01,\n", "s.csv")
    plans = {p.option: p for p in fit.plan_run(fits, sheet.rows, 1e6, CATALOG, g_co2_per_kwh=400.0)}
    assert "needs 2 × H100 SXM" in plans["x h100x1 (r)"].reason
    h100x8, h200 = plans["x h100x8 (r)"], plans["x h200x1 (r)"]
    assert h100x8.devices_needed == 2 and h200.devices_needed == 1
    assert h100x8.hours == pytest.approx(1e6 / (8 * h100x8.samples_per_s / 8) / 3600)
    assert h200.usd == pytest.approx(h200.hours * 12) and h200.kwh and h200.co2_kg == pytest.approx(h200.kwh * 0.4)
    assert "not in the accelerator catalog" in plans["x mystery (r)"].reason
    ordered = fit.plan_run(fits, sheet.rows, 1e6, CATALOG)
    assert [p.usd for p in ordered if p.usd] == sorted(p.usd for p in ordered if p.usd)


def test_your_own_pytorch_model_is_analysed_from_a_function():
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec

    analysis = analyze(ModelSpec("tests.core.faulty_workloads:my_model"), batch=32, seq=None, precision="fp32")
    assert analysis.kind == "custom" and analysis.params == 64 * 256 + 256 + 256 + 1
    macs = 64 * 256 + 256  # forward, and backward's weight gradients; the input gradient only for the second layer
    assert analysis.flops_per_sample == 2 * macs + 2 * macs + 2 * 256
    with pytest.raises(AccelscopeError, match="cannot import it"):
        analyze(ModelSpec("tests.core.nowhere:my_model"), batch=1, seq=None, precision="fp32")
    with pytest.raises(AccelscopeError, match="your function raised TypeError"):  # a probe workload's signature
        analyze(ModelSpec("tests.core.faulty_workloads:tiny_mlp"), batch=1, seq=None, precision="fp32")


def test_activation_checkpointing_keeps_only_layer_inputs_and_the_same_flops():
    from core.measure.analysis import analyze
    from core.measure.models import ModelSpec

    spec = ModelSpec("llama-3-8b-like", {"num_hidden_layers": 4, "hidden_size": 256, "intermediate_size": 896,
                                         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 2048})
    plain = analyze(spec, 2, 512, "fp32")
    recomputed = analyze(spec, 2, 512, "fp32", checkpointing=True)
    assert recomputed.flops_per_sample == plain.flops_per_sample  # the model's FLOPs, not the recomputation's
    assert recomputed.memory.activations_bytes < plain.memory.activations_bytes / 3
    assert recomputed.memory.states_bytes == plain.memory.states_bytes
