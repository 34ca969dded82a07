"""Gate for the TensorRT backend: say what is missing, at the start of a local run and in
every job that builds or runs an engine.

Where the gate runs matters on a cluster: the submit host (a login node) usually has no GPU,
and neither do the CPU nodes that run tables or ONNX exports. So a cluster run starts without
it, and only the TensorRT jobs (on GPU nodes) check their own host; a local run checks once,
before its first job, instead of failing half an hour in.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from typing import Iterable, Mapping


class GpuUnavailable(RuntimeError):
    """TensorRT was requested on a machine that cannot run it."""


def nvidia_gpus() -> list[str]:
    """Names of the NVIDIA GPUs the driver reports (empty without a driver or GPU)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def require_tensorrt() -> None:
    """Raise GpuUnavailable unless an NVIDIA GPU and the tensorrt package are both present on
    this host (named in the message: on a cluster it is the node the job landed on)."""
    missing = []
    if not nvidia_gpus():
        missing.append("an NVIDIA GPU with its driver (nvidia-smi found no GPU)")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        missing.append("the tensorrt Python package (pip install '.[gpu]')")
    if missing:
        raise GpuUnavailable(
            f"deploy.backends requests tensorrt, but this machine ({socket.gethostname()}) lacks "
            + " and ".join(missing)
            + "; remove tensorrt from deploy.backends or run on a GPU node (profiles/slurm-gpu)."
        )


def needs_tensorrt(rule: str, wildcards: Mapping[str, str]) -> bool:
    """Whether a job builds or runs a TensorRT engine."""
    return rule == "trt_build" or (rule == "benchmark" and wildcards.get("backend") == "tensorrt")


def gate_local_run(local: bool, jobs: Iterable[tuple[str, Mapping[str, str]]]) -> None:
    """Before a local run's first job: require TensorRT if any job to run needs it. A cluster
    run passes (`local` False): its TensorRT jobs check the node they run on."""
    if local and any(needs_tensorrt(rule, wildcards) for rule, wildcards in jobs):
        require_tensorrt()
