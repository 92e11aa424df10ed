"""Serving cost (issue 15): replicas, the batch-fill wait, prices, and refusals with reasons."""

import math

import pytest

from core.errors import InvalidCostSettings
from core.facts.rows import flat_row
from core.views import serving
from core.views.cost import CostSettings, resolve_sheet
from tests.core.factories import make_result

AWS = resolve_sheet("aws")


def infer_row(batch=1, p99_ms=8.0, samples_per_s=120.0, device_name="NVIDIA H100 80GB HBM3", **extra):
    result = make_result(mode="infer", device="cuda:0", device_name=device_name, batch_size=batch,
                         step_time_s=batch / samples_per_s, step_time_p10_s=batch / samples_per_s,
                         step_time_p90_s=batch / samples_per_s, step_time_p99_s=p99_ms / 1e3,
                         samples_per_s=samples_per_s, loss_first=None, loss_last=None, **extra)
    return flat_row(result)


def test_the_fewest_replicas_that_carry_the_rate_priced_per_accelerator():
    options, _ = serving.serving_options([infer_row()], serving.ServingTarget(p99_ms=20, requests_per_s=500), AWS,
                                         CostSettings())
    cloud = [o for o in options if o.kind == "on-demand"]
    assert cloud and all(o.replicas == math.ceil(500 / 120) == 5 for o in cloud)
    cheapest = cloud[0]
    per_replica_usd_per_h = cheapest.usd_per_h / 5
    assert cheapest.usd_per_1m_inferences == pytest.approx(5 * per_replica_usd_per_h / (500 * 3600) * 1e6)
    assert [o.usd_per_1m_inferences for o in options] == sorted(o.usd_per_1m_inferences for o in options)
    assert cheapest.worst_latency_ms == pytest.approx(8.0)  # batch 1: no wait to fill a batch


def test_a_p99_over_the_bound_is_refused_with_the_figures():
    options, refused = serving.serving_options([infer_row(p99_ms=25)], serving.ServingTarget(20, 500), AWS,
                                               CostSettings())
    assert options == [] and "p99 latency 25 ms is over the 20 ms bound" in refused[0].reason


def test_a_big_batch_that_cannot_fill_in_time_is_refused_and_one_that_can_is_kept():
    big = infer_row(batch=256, p99_ms=17, samples_per_s=15_000)
    _, refused = serving.serving_options([big], serving.ServingTarget(20, 500), AWS, CostSettings())
    assert "a batch of 256 takes 510 ms to fill" in refused[0].reason
    options, _ = serving.serving_options([big], serving.ServingTarget(100, 10_000), AWS, CostSettings())
    assert options and options[0].replicas == 1
    assert options[0].worst_latency_ms == pytest.approx(17 + 255 / 10_000 * 1e3)


def test_a_device_the_sheet_does_not_rent_is_named_and_training_rows_are_ignored():
    rows = [infer_row(device_name="Imaginary Accelerator 9000"), flat_row(make_result())]
    options, refused = serving.serving_options(rows, serving.ServingTarget(20, 500), AWS, CostSettings())
    assert options == []
    assert [r.configuration.split(" · ")[1] for r in refused][0].startswith("Imaginary Accelerator 9000")
    assert "no price for this device" in refused[0].reason


@pytest.mark.parametrize("field, value", [("p99_ms", 0), ("p99_ms", float("nan")), ("requests_per_s", -5),
                                          ("requests_per_s", "many")])
def test_a_bad_target_is_a_clear_error(field, value):
    with pytest.raises(InvalidCostSettings, match=field):
        serving.ServingTarget(**{field: value})


def test_published_server_figures_serve_targets_within_their_bound_and_say_where_they_come_from():
    from core.facts.references import load_inference_references

    h100 = [r for r in load_inference_references() if r.device == "H100 SXM" and r.scenario == "Server"]
    assert h100 and h100[0].latency_bound_ms == 15 and h100[0].source_url.startswith("https://github.com/mlcommons/")
    options, _ = serving.serving_options([], serving.ServingTarget(20, 100_000), AWS, CostSettings(), published=h100)
    assert options and {o.evidence for o in options} == {"published"}
    per_gpu = h100[0].samples_per_s / h100[0].device_count
    assert options[0].replicas == math.ceil(100_000 / per_gpu) and "mlperf" in options[0].basis.lower()
    _, refused = serving.serving_options([], serving.ServingTarget(10, 100), AWS, CostSettings(), published=h100)
    assert "published at p99 ≤ 15 ms, looser than the 10 ms bound" in refused[0].reason


def test_a_published_inference_file_with_a_bad_row_is_refused_whole(tmp_path):
    from core.errors import InvalidPriceSheet
    from core.facts.references import INFERENCE_DIR, load_inference_references

    good = (INFERENCE_DIR / "resnet50.csv").read_text()
    header, first = good.splitlines()[:2]
    (tmp_path / "bad.csv").write_text(header + "\n" + first.replace("Server,15,", "Server,,", 1) + "\n")
    with pytest.raises(InvalidPriceSheet, match="latency_bound_ms"):
        load_inference_references.__wrapped__(tmp_path)


def test_replicas_are_rented_as_whole_instances():
    """5 replicas of an H100 on an 8-GPU instance rent one whole instance, not 5/8 of one."""
    options, _ = serving.serving_options([infer_row()], serving.ServingTarget(20, 500), AWS, CostSettings())
    eight = next(o for o in options if o.option.startswith("aws p5.48xlarge"))
    row = next(r for r in AWS.rows if r.option == eight.option)
    assert row.accelerator_count == 8 and eight.replicas == 5
    assert eight.usd_per_h == pytest.approx(row.on_demand_usd_per_h) and "1 instance(s)" in eight.basis
