"""Measured LiteRT throughput (frames/s) of the quantised models at 1 and 2 threads,
batch 1 and 256.

A script, not a test: run after the quantize stage, e.g.
    .venv/bin/python benchmarks/bench_litert.py results/
It picks results/tflite/{model}/{variant}-{dtype}.tflite for variants magnitude-50 and
filters-50 at fp32 and int8 (whichever exist) and prints one table row per file and setting.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from amrcomp.runtimes import litert_predictor  # noqa: E402

VARIANTS = ("magnitude-50", "filters-50")
DTYPES = ("fp32", "int8")


def throughput(path: Path, threads: int, batch: int, min_seconds: float, warmup: int = 3) -> float:
    """Frames per second of repeated batches of random frames (timed after a warm-up)."""
    predict = litert_predictor(path, threads)
    x = np.random.default_rng(0).normal(scale=0.004, size=(batch, 2, 128, 1)).astype(np.float32)
    for _ in range(warmup):
        predict(x)
    runs, started = 0, time.perf_counter()
    while True:
        predict(x)
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds and runs >= 3:
            return runs * batch / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "results",
        nargs="?",
        default="results",
        type=Path,
        help="results directory (default: results/)",
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 256])
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="minimum timed seconds per measurement"
    )
    args = parser.parse_args(argv)
    files = sorted(
        p
        for p in (args.results / "tflite").glob("*/*.tflite")
        if p.stem.rsplit("-", 1)[0] in VARIANTS and p.stem.rsplit("-", 1)[1] in DTYPES
    )
    if not files:
        print(
            f"no {'/'.join(VARIANTS)} x {'/'.join(DTYPES)} .tflite files under "
            f"{args.results / 'tflite'}; run the quantize rule first",
            file=sys.stderr,
        )
        return 1
    print(f"{'model':<8} {'variant':<14} {'dtype':<6} {'threads':>7} {'batch':>6} {'frames/s':>12}")
    for path in files:
        variant, dtype = path.stem.rsplit("-", 1)
        for threads in args.threads:
            for batch in args.batches:
                fps = throughput(path, threads, batch, args.seconds)
                print(
                    f"{path.parent.name:<8} {variant:<14} {dtype:<6} "
                    f"{threads:>7} {batch:>6} {fps:>12,.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
