"""Fault tolerance: a killed run resumes without rebuilding finished work, a failing job is named
with its log while the other model's chain completes, bad config and bad data are refused with a
message naming the problem (before anything is written), and a full disk never leaves a
truncated artifact."""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import pickle
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from amrcomp.atomic import atomic_path, write_json  # noqa: E402
from conftest import ROOT, SNAKEMAKE, TINY, snakemake  # noqa: E402

TRAIN_OUTPUTS = ("baseline.keras", "history.csv", "train.json")
EPOCH_LINE = re.compile(r"epoch 1/\d+ ")


def write_yaml(path: Path, obj) -> Path:
    path.write_text(yaml.safe_dump(obj))
    return path


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime_ns) of every file below root."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def error_blocks(output: str) -> list[tuple[str, str]]:
    """(rule, indented details) of every 'Error in rule <rule>:' block in Snakemake's output."""
    return re.findall(r"Error in rule (\w+):\n((?:[ \t]+.*\n?)+)", output)


def error_block(output: str, rule: str, needle: str) -> str:
    """The 'Error in rule <rule>:' block that mentions `needle` (e.g. the job's output file)."""
    matching = [
        details for name, details in error_blocks(output) if name == rule and needle in details
    ]
    assert matching, f"no 'Error in rule {rule}' block mentioning {needle!r} in:\n{output[-6000:]}"
    return matching[0]


