"""Importers of the real RadioML files: round trips in each format, a refused hostile pickle,
clear errors."""

from __future__ import annotations

import os
import pickle
import struct

import h5py
import numpy as np
import pytest

from amrcomp.data import importers
from amrcomp.data.importers import (
    RML2016A_CLASSES,
    RML2016B_CLASSES,
    RML2018_CLASSES,
    DataFormatError,
    UnsafePickleError,
    load_rml2016,
    load_rml2018,
)

SNRS_2016 = (-20, 0, 18)


def _rml2016_dict(classes=RML2016A_CLASSES, n=3, length=128, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        (mod, s): rng.standard_normal((n, 2, length)).astype(np.float32)
        for mod in classes
        for s in SNRS_2016
    }


class _Py2Pickler(pickle._Pickler):
    """Writes protocol 2 the way Python 2 did: str and bytes as BINSTRING, numpy under
    numpy.core."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_binstring(self, obj) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_binstring
    dispatch[bytes] = save_binstring

    def save_global(self, obj, name=None) -> None:
        module = getattr(obj, "__module__", "")
        if module.startswith("numpy._core"):
            name = name or obj.__qualname__
            self.write(
                pickle.GLOBAL
                + module.replace("numpy._core", "numpy.core").encode()
                + b"\n"
                + name.encode()
                + b"\n"
            )
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    dispatch[type] = save_global


def _py2_pickle(obj, path) -> None:
    with open(path, "wb") as handle:
        _Py2Pickler(handle, protocol=2).dump(obj)


@pytest.mark.parametrize("writer", ["python2-style", "python3-protocol2"])
def test_rml2016a_round_trip(tmp_path, writer):
    data = _rml2016_dict()
    path = tmp_path / "RML2016.10a_dict.pkl"
    if writer == "python2-style":
        _py2_pickle(data, path)
        assert b"numpy.core.multiarray" in path.read_bytes() and b"_codecs" not in path.read_bytes()
    else:
        path.write_bytes(pickle.dumps(data, protocol=2))
    x, labels, snr, classes = load_rml2016(path, expected_classes=RML2016A_CLASSES)
    assert classes == sorted(RML2016A_CLASSES) == list(RML2016A_CLASSES)
    assert x.shape == (11 * 3 * 3, 2, 128) and x.dtype == np.float32
    assert labels.dtype == np.int64 and snr.dtype == np.int64
    keys = list(zip(labels.tolist(), snr.tolist()))
    assert keys == sorted(keys)
    for i in range(0, len(labels), 3):
        np.testing.assert_array_equal(x[i : i + 3], data[(classes[labels[i]], int(snr[i]))])


def test_rml2016b_classes(tmp_path):
    path = tmp_path / "RML2016.10b.dat"
    _py2_pickle(_rml2016_dict(RML2016B_CLASSES), path)
    x, labels, snr, classes = load_rml2016(
        path, expected_classes=importers.RML2016_CLASSES["rml2016.10b"]
    )
    assert "AM-SSB" not in classes and len(classes) == 10 and labels.max() == 9
    with pytest.raises(DataFormatError, match=r"missing \['AM-SSB'\]"):
        load_rml2016(path, expected_classes=RML2016A_CLASSES)
    assert load_rml2016(path)[3] == sorted(RML2016B_CLASSES)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["top", "inside-dict"])
def test_hostile_pickle_is_refused_without_running(tmp_path, where):
    marker = tmp_path / "pwned"
    payload = _Evil(marker) if where == "top" else {("BPSK", 0): _Evil(marker)}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"(posix|os)\.system") as err:
        load_rml2016(path)
    assert isinstance(err.value, ValueError) and str(path) in str(err.value)
    assert not marker.exists(), "the payload ran"


def test_other_globals_and_codecs_tricks_are_refused(tmp_path):
    path = tmp_path / "eval.pkl"
    path.write_bytes(b"\x80\x02cbuiltins\neval\nX\x0b\x00\x00\x00__import__()\x85R.")
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        load_rml2016(path)
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00abX\x04\x00\x00\x00zlib\x86R.")
    with pytest.raises(UnsafePickleError, match="latin1"):
        load_rml2016(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset.path") as err:
        load_rml2016(tmp_path / "nope.pkl")
    assert "nope.pkl" in str(err.value)
    with pytest.raises(FileNotFoundError, match="dataset.path"):
        load_rml2018(tmp_path / "nope.hdf5")


@pytest.mark.parametrize("damage", ["truncated", "empty", "text", "hdf5"])
def test_corrupt_or_truncated_pickle(tmp_path, damage):
    path = tmp_path / "RML2016.10a_dict.pkl"
    good = pickle.dumps(_rml2016_dict(n=2), protocol=2)
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "text":
        path.write_text("this is not a pickle\n")
    else:
        with h5py.File(path, "w") as f:
            f["X"] = np.zeros(3)
    with pytest.raises(DataFormatError, match="truncated or not a RadioML pickle") as err:
        load_rml2016(path)
    assert str(path) in str(err.value)


def test_nan_frames_name_the_key(tmp_path):
    data = _rml2016_dict(n=2)
    data[("QPSK", 0)][1, 0, 5] = np.nan
    path = tmp_path / "nan.pkl"
    _py2_pickle(data, path)
    with pytest.raises(DataFormatError, match=r"\('QPSK', 0\).*NaN"):
        load_rml2016(path)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda d: d.__setitem__(("BPSK", 0), np.zeros((2, 2, 64), np.float32)),
            r"shape \(2, 2, 64\)",
        ),
        (lambda d: d.__setitem__(("BPSK", 0), np.zeros((2, 128, 2), np.float32)), "expected"),
        (lambda d: d.__setitem__(("BPSK", 0), np.zeros((2, 2, 128), np.int32)), "dtype int32"),
        (
            lambda d: d.__setitem__(("BPSK", 2.5), np.zeros((2, 2, 128), np.float32)),
            "not an integer",
        ),
        (
            lambda d: d.__setitem__("BPSK", np.zeros((2, 2, 128), np.float32)),
            "not a \\(modulation, snr\\) pair",
        ),
        (lambda d: d.__setitem__(("BPSK", 0), [1, 2, 3]), "not a numpy array"),
    ],
)
def test_malformed_pickles(tmp_path, mutate, message):
    data = _rml2016_dict(n=2)
    mutate(data)
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(DataFormatError, match=message):
        load_rml2016(path)


def test_not_a_dict(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([np.zeros((2, 2, 128), np.float32)], protocol=2))
    with pytest.raises(DataFormatError, match="not a non-empty dict"):
        load_rml2016(path)


def test_unexpected_class_names(tmp_path):
    data = _rml2016_dict(("BPSK", "QPSK", "OFDM"))
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(DataFormatError, match=r"unexpected \['OFDM'\]") as err:
        load_rml2016(path, expected_classes=RML2016A_CLASSES)
    assert "'AM-DSB'" in str(err.value)


# --- RML2018.01a ---------------------------------------------------------------------------------


def _write_rml2018(path, per_block=4, snrs=(-20, 0, 30), length=1024, seed=0, n_classes=24):
    """Frames interleaved (not block-sorted) so the reader cannot rely on the file's order."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), per_block * len(snrs))
    snr = np.tile(np.repeat(snrs, per_block), n_classes)
    perm = rng.permutation(len(labels))
    labels, snr = labels[perm], snr[perm]
    x = rng.standard_normal((len(labels), length, 2)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["X"] = x
        f["Y"] = np.eye(n_classes, dtype=np.int64)[labels]
        f["Z"] = snr[:, None].astype(np.int64)
    return x, labels, snr


def test_rml2018_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "RML2018_CHUNK", 50)  # exercise the chunked reads
    path = tmp_path / "GOLD_XYZ_OSC.0001_1024.hdf5"
    x_file, labels_file, snr_file = _write_rml2018(path)
    x, labels, snr, classes = load_rml2018(path)
    assert classes == list(RML2018_CLASSES) and len(classes) == 24
    assert x.shape == (24 * 3 * 4, 2, 1024) and x.dtype == np.float32
    assert labels.dtype == np.int64 and snr.dtype == np.int64
    keys = list(zip(labels.tolist(), snr.tolist()))
    assert keys == sorted(keys)
    for i in range(0, len(labels), 17):
        rows = np.flatnonzero((labels_file == labels[i]) & (snr_file == snr[i]))
        assert any(np.array_equal(x[i], x_file[r].T) for r in rows)


