"""Wall time of the whole default DAG (every table) on this machine, with the time per stage.

    .venv/bin/python benchmarks/bench_dag.py [--workdir /tmp/amrcomp-dag] [--cores 2] [target ...]

Runs `snakemake --cores N [targets]` on config/config.yaml (plus any `--configfile`) in an empty
working directory, so nothing is reused, then prints the wall time and the seconds each stage
spent (summed over its jobs, from the `benchmark:` files under results/benchmarks/{stage}/).
Re-running against the same workdir times only what is missing; pass --fresh to start over.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def stage_seconds(results: Path) -> dict[str, tuple[int, float]]:
    """(jobs, seconds) per stage directory under results/benchmarks/."""
    totals: dict[str, list[float]] = defaultdict(list)
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        stage = tsv.relative_to(results / "benchmarks").parts[0]
        totals[stage].append(float(pd.read_csv(tsv, sep="\t")["s"].iloc[-1]))
    return {stage: (len(v), sum(v)) for stage, v in sorted(totals.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/amrcomp-dag"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", action="append", default=[])
    parser.add_argument("--fresh", action="store_true", help="delete the workdir first")
    parser.add_argument("targets", nargs="*")
    args = parser.parse_args()
    if args.fresh and args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(args.workdir),
        "--cores",
        str(args.cores),
        *args.targets,
    ]
    if args.configfile:
        command += ["--configfile", *args.configfile]
    print("running:", " ".join(command), flush=True)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=args.workdir)
    wall = time.perf_counter() - started
    print(
        f"\nexit code {proc.returncode}; wall time {wall:.0f} s ({wall / 60:.1f} min) "
        f"on {args.cores} cores"
    )
    print(f"{'stage':<20} {'jobs':>5} {'seconds':>9}")
    for stage, (jobs, seconds) in stage_seconds(args.workdir / "results").items():
        print(f"{stage:<20} {jobs:>5} {seconds:>9.0f}")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
