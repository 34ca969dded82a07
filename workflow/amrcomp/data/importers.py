"""Readers of the real RadioML files: RML2016.10a / 10b pickles and the RML2018.01a HDF5.

Why so defensive: the 2016 sets are Python 2 pickles, and a pickle can run code when loaded, so
they go through `RestrictedUnpickler`, which resolves only the few numpy globals an array needs
and refuses everything else before it is called. Both readers check what they read (keys,
shapes, dtypes, class names, SNRs, finiteness) and name the problem and the fix, because a
wrong file otherwise fails hours later inside training.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np

try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]

RML2016A_CLASSES: tuple[str, ...] = (
    "8PSK",
    "AM-DSB",
    "AM-SSB",
    "BPSK",
    "CPFSK",
    "GFSK",
    "PAM4",
    "QAM16",
    "QAM64",
    "QPSK",
    "WBFM",
)
RML2016B_CLASSES: tuple[str, ...] = tuple(c for c in RML2016A_CLASSES if c != "AM-SSB")
RML2016_CLASSES: dict[str, tuple[str, ...]] = {
    "rml2016.10a": RML2016A_CLASSES,
    "rml2016.10b": RML2016B_CLASSES,
}
RML2016_FRAME_LENGTH = 128
RML2018_CLASSES: tuple[str, ...] = (
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK",
    "16APSK", "32APSK", "64APSK", "128APSK", "16QAM", "32QAM", "64QAM", "128QAM",
    "256QAM", "AM-SSB-WC", "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM", "GMSK", "OQPSK",
)  # fmt: skip
RML2018_CHUNK = 8192  # frames read from the HDF5 at a time


class DataFormatError(ValueError):
    """The file exists but is not (or no longer) what the configured source says it is."""


class UnsafePickleError(ValueError):
    """The pickle asked for a global that an array-of-frames pickle never needs."""


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """Stand-in for _codecs.encode: Python 3 protocol-2 pickles store bytes as
    encode(str, 'latin1')."""
    if (
        not isinstance(text, str)
        or codecs.lookup(encoding).name != "iso8859-1"
        or errors != "strict"
    ):
        raise UnsafePickleError(
            f"refused _codecs.encode({type(text).__name__}, {encoding!r}, {errors!r}); "
            "only latin1 text is allowed"
        )
    return text.encode("latin1")


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy globals arrays need;
    dicts, tuples, str, int need none."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to load global {module}.{name}: a RadioML pickle holds only a dict of "
                "numpy arrays, so this file is not one (it may run code if unpickled normally); "
                "do not load it"
            ) from None


def _check_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"data file {path} does not exist; fix dataset.path in the config "
            "(or download the file there)"
        )
    return path


def _restricted_load(path: Path) -> Any:
    """Unpickle a Python 2 pickle (latin1 strings) with the restricted unpickler."""
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle, encoding="latin1").load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        OverflowError,
        UnicodeError,
    ) as err:
        raise DataFormatError(
            f"{path} is truncated or not a RadioML pickle ({type(err).__name__}: {err}); "
            "download it again or point dataset.path at the RML2016.10a/10b *_dict.pkl file"
        ) from None


def load_rml2016(
    path: str | Path, expected_classes: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x float32 (N, 2, 128), labels int64, snr int64, classes) from an RML2016.10a/10b pickle.

    Classes are sorted alphabetically (the original's order), or given by `expected_classes`,
    which must then be exactly the set of names in the file. Frames are ordered by (class, snr).
    """
    path = _check_exists(path)
    data = _restricted_load(path)
    if not isinstance(data, dict) or not data:
        raise DataFormatError(
            f"{path} holds a {type(data).__name__}, not a non-empty dict "
            "{(modulation, snr): frames}: not a RadioML 2016 pickle"
        )
    blocks = {_check_key(path, key): key for key in data}
    names = sorted({mod for mod, _ in blocks})
    classes = _match_classes(path, names, expected_classes)
    order = sorted(blocks, key=lambda k: (classes.index(k[0]), k[1]))
    counts = [_check_block(path, blocks[k], data[blocks[k]]) for k in order]
    x = np.empty((sum(counts), 2, RML2016_FRAME_LENGTH), np.float32)
    labels = np.empty(sum(counts), np.int64)
    snr = np.empty(sum(counts), np.int64)
    start = 0
    for (mod, s), count in zip(order, counts):
        x[start : start + count] = data.pop(blocks[(mod, s)])  # pop: free each block once copied
        labels[start : start + count] = classes.index(mod)
        snr[start : start + count] = s
        start += count
    return x, labels, snr, classes