def wait_for(predicate, proc: subprocess.Popen, timeout: float, what: str, output: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(
                f"snakemake exited ({proc.returncode}) before {what}:\n{output.read_text()[-4000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


# --- killed runs ---------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_training_leaves_no_artifact_and_resumes(tiny_copy, tmp_path, sig):
    """Kill the whole process group during model2's training; the re-run trains model2 again and
    rebuilds nothing that was finished (data, model1)."""
    work = tiny_copy
    epochs = 6  # long enough that the kill lands mid-training
    longer = write_yaml(
        tmp_path / "longer.yaml", {"models": {"model2": {"train": {"epochs": epochs}}}}
    )
    model2 = work / "results/models/model2"
    for name in TRAIN_OUTPUTS:
        (model2 / name).unlink()
    log = work / "results/logs/train/model2.log"
    log.unlink()
    finished = [
        *sorted((work / "results/data/tiny").iterdir()),
        *(work / "results/models/model1" / n for n in TRAIN_OUTPUTS),
    ]
    before = {p: p.stat().st_mtime_ns for p in finished}
    targets = ["results/models/model1/baseline.keras", "results/models/model2/baseline.keras"]
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
           "--cores", "2", "--configfile", str(TINY), str(longer), "--", *targets]  # fmt: skip
    output = tmp_path / "snakemake.out"
    with open(output, "w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(
            lambda: log.exists() and EPOCH_LINE.search(log.read_text()),
            proc,
            600,
            "model2's first epoch",
            output,
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode != 0
    assert f"epoch {epochs}/{epochs}" not in log.read_text(), (
        "training finished before the kill: the test proves nothing"
    )

    # Nothing that looks finished: the outputs are absent; a temp file of a killed writer may stay,
    # under a hidden name no rule asks for.
    for name in TRAIN_OUTPUTS:
        assert not (model2 / name).exists(), f"killed training left {name}"
    stray = [
        p.name
        for p in model2.iterdir()
        if p.name.startswith((".baseline.keras", ".history.csv", ".train.json"))
    ]
    assert all(".tmp" in name for name in stray), stray

    if sig == signal.SIGKILL:  # a SIGKILLed Snakemake cannot release its lock
        snakemake(work, "--unlock", configfiles=(TINY, longer))
    dry = snakemake(work, "-n", "--", *targets, configfiles=(TINY, longer))
    planned = dry.stdout + dry.stderr
    assert "wildcards: model=model2" in planned and "wildcards: model=model1" not in planned

    snakemake(work, "--", *targets, configfiles=(TINY, longer))
    summary = json.loads((model2 / "train.json").read_text())
    assert summary["epochs_run"] == epochs
    with zipfile.ZipFile(model2 / "baseline.keras") as archive:  # a .keras file is a zip archive
        assert archive.testzip() is None
    assert f"epoch {epochs}/{epochs}" in log.read_text()
    assert {p: p.stat().st_mtime_ns for p in finished} == before, "finished artifacts were rebuilt"


# --- a failing job -------------------------------------------------------------------------------


@pytest.mark.e2e
def test_failing_job_is_named_and_other_chain_completes(tiny_copy, tmp_path):
    """model1's training fails on purpose; with --keep-going model2's chain is built, and the
    output names the failed job, its output and its log file, which holds the reason."""
    work = tiny_copy
    epochs = yaml.safe_load(TINY.read_text())["models"]["model2"]["train"]["epochs"] + 1
    # model1 fails; model2's settings change too, so its chain has to be rebuilt in the same run
    override = {
        "models": {"model1": {"train": {"fail": True}}, "model2": {"train": {"epochs": epochs}}}
    }
    fail = write_yaml(tmp_path / "fail.yaml", override)
    targets = [
        f"results/eval/{m}/{v}-fp32.json"
        for m in ("model1", "model2")
        for v in ("baseline", "magnitude-50")
    ]
    started = time.time_ns()
    proc = snakemake(work, "--keep-going", "--", *targets, configfiles=(TINY, fail), check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0

    block = error_block(output, "train", "results/models/model1/baseline.keras")
    assert "results/logs/train/model1.log" in block
    log = (work / "results/logs/train/model1.log").read_text()
    assert "models.model1.train.fail is set" in log and "Traceback" in log
    others = [(rule, details) for rule, details in error_blocks(output) if "model1" not in details]
    assert not others, f"another job failed too: {others}"

    for path in [
        *(f"results/models/model2/{n}" for n in TRAIN_OUTPUTS),
        *(t for t in targets if "model2" in t),
    ]:
        assert (work / path).stat().st_mtime_ns >= started, f"{path} was not built"
    assert (
        json.loads((work / "results/models/model2/train.json").read_text())["epochs_run"] == epochs
    )
    for target in targets[2:]:
        assert 0.0 <= json.loads((work / target).read_text())["accuracy"] <= 1.0
    written = [
        p
        for p in (work / "results").rglob("*")
        if "model1" in str(p) and p.is_file() and p.stat().st_mtime_ns >= started
    ]
    assert [str(p.relative_to(work)) for p in written] == ["results/logs/train/model1.log"]


# --- bad config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override, key, detail",
    [
        ({"dataset": {"sed": 1}}, "'sed' was unexpected", "Additional properties are not allowed"),
        (
            {"models": {"model1": {"train": {"epochs": "ten"}}}},
            "['train']['epochs']",
            "'ten' is not of type 'integer'",
        ),
        (
            {"prune": {"sparsities": [50, 100]}},
            "['prune']['sparsities']",
            "100 is greater than the maximum of 99",
        ),
        (
            {"prune": {"sparsities": [0]}},
            "['prune']['sparsities']",
            "0 is less than the minimum of 1",
        ),
        (
            {"quantize": {"dtypes": ["fp32", "int4"]}},
            "['quantize']['dtypes']",
            "'int4' is not one of",
        ),
        (
            {"deploy": {"backends": ["onnxruntime", "tvm"]}},
            "['deploy']['backends']",
            "'tvm' is not one of",
        ),
    ],
    ids=[
        "unknown-key",
        "wrong-type",
        "sparsity-100",
        "sparsity-0",
        "unknown-dtype",
        "unknown-backend",
    ],
)
def test_bad_config_stops_the_dry_run_naming_the_key(tmp_path, override, key, detail):
    work = tmp_path / "work"
    proc = snakemake(
        work, "-n", configfiles=(TINY, write_yaml(tmp_path / "bad.yaml", override)), check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert detail in output and key in output, output[-3000:]
    assert not (work / "results").exists()


# --- bad data ------------------------------------------------------------------------------------

RML_SNRS = (-10, 0, 10)


def rml_dict(classes=None, n=10, length=128, seed=0) -> dict:
    from amrcomp.data.importers import RML2016A_CLASSES

    rng = np.random.default_rng(seed)
    return {
        (c, s): rng.standard_normal((n, 2, length)).astype(np.float32)
        for c in classes or RML2016A_CLASSES
        for s in RML_SNRS
    }


class _Payload:
    """Pickles to a call of os.system: loading it with pickle.load would create `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _drop_am_ssb(data: dict) -> dict:
    return {k: v for k, v in data.items() if k[0] != "AM-SSB"}


def _set(data: dict, key, value) -> dict:
    data[key] = value
    return data


BAD_DATA = {
    # case: (bytes of the file given a marker path | None for no file, exception, message regex)
    "missing-file": (lambda marker: None, FileNotFoundError, r"does not exist; fix dataset\.path"),
    "truncated": (
        lambda marker: pickle.dumps(rml_dict(), protocol=2)[:50_000],
        ValueError,
        "truncated or not a RadioML pickle",
    ),
    "corrupt": (
        lambda marker: b"\x80\x02}q\x00(X\x04\x00\x00\x00BPSK\xff\xff garbage",
        ValueError,
        "truncated or not a RadioML pickle",
    ),
    "nan": (
        lambda marker: pickle.dumps(
            _set(rml_dict(), ("QPSK", 0), np.full((10, 2, 128), np.nan, np.float32)), protocol=2
        ),
        ValueError,
        r"\('QPSK', 0\).*NaN or Inf",
    ),
    "inf": (
        lambda marker: pickle.dumps(
            _set(rml_dict(), ("BPSK", 10), np.full((10, 2, 128), np.inf, np.float32)), protocol=2
        ),
        ValueError,
        r"\('BPSK', 10\).*NaN or Inf",
    ),
    "frame-shape": (
        lambda marker: pickle.dumps(rml_dict(length=64), protocol=2),
        ValueError,
        r"shape \(10, 2, 64\), expected \(n, 2, 128\)",
    ),
    "class-mismatch": (
        lambda marker: pickle.dumps(_drop_am_ssb(rml_dict()), protocol=2),
        ValueError,
        r"class names do not match.*missing \['AM-SSB'\]",
    ),
    "hostile-pickle": (
        lambda marker: pickle.dumps({("BPSK", 0): _Payload(marker)}, protocol=2),
        ValueError,
        r"refused to load global (posix|os)\.system",
    ),
}


def rml_dataset_cfg(path: Path) -> dict:
    from amrcomp.settings import load_config

    dataset = copy.deepcopy(load_config(TINY)["dataset"])
    dataset.update(source="rml2016.10a", path=str(path))
    return dataset


def test_good_rml_file_builds(tmp_path):
    """Control for the bad-data cases: the same construction, undamaged, imports."""
    from amrcomp.data import build_dataset

    path = tmp_path / "RML2016.10a_dict.pkl"
    path.write_bytes(pickle.dumps(rml_dict(), protocol=2))
    manifest = build_dataset(rml_dataset_cfg(path), tmp_path / "out")
    assert sum(manifest["counts"].values()) == 11 * len(RML_SNRS) * 10
    assert len(list((tmp_path / "out").glob("*.npy"))) == 9


@pytest.mark.e2e
def test_replacing_the_real_data_file_rebuilds_the_splits(tmp_path):
    """dataset.path is an input of the data rule: a new file is noticed, not silently ignored."""
    path = tmp_path / "RML2016.10a_dict.pkl"
    path.write_bytes(pickle.dumps(rml_dict(), protocol=2))
    real = {"name": "real", "source": "rml2016.10a", "path": str(path)}
    override = write_yaml(tmp_path / "real.yaml", {"dataset": real})
    target = "results/data/real/manifest.json"
    snakemake(tmp_path / "w", target, configfiles=(TINY, override))
    assert (
        "Nothing to be done"
        in snakemake(tmp_path / "w", "-n", target, configfiles=(TINY, override)).stdout
    )
    time.sleep(1.1)  # a visibly newer modification time
    path.write_bytes(pickle.dumps(rml_dict(seed=1), protocol=2))
    plan = snakemake(tmp_path / "w", "-n", target, configfiles=(TINY, override))
    assert re.search(r"^data\s+1$", plan.stdout, re.M), plan.stdout[-2000:]


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_refused_before_anything_is_written(tmp_path, case):
    from amrcomp.data import build_dataset
    from amrcomp.data.importers import UnsafePickleError

    make, exc, message = BAD_DATA[case]
    marker = tmp_path / "payload-ran"
    path = tmp_path / "RML2016.10a_dict.pkl"
    content = make(marker)
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out"
    with pytest.raises(exc, match=message) as err:
        build_dataset(rml_dataset_cfg(path), out)
    assert str(path) in str(err.value), "the message must name the file"
    if case == "hostile-pickle":
        assert isinstance(err.value, UnsafePickleError)
        assert not marker.exists(), "the pickle's payload ran"
    assert not out.exists() or not any(out.iterdir()), "a refused data file still wrote output"


@pytest.mark.e2e
def test_bad_data_file_in_a_run_keeps_earlier_results(tiny_copy, tmp_path):
    """A corrupt data file fails the data job with its log naming the problem; every earlier
    result of the run stays byte-for-byte as it was."""
    work = tiny_copy
    bad = tmp_path / "RML2016.10a_dict.pkl"
    bad.write_bytes(pickle.dumps(rml_dict(), protocol=2)[:50_000])
    override = write_yaml(
        tmp_path / "real.yaml",
        {"dataset": {"name": "real", "source": "rml2016.10a", "path": str(bad)}},
    )
    before = files_under(work / "results")
    proc = snakemake(
        work,
        "--",
        "results/eval/model1/baseline-fp32.json",
        configfiles=(TINY, override),
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    block = error_block(output, "data", "results/data/real/manifest.json")
    assert "results/logs/data/real.log" in block
    assert "truncated or not a RadioML pickle" in (work / "results/logs/data/real.log").read_text()
    after = files_under(work / "results")
    assert {k: v for k, v in after.items() if k in before} == before, "an earlier result changed"
    assert set(after) - set(before) <= {"logs/data/real.log", "benchmarks/data/real.tsv"}


# --- disk full -----------------------------------------------------------------------------------


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _half_then_full(real_write_text):
    def write_text(self, data, *args, **kwargs):
        real_write_text(self, data[: len(data) // 2], *args, **kwargs)
        _enospc()

    return write_text


@pytest.mark.parametrize("where", ["mid-write", "fsync"])
@pytest.mark.parametrize("previous", [True, False], ids=["over-previous", "first-write"])
def test_disk_full_leaves_no_truncated_or_temp_file(tmp_path, monkeypatch, where, previous):
    target = tmp_path / "eval.json"
    if previous:
        write_json(target, {"accuracy": 0.5})
    before = target.read_bytes() if previous else None
    if where == "mid-write":
        monkeypatch.setattr(Path, "write_text", _half_then_full(Path.write_text))
    else:
        monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OSError) as err:
        write_json(target, {"accuracy": 0.9, "confusion": [[7] * 40] * 40})
    monkeypatch.undo()
    assert err.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == (["eval.json"] if previous else [])
    if previous:
        assert target.read_bytes() == before


def test_disk_full_in_a_binary_writer(tmp_path):
    """A writer that fills the disk midway through an array (np.save into atomic_path)."""
    target = tmp_path / "train_x.npy"
    with atomic_path(target) as tmp:
        np.save(tmp, np.zeros((4, 2, 128), np.float32))
    before = target.read_bytes()

    class FullDisk:
        def __init__(self, handle, limit):
            self.handle, self.left = handle, limit

        def write(self, data):
            if len(data) > self.left:
                self.handle.write(bytes(data)[: self.left])
                _enospc()
            self.left -= len(data)
            return self.handle.write(data)

    with pytest.raises(OSError) as err:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as handle:
                np.save(
                    FullDisk(handle, 1000), np.ones((64, 2, 128), np.float32), allow_pickle=False
                )
    assert err.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_x.npy"]
    assert target.read_bytes() == before
