"""What a result was produced on: CPU, cores, GPUs and driver, OS, library versions.

A throughput figure without its machine is not comparable, and a table found on its own should
still say where it was built; benchmarks, TensorRT builds and table metadata all describe
their host with `machine_info`. Which of the host's devices a job actually computed on is
`devices`: trainings, fine-tunes, evaluations and benchmarks record it, Tables II and V show it.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

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


# CUDA_VISIBLE_DEVICES values that hide every GPU (SLURM sets NoDevFiles on some sites).
NO_DEVICES = ("", "none", "nodevfiles")
GPU_WARNING = (
    "a GPU was allocated but TensorFlow cannot use it (CPU-only TensorFlow build?): "
    "install the gpu extra (pip install '.[gpu]')"
)


def visible_entries(cuda_visible: str | None) -> list[str] | None:
    """The devices CUDA_VISIBLE_DEVICES lets CUDA see, as listed (indices or UUIDs); None when
    unset. CUDA stops at the first invalid entry, so "-1" or "" hides every GPU."""
    if cuda_visible is None:
        return None
    entries = []
    for entry in cuda_visible.split(","):
        entry = entry.strip()
        if entry.lower() in NO_DEVICES or entry.startswith("-"):
            break
        entries.append(entry)
    return entries


def gpu_allocated(gpus: list[str], cuda_visible: str | None, slurm_gpus: str | None) -> bool:
    """Whether this job was given a GPU: CUDA_VISIBLE_DEVICES decides when set (an empty one
    hides the GPUs on purpose), else a SLURM GPU allocation or a GPU the driver reports."""
    entries = visible_entries(cuda_visible)
    if entries is not None:
        return bool(entries)
    return bool(slurm_gpus) or bool(gpus)


def cuda_gpu_name(gpus: list[str], cuda_visible: str | None, index: int) -> str | None:
    """The name of CUDA device `index` among the driver's GPUs (nvidia-smi order).

    CUDA numbers the visible devices from 0: an entry that indexes the driver's list names its
    GPU (SLURM's relative numbering under device cgroups, where nvidia-smi lists only the
    allocated GPUs, included); otherwise, as many GPUs as entries means the list is the
    allocation itself; a node of one GPU model needs no mapping. None where nothing tells.
    """
    entries = visible_entries(cuda_visible)
    if entries is None:
        return gpus[index] if 0 <= index < len(gpus) else None
    if not 0 <= index < len(entries):
        return None
    entry = entries[index]
    if entry.isdigit() and int(entry) < len(gpus):
        return gpus[int(entry)]
    if len(gpus) == len(entries):
        return gpus[index]
    return gpus[0] if gpus and len(set(gpus)) == 1 else None


def _counted(names: list[str]) -> str:
    """'NVIDIA A100' or '4x NVIDIA A100, Tesla T4': each name once, in first-seen order."""
    counts = {name: names.count(name) for name in names}
    return ", ".join(f"{n}x {name}" if n > 1 else name for name, n in counts.items())


def devices(
    tensorflow_gpus: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    gpu_runtime: str | None = None,
    gpu_index: int = 0,
    nvidia: list[str] | None = None,
    cpu: str | None = None,
) -> dict[str, Any]:
    """Which devices a job could use and which it computed on, for its record.

    A GPU node does not mean GPU compute: a CPU-only TensorFlow build trains on the node's CPU
    without a word, and SLURM hands out GPUs through CUDA_VISIBLE_DEVICES. So the record keeps
    the driver's GPUs, TensorFlow's (`tensorflow_gpus`, None for jobs without TensorFlow), the
    allocation, and `used`: the GPU only where the job's runtime computed on one (TensorFlow:
    if it sees one; `gpu_runtime`, e.g. "TensorRT": CUDA device `gpu_index`), else the CPU.
    `warning` says when a TensorFlow job was given a GPU it cannot use (else None).
    Pure given `environ`, `nvidia` (nvidia-smi 'name, driver' lines) and `cpu`; None reads
    this host.
    """
    environ = os.environ if environ is None else environ
    cpu = cpu_model() if cpu is None else cpu
    gpus = [g["name"] for g in parse_gpus(nvidia_gpus() if nvidia is None else nvidia)]
    cuda_visible = environ.get("CUDA_VISIBLE_DEVICES")
    slurm = environ.get("SLURM_JOB_GPUS") or environ.get("SLURM_STEP_GPUS") or None
    used, warning = f"CPU: {cpu}", None
    if tensorflow_gpus:
        used = f"GPU: {_counted(list(tensorflow_gpus))} (TensorFlow); CPU: {cpu}"
    elif gpu_runtime:
        name = cuda_gpu_name(gpus, cuda_visible, gpu_index) or f"unknown GPU {gpu_index}"
        used = f"GPU: {name} ({gpu_runtime}); CPU: {cpu}"
    elif tensorflow_gpus is not None and gpu_allocated(gpus, cuda_visible, slurm):
        given = [
            *([f"nvidia-smi: {_counted(gpus)}"] if gpus else []),
            *([f"CUDA_VISIBLE_DEVICES={cuda_visible}"] if cuda_visible else []),
            *([f"SLURM GPUs {slurm}"] if slurm else []),
        ]
        used = f"CPU: {cpu} (allocated GPU unused)"
        warning = f"{GPU_WARNING}; allocated: {'; '.join(given)}; this job computes on the CPU"
    return {
        "cpu": cpu,
        "gpus": gpus,
        "tensorflow_gpus": None if tensorflow_gpus is None else list(tensorflow_gpus),
        "cuda_visible_devices": cuda_visible,
        "slurm_job_gpus": slurm,
        "used": used,
        "warning": warning,
    }
