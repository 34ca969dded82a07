"""Training speed (samples/s) and reached test accuracy of every configured model, fp32 vs bf16.

    .venv/bin/python benchmarks/bench_training.py [--threads 2] [--frames 8192] [--epochs 2]
        [--repeats 1] [--precisions fp32 bf16] [--frames-per-block 100] [--train-epochs 1]

Speed: `model.fit` on `--frames` random frames through the train rule's tf.data pipeline and
settings, one warm-up epoch (graph tracing) and then `--epochs` timed epochs, per model and
precision (bf16 = Keras mixed_bfloat16, as `train.precision` gives it: `amrcomp.mixed`).

Accuracy with the same budget: each model is trained from the same initial weights in each
precision for `--train-epochs` epochs on a synthetic data set of `--frames-per-block` frames per
(class, SNR), split 80/10/10, and scored on its test split as it is saved (float32). The
difference bf16 - fp32 comes with its paired 95 % interval over the same test frames
(`amrcomp.confidence.paired_drop_pp`); `--frames-per-block 0` skips this part. The machine (CPU,
bf16 flags, threads, TensorFlow) is printed first: figures from different hosts do not compare.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from amrcomp import tfsetup
from amrcomp.frames import Split
from amrcomp.settings import load_config


def machine(threads: int) -> str:
    """One line naming the host, what `precision: auto` would choose on it, and TensorFlow."""
    import tensorflow as tf

    from amrcomp import mixed
    from amrcomp.machine import cpu_flags, cpu_model

    auto = mixed.resolve_here("auto")
    bf16_flags = [f for f in cpu_flags() if f in mixed.BF16_CPU_FLAGS] or ["none"]
    return (
        f"machine: {cpu_model()}, bf16 CPU flags {' '.join(bf16_flags)}, threads {threads}, "
        f"TensorFlow {tf.__version__}; auto -> {auto['used']} ({auto['reason']})"
    )


def speed(entry: dict, precision: str, frames: Split, epochs: int, log) -> tuple[float, float]:
    """(samples per wall second, per CPU second of this process) of `epochs` timed training
    epochs (and a 256-frame validation) after one warm-up epoch. The CPU-second figure moves
    less when other processes share the cores."""
    from amrcomp import mixed
    from amrcomp.fitting import fit
    from amrcomp.models import build_model

    model = mixed.recast(build_model(entry["arch"], **entry["arch_params"]), precision)
    settings = {**entry["train"], "epochs": 1, "early_stopping_patience": 0, "reduce_lr": None}
    val = Split(frames.x[:256], frames.labels[:256], frames.snr[:256])  # a token validation
    fit(model, frames, val, 11, settings, log)  # warm-up: graph tracing, allocation
    cpu = time.process_time()
    result = fit(model, frames, val, 11, {**settings, "epochs": epochs}, log, recompile=False)
    cpu = time.process_time() - cpu
    return result["used"]["samples_per_second"], len(frames) * epochs / cpu


def synthetic_splits(frames_per_block: int, seed: int = 2016) -> dict[str, Split]:
    """Train/val/test splits (80/10/10 per block) of a freshly generated synthetic data set."""
    from amrcomp.data.split import split_blocks
    from amrcomp.data.synthetic import generate

    x, labels, snr = generate(frames_per_block, seed)
    parts = split_blocks(labels, snr, (0.8, 0.1, 0.1), seed)
    return {name: Split(x[i], labels[i], snr[i]) for name, i in parts.items()}


def trained_correctness(
    entry: dict, precision: str, splits: dict[str, Split], epochs: int, seed: int, log
) -> tuple[np.ndarray, float]:
    """(per-test-frame correctness of the saved float32 model, training seconds)."""
    from amrcomp import mixed
    from amrcomp.fitting import fit
    from amrcomp.models import build_model
    from amrcomp.tfsetup import keras

    keras().utils.set_random_seed(seed)  # the same initial weights in every precision
    model = mixed.recast(build_model(entry["arch"], **entry["arch_params"]), precision)
    settings = {**entry["train"], "epochs": epochs}
    result = fit(model, splits["train"], splits["val"], 11, settings, log)
    saved = mixed.recast(model, "fp32")
    probabilities = saved.predict(splits["test"].x[..., None], batch_size=1024, verbose=0)
    return probabilities.argmax(axis=1) == splits["test"].labels, result["used"]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=8192, help="random frames per timed epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up")
    parser.add_argument("--repeats", type=int, default=1, help="speed runs; the best is shown")
    parser.add_argument(
        "--precisions", nargs="+", choices=["fp32", "bf16"], default=["fp32", "bf16"]
    )
    parser.add_argument("--frames-per-block", type=int, default=100, help="0: no accuracy run")
    parser.add_argument("--train-epochs", type=int, default=1, help="budget of the accuracy run")
    parser.add_argument("--seed", type=int, default=2016)
    args = parser.parse_args()
    tfsetup.configure(args.threads, args.seed)
    from amrcomp.confidence import paired_drop_pp

    config = load_config(check=False)
    log = logging.getLogger("bench")
    print(machine(args.threads))
    rng = np.random.default_rng(0)
    noise = Split(
        x=rng.standard_normal((args.frames, 2, 128), dtype=np.float32) / 128,
        labels=rng.integers(0, 11, args.frames),
        snr=np.zeros(args.frames, dtype=np.int64),
    )
    print(
        f"speed: {args.frames} random frames/epoch, 1 warm-up + {args.epochs} timed epochs, "
        f"best of {args.repeats} (precisions alternate)"
    )
    for name, entry in config["models"].items():
        rates = dict.fromkeys(args.precisions, (0.0, 0.0))
        for _ in range(args.repeats):  # on a shared host the best run is the least disturbed
            for p in args.precisions:
                rates[p] = max(rates[p], speed(entry, p, noise, args.epochs, log))
        for k, unit in enumerate(("samples/s", "samples per CPU second")):
            figures = ", ".join(f"{p} {r[k]:,.0f}" for p, r in rates.items())
            if len(rates) == 2:
                figures += f" (bf16/fp32 {rates['bf16'][k] / rates['fp32'][k]:.2f}x)"
            print(f"  {name} ({entry['arch']}): {unit} {figures}")
    if not args.frames_per_block:
        return
    started = time.perf_counter()
    splits = synthetic_splits(args.frames_per_block, args.seed)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    print(
        f"accuracy: synthetic, {args.frames_per_block} frames per (class, SNR) ({sizes}; "
        f"generated in {time.perf_counter() - started:.1f} s), {args.train_epochs} epoch(s), "
        f"seed {args.seed}, scored as saved (float32)"
    )
    for name, entry in config["models"].items():
        correct, seconds = {}, {}
        for p in args.precisions:
            correct[p], seconds[p] = trained_correctness(
                entry, p, splits, args.train_epochs, args.seed, log
            )
        line = ", ".join(
            f"{p} {100 * c.mean():.2f} % ({seconds[p]:.0f} s)" for p, c in correct.items()
        )
        if len(correct) == 2:
            drop, half = paired_drop_pp(correct["fp32"], correct["bf16"])
            line += f"; bf16 - fp32 {-drop:+.2f} +- {half:.2f} points (paired 95 %)"
        print(f"  {name}: test accuracy {line}")


if __name__ == "__main__":
    main()
