"""Gate for the TensorRT backend: fail at the start, saying what is missing, not mid-run."""

from __future__ import annotations

import shutil
import subprocess


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
    """Raise GpuUnavailable unless an NVIDIA GPU and the tensorrt package are both present."""
    missing = []
    if not nvidia_gpus():
        missing.append("an NVIDIA GPU with its driver (nvidia-smi found no GPU)")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        missing.append("the tensorrt Python package (pip install '.[gpu]')")
    if missing:
        raise GpuUnavailable(
            "deploy.backends requests tensorrt, but this machine lacks "
            + " and ".join(missing)
            + "; remove tensorrt from deploy.backends or run on a GPU node (profiles/slurm-gpu)."
        )
