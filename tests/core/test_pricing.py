"""Price sheets, the catalog, cost and CO2 arithmetic against hand-computed values."""

import re

import pytest

from core.errors import AccelscopeError, InvalidPriceSheet
from core.views import carbon, catalog, cost, pricing

HEADER = ("provider,instance_type,region,accelerator,accelerator_type,accelerator_count,vcpus,memory_gb,"
          "on_demand_usd_per_h,spot_usd_per_h,currency,source_url,retrieved_on,note")
GOOD = "aws,p5.48xlarge,us-east-1,H100,GPU,8,192,2048,98.32,40.00,USD,https://aws.amazon.com/ec2/pricing/,2025-05-01,"
CPU = "aws,c7i.xlarge,us-east-1,,CPU,0,4,8,0.1785,,USD,https://aws.amazon.com/ec2/pricing/,2025-05-01,"


def sheet(*rows, header=HEADER):
    return "\n".join([header, *rows]) + "\n"


def test_every_bundled_sheet_and_the_catalog_validate():
    sheets = pricing.bundled_sheets()
    assert {s.name for s in sheets} >= {"aws", "gcp", "azure", "lambda", "runpod"}
    kinds = {r.accelerator_type for s in sheets for r in s.rows}
    assert kinds == {"CPU", "GPU", "TPU", "ASIC", "FPGA"}
    accelerators = {r.accelerator for s in sheets for r in s.rows}
    for required in ("T4", "L4", "A10G", "H100", "H200", "MI300X", "TPU v5e", "TPU v6e", "Trainium", "Inferentia2"):
        assert required in accelerators
    models = catalog.load_catalog()
    assert {a.type for a in models} == {"CPU", "GPU", "TPU", "ASIC", "FPGA"}
    # Every rented accelerator maps to a catalog model (so MFU and purchase price are known).
    assert all(catalog.match(a, models) for a in accelerators if a)
    assert len(carbon.load_regions()) > 200


BAD_SHEETS = {
    "missing column": (sheet(GOOD.rsplit(",", 1)[0], header=HEADER.rsplit(",", 1)[0]), r"missing column\(s\) note"),
    "non-numeric price": (sheet(GOOD.replace("98.32", "cheap")), "row 1 .*column 'on_demand_usd_per_h': 'cheap' is not a number"),
    "negative price": (sheet(GOOD.replace("98.32", "-1")), "row 1 .*column 'on_demand_usd_per_h': '-1' is negative"),
    "unknown currency": (sheet(GOOD.replace("USD", "XYZ")), "row 1 .*unknown currency 'XYZ'"),
    "duplicate row": (sheet(GOOD, CPU, GOOD), "row 3 .*duplicate of row 1"),
    "empty file": ("", "the file is empty"),
    "header only": (HEADER + "\n", "no data rows"),
    "wrong encoding": (sheet(CPU).encode("utf-16"), "not UTF-8"),
    "formula cell": (sheet(GOOD.replace("p5.48xlarge", '"=HYPERLINK(""http://x"",""p5"")"')),
                     "row 1 .*column 'instance_type'.*looks like a spreadsheet formula"),
    "formula in note": (sheet(GOOD + "=1+1"), "column 'note'.*formula"),
    "bad date": (sheet(GOOD.replace("2025-05-01", "May 2025")), "column 'retrieved_on'"),
    "bad url": (sheet(GOOD.replace("https://aws.amazon.com/ec2/pricing/", "aws pricing page")), "column 'source_url'"),
    "gpu without count": (sheet(GOOD.replace(",GPU,8,", ",GPU,0,")), "at least 1"),
    "ragged row": (sheet(GOOD + ",extra"), "has 15 cells"),
}


@pytest.mark.parametrize("name", BAD_SHEETS)
def test_bad_sheets_are_rejected_naming_file_row_and_column(name):
    raw, message = BAD_SHEETS[name]
    with pytest.raises(InvalidPriceSheet, match=message) as info:
        pricing.parse_sheet(raw if isinstance(raw, bytes) else raw.encode(), "mine.csv")
    assert str(info.value).startswith("mine.csv")


def test_a_sheet_with_many_problems_lists_them_all_at_once():
    bad_price = GOOD.replace("98.32", "cheap")
    bad_rows = [bad_price.replace("p5.48xlarge", f"p5.{n}") for n in range(60)]
    raw = sheet(*bad_rows, GOOD.replace("USD", "XYZ"), CPU + ",extra")
    with pytest.raises(InvalidPriceSheet) as info:
        pricing.parse_sheet(raw.encode(), "mine.csv")
    message = str(info.value)
    assert message.startswith("mine.csv: 62 problems; nothing of the file is used")
    assert message.count("\n- row ") == 50 and message.endswith("… and 12 more")
    assert "row 1 (line 2), column 'on_demand_usd_per_h': 'cheap' is not a number" in message


