"""Cluster runs: the users' main command (`results/table5.csv`) submitted through profiles/slurm
on the tiny config runs every job as a SLURM job and gives the local run's results; the profiles
put their resources on every job.

The cluster test needs a reachable SLURM controller (`bash .ci/start-slurm.sh` starts a
single-node one). Without one it is skipped, unless AMRCOMP_REQUIRE_SLURM=1 (CI), where that
is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT, TIMING, TINY, snakemake, strip_timing  # noqa: E402

PROFILES = ROOT / "profiles"
GPU_RULES = {"train", "prune", "control"}  # profiles/slurm-gpu gives each one GPU
LOCAL_RULES = {"table5"}  # of the rules the Table V run below needs: they run on the submit host


def slurm_unreachable() -> str | None:
    """Why SLURM cannot be used here, or None when `sinfo` answers with a partition."""
    if not shutil.which("sinfo"):
        return "sinfo is not installed (apt-get install slurm-wlm munge; bash .ci/start-slurm.sh)"
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%P %a %T"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s"
    if proc.returncode != 0:
        return (
            f"sinfo failed: {proc.stderr.strip() or proc.returncode} "
            "(start it with: bash .ci/start-slurm.sh)"
        )
    if not proc.stdout.strip():
        return "sinfo lists no partition"
    return None


@pytest.fixture(scope="module")
def slurm() -> None:
    reason = slurm_unreachable()
    if reason is None:
        return
    if os.environ.get("AMRCOMP_REQUIRE_SLURM") == "1":
        pytest.fail(f"AMRCOMP_REQUIRE_SLURM=1 but SLURM cannot be reached: {reason}")
    pytest.skip(f"SLURM cannot be reached: {reason}")


# --- the profiles, checked by dry runs (no cluster needed) ----------------------------------------


def planned_resources(output: str) -> list[tuple[str, dict, int]]:
    """(rule, resources, threads) of every job block of a dry run, `all` left out."""
    jobs = []
    for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+.*\n?)*)", output, re.M):
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", match[2], re.M))
        resources = dict(
            item.split("=", 1) for item in fields.get("resources", "").split(", ") if "=" in item
        )
        jobs.append((match[1], resources, int(fields.get("threads", 1))))
    return jobs


@pytest.mark.parametrize("profile", ["slurm", "slurm-gpu"])
def test_profile_resources_reach_every_job(tmp_path, profile):
    """Guards against profiles/default (loaded on top, key by key) dropping the cluster keys."""
    proc = snakemake(tmp_path / "work", "-n", "--profile", str(PROFILES / profile))
    output = proc.stdout + proc.stderr
    jobs = planned_resources(output)
    settings = yaml.safe_load((PROFILES / profile / "config.yaml").read_text())
    assert settings["executor"] == "slurm" and settings["slurm-status-command"] == "squeue"
    assert {rule for rule, _, _ in jobs} >= {"data", "train", "prune", "evaluate_keras"}, output[
        -3000:
    ]
    for rule, resources, threads in jobs:
        assert resources.get("slurm_partition") == "debug", (rule, resources)
        wanted = settings["set-resources"].get(rule, {})
        for key in ("mem_mb", "runtime"):
            assert key in resources, (rule, resources)
            if key in wanted:
                assert int(resources[key]) == wanted[key], (rule, key, resources)
        if rule in settings["set-threads"]:
            assert threads == settings["set-threads"][rule], (rule, threads)
        gpu = int(resources.get("gpu", 0))
        if rule in GPU_RULES:
            assert gpu == (1 if profile == "slurm-gpu" else 0), (rule, resources)
        elif rule == "benchmark":
            assert gpu == 0  # CPU backends only in the tiny config
        else:
            assert gpu == 0, (rule, resources)


@pytest.mark.parametrize("profile", ["slurm", "slurm-gpu"])
def test_profile_threads_match_a_local_run(tmp_path, profile):
    """TensorFlow's float sums depend on its thread count, so a cluster run gives a local 2-core
    run's numbers only with the same threads per rule (a prune on 2 threads there and 1 here
    changed Table V's accuracies)."""
    local = {
        rule: threads
        for rule, _, threads in planned_resources(snakemake(tmp_path / "local", "-n").stdout)
    }
    output = snakemake(tmp_path / "cluster", "-n", "--profile", str(PROFILES / profile)).stdout
    cluster = {rule: threads for rule, _, threads in planned_resources(output)}
    assert {"train", "prune", "evaluate_keras", "quantize"} <= set(local)
    assert cluster == local


