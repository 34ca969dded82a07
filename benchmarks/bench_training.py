"""Training throughput (samples/s) of every configured model on this machine.

    .venv/bin/python benchmarks/bench_training.py [--frames 8192] [--threads 2] [--epochs 2]

Times `model.fit` on random frames through the same tf.data pipeline and settings the train
rule uses (first epoch discarded as warm-up), and prints one line per model.
"""

from __future__ import annotations

import argparse
import logging
import platform
import time

import numpy as np

from amrcomp import tfsetup
from amrcomp.frames import Split
from amrcomp.settings import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, default=2, help="timed epochs after one warm-up epoch"
    )
    args = parser.parse_args()
    tfsetup.configure(args.threads, 0)
    from amrcomp.fitting import fit
    from amrcomp.models import build_model

    config = load_config()
    rng = np.random.default_rng(0)
    frames = Split(
        x=rng.standard_normal((args.frames, 2, 128), dtype=np.float32) / 128,
        labels=rng.integers(0, 11, args.frames),
        snr=np.zeros(args.frames, dtype=np.int64),
    )
    log = logging.getLogger("bench")
    print(
        f"machine: {platform.processor() or platform.machine()}, threads {args.threads}, "
        f"{args.frames} frames/epoch"
    )
    for name, entry in config["models"].items():
        model = build_model(entry["arch"])
        settings = {**entry["train"], "epochs": 1, "early_stopping_patience": 0, "reduce_lr": None}
        fit(model, frames, frames, 11, settings, log)  # warm-up: graph tracing, allocation
        settings["epochs"] = args.epochs
        started = time.perf_counter()
        result = fit(model, frames, frames, 11, settings, log, recompile=False)
        elapsed = time.perf_counter() - started
        print(
            f"{name} ({entry['arch']}): "
            f"{result['used']['samples_per_second']:.0f} samples/s in fit epochs "
            f"({args.frames * args.epochs / elapsed:.0f} samples/s including validation)"
        )


if __name__ == "__main__":
    main()
