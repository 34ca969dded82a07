"""Shared fixtures: the repo root, configs, and one tiny-config run of the whole DAG per session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "config" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# Keys and columns that measure time (they differ between any two runs; speedup: a ratio of two;
# fastest: the backend with the highest throughput).
TIMING = re.compile(
    r"second|fps|throughput|latency|_ms$|time|elapsed|duration|best_batch_size|speedup|fastest",
    re.I,
)


# Benchmark settings small enough for unit tests (tests/test_bench.py, tests/test_openvino.py).
BENCH_SETTINGS = {
    "batch_sizes": [4, 16],
    "warmup": 2,
    "repeats": 3,
    "min_seconds": 0.0,
    "threads": 1,
    "eval_batch_size": 8,
}


def random_frames(n: int, seed: int, n_classes: int):
    """`n` random frames (2 x 128) of `n_classes` classes at 0 dB: fit and prune unit tests."""
    import numpy as np

    from amrcomp.frames import Split

    rng = np.random.default_rng(seed)
    return Split(
        rng.normal(size=(n, 2, 128)).astype(np.float32),
        rng.integers(0, n_classes, n),
        np.zeros(n, dtype=np.int64),
    )


def l1_frames(n: int, seed: int):
    """`n` L1-normalised random frames of 11 classes at -4 or 6 dB, like RadioML's: export and
    benchmark unit tests."""
    import numpy as np

    from amrcomp.frames import Split

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return Split(x=x, labels=rng.integers(0, 11, n), snr=rng.choice([-4, 6], n))


def strip_timing(obj):
    """`obj` without the dict keys that hold timings, at any depth."""
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if not TIMING.search(k)}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def snakemake(
    workdir: Path,
    *args: str,
    configfiles: tuple[Path | str, ...] = (TINY,),
    check: bool = True,
    timeout: int = 3600,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run the workflow of this repo in `workdir` (outputs under workdir/results)."""
    cmd = [
        SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
    ]
    # --configfile takes every following word as a config file: put it after the options and
    # targets, but before an explicit "--" (after which every word is a target).
    args = list(args)
    split = args.index("--") if "--" in args else len(args)
    cmd += args[:split]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += args[split:]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A completed tiny-config run of the default target; tests read its artifacts,
    never write them."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    snakemake(workdir)
    return workdir


@pytest.fixture()
def tiny_copy(tiny_run, tmp_path) -> Path:
    """A private copy of the completed tiny run (with Snakemake's metadata) for tests
    that modify it."""
    dest = tmp_path / "run"
    shutil.copytree(tiny_run, dest, symlinks=True)
    return dest
