"""Pure dashboard functions on DataFrames: aggregation, speed-up, cost, Pareto, job plans, charts."""

import math

import pandas as pd
import pytest

from core.views import catalog, cost, pricing
from dashboard import charts, frames
from tests.core.factories import make_energy, make_result

H100 = "NVIDIA H100 80GB HBM3"
SHEET = pricing.parse_sheet(
    "provider,instance_type,region,accelerator,accelerator_type,accelerator_count,vcpus,memory_gb,"
    "on_demand_usd_per_h,spot_usd_per_h,currency,source_url,retrieved_on,note\n"
    "aws,p5.48xlarge,us-east-1,H100,GPU,8,192,2048,98.32,40,USD,https://aws.amazon.com/ec2/pricing/,2025-05-01,\n"
    "aws,c7i.xlarge,us-east-1,,CPU,0,4,8,0.1785,,USD,https://aws.amazon.com/ec2/pricing/,2025-05-01,\n",
    "test.csv")


def gpu(**kw):
    energy = make_energy(700.0, samples=2000, window_s=1.0)  # 0.35 J/sample at 700 W
    values = dict(device="cuda:0", device_name=H100, samples_per_s=2000.0, energy=energy,
                  env={"host": "h1", "gpu": H100})
    values.update(kw)
    return make_result(**values)


def cpu(**kw):
    energy = make_energy(50.0, samples=100, kind="estimated", window_s=1.0)  # 0.5 J/sample at 50 W
    values = dict(device="cpu", device_name="AMD EPYC", samples_per_s=100.0, energy=energy,
                  env={"host": "h1", "logical_cpus": 2})
    values.update(kw)
    return make_result(**values)


@pytest.fixture
def agg():
    results = [cpu(), cpu(samples_per_s=120.0), gpu(), gpu(precision="bf16", samples_per_s=5000.0),
               cpu(status="oom", samples_per_s=None, error="out of memory")]
    return frames.with_speedup(frames.aggregate(frames.results_frame(results)))


def test_aggregate_takes_the_median_of_repeats_and_drops_failures(agg):
    cpu_row = agg[agg["device_kind"] == "cpu"].iloc[0]
    assert cpu_row["samples_per_s"] == 110.0 and cpu_row["repeats"] == 2
    assert len(agg) == 3


def test_speedup_over_the_cpu_fp32_baseline(agg):
    speedups = dict(zip(agg["precision"] + "/" + agg["device_kind"], agg["speedup_vs_cpu"]))
    assert speedups["fp32/cpu"] == 1.0
    assert speedups["fp32/cuda"] == pytest.approx(2000 / 110)
    assert speedups["bf16/cuda"] == pytest.approx(5000 / 110)


def test_filters_keep_only_the_chosen_values():
    frame = frames.results_frame([cpu(), gpu()])
    assert len(frames.apply_filters(frame, {"device": ["cpu"]})) == 1
    assert len(frames.apply_filters(frame, {"device": []})) == 2


def test_cost_frame_prices_gpu_per_accelerator_and_cpu_per_vcpu(agg):
    costs, missing = frames.cost_frame(agg, SHEET, cost.CostSettings(), catalog.load_catalog())
    # NVIDIA publishes no H100 price: own hardware needs the user's, and says so.
    assert costs[costs["kind"] == "own"].empty
    assert "no purchase price" in missing[missing["option"] == "own hardware"]["reason"].iloc[0]
    costs, missing = frames.cost_frame(agg, SHEET, cost.CostSettings(purchase_price_usd=30_000),
                                       catalog.load_catalog())
    h100 = costs[(costs["device_kind"] == "cuda") & (costs["precision"] == "fp32") & (costs["kind"] == "on-demand")]
    assert h100["usd_per_1m_samples"].iloc[0] == pytest.approx(98.32 / 8 / 3600 / 2000 * 1e6)
    cpu_cost = costs[(costs["device_kind"] == "cpu") & (costs["kind"] == "on-demand")]
    assert cpu_cost["usd_per_1m_samples"].iloc[0] == pytest.approx(0.1785 / 4 * 2 / 3600 / 110 * 1e6)
    # Own hardware: the entered price amortized (4 y × 4380 h) plus electricity at 0.15 $/kWh.
    own = costs[(costs["device_kind"] == "cuda") & (costs["kind"] == "own") & (costs["precision"] == "fp32")]
    expected = 30_000 / (4 * 4380) / 3600 / 2000 * 1e6 + 0.35 * 1e6 / 3.6e6 * 0.15
    assert own["usd_per_1m_samples"].iloc[0] == pytest.approx(expected)