def test_gpu_profile_is_the_cpu_profile_plus_gpus():
    cpu = yaml.safe_load((PROFILES / "slurm/config.yaml").read_text())
    gpu = yaml.safe_load((PROFILES / "slurm-gpu/config.yaml").read_text())
    for key in set(cpu) | set(gpu):
        if key not in ("set-resources", "set-threads", "slurm-jobname-prefix"):
            assert cpu.get(key) == gpu.get(key), f"profiles differ in {key}"
    assert "trt_build" not in cpu["set-resources"] and gpu["set-resources"]["trt_build"]["gpu"] == 1
    for rule in set(cpu["set-resources"]):
        without_gpu = {k: v for k, v in gpu["set-resources"][rule].items() if k != "gpu"}
        assert {k: v for k, v in cpu["set-resources"][rule].items() if k != "gpu"} == without_gpu
        assert gpu["set-resources"][rule].get("gpu", 0) == int(rule in GPU_RULES), rule
        assert cpu["set-resources"][rule].get("gpu", 0) == 0, rule
    assert {k: v for k, v in gpu["set-threads"].items() if k != "trt_build"} == cpu["set-threads"]


def test_training_runtimes_come_from_the_rules(tmp_path):
    """Wall time scales with the work a config asks for (amrcomp.walltime), so the profiles set
    none for training and fine-tunes: a paper-scale job asks for more than a tiny one."""
    for profile in ("slurm", "slurm-gpu"):
        settings = yaml.safe_load((PROFILES / profile / "config.yaml").read_text())
        for rule in GPU_RULES:
            assert "runtime" not in settings["set-resources"][rule], (profile, rule)
    runtimes = {}
    for name, files in {"tiny": (TINY,), "paper": (ROOT / "config/paper.yaml",)}.items():
        output = snakemake(tmp_path / name, "-n", "--profile", str(PROFILES / "slurm-gpu"),
                           configfiles=files).stdout  # fmt: skip
        runtimes[name] = {
            rule: int(resources["runtime"])
            for rule, resources, _ in planned_resources(output)
            if rule in GPU_RULES
        }
    assert set(runtimes["paper"]) == GPU_RULES
    for rule in GPU_RULES:
        assert runtimes["paper"][rule] > runtimes["tiny"][rule], (rule, runtimes)


# --- a real cluster run --------------------------------------------------------------------------


@pytest.mark.slurm
def test_start_script_is_idempotent(slurm):
    proc = subprocess.run(
        ["bash", str(ROOT / ".ci/start-slurm.sh")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing to do" in proc.stdout


def node_limits() -> tuple[int, int]:
    """(CPUs, RealMemory MB) of the smallest node of the default partition."""
    out = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%c %m"], capture_output=True, text=True, check=True
    ).stdout
    rows = [
        tuple(int(v.rstrip("+")) for v in line.split()) for line in out.splitlines() if line.strip()
    ]
    return min(c for c, _ in rows), min(m for _, m in rows)


def fit_to_node(profile: dict) -> list[str]:
    """Command-line overrides only when the node is smaller than the profile asks (a small CI
    machine): every set-resources entry with mem_mb capped to the node, threads to its CPUs."""
    cpus, memory = node_limits()
    args = []
    if any(v.get("mem_mb", 0) > memory for v in profile["set-resources"].values()):
        entries = [f"{rule}:{key}={min(value, memory) if key == 'mem_mb' else value}"
                   for rule, values in profile["set-resources"].items()
                   for key, value in values.items()]  # fmt: skip
        args += ["--set-resources", *entries]
    if cpus < profile["cores"]:
        args += ["--max-threads", str(cpus)]
    return args


def scontrol_jobs() -> dict[str, dict[str, str]]:
    """Every job slurmctld still knows (finished ones for MinJobAge), by job id, with the GPUs
    each asked for (TresPerJob) and was given (JOB_GRES, from `-d`)."""
    out = subprocess.run(
        ["scontrol", "-d", "show", "job", "-o"], capture_output=True, text=True, check=True
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w[\w/:]*)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if not TIMING.search(c)]]