def _check_key(path: Path, key: Any) -> tuple[str, int]:
    """A dict key must be (modulation name, integer SNR)."""
    if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], (str, bytes))):
        raise DataFormatError(
            f"{path}: key {key!r} is not a (modulation, snr) pair: not a RadioML 2016 pickle"
        )
    mod = key[0].decode("latin1") if isinstance(key[0], bytes) else key[0]
    s = key[1]
    if (
        isinstance(s, (bool, np.bool_))
        or not isinstance(s, (int, np.integer, float, np.floating))
        or not float(s).is_integer()
    ):
        raise DataFormatError(
            f"{path}: key {key!r} has SNR {s!r}, which is not an integer number of dB"
        )
    return mod, int(s)


def _check_block(path: Path, key: tuple, frames: Any) -> int:
    """Shape (n, 2, 128), a float dtype and finite values; returns n."""
    if not isinstance(frames, np.ndarray):
        raise DataFormatError(
            f"{path}: value of {key!r} is a {type(frames).__name__}, not a numpy array"
        )
    if frames.ndim != 3 or frames.shape[1:] != (2, RML2016_FRAME_LENGTH) or frames.shape[0] == 0:
        raise DataFormatError(
            f"{path}: frames of {key!r} have shape {frames.shape}, "
            f"expected (n, 2, {RML2016_FRAME_LENGTH}) with n >= 1"
        )
    if frames.dtype.kind != "f":
        raise DataFormatError(
            f"{path}: frames of {key!r} have dtype {frames.dtype}, expected float32"
        )
    finite = np.isfinite(frames).all(axis=(1, 2))
    if not finite.all():
        raise DataFormatError(
            f"{path}: frames of {key!r} hold NaN or Inf "
            f"(first bad frame {int(np.argmin(finite))}); the file is damaged, download it again"
        )
    return int(frames.shape[0])


def _match_classes(path: Path, found: Sequence[str], expected: Sequence[str] | None) -> list[str]:
    """The class list to index labels by; a mismatch with `expected` names both sides' extras."""
    if expected is None:
        return list(found)
    unexpected = sorted(set(found) - set(expected))
    missing = sorted(set(expected) - set(found))
    if unexpected or missing:
        raise DataFormatError(
            f"{path}: class names do not match the configured data set: "
            f"unexpected {unexpected}, missing {missing} (file has {list(found)}); "
            "check dataset.source (rml2016.10a has 11 classes, 10b has no AM-SSB) or dataset.path"
        )
    return list(expected)


