"""Speed of the synthetic RadioML 2016.10a generator at the paper's size
(11 classes x 20 SNRs x 1000 frames).

    .venv/bin/python benchmarks/bench_generator.py [--frames-per-block N] [--seed S]
                                                   [--snr-definition per_frame|original]

Prints wall time and frames/s, plus a per-SNR sanity line (realised SNR before normalisation,
L1 norm of the frames) so a speed-up that breaks the output is noticed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from amrcomp.data.params import SNR_DEFINITIONS
from amrcomp.data.synthetic import CLASSES, SNRS, GeneratorParams, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames-per-block", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--snr-definition", choices=SNR_DEFINITIONS, default="per_frame")
    args = parser.parse_args()
    params = GeneratorParams(snr_definition=args.snr_definition)
    start = time.perf_counter()
    x, labels, snr, realised = generate(
        args.frames_per_block, args.seed, params, return_realised_snr=True
    )
    wall = time.perf_counter() - start
    print(
        f"generated {len(labels):,} frames "
        f"({len(CLASSES)} classes x {len(SNRS)} SNRs x {args.frames_per_block}) "
        f"of shape {x.shape[1:]}"
    )
    print(f"wall time {wall:.2f} s, {len(labels) / wall:,.0f} frames/s")
    l1_error = np.abs(
        np.hypot(x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)).sum(axis=1) - 1
    ).max()
    print(f"max |L1 norm - 1| = {l1_error:.2e}, all finite: {bool(np.isfinite(x).all())}")
    print("SNR label  realised mean  realised std (dB)")
    for s in SNRS:
        r = realised[snr == s]
        print(f"{s:9d}  {r.mean():13.2f}  {r.std():12.2f}")


if __name__ == "__main__":
    main()
