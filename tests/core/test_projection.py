"""Projection onto hardware we did not measure, and the published references it learns from."""

import dataclasses

import pytest

from core.errors import InvalidPriceSheet
from core.facts.references import parse_references
from core.views import catalog, projection
from core.views.projection import Point

CATALOG = catalog.load_catalog()
BY_MODEL = {a.model: a for a in CATALOG}
F = 24.3e9  # FLOPs per sample


def roofline_points(utilisation, intensity, devices, precision="fp16"):
    """Points that lie exactly on a roofline (test data, not published figures)."""
    return [Point(d, precision, utilisation * projection.attainable_tflops(BY_MODEL[d], precision, intensity)
                  * 1e12 / F, "published", "test") for d in devices]


def test_points_on_a_roofline_are_projected_back_with_a_tight_interval():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "T4", "L4"])
    result = projection.project(BY_MODEL["A100 40GB"], "cnn", "resnet50", "fp16", points, CATALOG,
                                flops_per_sample=F)
    expected = 0.45 * projection.attainable_tflops(BY_MODEL["A100 40GB"], "fp16", 64.0) * 1e12 / F
    assert result.samples_per_s == pytest.approx(expected, rel=0.05)
    assert result.low <= result.samples_per_s <= result.high and result.high / result.low < 1.2
    assert result.kind == "projected" and len(result.basis) == 5 and result.reason is None


