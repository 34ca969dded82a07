"""Every job's log reports its start-up and total seconds, the per-job overhead bench_dag sums."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest

from amrcomp.logs import job_total, loaded_tensorflow, logged, overhead_of, process_age


def test_process_age_counts_from_this_process_start():
    age = process_age()
    if age is None:
        pytest.skip("no /proc on this system: process_age is None by design")
    code = (
        "import time; from amrcomp.logs import process_age; time.sleep(0.3); print(process_age())"
    )
    child = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert 0.3 <= child < 10.0  # the child's own age, not the machine's uptime


def test_log_carries_start_up_and_total(tmp_path):
    path = tmp_path / "job.log"
    with logged(path, "job") as log:
        log.info("working")
    text = path.read_text()
    assert "start-up" in text and job_total(text) is not None
    assert overhead_of(text)["start_up"] >= 0.0
    assert loaded_tensorflow(text) == ("tensorflow" in sys.modules)


def test_logging_is_left_as_it_was(tmp_path):
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    with logged(tmp_path / "job.log", "job"):
        assert root.level == logging.INFO
    assert (root.level, list(root.handlers)) == before


def test_failed_job_ends_with_its_traceback(tmp_path):
    path = tmp_path / "job.log"
    with pytest.raises(RuntimeError), logged(path, "job"):
        raise RuntimeError("boom")
    text = path.read_text()
    assert "finished after" not in text and text.rstrip().endswith("RuntimeError: boom")


def test_overhead_of_reads_both_figures():
    text = (
        "x INFO job: start-up 0.31 s before this line (interpreter, imports, script preamble)\n"
        "x INFO amrcomp.tfsetup: TensorFlow import 2.05 s\n"
    )
    assert overhead_of(text) == {"start_up": 0.31, "tf_import": 2.05}
    assert overhead_of("nothing here") == {"start_up": 0.0, "tf_import": 0.0}


# Rules whose work needs no TensorFlow: loading it would cost each job seconds of start-up.
TENSORFLOW_FREE = re.compile(
    r"^(data|data_preview|evaluate_tflite|benchmark|convert_onnx|table\w*|front|figure_\w+"
    r"|summary)$"
)
JOB_LINE = re.compile(r"INFO (\S+) .*start-up [0-9.]+ s before this line")


@pytest.mark.e2e
def test_every_job_of_the_tiny_run_logs_its_overhead(tiny_run):
    """Each job's log has its start-up and total; the rules that need no TensorFlow never load
    it (TensorRT rows are GPU work and load their own runtime)."""
    logs = sorted((tiny_run / "results/logs").rglob("*.log"))
    assert len(logs) > 50
    loaded = []
    for log in logs:
        text = log.read_text(errors="replace")
        job = JOB_LINE.search(text)
        assert job and job_total(text) is not None, f"{log} lacks its start-up or total line"
        if TENSORFLOW_FREE.match(job.group(1)) and loaded_tensorflow(text):
            loaded.append(str(log.relative_to(tiny_run)))
    assert not loaded, f"jobs that need no TensorFlow loaded it: {loaded}"
