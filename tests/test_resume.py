"""Checkpoints and resume: a training killed mid-run continues from its last finished epoch and
ends with the weights and history of an uninterrupted run, bit for bit; a checkpoint of other
settings or data, or one that cannot be read, is ignored."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import checkpoint, mixed  # noqa: E402
from amrcomp.atomic import read_json  # noqa: E402
from amrcomp.fitting import epoch_batches, fit, seeded_random_layers  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.tfsetup import keras  # noqa: E402
from conftest import ROOT, SNAKEMAKE, TINY, random_frames, snakemake, strip_timing  # noqa: E402

LOG = logging.getLogger("test_resume")
SETTINGS = {
    "epochs": 6,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "seed": 3,
    "input_scale": "auto",
    # patience 0: the learning rate halves after the resume, so the plateau state must carry over
    "reduce_lr": {"factor": 0.5, "patience": 0, "min_lr": 1e-5},
    "early_stopping_patience": 3,
}
TRAIN, VAL = random_frames(200, 1, 4), random_frames(64, 2, 4)  # 7 batches per epoch


class Killed(Exception):
    """Stands in for a wall-time kill."""


class KillAtBatch(keras().callbacks.Callback):
    """Raise in the middle of a later epoch: that epoch's work is lost, like a kill's."""

    def __init__(self, batch: int):
        super().__init__()
        self.batch, self.seen = batch, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.batch:
            raise Killed(f"killed after batch {self.seen}")


def small_model(precision: str = "fp32"):
    """The same initial weights on every call (the global seeds are reset)."""
    keras().utils.set_random_seed(0)
    model = build_model("oshea_cnn2", n_classes=4, filters=(8, 8), dense_units=16)
    return mixed.recast(model, "bf16") if precision == "bf16" else model


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)), "weights differ"


def fit_to(directory, settings=SETTINGS, train=TRAIN, precision="fp32", callbacks=()):
    model = small_model(precision)
    result = fit(
        model, train, VAL, 4, settings, LOG, extra_callbacks=callbacks, checkpoint_dir=directory
    )
    return model, result


# --- unit: fingerprint, files, seeding ------------------------------------------------------------


def test_fingerprint_changes_with_settings_and_data():
    x = np.arange(12, dtype=np.float32)
    base = {"settings": dict(SETTINGS), "frames": [x], "threads": [2, 2]}
    key = checkpoint.fingerprint(base)
    assert key == checkpoint.fingerprint({**base, "settings": dict(SETTINGS)})
    changed = [
        {**base, "settings": {**SETTINGS, "learning_rate": 5e-4}},
        {**base, "settings": {**SETTINGS, "epochs": 5}},
        {**base, "frames": [x + np.float32(1e-7)]},
        {**base, "frames": [x.astype(np.float64)]},
        {**base, "frames": [x.reshape(3, 4)]},
        {**base, "threads": [1, 1]},
    ]
    keys = {checkpoint.fingerprint(parts) for parts in changed}
    assert key not in keys and len(keys) == len(changed)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a checkpoint"),
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),  # a partial write
        lambda p: p.write_bytes(b""),
    ],
    ids=["garbage", "truncated", "empty"],
)
def test_unreadable_checkpoint_is_ignored_and_replaced(tmp_path, caplog, damage):
    directory = tmp_path / "ckpt"
    reference, expected = fit_to(directory)
    damage(checkpoint.path_in(directory))
    caplog.set_level(logging.INFO)
    model, result = fit_to(directory)
    assert "is unreadable" in caplog.text and "starting fresh" in caplog.text
    assert result["used"]["resumed_from_epoch"] is None
    assert without_seconds(result["history"]) == without_seconds(expected["history"])
    assert_same_weights(model.get_weights(), reference.get_weights())
    assert checkpoint.load(directory, "any", LOG) is None  # a readable checkpoint again...
    assert "other settings" in caplog.text  # ...but of another fingerprint


def test_checkpoint_of_other_settings_or_data_is_ignored(tmp_path, caplog):
    directory = tmp_path / "ckpt"
    fit_to(directory, {**SETTINGS, "epochs": 2})
    caplog.set_level(logging.INFO)
    for settings, train in (
        ({**SETTINGS, "epochs": 2, "learning_rate": 5e-4}, TRAIN),
        ({**SETTINGS, "epochs": 2}, random_frames(200, 9, 4)),
    ):
        caplog.clear()
        _, result = fit_to(directory, settings, train)
        assert "written for other settings" in caplog.text and "resuming" not in caplog.text
        assert result["used"]["resumed_from_epoch"] is None and result["used"]["epochs_run"] == 2


def test_stale_temporary_files_are_removed(tmp_path):
    directory = tmp_path / "ckpt"
    directory.mkdir()
    stale = directory / f".{checkpoint.FILE}.abc.tmp.npz"
    stale.write_bytes(b"half")
    assert checkpoint.load(directory, "any", LOG) is None and not stale.exists()
    checkpoint.discard(directory)
    assert not directory.exists()


def test_each_epoch_order_depends_on_seed_and_epoch_only():
    def orders(epochs: range) -> list[np.ndarray]:
        batches = [x.numpy()[:, 0, 0, 0] for x, _ in epoch_batches(TRAIN, 4, 32, 7, epochs)]
        return [np.concatenate(batches[i : i + 7]) for i in range(0, len(batches), 7)]

    full, tail = orders(range(3)), orders(range(1, 3))
    assert len(full) == 3 and len(tail) == 2
    for order in full:
        np.testing.assert_array_equal(np.sort(order), np.sort(TRAIN.x[:, 0, 0]))
    assert not np.array_equal(full[0], full[1])
    for a, b in zip(full[1:], tail):
        np.testing.assert_array_equal(a, b)


def test_random_layers_are_reseeded_per_epoch_and_restored_afterwards():
    model = small_model()
    x = np.ones((2, 2, 128, 1), np.float32)
    configs = [layer.get_config() for layer in model.layers]
    with seeded_random_layers(model, 5) as reseed:
        masks = []
        for epoch in (0, 1, 0):
            reseed.on_epoch_begin(epoch)
            masks.append(model(x, training=True).numpy())
    assert np.array_equal(masks[0], masks[2]) and not np.array_equal(masks[0], masks[1])
    assert [layer.get_config() for layer in model.layers] == configs
    assert len(model.weights) == len(small_model().weights)


# --- unit: interrupted and resumed equals uninterrupted -------------------------------------------


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fit_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path, caplog, precision):
    reference = small_model(precision)
    expected = fit(reference, TRAIN, VAL, 4, SETTINGS, LOG)
    assert expected["used"]["resumed_from_epoch"] is None
    directory = tmp_path / "ckpt"
    with pytest.raises(Killed):
        fit_to(directory, precision=precision, callbacks=[KillAtBatch(7 + 7 + 3)])
    with np.load(checkpoint.path_in(directory)) as saved:
        assert json.loads(str(saved["record"]))["epoch"] == 2  # the epoch killed is lost

    caplog.set_level(logging.INFO)
    model, result = fit_to(directory, precision=precision)
    assert f"resuming train from epoch 2 (checkpoint {directory}" in caplog.text
    used, used_expected = result["used"], expected["used"]
    assert used["resumed_from_epoch"] == 2 and used["epochs_run"] == used_expected["epochs_run"]
    lr = [row["learning_rate"] for row in result["history"]]
    assert lr[-1] < lr[0], "the plateau state is not exercised"
    assert without_seconds(result["history"]) == without_seconds(expected["history"])
    assert strip_timing({**used, "resumed_from_epoch": None}) == strip_timing(used_expected)
    assert_same_weights(model.get_weights(), reference.get_weights())


def test_checkpoint_of_a_finished_training_trains_no_more(tmp_path, caplog):
    """Killed after the last epoch but before the outputs were written."""
    directory = tmp_path / "ckpt"
    reference, expected = fit_to(directory)
    caplog.set_level(logging.INFO)
    model, result = fit_to(directory)
    assert result["used"]["resumed_from_epoch"] == SETTINGS["epochs"]
    assert not re.search(r"epoch \d+/\d+", caplog.text), "an epoch ran"
    assert without_seconds(result["history"]) == without_seconds(expected["history"])
    assert_same_weights(model.get_weights(), reference.get_weights())


# --- e2e: Snakemake killed by SIGKILL during training ---------------------------------------------

TARGET = "results/models/model1/baseline.keras"
MODEL_DIR = "results/models/model1"
# A tiny epoch of model1 takes well under a second: more of them leave time for the kill.
EPOCHS = 6


def run_until(workdir, configfiles, done, timeout: float = 900) -> None:
    """Run Snakemake for TARGET in its own process group; SIGKILL the group once `done()`."""
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--cores", "2", TARGET, "--configfile", *map(str, configfiles)]
    with open(workdir / "killed.out", "w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert proc.poll() is None, (workdir / "killed.out").read_text()[-4000:]
            assert time.monotonic() < deadline, "timed out waiting for the first checkpoint"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: Snakemake and the training job
        proc.wait(timeout=60)


@pytest.mark.e2e
def test_training_killed_by_sigkill_resumes_on_rerun(tmp_path):
    longer = tmp_path / "longer.yaml"
    longer.write_text(f"models: {{model1: {{train: {{epochs: {EPOCHS}}}}}}}\n")
    configs = (TINY, longer)
    reference = tmp_path / "reference"
    reference.mkdir()
    snakemake(reference, TARGET, configfiles=configs)
    work = tmp_path / "killed"
    shutil.copytree(reference, work, symlinks=True)
    shutil.rmtree(work / MODEL_DIR)  # the data stays: only the training runs again

    ckpt = work / MODEL_DIR / "baseline.ckpt"
    run_until(work, configs, lambda: checkpoint.path_in(ckpt).exists())
    for name in ("baseline.keras", "history.csv", "train.json"):
        assert not (work / MODEL_DIR / name).exists(), f"the killed training left {name}"
    with np.load(checkpoint.path_in(ckpt)) as saved:
        done = json.loads(str(saved["record"]))["epoch"]
    assert 1 <= done < EPOCHS, "training finished before the kill: the test proves nothing"

    snakemake(work, "--unlock", configfiles=configs)  # a SIGKILLed Snakemake keeps its lock
    snakemake(work, TARGET, configfiles=configs)
    text = (work / "results/logs/train/model1.log").read_text()
    assert f"resuming train from epoch {done} (checkpoint {ckpt.relative_to(work)}" in text
    ran = [int(k) for k in re.findall(rf"epoch (\d+)/{EPOCHS} ", text)]
    assert ran == list(range(done + 1, EPOCHS + 1))
    assert not ckpt.exists(), "the checkpoint outlived the finished training"

    resumed, expected = (read_json(d / MODEL_DIR / "train.json") for d in (work, reference))
    assert resumed["resumed_from_epoch"] == done and expected["resumed_from_epoch"] is None
    assert strip_timing({**resumed, "resumed_from_epoch": None}) == strip_timing(expected)
    history = [
        pd.read_csv(d / MODEL_DIR / "history.csv").drop(columns="seconds")
        for d in (work, reference)
    ]
    pd.testing.assert_frame_equal(*history, check_exact=True)
    from amrcomp.models.io import load_model

    weights = [
        load_model(d / MODEL_DIR / "baseline.keras").get_weights() for d in (work, reference)
    ]
    assert_same_weights(*weights)