def test_pareto_mask():
    assert frames.pareto_mask([1, 2, 3, 2], [3, 2, 1, 3]) == [True, True, True, False]
    assert frames.pareto_mask([1, 1], [1, 1]) == [True, True]


def test_plan_job_derives_time_energy_cost_and_break_even(agg):
    settings = cost.CostSettings(purchase_price_usd=30_000)
    costs, _ = frames.cost_frame(agg, SHEET, settings, catalog.load_catalog())
    gpu_fp32 = agg[(agg["device_kind"] == "cuda") & (agg["precision"] == "fp32")]
    table = frames.plan_job(gpu_fp32, costs, total_samples=7.2e6, g_co2_per_kwh=400)
    rented = table[table["option"].str.startswith("aws p5")].iloc[0]
    assert rented["wall_time_h"] == pytest.approx(1.0)  # 7.2M samples at 2000/s
    assert rented["energy_kwh"] == pytest.approx(0.35 * 7.2e6 / 3.6e6)
    assert rented["co2_kg"] == pytest.approx(0.7 * 0.4)
    assert rented["cost_usd"] == pytest.approx(98.32 / 8)
    electricity_per_h = 700 * 3600 / 3.6e6 * 0.15
    assert rented["break_even_h"] == pytest.approx(30_000 / (98.32 / 8 - electricity_per_h))


def test_carbon_frame(agg):
    rows = frames.carbon_frame(agg, ["FRA", "USA"])
    assert set(rows["region"].str.extract(r"\((\w+)\)")[0]) == {"FRA", "USA"}
    first = rows.iloc[0]
    assert first["g_co2_per_1m_samples"] == pytest.approx(
        agg[agg["config"] == first["config"]]["j_per_sample"].iloc[0] * 1e6 / 3.6e6 * first["g_co2_per_kwh"])


def test_speed_chart_has_a_trace_per_precision_and_panel(agg):
    fig = charts.speed_chart(agg)
    assert {t.name for t in fig.data} == {"fp32", "bf16"}
    assert sum(len(t.x) for t in fig.data) == 3
    assert "samples / s" in fig.layout.xaxis.title.text and fig.layout.xaxis.type == "linear"  # log only when asked
    assert all(any("MFU" in line for line in row) for t in fig.data for row in t.customdata)
    # the H100 rows get their MFU as a percentage of the catalog's dense peak
    assert any("% (÷" in str(cell) for t in fig.data for row in t.customdata for cell in row)


def test_speed_up_puts_every_accelerator_against_the_measured_cpu_at_its_best():
    from core.views import estimates
    from core.views.projection import Point

    results = [cpu(workload="cnn", size="resnet50", samples_per_s=4.0),
               cpu(workload="cnn", size="resnet50", precision="bf16", samples_per_s=10.0)]
    agg = frames.aggregate(frames.results_frame(results))
    baseline = frames.cpu_baseline(agg, "cnn/resnet50")
    assert baseline["samples_per_s"] == 10.0 and "bf16" in baseline["label"]  # its fastest precision
    cat = catalog.load_catalog()
    points = [Point("H100 SXM", "fp16", 2600.0, "published", "lambda", "lab"),
              Point("A100 80GB", "fp16", 1500.0, "measured", "result x", "accelscope"),
              Point("V100", "fp16", 1000.0, "published", "lambda", "lab"),
              Point("L4", "fp16", 400.0, "published", "lambda", "lab")]
    throughputs = estimates.catalog_throughputs("cnn", "resnet50", "fp16", points, cat)
    table = frames.hardware_frame(throughputs, cat, baseline["samples_per_s"]).set_index("accelerator")
    assert table.loc["H100 SXM", "speedup"] == pytest.approx(260.0) and table.loc["H100 SXM", "kind"] == "published"
    assert table.loc["A100 80GB", "kind"] == "measured"
    assert table.loc["H200", "kind"] == "projected" and table.loc["H200", "speedup_low"] < table.loc["H200", "speedup"]
    assert table.loc["H100 SXM", "j_per_sample"] == pytest.approx(700 / 2600.0)  # TDP ÷ samples/s, estimated
    assert "no dense fp16 peak" in table.loc["TPU v4", "reason"]
    assert not any(a.type == "CPU" and a.model in table.index for a in cat)
    fig = charts.hardware_speedup_chart(table.reset_index(), baseline, "cnn/resnet50 fp16")
    assert fig.layout.xaxis.type == "linear" and "measured" in fig.layout.xaxis.title.text
    assert {t.name for t in fig.data if t.type == "bar"} == {"measured (ours)", "published (source on hover)",
                                                             "projected (interval as error bar)"}
    assert any("260×" in text for t in fig.data for text in (t.text or ()))
    (labels,) = [t for t in fig.data if t.type == "scatter"]  # projected labels sit past the interval's end
    assert list(labels.x) == list(table.loc[list(labels.y), "speedup_high"])
    no_cpu = charts.hardware_speedup_chart(table.reset_index(), None, "cnn/resnet50 fp16")
    assert "No CPU result" in no_cpu.layout.annotations[0].text