def test_rml2018_subsample(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "RML2018_CHUNK", 32)
    path = tmp_path / "rml2018.hdf5"
    x_file, labels_file, snr_file = _write_rml2018(path)
    x, labels, snr, classes = load_rml2018(
        path, classes=["FM", "BPSK"], snrs=[0, 30], max_per_block=2, seed=3
    )
    assert classes == ["FM", "BPSK"]
    assert x.shape == (2 * 2 * 2, 2, 1024)
    assert sorted(zip(labels.tolist(), snr.tolist())) == [
        (0, 0),
        (0, 0),
        (0, 30),
        (0, 30),
        (1, 0),
        (1, 0),
        (1, 30),
        (1, 30),
    ]
    for frame, label, s in zip(x, labels, snr):
        rows = np.flatnonzero(
            (labels_file == RML2018_CLASSES.index(classes[label])) & (snr_file == s)
        )
        assert any(np.array_equal(frame, x_file[r].T) for r in rows)
    again = load_rml2018(path, classes=["FM", "BPSK"], snrs=[0, 30], max_per_block=2, seed=3)
    assert again[0].tobytes() == x.tobytes()
    other = load_rml2018(path, classes=["FM", "BPSK"], snrs=[0, 30], max_per_block=2, seed=4)
    assert other[0].tobytes() != x.tobytes()


