"""Evaluation stage: a Keras model or a .tflite file scored over the whole test split.

The scoring itself (overall, per SNR, confusion) is `amrcomp.scoring`, shared with the export
checks and the benchmarks.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from amrcomp.frames import Split
from amrcomp.scoring import evaluate


def keras_record(
    path: str, test: Split, classes: list[str], batch_size: int, qkeras: bool = False
) -> tuple[dict[str, Any], np.ndarray]:
    """Evaluation of a .keras file (`qkeras`: a QKeras model, whose layers need their classes),
    with its per-layer cost (Tables I, III) and file sizes, and its scores of every test frame
    (float32): the reference its fp32 ONNX export is checked against without running it again."""
    from amrcomp.models.cost import layer_costs, totals
    from amrcomp.models.io import load_model
    from amrcomp.sizes import file_sizes

    if qkeras:
        from amrcomp.models.lowbit import custom_objects

        model = load_model(path, custom_objects=custom_objects())
    else:
        model = load_model(path)
    scores: list[np.ndarray] = []

    def predict(x: np.ndarray) -> np.ndarray:
        scores.append(model(x, training=False).numpy())
        return scores[-1]

    record = evaluate(predict, test, classes, batch_size)
    layers = layer_costs(model)
    extra = {"dtype": "fp32", "backend": "keras", "layers": layers, "totals": totals(layers)}
    return {**record, **extra, **file_sizes(path)}, np.concatenate(scores).astype(np.float32)


def tflite_record(
    path: str, test: Split, classes: list[str], batch_size: int, threads: int
) -> dict[str, Any]:
    """Evaluation of a .tflite file on LiteRT (batched), with its tensor types and sizes."""
    from amrcomp.runtimes import litert_predictor, tensor_types
    from amrcomp.sizes import file_sizes

    started = time.perf_counter()
    record = evaluate(litert_predictor(path, threads), test, classes, batch_size)
    seconds = round(time.perf_counter() - started, 3)
    extra = {"backend": "litert", "threads": threads, "eval_seconds": seconds}
    return {**record, **extra, **tensor_types(path), **file_sizes(path)}