def test_precision_gain_pairs_precisions_on_one_device_measured_and_published(agg):
    from core.views.projection import Point

    published = [Point("A100 80GB", "tf32", 1000.0, "published", "a", "lab/bench"),
                 Point("A100 80GB", "fp16", 2500.0, "published", "a", "lab/bench"),
                 Point("V100", "fp16", 1200.0, "published", "b", "other/readme")]  # no pair: left out
    table = frames.precision_gain_frame(agg, [("cnn/resnet50", published)])
    measured = table[table["kind"] == "measured"].set_index("precision")
    assert measured.loc["bf16", "gain"] == pytest.approx(5000 / 2000) and measured.loc["bf16", "baseline_precision"] == "fp32"
    (pair,) = table[table["kind"] == "published"].itertuples()
    assert pair.gain == pytest.approx(2.5) and pair.baseline_precision == "tf32"
    assert pair.row == "cnn/resnet50 · A100 80GB · lab/bench"
    fig = charts.precision_gain_chart(table)
    assert any("2.50×" in text for t in fig.data for text in t.text)
    assert charts.precision_gain_chart(table.iloc[0:0]).layout.annotations


def test_efficiency_chart_marks_estimates(agg):
    fig = charts.efficiency_chart(agg)
    fp32 = [t for t in fig.data if t.name == "fp32"][0]
    patterns = dict(zip(fp32.y, fp32.marker.pattern.shape))
    assert patterns[next(x for x in patterns if "cpu" in x)] == "/"
    assert patterns[next(x for x in patterns if "cuda" in x)] == ""
    assert any("estimated" in (t.name or "") for t in fig.data)


def test_efficiency_chart_names_missing_energy():
    results = [cpu(), cpu(precision="bf16", energy=None)]
    agg = frames.aggregate(frames.results_frame(results))
    fig = charts.efficiency_chart(agg)
    assert any("No energy for" in a.text for a in fig.layout.annotations)


def test_tradeoff_chart_draws_and_names_the_pareto_frontier(agg):
    costs, _ = frames.cost_frame(agg, SHEET, cost.CostSettings(), catalog.load_catalog())
    fig = charts.tradeoff_chart(costs)
    (front,) = [t for t in fig.data if t.name.startswith("Pareto frontier")]
    mask = frames.pareto_mask(costs["seconds_per_1m_samples"], costs["usd_per_1m_samples"])
    assert len(front.x) == sum(mask) and list(front.x) == sorted(front.x)
    assert fig.layout.xaxis.type == "linear" and fig.layout.yaxis.type == "linear"  # log only when asked


def test_empty_selection_gives_an_explaining_figure():
    empty = frames.aggregate(frames.results_frame([]))
    for fig in (charts.speed_chart(empty), charts.efficiency_chart(empty),
                charts.cost_chart(pd.DataFrame(columns=frames.COST_COLUMNS)),
                charts.tradeoff_chart(pd.DataFrame(columns=frames.COST_COLUMNS)),
                charts.carbon_chart(frames.carbon_frame(empty, ["USA"]))):
        assert fig.layout.annotations and fig.layout.annotations[0].text
        assert not fig.data


