"""Per-epoch training checkpoints, so a training killed at its wall-time limit or preempted
continues from its last finished epoch on the next run.

A checkpoint is one file, `checkpoint.npz` in its directory, replaced atomically after every
epoch: the model's weights, the optimizer's variables (Adam moments, iteration count) and the
best-val_loss weights as arrays, and a JSON record of the rest: the fingerprint, the epochs
finished, whether early stopping ended training, the learning rate, the wall time so far and the
counters of the callbacks that carry state across epochs (`COUNTERS`: history rows, KeepBest,
ReduceLROnPlateau, EarlyStopping). Data order and dropout masks need no state here:
`amrcomp.fitting` draws each epoch's from (seed, epoch) alone.

A checkpoint is used only when its fingerprint equals the run's, a hash of everything that decides
the result (`fitting.fit` passes the settings, the model's config with its layers' precision, its
initial weights, the frames and the thread counts). Any other checkpoint, or one that cannot be
read, is logged and ignored; the run starts fresh and replaces it after its first epoch.
Callbacks outside `COUNTERS` (a fine-tune's tfmot step counter) are not saved.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from amrcomp.atomic import atomic_path
from amrcomp.tfsetup import keras

FILE = "checkpoint.npz"
# Part of every fingerprint: a checkpoint of another layout or seeding scheme is never resumed.
FORMAT = 1
# Per callback class: the attributes that carry state from one epoch to the next (JSON values),
# and those holding lists of arrays.
COUNTERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "EpochLog": (("rows",), ()),
    "KeepBest": (("best", "best_epoch"), ("weights",)),
    "ReduceLROnPlateau": (("wait", "cooldown_counter", "best"), ()),
    "EarlyStopping": (("wait", "stopped_epoch", "best", "best_epoch"), ()),
}
_RECORD_KEYS = ("format", "fingerprint", "epoch", "stopped", "learning_rate", "seconds", "counters")
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


@dataclass
class State:
    """One checkpoint: a JSON record and named lists of arrays."""

    record: dict[str, Any]
    arrays: dict[str, list[np.ndarray]]


def fingerprint(parts: dict[str, Any]) -> str:
    """SHA-256 of `parts` (JSON values and numpy arrays at any depth) and `FORMAT`."""
    digest = hashlib.sha256(f"amrcomp checkpoint {FORMAT}".encode())
    _digest(parts, digest)
    return digest.hexdigest()


def _digest(obj: Any, digest) -> None:
    if isinstance(obj, dict):
        for key in sorted(obj):
            digest.update(f"key {key}".encode())
            _digest(obj[key], digest)
    elif isinstance(obj, (list, tuple)):
        digest.update(f"list {len(obj)}".encode())
        for item in obj:
            _digest(item, digest)
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        digest.update(f"array {arr.dtype.str} {arr.shape}".encode())
        digest.update(arr.tobytes())
    else:
        digest.update(f"value {json.dumps(obj, sort_keys=True, default=str)}".encode())


def path_in(directory: str | os.PathLike) -> Path:
    return Path(directory) / FILE


def save(directory: str | os.PathLike, state: State) -> Path:
    """Write `state` as the directory's checkpoint, atomically (the previous one stays complete
    until the new one is)."""
    flat = {"record": np.array(json.dumps(state.record, default=_plain))}
    for group, arrays in state.arrays.items():
        flat.update({f"{group}.{i:05d}": np.asarray(a) for i, a in enumerate(arrays)})
    path = path_in(directory)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **flat)
    return path


def _plain(value: Any) -> Any:
    """numpy scalars (a callback's best val_loss) as Python numbers for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} in a checkpoint record")


def load(directory: str | os.PathLike, expected: str, log: logging.Logger) -> State | None:
    """The directory's checkpoint if it is readable and was written for `expected`, else None.
    Removes temporary files of a writer that was killed."""
    path = path_in(directory)
    for stale in Path(directory).glob(f".{FILE}.*"):
        stale.unlink(missing_ok=True)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            record = json.loads(str(data["record"]))
            if not isinstance(record, dict) or not set(_RECORD_KEYS) <= record.keys():
                raise ValueError(f"its record lacks some of {_RECORD_KEYS}")
            arrays: dict[str, list[np.ndarray]] = {}
            for name in sorted(data.files):
                if name != "record":
                    arrays.setdefault(name.rsplit(".", 1)[0], []).append(data[name])
    except _UNREADABLE as err:
        log.warning("checkpoint %s is unreadable (%s): ignored, starting fresh", path, err)
        return None
    if record["format"] != FORMAT or record["fingerprint"] != expected:
        log.info(
            "checkpoint %s was written for other settings, model, data or threads: ignored, "
            "starting fresh (it is replaced after the first epoch)",
            path,
        )
        return None
    return State(record, arrays)


def discard(directory: str | os.PathLike) -> None:
    """Delete a checkpoint directory: its training finished and its outputs are written."""
    shutil.rmtree(directory, ignore_errors=True)


class Checkpointing(keras().callbacks.Callback):
    """Write the training state after every epoch and put a resumed run back into it.

    Must be the last callback, so every counter of the epoch is updated when it saves.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        key: str,
        log: logging.Logger,
        callbacks: Sequence[Any],
    ):
        super().__init__()
        self.directory, self.key, self.log = Path(directory), key, log
        self.stateful = {type(c).__name__: c for c in callbacks if type(c).__name__ in COUNTERS}
        self.pending: dict[str, Any] | None = None
        self.seconds_before, self.started = 0.0, time.perf_counter()

    def resume(self, model, tag: str) -> State | None:
        """Load a matching checkpoint into the model, optimizer and callbacks; None: start fresh."""
        state = load(self.directory, self.key, self.log)
        if state is None:
            return None
        try:
            _restore_model(model, state)
        except (KeyError, ValueError) as err:
            self.log.warning(
                "checkpoint %s does not fit the model (%s): ignored, starting fresh",
                path_in(self.directory),
                err,
            )
            return None
        self._restore_counters(state.record["counters"], state.arrays)
        # Keras resets ReduceLROnPlateau and EarlyStopping when training begins: again then.
        self.pending = state.record["counters"]
        self.seconds_before = float(state.record["seconds"])
        self.log.info(
            "resuming %s from epoch %d (checkpoint %s)",
            tag,
            state.record["epoch"],
            path_in(self.directory),
        )
        return state

    def seconds(self) -> float:
        """Wall time of the training so far, the runs before a resume included."""
        return self.seconds_before + time.perf_counter() - self.started

    def on_epoch_begin(self, epoch, logs=None):
        if self.pending is not None:
            self._restore_counters(self.pending, {})
            self.pending = None

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self.model.optimizer
        counters, arrays = (
            {},
            {
                "weights": self.model.get_weights(),
                "optimizer": [v.numpy() for v in optimizer.variables],
            },
        )
        for name, callback in self.stateful.items():
            plain, listed = COUNTERS[name]
            counters[name] = {a: getattr(callback, a) for a in plain}
            for attr in listed:
                if getattr(callback, attr) is not None:
                    arrays[f"{name}.{attr}"] = getattr(callback, attr)
        record = {
            "format": FORMAT,
            "fingerprint": self.key,
            "epoch": epoch + 1,
            "stopped": bool(self.model.stop_training),
            "learning_rate": float(keras().backend.get_value(optimizer.learning_rate)),
            "seconds": round(self.seconds(), 3),
            "counters": counters,
        }
        path = save(self.directory, State(record, arrays))
        self.log.info("checkpoint epoch %d written (%s)", epoch + 1, path)

    def _restore_counters(self, counters: dict[str, Any], arrays: dict[str, list]) -> None:
        for name, callback in self.stateful.items():
            plain, listed = COUNTERS[name]
            for attr in plain:
                setattr(callback, attr, counters[name][attr])
            for attr in listed:
                if f"{name}.{attr}" in arrays:
                    setattr(callback, attr, arrays[f"{name}.{attr}"])


def _restore_model(model, state: State) -> None:
    """Weights, optimizer variables and learning rate of `state`; checks every shape first, so a
    checkpoint that does not fit changes nothing."""
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    for group, targets in (
        ("weights", [np.asarray(w) for w in model.get_weights()]),
        ("optimizer", [v.numpy() for v in optimizer.variables]),
    ):
        saved = state.arrays.get(group, [])
        shapes = [(a.shape, a.dtype) for a in saved]
        if shapes != [(t.shape, t.dtype) for t in targets]:
            raise ValueError(f"{group}: {len(saved)} arrays of other shapes or types")
    model.set_weights(state.arrays["weights"])
    for variable, value in zip(optimizer.variables, state.arrays["optimizer"]):
        variable.assign(value)
    keras().backend.set_value(optimizer.learning_rate, state.record["learning_rate"])
