"""Realised SNR per class of the synthetic generator under both SNR definitions.

    .venv/bin/python benchmarks/bench_snr.py [--frames-per-block N] [--seed S] [--snrs -10 0 10 18]

For each `dataset.synthetic.snr_definition` (per_frame, original) and SNR label, prints every
class's realised SNR (10*log10 of signal over noise power of a frame, before normalisation) as
mean and std in dB over its frames, plus the spread of the class means and a row of AM-SSB
frames that are all paused (their noise must not pause with the audio), with the machine and
the command, so the figures quoted in README.md can be reproduced and compared.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time

import numpy as np

from amrcomp.data.params import SNR_DEFINITIONS
from amrcomp.data.synthetic import CLASSES, GeneratorParams, generate
from amrcomp.machine import cpu_model


def realised_by_class(
    frames_per_block: int,
    seed: int,
    params: GeneratorParams,
    snrs: list[int],
    classes: tuple[str, ...] = CLASSES,
) -> dict[str, dict[int, tuple[float, float]]]:
    """(mean, std) in dB of the realised SNR of every class at every label."""
    _, labels, snr, realised = generate(
        frames_per_block, seed, params, classes, snrs, return_realised_snr=True
    )
    table: dict[str, dict[int, tuple[float, float]]] = {}
    for ci, name in enumerate(classes):
        for s in snrs:
            r = realised[(labels == ci) & (snr == s)]
            table.setdefault(name, {})[s] = (float(r.mean()), float(r.std()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames-per-block", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--snrs", type=int, nargs="+", default=[-10, 0, 10, 18])
    args = parser.parse_args()
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"{args.frames_per_block} frames per (class, SNR), seed {args.seed}")
    for definition in SNR_DEFINITIONS:
        start = time.perf_counter()
        params = GeneratorParams(snr_definition=definition)
        table = realised_by_class(args.frames_per_block, args.seed, params, args.snrs)
        wall = time.perf_counter() - start
        paused = dataclasses.replace(params, audio_silence_prob=1.0, audio_music_prob=0.0)
        ssb = realised_by_class(args.frames_per_block, args.seed, paused, args.snrs, ("AM-SSB",))
        print(f"\nsnr_definition: {definition} ({wall:.1f} s)")
        print("realised SNR, mean +- std (dB), per SNR label")
        print(f"{'class':14s}" + "".join(f"{s:>16d}" for s in args.snrs))
        for name, row in [*table.items(), ("paused AM-SSB", ssb["AM-SSB"])]:
            cells = (f"{m:9.1f} +-{sd:4.1f}" for m, sd in (row[s] for s in args.snrs))
            print(f"{name:14s}" + "".join(cells))
        spread = [np.ptp([table[name][s][0] for name in CLASSES]) for s in args.snrs]
        cells = (f"{v:16.1f}" for v in spread)
        print(f"{'spread':14s}" + "".join(cells) + "  (max - min of the class means)")


if __name__ == "__main__":
    main()
