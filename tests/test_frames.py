"""Split per (class, SNR) block, split storage, evaluation record and atomic writes."""

import json
import os

import numpy as np
import pytest

from amrcomp import frames as frames_io
from amrcomp.atomic import atomic_path, write_json
from amrcomp.data.split import split_blocks
from amrcomp.scoring import evaluate, summarise


def blocks(n_classes=3, snrs=(-10, 0, 10), per_block=10):
    labels = np.repeat(np.arange(n_classes), len(snrs) * per_block)
    snr = np.tile(np.repeat(snrs, per_block), n_classes)
    return labels, snr


def test_split_counts_per_block_and_disjoint():
    labels, snr = blocks(per_block=10)
    parts = split_blocks(labels, snr, (0.6, 0.2, 0.2), seed=2016)
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(len(labels)))
    for name, expected in (("train", 6), ("val", 2), ("test", 2)):
        idx = parts[name]
        for c in range(3):
            for s in (-10, 0, 10):
                assert np.sum((labels[idx] == c) & (snr[idx] == s)) == expected


def test_split_is_seeded():
    labels, snr = blocks()
    a = split_blocks(labels, snr, (0.6, 0.2, 0.2), seed=1)
    b = split_blocks(labels, snr, (0.6, 0.2, 0.2), seed=1)
    c = split_blocks(labels, snr, (0.6, 0.2, 0.2), seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["train"], c["train"])


def test_bad_fractions_are_refused():
    labels, snr = blocks()
    with pytest.raises(ValueError, match="sum to 1"):
        split_blocks(labels, snr, (0.6, 0.3, 0.3), seed=0)


def test_split_roundtrip_and_hash(tmp_path):
    rng = np.random.default_rng(0)
    split = frames_io.Split(
        x=rng.standard_normal((5, 2, 128)).astype(np.float32),
        labels=np.arange(5),
        snr=np.zeros(5, dtype=np.int64),
    )
    for name in frames_io.SPLITS:
        frames_io.write_split(tmp_path, name, split)
    loaded = frames_io.load_split(tmp_path, "test")
    assert isinstance(loaded.x, np.memmap)
    assert np.array_equal(loaded.x, split.x) and loaded.model_input().shape == (5, 2, 128, 1)
    h1 = frames_io.content_hash({s: split for s in frames_io.SPLITS})
    changed = frames_io.Split(x=split.x + 1e-7, labels=split.labels, snr=split.snr)
    assert h1 != frames_io.content_hash({**{s: split for s in frames_io.SPLITS}, "val": changed})


def test_missing_and_truncated_split_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_x.npy is missing"):
        frames_io.load_split(tmp_path, "test")
    split = frames_io.Split(
        x=np.zeros((50, 2, 128), np.float32),
        labels=np.zeros(50, np.int64),
        snr=np.zeros(50, np.int64),
    )
    frames_io.write_split(tmp_path, "test", split)
    path = tmp_path / "test_x.npy"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="test_x.npy is corrupt or truncated"):
        frames_io.load_split(tmp_path, "test", mmap=False)


def test_evaluation_record():
    labels = np.array([0, 0, 1, 1])
    snr = np.array([-10, 10, -10, 10])
    record = summarise(labels, snr, np.array([0, 1, 1, 1]), ["A", "B"])
    assert record["accuracy"] == 0.75
    assert record["accuracy_per_snr"] == {"-10": 1.0, "10": 0.5}
    assert record["confusion"] == [[1, 1], [0, 2]]
    assert record["confusion_per_snr"]["10"] == [[0, 1], [0, 1]]


def test_evaluate_batches_and_rejects_nan():
    split = frames_io.Split(
        x=np.zeros((7, 2, 128), np.float32), labels=np.ones(7, np.int64), snr=np.zeros(7, np.int64)
    )
    seen = []

    def predict(x):
        seen.append(len(x))
        return np.tile([0.0, 1.0], (len(x), 1))

    assert evaluate(predict, split, ["A", "B"], batch_size=3)["accuracy"] == 1.0
    assert seen == [3, 3, 1]
    with pytest.raises(ValueError, match="non-finite"):
        evaluate(lambda x: np.full((len(x), 2), np.nan), split, ["A", "B"])


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"v": 2, "trunc')
            raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(ValueError):
        write_json(target, {"v": float("nan")})
    assert json.loads(target.read_text()) == {"v": 1}


def test_atomic_write_gives_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {"v": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644


def test_subset_is_seeded_sorted_and_bounded():
    split = frames_io.Split(
        x=np.arange(40, dtype=np.float32).reshape(10, 2, 2), labels=np.arange(10), snr=np.arange(10)
    )
    a, b = split.subset(4, seed=1), split.subset(4, seed=1)
    assert len(a) == 4 and np.array_equal(a.labels, b.labels)
    assert np.all(np.diff(a.labels) > 0)
    assert np.array_equal(a.x[:, 0, 0], a.labels * 4)  # rows stay together
    assert not np.array_equal(a.labels, split.subset(4, seed=2).labels)
    assert split.subset(None, 0) is split and split.subset(50, 0) is split


def test_synthetic_manifest_records_how_its_frames_were_made(tmp_path):
    """A data set's manifest carries every generator parameter and the SNR definition in use."""
    from amrcomp.data import build_dataset
    from amrcomp.settings import load_config

    dataset = load_config(check=False)["dataset"]
    synthetic = {**dataset["synthetic"], "snr_definition": "original"}
    small = {**dataset, "frames_per_block": 10, "classes": ["BPSK", "AM-SSB"], "snrs": [0, 18]}
    manifest = build_dataset({**small, "synthetic": synthetic}, tmp_path)
    assert manifest["generator"] == synthetic
    assert "snr_definition original" in manifest["snr_definition"]
    assert frames_io.read_manifest(tmp_path) == manifest