def test_rml2018_nan_names_frame(tmp_path):
    path = tmp_path / "nan.hdf5"
    _write_rml2018(path)
    with h5py.File(path, "r+") as f:
        f["X"][5, 10, 1] = np.inf
    with pytest.raises(DataFormatError, match="frame 5 .*NaN or Inf"):
        load_rml2018(path)


def test_rml2018_wrong_layouts(tmp_path):
    path = tmp_path / "few_classes.hdf5"
    _write_rml2018(path, n_classes=11, length=128)
    with pytest.raises(DataFormatError, match="24 RML2018.01a classes"):
        load_rml2018(path)
    with h5py.File(path, "r+") as f:
        del f["Z"]
    with pytest.raises(DataFormatError, match=r"no dataset\(s\) \['Z'\]"):
        load_rml2018(path)
    path = tmp_path / "transposed.hdf5"
    with h5py.File(path, "w") as f:
        f["X"] = np.zeros((4, 2, 1024), np.float32)
        f["Y"] = np.eye(24)[:4]
        f["Z"] = np.zeros((4, 1))
    with pytest.raises(DataFormatError, match=r"X has shape \(4, 2, 1024\)"):
        load_rml2018(path)
    with h5py.File(path, "r+") as f:
        del f["X"]
        f["X"] = np.zeros((4, 1024, 2), np.float32)
        f["Z"][0] = 0.5
    with pytest.raises(DataFormatError, match="non-integer SNRs"):
        load_rml2018(path)


def test_rml2018_unknown_class(tmp_path):
    path = tmp_path / "rml2018.hdf5"
    _write_rml2018(path, per_block=1, snrs=(0,))
    with pytest.raises(ValueError, match="'QAM16'"):
        load_rml2018(path, classes=["QAM16"])


@pytest.mark.parametrize("damage", ["truncated", "text", "pickle"])
def test_rml2018_corrupt_or_truncated(tmp_path, damage):
    path = tmp_path / "rml2018.hdf5"
    if damage == "truncated":
        _write_rml2018(path, per_block=2)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "text":
        path.write_text("not hdf5")
    else:
        path.write_bytes(pickle.dumps(_rml2016_dict(n=1), protocol=2))
    with pytest.raises(DataFormatError, match="truncated or not an RML2018.01a HDF5") as err:
        load_rml2018(path)
    assert str(path) in str(err.value)
