"""Each Present slide's takeaway: one sentence from the frames its chart draws, every figure with its
label, and what is missing said instead of a number when the data cannot support a claim."""

import math

import pandas as pd
import pytest

from dashboard import takeaways

CPU = "AMD EPYC · AVX-512-BF16 [cpu]"


def measured(*rows) -> pd.DataFrame:
    """Aggregated results of one workload: (device, precision, samples/s, samples/kJ, energy kind)."""
    return pd.DataFrame([{"config": "cnn/resnet50", "device_label": device, "variant": "", "precision": precision,
                          "samples_per_s": sps, "samples_per_kj": per_kj, "energy_kind": kind,
                          "energy_missing": None if per_kj else "no meter on this machine"}
                         for device, precision, sps, per_kj, kind in rows])


def hardware(*rows) -> pd.DataFrame:
    """frames.hardware_frame rows: (accelerator, kind, speed-up, low, high, caveat)."""
    return pd.DataFrame([{"accelerator": name, "kind": kind, "speedup": speedup, "speedup_low": low,
                          "speedup_high": high, "caveat": caveat} for name, kind, speedup, low, high, caveat in rows])


BASELINE = {"samples_per_s": 9.46, "label": f"{CPU} · bf16"}


def test_weakest_label_orders_measured_published_projected_estimated():
    assert takeaways.weakest("measured", "published") == "published"
    assert takeaways.weakest("measured", "projected", "published") == "projected"
    assert takeaways.weakest("measured", None) == "estimated"  # unknown is never promoted
    assert takeaways.labelled("503×", "projected", "211×", "667×") == "503× (projected, 211×–667×)"


def test_speed_names_the_fastest_and_how_far_ahead_it_is_both_measured():
    rows = measured((CPU, "bf16", 9.46, 343, "estimated"), (CPU, "fp32", 3.78, 138, "estimated"))
    text = takeaways.speed(rows, "cnn/resnet50").text
    assert text == (f"On cnn/resnet50, the {CPU} in bf16 is the fastest measured: 9.46 samples/s (measured), "
                    "2.5× the speed of its fp32 run (measured).")


def test_speed_with_nothing_measured_says_what_to_run():
    takeaway = takeaways.speed(measured(), "cnn/resnet50")
    assert takeaway.missing and "Nothing was measured on cnn/resnet50" in takeaway.text
    assert "Run probes" in takeaway.text and not any(ch.isdigit() for ch in takeaway.text.replace("resnet50", ""))


def test_speedup_headlines_a_published_figure_and_names_the_projected_top_with_its_interval():
    table = hardware(("MI300X", "projected", 503, 211, 667, None), ("H200", "published", 324, None, None, None),
                     ("Gaudi3", "projected", 600, 300, 900, "projected across vendors"),
                     ("A100 40GB", "published", 230, None, None, None))
    table = table[table["accelerator"] != "Gaudi3"]
    text = takeaways.speedup(table, BASELINE, "cnn/resnet50", "fp16").text
    assert text.startswith("The H200 trains cnn/resnet50 in fp16 324× faster (published) than this CPU, which runs "
                           f"it at 9.46 samples/s (measured) on the {CPU} in bf16")
    assert text.endswith("; the MI300X may reach 503× (projected, 211×–667×).")


def test_speedup_never_headlines_a_projection_across_vendors_when_anything_else_exists():
    table = hardware(("Gaudi3", "projected", 600, 300, 900, "projected across vendors"),
                     ("L4", "projected", 40, 20, 60, None))
    assert takeaways.speedup(table, BASELINE, "cnn/resnet50", "bf16").text.startswith(
        "The L4 trains cnn/resnet50 in bf16 40× faster (projected, 20×–60×)")


@pytest.mark.parametrize(("baseline", "table", "expected"), [
    (None, hardware(("H200", "published", 324, None, None, None)), "No CPU was measured on cnn/resnet50"),
    (BASELINE, hardware(("H200", None, math.nan, None, None, None)), "No accelerator has a measured, published"),
])
def test_speedup_without_a_cpu_or_an_accelerator_says_what_is_missing(baseline, table, expected):
    takeaway = takeaways.speedup(table, baseline, "cnn/resnet50", "fp16")
    assert takeaway.missing and takeaway.text.startswith(expected) and "×" not in takeaway.text


def instances(*rows) -> pd.DataFrame:
    """frames.instance_frame rows for the job: (option, count, accelerator, kind, sps, low, high, hours, usd)."""
    return pd.DataFrame([{"option": option, "accelerator_count": count, "accelerator": accelerator, "kind": kind,
                          "samples_per_s_per_device": sps, "low": low, "high": high, "hours_for_job": hours,
                          "usd_for_job": usd, "usd_per_1m_samples": usd / 115, "caveat": None}
                         for option, count, accelerator, kind, sps, low, high, hours, usd in rows])


def test_job_compares_the_cpu_with_the_fastest_and_the_cheapest_instance_each_labelled():
    frame = instances(("aws p5en.48xlarge", 8, "H200", "published", 3066, None, None, 1.3, 110.32),
                      ("aws g4dn.xlarge", 1, "T4", "projected", 300, 200, 450, 106.0, 55.0))
    text = takeaways.job(frame, BASELINE, "cnn/resnet50", "fp16", 115_305_030).text
    assert text == ("Training 115M samples of cnn/resnet50 takes 141 days (measured) on this CPU but 1.3 h for "
                    "$110.32 (published) on aws p5en.48xlarge with 8× H200; the cheapest, aws g4dn.xlarge with 1× T4, "
                    "takes 4.4 days for $55.00 (projected: 2.9–6.6 days, $36.67–$82.50).")