def comparable_record(path: Path) -> dict:
    """An evaluation record without timings and devices; a Keras one also without the zip size
    of its .keras file, which embeds its save time (so it compresses a few bytes differently)."""
    record = strip_timing(json.loads(path.read_text()))
    record.pop("devices", None)  # a SLURM job sees its GPU allocation, a local run none
    if record.get("backend") == "keras":
        record.pop("size_zip_bytes", None)
    return record


def cluster_run(
    workdir: Path, overlay: Path, *args: str
) -> tuple[subprocess.CompletedProcess, str]:
    """The tiny config's Table V (+ `overlay`) through profiles/slurm-gpu; (process, output)."""
    profile = yaml.safe_load((PROFILES / "slurm-gpu/config.yaml").read_text())
    proc = snakemake(
        workdir,
        "results/table5.csv",
        "--profile", str(PROFILES / "slurm-gpu"),
        # poll squeue every 2 s: the jobs take seconds each
        "--slurm-init-seconds-before-status-checks", "2",
        "--seconds-between-status-checks", "2",
        "--slurm-keep-successful-logs",
        *fit_to_node(profile),
        *args,
        configfiles=(TINY, overlay),
        timeout=5400,
        check=False,
    )  # fmt: skip
    return proc, proc.stdout + proc.stderr


def job_ledger(output: str) -> tuple[dict[str, str], dict[str, tuple[str, Path]], set[str]]:
    """From a run's log: finished jobs {jobid: rule}, SLURM submissions {jobid: (slurm id, log)}
    and the rules of jobs that failed."""
    finished = dict(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", output))
    submitted = {
        jobid: (slurm_id, Path(log))
        for jobid, slurm_id, log in re.findall(
            r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", output
        )
    }
    failed = set(re.findall(r"Error in rule (\w+):", output))
    return finished, submitted, failed


SUBSET = {"variants": ["control-filters", "filters-50"], "dtypes": ["fp32", "int8", "bf16"]}


@pytest.fixture(scope="module")
def gpu_run(slurm, tmp_path_factory) -> dict:
    """Table V's part of the tiny DAG (data, training, a control and a pruned variant, export,
    benchmarks incl. not-offered bf16 rows; ~60 jobs) through profiles/slurm-gpu: every kind of
    rule that matters on a cluster, at a fifth of the whole tiny DAG's queueing time."""
    base = tmp_path_factory.mktemp("slurm")
    overlay = base / "slurm-table5.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "tables": {"table5_variants": SUBSET["variants"]},
                "deploy": {"dtypes": SUBSET["dtypes"]},
            }
        )
    )
    started = time.monotonic()
    proc, output = cluster_run(base / "work", overlay)
    elapsed = time.monotonic() - started
    print(f"tiny table5 DAG on SLURM (profiles/slurm-gpu): {elapsed:.0f} s")
    assert proc.returncode == 0, output[-5000:]
    return {"workdir": base / "work", "overlay": overlay, "output": output, "seconds": elapsed}


