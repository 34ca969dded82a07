"""Logging for rule scripts: every step writes progress to its Snakemake log file.

`logged` also records the traceback of a failing step in the log, so `--keep-going` runs
name the failed job's log and the log says why.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def logged(log_path: str | Path | None, name: str) -> Iterator[logging.Logger]:
    """Log to `log_path` (and stderr) for the duration of a rule script."""
    root = logging.getLogger()
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
    try:
        yield log
    except BaseException:
        log.exception("%s failed", name)
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