def test_cost_chart_is_priced_and_cheapest_on_top(agg):
    costs, missing = frames.cost_frame(agg, SHEET, cost.CostSettings(spot=True), catalog.load_catalog())
    fig = charts.cost_chart(costs, missing)
    order = list(fig.layout.yaxis.categoryarray)  # bottom to top
    cheapest = costs.loc[costs["usd_per_1m_samples"].idxmin(), "option"]
    assert order[-1].startswith(cheapest)
    values = [v for t in fig.data if t.x[0] is not None for v in t.x]
    assert all(v > 0 and not math.isnan(v) for v in values)


def test_configurations_that_share_a_device_model_get_their_own_chart_rows():
    """Two hosts with the same GPU model, or a compiled and an eager run, are two rows named by what
    differs, never two bars drawn over each other on one row."""
    results = [gpu(), gpu(env={"host": "h2", "gpu": H100}, samples_per_s=1800.0), gpu(compile=True, samples_per_s=2600.0),
               cpu()]
    agg = frames.with_speedup(frames.aggregate(frames.results_frame(results)))
    assert agg["row_label"].is_unique
    gpu_labels = set(agg.loc[agg["device_kind"] == "cuda", "row_label"])
    label = "mlp/S · H100 80GB HBM3 [cuda:0]"
    assert gpu_labels == {f"{label} · host h1 · eager", f"{label} · host h2 · eager",
                          f"{label} · host h1 · compiled"}
    assert agg.loc[agg["device_kind"] == "cpu", "row_label"].item() == "mlp/S · AMD EPYC · ISA not recorded [cpu]"
    speed = charts.speed_chart(agg)
    assert sorted(speed.data[0].y) == sorted(agg["row_label"])
    costs, _ = frames.cost_frame(agg, SHEET, cost.CostSettings(), catalog.load_catalog())
    cost_labels = [label for trace in charts.cost_chart(costs).data for label in trace.y if label]
    assert any(label.endswith("· host h2 · eager") for label in cost_labels)


def test_two_cpus_with_one_model_name_never_share_a_median():
    """A re-provisioned VM reports "AMD EPYC" on different hardware: its identity keeps them apart."""
    avx2 = "AMD EPYC · AVX2 · 2 logical CPUs · 24 GiB"
    avx512 = "AMD EPYC · AVX-512-BF16 · 2 logical CPUs · 24 GiB"
    results = [cpu(device_identity=avx2, samples_per_s=100.0), cpu(device_identity=avx2, samples_per_s=110.0),
               cpu(device_identity=avx512, samples_per_s=300.0),
               cpu(device_identity="AMD EPYC · AVX2 · 4 logical CPUs · 24 GiB", samples_per_s=190.0,
                   warmup_settled=False)]
    agg = frames.aggregate(frames.results_frame(results))
    assert len(agg) == 3 and agg["row_label"].is_unique
    by_label = dict(zip(agg["row_label"], agg["samples_per_s"]))
    assert by_label["mlp/S · AMD EPYC · AVX-512-BF16 [cpu]"] == 300.0
    assert by_label["mlp/S · AMD EPYC · AVX2 [cpu] · AVX2 · 2 logical CPUs · 24 GiB"] == 105.0
    assert agg.loc[agg["samples_per_s"] == 190.0, "unsettled_repeats"].item() == 1


