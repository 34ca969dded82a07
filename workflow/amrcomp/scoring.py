"""Accuracy overall and per SNR, and confusion matrices, for any batch predictor.

Keras, LiteRT, ONNX Runtime and TensorRT all plug in as a callable mapping a batch of
frames (n, 2, L, 1) float32 to class scores (n, n_classes); every stage writes this JSON.
"""

from __future__ import annotations

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


def confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts[true, predicted]."""
    return np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def summarise(
    labels: np.ndarray, snr: np.ndarray, predicted: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Evaluation record: overall and per-SNR accuracy, confusion overall and at each SNR."""
    labels = np.asarray(labels, dtype=np.int64)
    snr = np.asarray(snr, dtype=np.int64)
    n = len(classes)
    correct = labels == predicted
    snrs = sorted(int(s) for s in np.unique(snr))
    return {
        "classes": list(classes),
        "snrs": snrs,
        "n_frames": int(len(labels)),
        "accuracy": float(correct.mean()),
        "accuracy_pct": float(100.0 * correct.mean()),
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
