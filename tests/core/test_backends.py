"""Device backends: identity, instruction-set classes, refusals and warnings, NVML discovery (faked at
its boundary), the probe-child protocol, and host-load accounting. No torch needed here."""

import json

import pytest

from core.errors import UnsupportedSpec
from core.facts.spec import ProbeSpec
from core.measure import backends, child
from core.measure.backends import cpu, cuda
from core.measure.backends.base import Device
from core.measure.hostload import HostLoad

ZEN4_FLAGS = "fpu sse4_2 avx avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni"
AVX2_FLAGS = "fpu sse4_2 avx avx2 fma"


def test_isa_class_from_cpuinfo_flags():
    assert cpu.isa_class({"flags": ZEN4_FLAGS}, "x86_64", {}) == "AVX-512-BF16"
    assert cpu.isa_class({"flags": AVX2_FLAGS}, "x86_64", {}) == "AVX2"
    assert cpu.isa_class({"flags": AVX2_FLAGS + " avx512f amx_bf16 amx_tile avx512_bf16"}, "x86_64", {}) == "AMX-BF16"
    assert cpu.isa_class({"Features": "fp asimd sve bf16"}, "aarch64", {}) == "Arm BF16"
    assert cpu.isa_class({}, "x86_64", {}) is None


def test_torch_isa_switches_cap_the_class():
    """ONEDNN_MAX_CPU_ISA=AVX2 makes an AVX-512-BF16 machine run (and be labelled) as AVX2."""
    assert cpu.isa_class({"flags": ZEN4_FLAGS}, "x86_64", {"ONEDNN_MAX_CPU_ISA": "avx2"}) == "AVX2"
    assert cpu.isa_class({"flags": AVX2_FLAGS}, "x86_64", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}) == "AVX2"


def test_a_cpu_without_native_bf16_runs_it_as_emulated_with_a_warning(monkeypatch):
    (avx2,) = cpu.discover({"model name": "AMD EPYC", "flags": AVX2_FLAGS})
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    (zen4,) = cpu.discover({"model name": "AMD EPYC", "flags": ZEN4_FLAGS})
    assert avx2.emulated_precisions == ("bf16",) and zen4.emulated_precisions == ()
    assert avx2.identity != zen4.identity and avx2.identity.startswith("AMD EPYC · AVX2 · ")
    spec = ProbeSpec(workload="mlp", precision="bf16")
    (warning,) = backends.check_spec(spec, avx2)
    assert "no native bf16" in warning and "emulated" in warning
    assert backends.check_spec(spec, zen4) == []
    with pytest.raises(UnsupportedSpec, match="fp16 training on CPU is not supported"):
        backends.check_spec(ProbeSpec(workload="mlp", precision="fp16"), zen4)


def test_device_round_trips_through_the_child_protocol():
    device = cpu.discover()[0]
    assert Device.from_dict(json.loads(json.dumps(device.to_dict()))) == device


class FakeNvml:
    def device_count(self):
        return 2

    def handle_for(self, index, uuid=""):
        return index

    def name(self, handle):
        return ["NVIDIA H100 80GB HBM3", "Tesla T4"][handle]

    def memory_total_bytes(self, handle):
        return [80, 16][handle] * 2**30

    def compute_capability(self, handle):
        return [(9, 0), (7, 5)][handle]

    def driver_version(self):
        return "580.1"

    def power_limit_w(self, handle):
        return [700.0, 70.0][handle]


def test_cuda_gpus_are_discovered_through_nvml_without_torch(monkeypatch):
    monkeypatch.setattr(cuda, "torch_is_cpu_build", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # two unlike GPUs: NVML's order is CUDA's only then
    h100, t4 = cuda.discover(FakeNvml())
    assert h100.id == "cuda:0" and h100.precisions == ("fp32", "tf32", "bf16", "fp16")
    assert h100.identity == "NVIDIA H100 80GB HBM3 · 80 GiB · sm_90" and h100.power_limit_w == 700.0
    assert t4.precisions == ("fp32", "fp16")
    with pytest.raises(UnsupportedSpec, match="needs compute capability 8.0"):
        backends.check_spec(ProbeSpec(workload="mlp", device="cuda:1", precision="bf16"), t4)
    monkeypatch.setattr(cuda, "torch_is_cpu_build", lambda: True)
    assert cuda.discover(FakeNvml()) == []  # a CPU build of torch cannot drive them


def test_find_names_what_is_available():
    devices = [cpu.discover()[0]]
    assert backends.find("cpu", devices).kind == "cpu"
    with pytest.raises(Exception, match="no device 'cuda:3' on this machine; available: cpu"):
        backends.find("cuda:3", devices)


def test_protocol_lines_and_exit_classification():
    assert child.parse_line('{"type": "progress", "phase": "warmup"}').body["phase"] == "warmup"
    assert child.parse_line('{"type": "resu') is None  # torn last line of a killed child
    assert child.parse_line("torch warning text") is None
    assert child.classify_exit(-9, "")[1].startswith("the probe process was killed by SIGKILL")
    assert child.classify_exit(1, "RuntimeError: CUDA out of memory")[0] == "oom"
    assert child.classify_exit(1, "ValueError: x") == ("failed", "the probe process exited with code 1: ValueError: x")


def test_host_load_counts_only_other_work():
    readings = iter([(100.0, 10.0, 0.0), (103.0, 11.0, 2.0)])  # (busy CPU-s, own CPU-s, clock)
    values = {}

    def take(index):
        def read():
            if index == 0:
                values["now"] = next(readings)
            return values["now"][index]
        return read

    load = HostLoad(busy=take(0), own=take(1), clock=take(2))
    load.begin()
    assert load.end() == pytest.approx((3.0 - 1.0) / 2.0)  # others kept one CPU busy
    assert HostLoad(busy=lambda: None).end() is None


def test_unlike_gpus_are_numbered_by_torch_not_nvml(monkeypatch):
    """CUDA orders unlike GPUs fastest first, NVML by PCI bus: then torch decides the numbering."""
    monkeypatch.setattr(cuda, "torch_is_cpu_build", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    monkeypatch.setattr(cuda, "_torch_devices", lambda nvml: ["from torch"])
    assert cuda.discover(FakeNvml()) == ["from torch"]
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert [d.id for d in cuda.discover(FakeNvml())] == ["cuda:0", "cuda:1"]


def test_an_nvml_query_that_fails_falls_back_to_torch(monkeypatch):
    class NoPowerLimit(FakeNvml):
        def power_limit_w(self, handle):
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")

    monkeypatch.setattr(cuda, "torch_is_cpu_build", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(cuda, "_torch_devices", lambda nvml: ["from torch"])
    assert cuda.discover(NoPowerLimit()) == ["from torch"]