@pytest.mark.slurm
@pytest.mark.e2e
def test_gpu_jobs_got_a_gpu_and_light_jobs_ran_on_the_submit_host(gpu_run, record_property):
    record_property("slurm_run_seconds", round(gpu_run["seconds"]))
    output = gpu_run["output"]
    finished, submitted, _ = job_ledger(output)
    run_id = re.search(r"SLURM run ID: (\S+)", output)[1]
    total = int(re.search(r"^total\s+(\d+)$", output, re.M)[1])
    assert len(finished) == total, f"{len(finished)} of {total} jobs finished"
    local = {finished[jobid] for jobid in set(finished) - set(submitted)}
    assert local == LOCAL_RULES, f"jobs run without SLURM: {local}"
    assert not LOCAL_RULES & {finished[jobid] for jobid in submitted}, "a light job was submitted"
    assert len({slurm_id for slurm_id, _ in submitted.values()}) == len(submitted)

    known = scontrol_jobs()
    assert set(finished.values()) >= GPU_RULES | {"benchmark", "export_onnx"}
    for jobid, (slurm_id, log) in submitted.items():
        rule = finished[jobid]
        assert log.is_file(), f"no SLURM log for job {jobid} ({rule})"
        assert re.search(rf"^rule {rule}:$", log.read_text(), re.M), f"{log} does not run {rule}"
        record = known.get(slurm_id)
        assert record is not None, f"slurmctld forgot job {slurm_id} (MinJobAge too short?)"
        assert record["JobName"] == run_id and record["Comment"].startswith(f"rule_{rule}"), record
        assert record["JobState"] == "COMPLETED" and record["ExitCode"] == "0:0", record
        assert record["StdOut"] == str(log)
        if rule in GPU_RULES:  # asked for a GPU, and SLURM allocated its (only) one
            assert record.get("TresPerJob") == "gres:gpu:1", (rule, record)
            assert record.get("JOB_GRES") == "gpu:fake:1", (rule, record)
        else:
            assert "gpu" not in record.get("TresPerJob", ""), (rule, record)


@pytest.mark.slurm
@pytest.mark.e2e
def test_table5_on_slurm_matches_local_run(gpu_run, tiny_run):
    workdir = gpu_run["workdir"]
    assert sorted(p.name for p in (workdir / "results").glob("table*.csv")) == ["table5.csv"]
    local, cluster = (pd.read_csv(run / "results/table5.csv") for run in (tiny_run, workdir))
    local = local[local["variant"].isin(SUBSET["variants"]) & local["dtype"].isin(SUBSET["dtypes"])]
    # check_dtype off: the local table's other rows (paper references) made some columns float
    pd.testing.assert_frame_equal(
        comparable(cluster),
        comparable(local.reset_index(drop=True)),
        obj="table5.csv",
        check_dtype=False,
    )
    evals = sorted(p.relative_to(workdir) for p in (workdir / "results/eval").rglob("*.json"))
    assert evals, "the cluster run has no evaluations"
    for rel in evals:
        assert comparable_record(workdir / rel) == comparable_record(tiny_run / rel), rel


@pytest.mark.slurm
@pytest.mark.e2e
def test_tensorrt_without_gpu_fails_only_its_jobs(gpu_run, tmp_path):
    """TensorRT listed, no GPU anywhere: the submit host starts anyway, every engine build fails
    with the gate's message on its node, and every chain that needs no engine completes. (Listing
    tensorrt switches the int8 ONNX scheme, so the int8 exports and their benchmarks re-run.)"""
    workdir = tmp_path / "work"
    shutil.copytree(gpu_run["workdir"], workdir, symlinks=True)
    overlay = tmp_path / "trt.yaml"
    settings = yaml.safe_load(gpu_run["overlay"].read_text())
    settings["deploy"]["backends"] = ["onnxruntime", "litert", "openvino", "tensorrt"]
    overlay.write_text(yaml.safe_dump(settings))
    started = time.time()  # copytree kept the first run's modification times
    proc, output = cluster_run(workdir, overlay, "--keep-going", "--retries", "0")
    assert proc.returncode != 0, output[-3000:]
    finished, submitted, failed = job_ledger(output)
    assert failed == {"trt_build"}, (failed, output[-5000:])
    ran = set(finished.values())
    assert {"convert_onnx", "benchmark"} <= ran, ran  # the int8 chain re-ran without TensorRT
    assert not {"table5", "trt_build"} & ran
    logs = sorted((workdir / "results/logs/trt").rglob("*.log"))
    assert logs, "no TensorRT job ran"
    for log in logs:
        assert "deploy.backends requests tensorrt, but this machine" in log.read_text(), log
    assert not (workdir / "results/bench/tensorrt").exists()
    for check in (workdir / "results/onnx").rglob("*-int8.check.json"):
        assert json.loads(check.read_text())["quantization"]["scheme"] == "tensorrt", check
    for backend in ("onnxruntime", "openvino", "litert"):  # LiteRT runs no ONNX: left alone
        records = list((workdir / "results/bench" / backend).rglob("*-int8.json"))
        rerun = {p.stat().st_mtime > started for p in records}
        assert records and rerun == {backend != "litert"}, backend