def test_cloud_cost_arithmetic():
    # 98.32 $/h for 8 GPUs = 12.29 $/h per GPU = 0.0034139 $/s; at 2000 samples/s: 1.7069 $ per 1M.
    assert pricing.usd_per_s_per_accelerator(98.32, 8) == pytest.approx(98.32 / 8 / 3600)
    assert pricing.usd_per_1m_samples(98.32 / 8 / 3600, 2000) == pytest.approx(1.706944, rel=1e-6)
    rows = pricing.parse_sheet(sheet(GOOD, CPU), "s.csv").rows
    cat = catalog.load_catalog()
    (line,) = pricing.cloud_costs(device_kind="cuda", device_name="NVIDIA H100 80GB HBM3", samples_per_s=2000,
                                  vcpus_used=None, rows=rows, catalog=cat)
    assert line.usd_per_1m_samples == pytest.approx(1.706944, rel=1e-6) and line.kind == "on-demand"
    (spot,) = pricing.cloud_costs(device_kind="cuda", device_name="NVIDIA H100 80GB HBM3", samples_per_s=2000,
                                  vcpus_used=None, rows=rows, catalog=cat, spot=True)
    assert spot.usd_per_1m_samples == pytest.approx(40 / 8 / 3600 / 2000 * 1e6)


def test_cpu_is_priced_by_vcpu():
    rows = pricing.parse_sheet(sheet(GOOD, CPU), "s.csv").rows
    (line,) = pricing.cloud_costs(device_kind="cpu", device_name="AMD EPYC", samples_per_s=100, vcpus_used=2,
                                  rows=rows, catalog=catalog.load_catalog())
    # 0.1785 $/h ÷ 4 vCPUs × 2 used = 0.08925 $/h; ÷ 3600 ÷ 100 samples/s × 1e6 = 0.247917 $
    assert line.usd_per_1m_samples == pytest.approx(0.2479167, rel=1e-6)


def test_no_price_for_an_unlisted_device():
    rows = pricing.parse_sheet(sheet(CPU), "s.csv").rows
    outcome = pricing.cloud_costs(device_kind="cuda", device_name="NVIDIA H100 80GB HBM3", samples_per_s=10,
                                  vcpus_used=None, rows=rows, catalog=catalog.load_catalog())
    assert isinstance(outcome, pricing.NoPrice) and "no price for this device" in outcome.reason
    failed = pricing.cloud_costs(device_kind="cpu", device_name="x", samples_per_s=None, vcpus_used=2,
                                 rows=rows, catalog=catalog.load_catalog())
    assert isinstance(failed, pricing.NoPrice)


@pytest.mark.parametrize("name,model", [
    ("NVIDIA H100 80GB HBM3", "H100 SXM"), ("NVIDIA H100 PCIe", "H100 PCIe"), ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
    ("NVIDIA A10G", "A10G"), ("Tesla T4", "T4"), ("NVIDIA L4", "L4"), ("NVIDIA GeForce RTX 4090", "RTX 4090"),
])
def test_device_names_match_catalog_models(name, model):
    assert catalog.match(name, catalog.load_catalog()).model == model


def test_mfu_uses_the_dense_peak():
    cat = catalog.load_catalog()
    h100 = catalog.match("NVIDIA H100 80GB HBM3", cat)
    value, basis = catalog.mfu(h100.bf16_tflops / 2, "NVIDIA H100 80GB HBM3", "bf16", cat)
    assert value == pytest.approx(0.5) and "dense bf16 peak" in basis
    assert catalog.mfu(1.0, "Mystery Chip", "fp32", cat)[0] is None


def test_own_hardware_cost_and_break_even():
    settings = cost.CostSettings(purchase_price_usd=30_000, lifetime_years=4, hours_per_year=4380,
                                 electricity_usd_per_kwh=0.20)
    rate = cost.WorkRate("cuda", "NVIDIA A100-SXM4-80GB", samples_per_s=1000, j_per_sample=0.36)
    own = cost.own_hardware_cost(rate, settings, catalog_price_usd=None)
    # electricity: 0.36 J × 1e6 = 360 kJ = 0.1 kWh × 0.20 = 0.02 $
    assert own.electricity_usd_per_1m_samples == pytest.approx(0.02)
    # hardware: 30000 / 17520 h = 1.71233 $/h; 1M samples take 1000 s = 0.27778 h → 0.475647 $
    assert own.amortization_usd_per_1m_samples == pytest.approx(0.4756469, rel=1e-6)
    assert own.usd_per_1m_samples == pytest.approx(0.4956469, rel=1e-6)
    missing = cost.own_hardware_cost(cost.WorkRate("cpu", "x", 1000, None), cost.CostSettings(), None)
    assert missing.usd_per_1m_samples is None and len(missing.missing) == 2
    assert cost.break_even_hours(30_000, 3.0, 0.5) == pytest.approx(12_000)
    assert cost.break_even_hours(30_000, 0.4, 0.5) is None
    assert cost.electricity_usd_per_h(rate, settings) == pytest.approx(0.36 * 1000 * 3600 / 3.6e6 * 0.20)


