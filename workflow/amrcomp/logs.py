"""Logging for rule scripts: every step writes progress to its Snakemake log file.

`logged` also records the traceback of a failing step in the log, so `--keep-going` runs
name the failed job's log and the log says why. Its first and last lines carry what the job
spent before its own work began (interpreter, imports, Snakemake's script preamble), in all,
and whether TensorFlow was loaded (seconds of start-up a job that needs none must not pay):
`benchmarks/bench_dag.py` sums them per stage, the per-job overhead of a DAG.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Iterator

START_UP = "start-up %.2f s before this line (interpreter, imports, script preamble)"
FINISHED = "finished after %.2f s in all (TensorFlow %s)"
START_UP_RE = re.compile(r"start-up ([0-9.]+) s before this line")
IMPORT_RE = re.compile(r"TensorFlow import ([0-9.]+) s")
TOTAL_RE = re.compile(r"finished after ([0-9.]+) s in all")
TF_LOADED_RE = re.compile(r"finished after [0-9.]+ s in all \(TensorFlow loaded\)")


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere)."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def overhead_of(log_text: str) -> dict[str, float]:
    """The start-up and TensorFlow-import seconds one job's log reports (0 where it has none)."""
    found = {"start_up": START_UP_RE.search(log_text), "tf_import": IMPORT_RE.search(log_text)}
    return {key: float(m.group(1)) if m else 0.0 for key, m in found.items()}


def job_total(log_text: str) -> float | None:
    """The seconds a finished job's log reports in all (None: it did not finish)."""
    found = TOTAL_RE.search(log_text)
    return float(found.group(1)) if found else None


def loaded_tensorflow(log_text: str) -> bool:
    """Whether a finished job's log says its process had TensorFlow loaded."""
    return bool(TF_LOADED_RE.search(log_text))


@contextlib.contextmanager
def logged(log_path: str | Path | None, name: str) -> Iterator[logging.Logger]:
    """Log to `log_path` (and stderr) for the duration of a rule script."""
    age = process_age()
    started = time.perf_counter()
    root = logging.getLogger()
    level = root.level  # restored on exit: a caller's logging (a test run, say) is left as it was
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    log = logging.getLogger(name)
    if age is not None:
        log.info(START_UP, age)
    try:
        yield log
        loaded = "loaded" if "tensorflow" in sys.modules else "not loaded"
        log.info(FINISHED, (age or 0.0) + time.perf_counter() - started, loaded)
    except BaseException:
        log.exception("%s failed", name)
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