def test_every_instance_is_priced_from_measured_published_or_projected_throughput():
    from core.views import estimates, projection

    cat = catalog.load_catalog()
    points = [projection.Point("H100 SXM", "bf16", 3000.0, "measured", "result x"),
              projection.Point("A100 80GB", "bf16", 1500.0, "published", "paper"),
              projection.Point("V100", "bf16", 0.0, "published", "ignored: V100 has no bf16 peak"),
              projection.Point("L4", "bf16", 400.0, "published", "vendor"),
              projection.Point("A10", "bf16", 500.0, "published", "vendor")]
    sheet = pricing.parse_sheet(
        "provider,instance_type,region,accelerator,accelerator_type,accelerator_count,vcpus,memory_gb,"
        "on_demand_usd_per_h,spot_usd_per_h,currency,source_url,retrieved_on,note\n"
        "x,h100x8,r,H100,GPU,8,,,80,,USD,https://e.org,2025-05-01,\n"
        "x,a100x1,r,A100-SXM4-80GB,GPU,1,,,4,,USD,https://e.org,2025-05-01,\n"
        "x,h200x1,r,H200,GPU,1,,,6,,USD,https://e.org,2025-05-01,\n"
        "x,t4x1,r,T4,GPU,1,,,0.5,,USD,https://e.org,2025-05-01,\n"
        "x,mystery,r,Mystery9000,GPU,1,,,1,,USD,https://e.org,2025-05-01,\n", "s.csv")
    costs = estimates.instance_costs(sheet.rows, "cnn", "resnet50", "bf16", points, cat)
    table = frames.instance_frame(costs, total_samples=3.6e6).set_index("option")
    h100 = table.loc["x h100x8 (r)"]
    assert h100["kind"] == "measured" and h100["usd_per_1m_samples"] == pytest.approx(80 / 3600 / (3000 * 8) * 1e6)
    assert h100["hours_for_job"] == pytest.approx(3.6e6 / (3000 * 8) / 3600)
    assert table.loc["x a100x1 (r)", "kind"] == "published"
    h200 = table.loc["x h200x1 (r)"]
    assert h200["kind"] == "projected" and h200["usd_per_1m_samples_low"] < h200["usd_per_1m_samples"]
    assert "no dense bf16 peak for T4" in table.loc["x t4x1 (r)", "reason"]
    assert "not in the accelerator catalog" in table.loc["x mystery (r)", "reason"]
    figure = charts.instance_cost_chart(table.reset_index(), "cnn/resnet50 bf16")
    assert {trace.name for trace in figure.data if trace.type == "bar"} == {"measured (ours)", "published (source on hover)",
                                                     "projected (interval as error bar)"}
    (projected,) = [t for t in figure.data if t.name.startswith("projected")]
    assert projected.error_x.array is not None and projected.marker.color.startswith("rgba")  # translucent


def test_job_claims_put_cpu_hours_next_to_the_fastest_and_cheapest_instance():
    results = [cpu(workload="cnn", size="resnet50", samples_per_s=4.0),
               cpu(workload="cnn", size="resnet50", precision="bf16", samples_per_s=5.0)]
    agg = frames.aggregate(frames.results_frame(results))
    instances = pd.DataFrame([
        {"option": "fast", "accelerator": "H100 SXM", "accelerator_count": 8, "kind": "published",
         "hours_for_job": 0.5, "usd_for_job": 40.0, "caveat": None},
        {"option": "cheap", "accelerator": "L4", "accelerator_count": 1, "kind": "projected",
         "hours_for_job": 20.0, "usd_for_job": 16.0, "caveat": None},
        {"option": "unpriced", "accelerator": "TPU v4", "accelerator_count": 4, "kind": None,
         "hours_for_job": None, "usd_for_job": None, "caveat": None}])
    claims = frames.job_claims(agg, instances, "cnn/resnet50", total_samples=3.6e6)
    assert claims["cpu"]["hours"] == pytest.approx(3.6e6 / 5.0 / 3600) and "bf16" in claims["cpu"]["label"]
    assert claims["fastest"]["label"].startswith("fast (8× H100 SXM)") and claims["fastest"]["kind"] == "published"
    assert claims["cheapest"]["usd"] == 16.0 and claims["cheapest"]["kind"] == "projected"
    assert frames.job_claims(agg.iloc[0:0], instances.iloc[0:0], "cnn/resnet50", 1e6) == {
        "cpu": None, "fastest": None, "cheapest": None}


def test_job_claims_do_not_headline_a_cross_vendor_extrapolation():
    instances = pd.DataFrame([
        {"option": "trn", "accelerator": "Trainium2", "accelerator_count": 16, "kind": "projected",
         "hours_for_job": 0.1, "usd_for_job": 5.0, "source": "roofline",
         "caveat": "no AWS device among the points: extrapolated across vendors"},
        {"option": "p5", "accelerator": "H100 SXM", "accelerator_count": 8, "kind": "published",
         "hours_for_job": 0.5, "usd_for_job": 40.0, "source": "Lambda", "caveat": None}])
    claims = frames.job_claims(frames.aggregate(frames.results_frame([])), instances, "cnn/resnet50", 1e6)
    assert claims["fastest"]["label"].startswith("p5") and claims["cheapest"]["label"].startswith("p5")