@pytest.mark.parametrize("field,value,message", [
    ("electricity_usd_per_kwh", -0.1, "electricity_usd_per_kwh must be an electricity price in $/kWh from 0 to 10"),
    ("electricity_usd_per_kwh", float("inf"), "electricity_usd_per_kwh must be"),
    ("lifetime_years", 0, "lifetime_years must be a hardware lifetime in years from 0.1 to 30"),
    ("hours_per_year", 9000, "hours_per_year must be hours of use per year from 1 to 8,760"),
    ("purchase_price_usd", float("nan"), "purchase_price_usd must be a purchase price"),
    ("g_co2_per_kwh", -5, "g_co2_per_kwh must be a grid intensity"),
])
def test_cost_settings_refuse_impossible_values(field, value, message):
    with pytest.raises(cost.InvalidCostSettings, match=re.escape(message)):
        cost.CostSettings(**{field: value})


def test_cost_figures_price_cloud_own_hardware_and_co2_in_one_call():
    rate = cost.WorkRate("cuda", "NVIDIA A100-SXM4-80GB", samples_per_s=2000, j_per_sample=0.2,
                         energy_kind="measured")
    sheet = cost.resolve_sheet("aws")
    figures = cost.cost_figures(rate, cost.CostSettings(region="FRA"), sheet)
    assert figures.cloud and figures.cloud_missing is None
    assert [line.usd_per_1m_samples for line in figures.cloud] == sorted(line.usd_per_1m_samples
                                                                         for line in figures.cloud)
    france = carbon.find_region("FRA")
    assert figures.g_co2_per_1m_samples == pytest.approx(0.2 * 1e6 / 3.6e6 * france.g_co2_per_kwh)
    assert figures.own_hardware.usd_per_1m_samples is None  # the catalog lists no A100 price
    assert "no purchase price" in figures.own_hardware.missing[0]
    bought = cost.cost_figures(rate, cost.CostSettings(purchase_price_usd=15_000), sheet).own_hardware
    assert bought.usd_per_1m_samples == pytest.approx(bought.electricity_usd_per_1m_samples
                                                      + bought.amortization_usd_per_1m_samples)
    columns = figures.columns()
    assert columns["cloud_usd_per_1m_samples"] == figures.cloud[0].usd_per_1m_samples
    assert set(columns) >= {"own_hardware_usd_per_1m_samples", "g_co2_per_1m_samples", "cloud_option"}
    override = cost.cost_figures(rate, cost.CostSettings(g_co2_per_kwh=100.0), sheet)
    assert override.g_co2_per_1m_samples == pytest.approx(0.2 * 1e6 / 3.6e6 * 100) and "override" in override.grid
    with pytest.raises(AccelscopeError, match="unknown price sheet"):
        cost.resolve_sheet("nope")



def test_co2_arithmetic():
    # 3.6 MJ = 1 kWh at 400 g/kWh = 400 g
    assert carbon.g_co2(3.6e6, 400) == pytest.approx(400)
    # 0.36 J/sample × 1M = 0.1 kWh × 56 g/kWh = 5.6 g
    assert carbon.g_co2_per_1m_samples(0.36, 56) == pytest.approx(5.6)
    assert carbon.find_region("fra").g_co2_per_kwh > 0
    assert carbon.find_region("gcp:europe-west1").key == "gcp:europe-west1"


def test_an_x86_cpu_result_is_not_priced_on_arm_instances():
    arm = "aws,m7g.2xlarge,us-east-1,,CPU,0,8,32,0.3264,,USD,https://aws.amazon.com/ec2/pricing/,2025-05-01,Graviton3 (Arm)"
    rows = pricing.parse_sheet(sheet(CPU, arm), "s.csv").rows
    lines = pricing.cloud_costs(device_kind="cpu", device_name="AMD EPYC 7B13", samples_per_s=100, vcpus_used=2,
                                rows=rows, catalog=catalog.load_catalog())
    assert [line.instance_type for line in lines] == ["c7i.xlarge"]
    lines = pricing.cloud_costs(device_kind="cpu", device_name="Neoverse-V1", samples_per_s=100, vcpus_used=2,
                                rows=rows, catalog=catalog.load_catalog())
    assert [line.instance_type for line in lines] == ["m7g.2xlarge"]
