"""What a result was produced on: CPU, cores, GPUs and driver, OS, library versions.

A throughput figure without its machine is not comparable, and a table found on its own should
still say where it was built; benchmarks, TensorRT builds and table metadata all describe
their host with `machine_info`.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from amrcomp.gpu import nvidia_gpus

LIBRARIES = (
    "onnxruntime",
    "ai-edge-litert",
    "openvino",
    "tensorflow",
    "tf2onnx",
    "onnx",
    "numpy",
    "tensorrt",
    "tensorrt-cu12",
    "cuda-python",
)
# Instruction-set extensions that decide which int8/fp16/bf16 kernels a CPU backend can use.
CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_bf16",
    "amx_int8",
    "f16c",
)
# /proc/cpuinfo names the CPU "model name" on x86, "Hardware" or "cpu model" on some ARM/MIPS.
CPU_NAME_KEYS = ("model name", "hardware", "cpu model")


def _cpuinfo() -> str:
    """/proc/cpuinfo, empty where there is none (macOS, Windows)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's marketing name from /proc/cpuinfo (falls back to platform.processor())."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        if line.lower().startswith(CPU_NAME_KEYS):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The CPU_FLAGS this CPU reports, in CPU_FLAGS order."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        if line.lower().startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [f for f in CPU_FLAGS if f in present]
    return []


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """Installed version of each library, None when absent."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def parse_gpus(lines: list[str]) -> list[dict[str, str]]:
    """nvidia-smi 'name, driver_version' lines -> [{"name", "driver"}]."""
    gpus = []
    for line in lines:
        name, _, driver = line.rpartition(",")
        gpus.append(
            {"name": name.strip() or driver.strip(), "driver": driver.strip() if name else ""}
        )
    return gpus


def machine_info() -> dict[str, Any]:
    """CPU model, logical and usable cores, flags, GPUs and driver, OS, Python, library versions."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "cpu_flags": cpu_flags(),
        "gpus": parse_gpus(nvidia_gpus()),
        "system": platform.system(),
        "release": platform.release(),
        "arch": platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
    }
