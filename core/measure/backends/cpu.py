"""The host CPU: discovered from /proc/cpuinfo (no torch), wall-clock step timing, peak RSS,
RAPL or CodeCarbon energy. bf16 runs natively only with AVX-512-BF16, AMX or Arm's BF16
extension; elsewhere torch emulates it in software and the result says so."""

from __future__ import annotations

import os
import platform
import resource
import sys

from core.measure.backends.base import Backend, Device

ISA_CLASSES = (  # (label, the /proc/cpuinfo flags that must all be present), best first
    ("AMX-BF16", ("amx_bf16", "amx_tile")),
    ("AVX-512-BF16", ("avx512_bf16",)),
    ("AVX-512", ("avx512f",)),
    ("AVX2", ("avx2", "fma")),
    ("SSE4.2", ("sse4_2",)),
)
NATIVE_BF16_ISAS = ("AMX-BF16", "AVX-512-BF16", "Arm BF16")
# Measured with AVX2-only kernels on the 2-vCPU AMD EPYC VM on 2026-11-27: BENCHMARKS.md, "Emulated bf16".
EMULATED_BF16_NOTE = ("it has no bf16 units, so torch emulates bf16 in software: with AVX2-only kernels bf16 "
                      "matmuls measured 63–168× slower than fp32 and a transformer/S training step 11× slower "
                      "(BENCHMARKS.md, 'Emulated bf16')")


def cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, str]:
    """The first processor block of /proc/cpuinfo as {key: value}; {} where there is none."""
    info: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    if info:
                        break
                    continue
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def cpu_model_name(info: dict[str, str] | None = None) -> str:
    info = cpuinfo() if info is None else info
    return info.get("model name") or platform.processor() or platform.machine() or "unknown CPU"


# torch's own switches that cap the instruction set its kernels use (ATen dispatch and oneDNN):
# an AVX-512 machine run with them behaves, and is labelled, as the capped class.
ISA_CAPS = {"ATEN_CPU_CAPABILITY": {"avx2": "AVX2", "default": "SSE4.2"},
            "ONEDNN_MAX_CPU_ISA": {"AVX2": "AVX2", "AVX": "SSE4.2", "SSE41": "SSE4.2", "AVX2_VNNI": "AVX2",
                                   "AVX512_CORE": "AVX-512", "AVX512_CORE_VNNI": "AVX-512"}}


def isa_class(info: dict[str, str], machine: str | None = None, environ: dict | None = None) -> str | None:
    """The instruction-set class that decides training speed on this CPU, or None if unknown."""
    found = _hardware_isa_class(info, machine)
    environ = os.environ if environ is None else environ
    order = [label for label, _ in ISA_CLASSES]
    for variable, caps in ISA_CAPS.items():
        capped = caps.get(environ.get(variable, "").strip().upper() if variable == "ONEDNN_MAX_CPU_ISA"
                          else environ.get(variable, "").strip().lower())
        if capped and found in order and order.index(capped) > order.index(found):
            found = capped
    return found


def _hardware_isa_class(info: dict[str, str], machine: str | None) -> str | None:
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64"):
        features = set(info.get("Features", "").split())
        if sys.platform == "darwin" or "bf16" in features:
            return "Arm BF16"
        return "Arm SVE" if "sve" in features else "Arm NEON"
    flags = set(info.get("flags", "").split())
    for label, needed in ISA_CLASSES:
        if all(flag in flags for flag in needed):
            return label
    return None


def physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except Exception:  # psutil missing or unsupported platform
        return None


def total_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def discover(info: dict[str, str] | None = None) -> list[Device]:
    info = cpuinfo() if info is None else info
    isa = isa_class(info)
    emulated = () if isa in NATIVE_BF16_ISAS else ("bf16",)
    notes = (f"bf16 is emulated: {EMULATED_BF16_NOTE}",) if emulated else ()
    return [Device(id="cpu", kind="cpu", name=cpu_model_name(info), memory_bytes=total_memory_bytes(),
                   precisions=("fp32", "bf16"), emulated_precisions=emulated, isa=isa,
                   cores=physical_cores() or os.cpu_count(), logical_cpus=os.cpu_count(), notes=notes)]


REFUSALS = {
    "fp16": "fp16 training on CPU is not supported (no fp16 GEMM kernels worth measuring); use bf16 or fp32",
    "tf32": "tf32 is a CUDA tensor-core mode; on CPU use fp32 or bf16",
}


def refusal(spec, device: Device) -> str | None:
    if spec.precision not in device.precisions:
        return REFUSALS.get(spec.precision, f"{spec.precision} is not supported on the CPU")
    return None


def warnings(spec, device: Device) -> list[str]:
    if spec.precision in device.emulated_precisions:
        return [f"{spec.label}: {device.name} ({device.isa or 'ISA unknown'}) has no native {spec.precision}: "
                f"{EMULATED_BF16_NOTE}. The result is labelled 'emulated'."]
    return []


class CpuBackend(Backend):
    def peak_memory(self) -> tuple[int | None, str]:
        factor = 1 if sys.platform == "darwin" else 1024
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * factor,
                "process peak RSS (getrusage), includes the Python and torch runtime")


BACKEND = CpuBackend
