"""TFLite post-training quantisation (Table IV): calibration frames, conversion, storage.

Converting needs TensorFlow; running and inspecting a .tflite is `amrcomp.runtimes`'
(`litert_predictor`, `tensor_types`), which needs only ai_edge_litert and numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amrcomp import tfsetup  # noqa: F401 - sets TF_USE_LEGACY_KERAS before any TensorFlow import
from amrcomp.atomic import atomic_path
from amrcomp.frames import Split

DTYPES = ("fp32", "fp16", "dynamic", "int8")


def representative_frames(frames: Split, n_calibration: int, seed: int) -> np.ndarray:
    """Calibration frames (n, 2, L, 1) float32 drawn from a split
    (the training split: never the test set)."""
    return frames.subset(n_calibration, seed).model_input()


def convert(model, dtype: str, calibration: np.ndarray | None = None) -> bytes:
    """Convert a tf_keras model to a .tflite flatbuffer.

    fp32: plain conversion; fp16: float16 weights; dynamic: int8 weights, float activations,
    no calibration; int8: full integer with int8 input/output and int8 builtin ops only,
    calibrated on `calibration` (n, 2, L, 1) frames fed one at a time.
    """
    import tensorflow as tf

    if dtype not in DTYPES:
        raise ValueError(f"unknown TFLite dtype {dtype!r}; expected one of {DTYPES}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dtype != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if dtype == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif dtype == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError(
                "int8 quantisation needs calibration frames "
                "(representative data from the training split)"
            )
        frames = np.asarray(calibration, dtype=np.float32)

        def representative():
            for i in range(len(frames)):
                yield [frames[i : i + 1]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def write_tflite(data: bytes, path: str | Path) -> None:
    """Store a flatbuffer atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
