"""Accuracy overall, from 0 dB up and per SNR, and confusion matrices, for any batch predictor.

Keras, LiteRT, ONNX Runtime and TensorRT all plug in as a callable mapping a batch of
frames (n, 2, L, 1) float32 to class scores (n, n_classes); every stage writes this JSON.
Each record keeps every test frame's true and predicted class (one base-36 character per
frame: 11,000 frames are 11 kB of JSON, not 11,000 lines) and a checksum of the frames' labels
and SNRs, so two records of the same frames can be compared frame by frame
(`amrcomp.confidence`: paired confidence intervals of accuracy drops).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np

from amrcomp.frames import Split

Predictor = Callable[[np.ndarray], np.ndarray]


def predict_classes(predict: Predictor, frames: Split, batch_size: int = 1024) -> np.ndarray:
    """Predicted class index of every frame, batch by batch."""
    out = np.empty(len(frames), dtype=np.int64)
    for start in range(0, len(frames), batch_size):
        scores = np.asarray(predict(frames.model_input(start, start + batch_size)))
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"predictor returned non-finite scores for frames {start}..{start + batch_size}"
            )
        out[start : start + len(scores)] = scores.argmax(axis=1)
    return out


CLASS_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_classes(indices: np.ndarray) -> str:
    """Class indices as one base-36 character each (compact, exact, readable in the JSON)."""
    indices = np.asarray(indices, dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= len(CLASS_DIGITS)):
        raise ValueError(f"class indices must be 0..{len(CLASS_DIGITS) - 1} to be stored per frame")
    return "".join(CLASS_DIGITS[i] for i in indices.tolist())


def decode_classes(text: str) -> np.ndarray:
    """The class indices `encode_classes` stored."""
    lookup = {c: i for i, c in enumerate(CLASS_DIGITS)}
    return np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))


def frames_checksum(labels: np.ndarray, snr: np.ndarray) -> str:
    """sha256 of the labels and SNRs in order: equal for two records only if they scored the
    same frames in the same order (what pairing them frame by frame needs)."""
    digest = hashlib.sha256()
    for array in (labels, snr):
        digest.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
    return digest.hexdigest()


def confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts[true, predicted]."""
    return np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


# What `summarise` records, the keys a stage reusing another's evaluation copies.
SUMMARY_KEYS = (
    *("classes", "snrs", "n_frames", "accuracy", "accuracy_pct", "n_frames_from_0db"),
    *("accuracy_from_0db_pct", "labels", "predicted", "frames_sha256", "accuracy_per_snr"),
    *("confusion", "confusion_per_snr"),
)


def summarise(
    labels: np.ndarray, snr: np.ndarray, predicted: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Evaluation record: overall, from 0 dB up and per-SNR accuracy, confusion overall and at
    each SNR, and the per-frame labels and predictions with the frames' checksum."""
    labels = np.asarray(labels, dtype=np.int64)
    snr = np.asarray(snr, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    n = len(classes)
    correct = labels == predicted
    snrs = sorted(int(s) for s in np.unique(snr))
    high = correct[snr >= 0]  # frames with SNR >= 0 dB, where the models separate the classes
    from_0db = float(high.mean()) if len(high) else None
    return {
        "classes": list(classes),
        "snrs": snrs,
        "n_frames": int(len(labels)),
        "accuracy": float(correct.mean()),
        "accuracy_pct": float(100.0 * correct.mean()),
        "n_frames_from_0db": int(len(high)),
        "accuracy_from_0db_pct": None if from_0db is None else 100.0 * from_0db,
        "labels": encode_classes(labels),
        "predicted": encode_classes(predicted),
        "frames_sha256": frames_checksum(labels, snr),
        "accuracy_per_snr": {str(s): float(correct[snr == s].mean()) for s in snrs},
        "confusion": confusion(labels, predicted, n).tolist(),
        "confusion_per_snr": {
            str(s): confusion(labels[snr == s], predicted[snr == s], n).tolist() for s in snrs
        },
    }


def evaluate(
    predict: Predictor, frames: Split, classes: list[str], batch_size: int = 1024
) -> dict[str, Any]:
    """Run the predictor over a whole split and summarise."""
    predicted = predict_classes(predict, frames, batch_size)
    return summarise(np.asarray(frames.labels), np.asarray(frames.snr), predicted, classes)
