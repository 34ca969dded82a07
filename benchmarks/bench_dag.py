"""Wall time of the whole default DAG (every table) on this machine, with the time per stage.

    .venv/bin/python benchmarks/bench_dag.py [--workdir /tmp/amrcomp-dag] [--cores 2] [target ...]

Runs `snakemake --cores N [targets]` on config/config.yaml (plus any `--configfile`) in an empty
working directory, so nothing is reused, then prints the wall time and the seconds each stage
spent (summed over its jobs, from the `benchmark:` files under results/benchmarks/{stage}/),
and of those the per-job overhead its jobs' logs report (results/logs/{stage}/, amrcomp.logs):
`start-up`, from process start to the job's first log line (interpreter, module imports,
Snakemake's script preamble), `tf import`, TensorFlow and tf_keras imported after it,
`outside`, Snakemake's seconds beyond the job's own total (process exit: TensorFlow's teardown),
and `tf jobs`, how many of the stage's jobs loaded TensorFlow at all.
Re-running against the same workdir times only what is missing; pass --fresh to start over.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from amrcomp.logs import job_total, loaded_tensorflow, overhead_of  # noqa: E402

COLUMNS = {
    "jobs": "jobs",
    "seconds": "seconds",
    "start_up": "start-up",
    "tf_import": "tf import",
    "outside": "outside",
    "tf_jobs": "tf jobs",
}
SUMMED = [k for k in COLUMNS if k != "jobs"]  # per-job figures, summed per stage


def job_table(results: Path) -> pd.DataFrame:
    """One row per job with a `benchmark:` file: its stage, seconds (Snakemake's measure), and
    from its log the start-up, TensorFlow import, whether it loaded TensorFlow, and `outside`:
    Snakemake's seconds minus the job's own total (process exit, e.g. TensorFlow's teardown)."""
    rows = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rel = tsv.relative_to(results / "benchmarks")
        seconds = float(pd.read_csv(tsv, sep="\t")["s"].iloc[-1])
        log = (results / "logs" / rel).with_suffix(".log")
        text = log.read_text(errors="replace") if log.exists() else ""
        total = job_total(text)
        rows.append(
            {
                "stage": rel.parts[0],
                "seconds": seconds,
                **overhead_of(text),
                "outside": seconds - total if total is not None else 0.0,
                "tf_jobs": int(loaded_tensorflow(text)),
            }
        )
    return pd.DataFrame(rows, columns=["stage", *SUMMED])


def stage_summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs and summed seconds per stage, with a row `all`."""
    table = jobs.groupby("stage").agg(
        jobs=("seconds", "size"),
        **{k: (k, "sum") for k in SUMMED},
    )
    table.loc["all"] = table.sum()
    return table


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
        # Snakemake runs in the workdir: a relative path means the caller's directory.
        command += ["--configfile", *(str(Path(f).resolve()) for f in args.configfile)]
    print("running:", " ".join(command), flush=True)
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=args.workdir)
    wall = time.perf_counter() - started
    print(
        f"\nexit code {proc.returncode}; wall time {wall:.0f} s ({wall / 60:.1f} min) "
        f"on {args.cores} cores"
    )
    table = stage_summary(job_table(args.workdir / "results"))
    print(f"{'stage':<14}" + "".join(f"{v:>10}" for v in COLUMNS.values()))
    for stage, row in table.iterrows():
        print(f"{stage:<14}" + "".join(f"{row[k]:>10.0f}" for k in COLUMNS))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