def load_rml2018(
    path: str | Path,
    classes: Sequence[str] | None = None,
    snrs: Sequence[int] | None = None,
    max_per_block: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(x float32 (N, 2, 1024), labels int64 into `classes`, snr int64, classes) from
    RML2018.01a HDF5.

    Keeps the given classes (default all 24, in the standard order) and SNRs, then at most
    `max_per_block` frames per (class, SNR) drawn with `seed`. Only the labels and SNRs are read
    whole; frames are read chunk by chunk at sorted indices, so a subset never loads the file.
    """
    import h5py

    path = _check_exists(path)
    wanted = list(RML2018_CLASSES if classes is None else classes)
    unknown = sorted(set(wanted) - set(RML2018_CLASSES))
    if unknown or len(set(wanted)) != len(wanted):
        raise ValueError(
            f"dataset.classes {wanted} must be distinct RML2018.01a names; unknown: {unknown}; "
            f"known: {list(RML2018_CLASSES)}"
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise DataFormatError(
            f"{path} is truncated or not an RML2018.01a HDF5 file ({err}); "
            "download it again or fix dataset.path"
        ) from None
    try:
        with handle:
            x_set, y_set, z_set = _rml2018_datasets(path, handle)
            labels_all, snr_all = _rml2018_labels(path, y_set, z_set)
            keep = np.isin(labels_all, [RML2018_CLASSES.index(c) for c in wanted])
            if snrs is not None:
                keep &= np.isin(snr_all, np.asarray(list(snrs), dtype=np.int64))
            index = _subsample(np.flatnonzero(keep), labels_all, snr_all, max_per_block, seed)
            x = _read_rows(path, x_set, index)
    except (OSError, KeyError) as err:  # h5py reports unreadable (truncated) data as OSError
        raise DataFormatError(
            f"{path} is truncated or not an RML2018.01a HDF5 file ({err}); "
            "download it again or fix dataset.path"
        ) from None
    remap = np.full(len(RML2018_CLASSES), -1, np.int64)
    remap[[RML2018_CLASSES.index(c) for c in wanted]] = np.arange(len(wanted))
    labels, snr = remap[labels_all[index]], snr_all[index]
    order = np.lexsort((np.arange(len(index)), snr, labels))
    return x[order], labels[order], snr[order], wanted


def _rml2018_datasets(path: Path, handle: Any) -> tuple[Any, Any, Any]:
    """X (N, L, 2) float, Y (N, 24), Z (N, 1) or (N,), with matching N."""
    missing = [k for k in ("X", "Y", "Z") if k not in handle]
    if missing:
        raise DataFormatError(
            f"{path} has no dataset(s) {missing} (has {sorted(handle.keys())}): "
            "not an RML2018.01a file; fix dataset.path or dataset.source"
        )
    x, y, z = handle["X"], handle["Y"], handle["Z"]
    n = x.shape[0]
    if x.ndim != 3 or x.shape[2] != 2 or x.dtype.kind != "f":
        raise DataFormatError(
            f"{path}: X has shape {x.shape} and dtype {x.dtype}, expected (N, 1024, 2) float32"
        )
    if y.shape != (n, len(RML2018_CLASSES)):
        raise DataFormatError(
            f"{path}: Y has shape {y.shape}, expected ({n}, {len(RML2018_CLASSES)}) "
            "one-hot over the 24 RML2018.01a classes"
        )
    if z.shape not in ((n,), (n, 1)):
        raise DataFormatError(f"{path}: Z has shape {z.shape}, expected ({n}, 1) SNRs")
    return x, y, z


def _rml2018_labels(path: Path, y_set: Any, z_set: Any) -> tuple[np.ndarray, np.ndarray]:
    """Class index per frame from the one-hot Y (read in chunks), integer SNR per frame from Z."""
    n = y_set.shape[0]
    labels = np.empty(n, np.int64)
    for start in range(0, n, RML2018_CHUNK):
        block = np.asarray(y_set[start : start + RML2018_CHUNK])
        bad = np.flatnonzero((np.sum(block != 0, axis=1) != 1) | (np.max(block, axis=1) != 1))
        if bad.size:
            raise DataFormatError(
                f"{path}: Y row {start + int(bad[0])} is not one-hot; "
                "the file is damaged or not RML2018.01a"
            )
        labels[start : start + len(block)] = np.argmax(block, axis=1)
    z = np.asarray(z_set).reshape(-1)
    if not np.all(np.isfinite(z)) or not np.all(z == np.round(z)):
        raise DataFormatError(
            f"{path}: Z holds non-integer SNRs "
            f"(first {z[~(np.isfinite(z) & (z == np.round(z)))][0]!r}); expected integers in dB"
        )
    return labels, z.astype(np.int64)


def _subsample(
    candidates: np.ndarray,
    labels: np.ndarray,
    snr: np.ndarray,
    max_per_block: int | None,
    seed: int,
) -> np.ndarray:
    """At most max_per_block of the candidate rows per (class, SNR), drawn with seed; sorted."""
    if max_per_block is None:
        return candidates
    if max_per_block < 1:
        raise ValueError(f"frames per block must be >= 1, got {max_per_block}")
    rng = np.random.default_rng(seed)
    keys = labels[candidates] * 1_000_003 + snr[candidates]
    picked = []
    for key in np.unique(keys):
        rows = candidates[keys == key]
        picked.append(
            rows if len(rows) <= max_per_block else rng.choice(rows, max_per_block, replace=False)
        )
    return np.sort(np.concatenate(picked)) if picked else candidates[:0]


def _read_rows(path: Path, x_set: Any, index: np.ndarray) -> np.ndarray:
    """Rows `index` (sorted) of X as float32 (n, 2, L), reading one chunk of the file at a time."""
    length = x_set.shape[1]
    out = np.empty((len(index), 2, length), np.float32)
    done = 0
    for start in range(0, x_set.shape[0], RML2018_CHUNK):
        stop = start + RML2018_CHUNK
        lo, hi = np.searchsorted(index, [start, stop])
        if lo == hi:
            continue
        rows = index[lo:hi]
        block = np.asarray(x_set[int(rows[0]) : int(rows[-1]) + 1])[rows - rows[0]]
        bad = np.flatnonzero(~np.isfinite(block).all(axis=(1, 2)))
        if bad.size:
            raise DataFormatError(
                f"{path}: frame {int(rows[bad[0]])} of X holds NaN or Inf; "
                "the file is damaged, download it again"
            )
        out[done : done + len(rows)] = block.transpose(0, 2, 1)
        done += len(rows)
    return out