def test_job_on_one_instance_without_a_cpu_says_both():
    frame = instances(("aws p5en.48xlarge", 8, "H200", "published", 3066, None, None, 1.3, 110.32))
    assert takeaways.job(frame, None, "cnn/resnet50", "fp16", 115_305_030).text == (
        "Training 115M samples of cnn/resnet50 takes 1.3 h for $110.32 (published) on aws p5en.48xlarge with 8× H200, "
        "the cheapest instance too (no CPU was measured on cnn/resnet50 to compare with).")


def test_job_that_no_instance_can_price_says_so():
    takeaway = takeaways.job(instances(), BASELINE, "cnn/resnet50", "fp16", 1e6)
    assert takeaway.missing and "takes 29.4 h (measured) on this CPU, but no instance" in takeaway.text


def test_efficiency_carries_the_energy_label_and_a_missing_meter_is_named():
    rows = measured((CPU, "bf16", 9.46, 343, "estimated"), ("H100 SXM [cuda]", "bf16", 3000, 1500, "measured"))
    text = takeaways.efficiency(rows, "cnn/resnet50").text
    assert "H100 SXM [cuda] in bf16 is the most energy-efficient measured: 1,500 samples per kJ (measured)" in text
    assert text.endswith(f"4.4× the work per kJ of the {CPU} in bf16 (estimated).")
    takeaway = takeaways.efficiency(measured((CPU, "bf16", 9.46, None, None)), "cnn/resnet50")
    assert takeaway.missing and "(no meter on this machine)" in takeaway.text


def costs(*rows) -> pd.DataFrame:
    """frames.cost_frame rows: (option, kind, precision, $ per 1M, s per 1M, energy kind)."""
    return pd.DataFrame([{"option": option, "kind": kind, "precision": precision, "usd_per_1m_samples": usd,
                          "seconds_per_1m_samples": seconds, "energy_kind": energy}
                         for option, kind, precision, usd, seconds, energy in rows])


def test_cost_cheapest_against_dearest_and_own_hardware_takes_its_energy_label():
    frame = costs(("aws c7i.large", "on-demand", "bf16", 2.62, 105_000, "estimated"),
                  ("own AMD EPYC", "own", "fp32", 8.52, 264_000, "estimated"))
    text = takeaways.cost(frame, None, "cnn/resnet50", "aws").text
    assert text == ("The cheapest way to train cnn/resnet50 here is aws c7i.large in bf16: $2.62 (measured) per 1M "
                    "samples, 3.3× less (estimated) than own AMD EPYC in fp32 at $8.52 (estimated).")
    missing = pd.DataFrame([{"reason": "no instance with this CPU on the sheet"}])
    takeaway = takeaways.cost(costs(), missing, "cnn/resnet50", "lambda")
    assert takeaway.missing
    assert "No price for cnn/resnet50 on the lambda sheet: no instance with this CPU" in takeaway.text
    assert takeaways.cost(costs(), None, "cnn/resnet50", "aws", measured=False).text.startswith("Nothing was measured")


def test_tradeoff_names_one_option_that_wins_both_or_the_two_ends_of_the_frontier():
    one = costs(("aws c7i.large", "on-demand", "bf16", 2.62, 105_000, "estimated"),
                ("aws m5.large", "on-demand", "bf16", 2.9, 105_000, "estimated"))
    assert takeaways.tradeoff(one, "cnn/resnet50").text.startswith(
        "aws c7i.large in bf16 is both the fastest and the cheapest option for cnn/resnet50: 29.2 h (measured) and "
        "$2.62 (measured) per 1M samples")
    two = costs(("p5", "on-demand", "bf16", 9.0, 100, None), ("c7i", "on-demand", "bf16", 2.6, 105_000, None),
                ("m7a", "on-demand", "bf16", 12.0, 200_000, None))
    text = takeaways.tradeoff(two, "cnn/resnet50").text
    assert text.startswith("2 options trade time for money on cnn/resnet50: the fastest, p5 in bf16, takes 2 min "
                           "(measured) and $9.00 (measured) per 1M samples")
    assert "the cheapest, c7i in bf16, takes 29.2 h (measured) and $2.60 (measured) per 1M samples." in text


def test_carbon_compares_the_dirtiest_and_cleanest_grid_for_the_cleanest_configuration():
    rows = pd.DataFrame([{"device_label": CPU, "precision": p, "region": region, "g_co2_per_1m_samples": g,
                          "energy_kind": "estimated"}
                         for p, region, g in (("bf16", "India (IND)", 577), ("bf16", "Sweden (SWE)", 32.9),
                                              ("fp32", "India (IND)", 1430), ("fp32", "Sweden (SWE)", 81))])
    assert takeaways.carbon(rows, "cnn/resnet50").text == (
        f"Training cnn/resnet50 on the {CPU} in bf16 emits 577 g (estimated) CO2e per 1M samples in India but "
        "32.9 g (estimated) in Sweden: 18× as much for the same work (estimated).")
    assert takeaways.carbon(rows.iloc[0:0], "cnn/resnet50").missing