def test_holdout_ignores_the_targets_own_points():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "T4"])
    points.append(Point("A100 80GB", "fp16", 1.0, "published", "an outlier on the target"))
    kept = projection.project(BY_MODEL["A100 80GB"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F,
                              holdout=True)
    assert all(p.device != "A100 80GB" for p in kept.basis) and len(kept.basis) == 3


@pytest.mark.parametrize("target,precision,reason", [
    ("V100", "bf16", "no dense bf16 peak for V100"),
    ("Xilinx VU9P", "fp16", "no dense fp16 peak"),
])
def test_refusals_say_why(target, precision, reason):
    points = roofline_points(0.45, 64.0, ["A100 80GB", "H100 SXM", "L4"], precision="bf16")
    result = projection.project(BY_MODEL[target], "cnn", "resnet50", precision, points, CATALOG, flops_per_sample=F)
    assert result.samples_per_s is None and reason in result.reason


def test_too_few_points_is_a_refusal_not_a_guess():
    points = roofline_points(0.45, 64.0, ["A100 80GB", "H100 SXM"])
    result = projection.project(BY_MODEL["L4"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert result.samples_per_s is None and "fewer than 3 devices" in result.reason
    assert projection.project(BY_MODEL["L4"], "mlp", "S", "fp16", points, CATALOG).reason.startswith("no FLOP count")


HEADER = ("device,device_count,workload,size,precision,batch_size_per_device,samples_per_s,tokens_per_s,context,"
          "software,published_on,source_url,retrieved_on,comparability\n")
KNOWN = frozenset(BY_MODEL)


def test_references_give_per_device_throughput_and_keep_their_source():
    raw = (HEADER + "A100 80GB,8,cnn,resnet50,fp16,256,24000,,,PyTorch,2023-01-01,https://example.org/a,2026-11-27,"
           "8-GPU aggregate\nH100 SXM,1,transformer,gpt2-small,bf16,16,,400000,1024,llm.c,2024-05-01,"
           "https://example.org/b,2026-11-27,CUDA C\n")
    dgx, h100 = parse_references(raw, "refs.csv", KNOWN)
    assert dgx.samples_per_s_per_device == 3000 and h100.samples_per_s_per_device == pytest.approx(400000 / 1024)
    (point,) = projection.published_points([dgx, h100], "cnn", "resnet50", CATALOG)
    assert point.kind == "published" and "https://example.org/a" in point.source


@pytest.mark.parametrize("row,message", [
    ("A999,1,cnn,resnet50,fp16,,100,,,x,2023-01-01,https://e.org,2026-11-27,n", "not a catalog model"),
    ("V100,1,cnn,resnet50,fp16,,,,,x,2023-01-01,https://e.org,2026-11-27,n", "one of them must hold"),
    ("V100,1,cnn,resnet50,fp16,,=1+1,,,x,2023-01-01,https://e.org,2026-11-27,n", "looks like a spreadsheet formula"),
    ("V100,1,transformer,gpt2-small,fp16,,,5000,,x,2023-01-01,https://e.org,2026-11-27,n", "needs the sequence length"),
])
def test_a_bad_reference_row_rejects_the_file_naming_the_row(row, message):
    with pytest.raises(InvalidPriceSheet, match=message):
        parse_references(HEADER + row + "\n", "refs.csv", KNOWN)


def test_measured_points_come_from_accelerators_not_cpu_slices():
    row = {"status": "ok", "workload": "cnn", "size": "resnet50", "samples_per_s": 2500.0, "precision": "bf16",
           "id": "x", "created_at": "2026-11-27", "device_name": "NVIDIA H100 80GB HBM3"}
    cpu = dict(row, device_name="AMD EPYC 9654 96-Core Processor")
    (point,) = projection.measured_points([row, cpu], "cnn", "resnet50", CATALOG)
    assert point.device == "H100 SXM" and point.kind == "measured"
    assert dataclasses.asdict(point)["samples_per_s"] == 2500.0


def test_a_vendor_without_points_is_projected_with_a_caveat():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "L4"])
    mi300x = projection.project(BY_MODEL["MI300X"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert mi300x.samples_per_s and "no AMD device among the 4 devices" in mi300x.caveat
    h200 = projection.project(BY_MODEL["H200"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert h200.caveat is None


def test_the_bundled_references_load_and_every_row_names_its_source():
    from core.facts.references import load_references

    references = load_references()
    resnet = [r for r in references if (r.workload, r.size) == ("cnn", "resnet50")]
    assert len({r.device for r in resnet}) >= 10
    assert all(r.source_url.startswith("https://") and r.comparability for r in references)


def test_a_model_whose_training_state_exceeds_device_memory_is_refused():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "L4"])
    big = projection.project(BY_MODEL["L4"], "transformer", "llama-8b", "fp16", points, CATALOG, flops_per_sample=F,
                             parameters=8e9)
    assert big.samples_per_s is None and big.reason.startswith("does not fit")
    assert "128 GB" in big.reason and "L4 has 24 GB" in big.reason
    small = projection.project(BY_MODEL["L4"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert small.samples_per_s and small.reason is None  # ResNet-50's 25.6M parameters need 0.4 GB


def test_one_software_stack_that_covers_enough_devices_is_fitted_alone():
    clean = [dataclasses.replace(p, stack="lab/bench") for p in
             roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "L4"])]
    other_stack = [dataclasses.replace(p, samples_per_s=p.samples_per_s * 2.5, stack="vendor/tuned")
                   for p in roofline_points(0.45, 64.0, ["A100 80GB", "T4"])]
    result = projection.project(BY_MODEL["A100 40GB"], "cnn", "resnet50", "fp16", clean + other_stack, CATALOG,
                                flops_per_sample=F)
    assert {p.stack for p in result.basis} == {"lab/bench"}
    expected = 0.45 * projection.attainable_tflops(BY_MODEL["A100 40GB"], "fp16", 64.0) * 1e12 / F
    assert result.samples_per_s == pytest.approx(expected, rel=0.05)
    measured = [dataclasses.replace(p, kind="measured", stack=projection.ACCELSCOPE_STACK) for p in
                roofline_points(0.3, 64.0, ["V100", "T4", "L4"])]
    ours = projection.project(BY_MODEL["A100 40GB"], "cnn", "resnet50", "fp16", clean + measured, CATALOG,
                              flops_per_sample=F)
    assert {p.stack for p in ours.basis} == {projection.ACCELSCOPE_STACK}  # our own runs first


def test_a_published_fp32_result_on_a_tf32_gpu_counts_as_tf32_and_names_the_stack():
    row = ("A100 80GB,1,cnn,resnet50,fp32,256,1000,,,PyTorch,2023-01-01,"
           "https://github.com/lab/bench/blob/0123abc/pytorch/results.csv,2026-11-27,n\n"
           "V100,1,cnn,resnet50,fp32,256,400,,,PyTorch,2023-01-01,https://example.org/page#t,2026-11-27,n\n")
    a100, v100 = projection.published_points(parse_references(HEADER + row, "refs.csv", KNOWN), "cnn", "resnet50",
                                             CATALOG)
    assert a100.precision == "tf32" and "TF32 by default" in a100.source and a100.stack == "lab/bench/pytorch"
    assert v100.precision == "fp32" and v100.stack == "example.org/page"  # V100 has no TF32 units


def test_an_inference_only_accelerator_is_refused_for_training_with_the_makers_word():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "L4"])
    inf2 = projection.project(BY_MODEL["Inferentia2"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert inf2.samples_per_s is None and inf2.reason.startswith("not a training device")
    assert "awsdocs-neuron" in inf2.reason


def test_a_measured_workload_supplies_its_own_flop_count_and_parameters():
    rows = [{"status": "ok", "workload": "mlp", "size": "S", "flops_per_step": 64e9, "batch_size": 64, "params": 2e6},
            {"status": "ok", "workload": "mlp", "size": "S", "flops_per_step": 66e9, "batch_size": 64, "params": 2e6},
            {"status": "failed", "workload": "mlp", "size": "S", "flops_per_step": 1.0, "batch_size": 1, "params": 1}]
    shape = projection.workload_shape(rows, "mlp", "S")
    assert shape.flops_per_sample == pytest.approx(1.0156e9, rel=1e-3) and shape.parameters == 2e6
    builtin = projection.workload_shape([], "cnn", "resnet50")
    assert (builtin.flops_per_sample, builtin.parameters) == (24.299e9, 25_557_032)
    assert projection.workload_shape([], "mlp", "XL") == projection.WorkloadShape(None, None)


def test_a_missing_flop_count_in_a_table_is_not_a_number_to_project_with():
    nan = float("nan")
    rows = [{"status": "ok", "workload": "cnn", "size": "resnet50", "flops_per_step": nan, "batch_size": 64,
             "params": nan}]
    shape = projection.workload_shape(rows, "cnn", "resnet50")
    assert (shape.flops_per_sample, shape.parameters) == (24.299e9, 25_557_032)  # the built-in counts
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM"])
    refused = projection.project(BY_MODEL["L4"], "mlp", "S", "fp16", points, CATALOG, flops_per_sample=nan)
    assert refused.samples_per_s is None and refused.reason.startswith("no FLOP count")


def test_a_projection_fitted_on_another_precision_says_so():
    points = roofline_points(0.45, 64.0, ["V100", "A100 80GB", "H100 SXM", "L4"], precision="fp16")
    bf16 = projection.project(BY_MODEL["H200"], "cnn", "resnet50", "bf16", points, CATALOG, flops_per_sample=F)
    assert bf16.samples_per_s and "fitted on fp16 points" in bf16.caveat
    fp16 = projection.project(BY_MODEL["H200"], "cnn", "resnet50", "fp16", points, CATALOG, flops_per_sample=F)
    assert fp16.caveat is None
