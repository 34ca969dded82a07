"""Determinism: a second run of the tiny config with the same seeds gives byte-identical data and
identical training and evaluation records (timings aside); another data seed gives other data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import TIMING, TINY, snakemake, strip_timing  # noqa: E402

pytestmark = pytest.mark.e2e

MODELS = ("model1", "model2")


def read_json(path: Path):
    """A record without timings; a Keras evaluation also without the zip size of its .keras file,
    which embeds its save time (so the archive compresses a few bytes differently each run)."""
    record = strip_timing(json.loads(path.read_text()))
    if record.get("backend") == "keras":
        record.pop("size_zip_bytes", None)
    return record


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    """Data, training and baseline evaluation of the tiny config again, in a fresh directory."""
    workdir = tmp_path_factory.mktemp("second_run")
    snakemake(workdir, "--", *(f"results/eval/{m}/baseline-fp32.json" for m in MODELS))
    return workdir


def test_same_seed_same_data_files(tiny_run, second_run):
    first = sorted((tiny_run / "results/data/tiny").iterdir())
    assert len(first) == 10, [p.name for p in first]
    for path in first:
        again = second_run / "results/data/tiny" / path.name
        assert again.read_bytes() == path.read_bytes(), f"{path.name} differs between two runs"


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_training_and_evaluation(tiny_run, second_run, model):
    for rel in (f"results/models/{model}/train.json", f"results/eval/{model}/baseline-fp32.json"):
        assert read_json(second_run / rel) == read_json(tiny_run / rel), (
            f"{rel} differs between two runs"
        )
    history = [
        pd.read_csv(run / f"results/models/{model}/history.csv") for run in (tiny_run, second_run)
    ]
    columns = [c for c in history[0].columns if not TIMING.search(c)]
    assert {"loss", "val_loss"} <= set(columns)
    pd.testing.assert_frame_equal(history[0][columns], history[1][columns])
    used = read_json(tiny_run / f"results/models/{model}/train.json")
    assert (
        used["input_scale"] > 10 and used["input_scale_folded_into"] == "conv1"
    )  # config.yaml: input_scale auto


def test_other_data_seed_other_content_hash(tiny_run, tmp_path):
    seed = yaml.safe_load(TINY.read_text())["dataset"].get("seed", 2016) + 1
    override = tmp_path / "seed.yaml"
    override.write_text(yaml.safe_dump({"dataset": {"seed": seed}}))
    workdir = tmp_path / "work"
    snakemake(workdir, "--", "results/data/tiny/manifest.json", configfiles=(TINY, override))
    first = json.loads((tiny_run / "results/data/tiny/manifest.json").read_text())
    other = json.loads((workdir / "results/data/tiny/manifest.json").read_text())
    assert other["seed"] == seed != first["seed"]
    assert other["counts"] == first["counts"]
    assert other["content_hash"] != first["content_hash"]
    assert (workdir / "results/data/tiny/train_x.npy").read_bytes() != (
        tiny_run / "results/data/tiny/train_x.npy"
    ).read_bytes()
