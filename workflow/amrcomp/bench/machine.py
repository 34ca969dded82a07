"""What a benchmark ran on: CPU, cores, GPU and driver, library versions (a figure without it is not comparable)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from amrcomp.gpu import nvidia_gpus

LIBRARIES = ("onnxruntime", "ai-edge-litert", "tensorflow", "tf2onnx", "onnx", "numpy", "tensorrt", "tensorrt-cu12", "cuda-python")
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "f16c")


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's marketing name from /proc/cpuinfo (falls back to platform.processor())."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    for line in cpuinfo.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The instruction-set extensions of interest for int8/fp16 kernels that this CPU reports."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    for line in cpuinfo.splitlines():
        if line.lower().startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [f for f in CPU_FLAGS if f in present]
    return []


def library_versions(names=LIBRARIES) -> dict[str, str | None]:
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
        gpus.append({"name": name.strip() or driver.strip(), "driver": driver.strip() if name else ""})
    return gpus


def machine_info() -> dict[str, Any]:
    """CPU model, logical cores, usable cores, flags, GPUs with driver, OS and library versions."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "cpu_flags": cpu_flags(),
        "gpus": parse_gpus(nvidia_gpus()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": library_versions(),
    }
