"""The one place that knows how split frames, labels and SNRs are stored and read.

Each split is three memory-mappable .npy files (`{split}_x.npy` float32 (N, 2, 128),
`{split}_labels.npy` int64, `{split}_snr.npy` int64) beside a `manifest.json`, so a consumer
that needs only the test labels never reads the training frames.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amrcomp.atomic import atomic_path, read_json, write_json

SPLITS = ("train", "val", "test")
FIELDS = ("x", "labels", "snr")


def draw_indices(n_frames: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted, distinct indices of a seeded draw of `size` of `n_frames` frames (all of them when
    size is None or not smaller): fine-tunes and both calibrations draw frames this one way."""
    if n_frames < 1:
        raise ValueError("the split is empty: there are no frames to draw from")
    if size is None or size >= n_frames:
        return np.arange(n_frames)
    if size < 1:
        raise ValueError(f"a draw needs at least one frame, got {size}")
    return np.sort(np.random.default_rng(seed).choice(n_frames, size=size, replace=False))


@dataclass(frozen=True)
class Split:
    """Frames of one split: x (N, 2, L) float32, labels (N,) int64 class indices,
    snr (N,) int64 dB."""

    x: np.ndarray
    labels: np.ndarray
    snr: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, size: int | None, seed: int) -> "Split":
        """A seeded draw of `size` frames (in their stored order); the whole split when size is
        None or not smaller. Lets fine-tunes use a fixed budget of frames on large data sets."""
        keep = draw_indices(len(self), size, seed)
        if len(keep) == len(self):
            return self
        return Split(
            x=np.asarray(self.x)[keep],
            labels=np.asarray(self.labels)[keep],
            snr=np.asarray(self.snr)[keep],
        )

    def model_input(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames as the models take them: (n, 2, L, 1) float32."""
        return np.asarray(self.x[start:stop], dtype=np.float32)[..., None]


def split_paths(data_dir: str | Path, split: str) -> dict[str, Path]:
    """Paths of the three arrays of one split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return {field: Path(data_dir) / f"{split}_{field}.npy" for field in FIELDS}


def all_paths(data_dir: str | Path) -> list[str]:
    """Every file the data stage writes (arrays of all splits and the manifest)."""
    paths = [str(p) for s in SPLITS for p in split_paths(data_dir, s).values()]
    return paths + [str(Path(data_dir) / "manifest.json")]


def write_split(data_dir: str | Path, split: str, frames: Split) -> None:
    """Store one split atomically."""
    for field, path in split_paths(data_dir, split).items():
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, np.ascontiguousarray(getattr(frames, field)), allow_pickle=False)


def load_split(data_dir: str | Path, split: str, mmap: bool = True) -> Split:
    """Read one split; memory-mapped by default so only touched frames are read."""
    arrays = {}
    for field, path in split_paths(data_dir, split).items():
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: run the data rule (snakemake {path}) first"
            )
        try:
            arrays[field] = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as err:
            raise ValueError(
                f"{path} is corrupt or truncated ({err}); delete it and re-run the data rule"
            ) from err
    frames = Split(**arrays)
    n = {f: a.shape[0] for f, a in arrays.items()}
    if len(set(n.values())) != 1:
        raise ValueError(
            f"split {split!r} in {data_dir} has inconsistent lengths {n}; re-run the data rule"
        )
    return frames


def content_hash(splits: dict[str, Split]) -> str:
    """SHA-256 over every array of every split, in a fixed order:
    identical data <=> identical hash."""
    digest = hashlib.sha256()
    for name in SPLITS:
        for field in FIELDS:
            arr = np.ascontiguousarray(getattr(splits[name], field))
            digest.update(f"{name}/{field}/{arr.dtype.str}/{arr.shape}".encode())
            digest.update(arr.tobytes())
    return digest.hexdigest()


def write_manifest(data_dir: str | Path, manifest: dict[str, Any]) -> None:
    write_json(Path(data_dir) / "manifest.json", manifest)


def read_manifest(data_dir: str | Path) -> dict[str, Any]:
    """The data set's class list, SNR list, counts, source and content hash."""
    path = Path(data_dir) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the data rule first")
    return read_json(path)
