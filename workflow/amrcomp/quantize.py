"""TFLite post-training quantisation (Table IV): the calibration frames of the int8 files.

Converting is `amrcomp.tflite.convert` (the qat stage converts its models the same way);
running and inspecting a .tflite is `amrcomp.runtimes`' (`litert_predictor`, `tensor_types`).
"""

from __future__ import annotations

import numpy as np

from amrcomp.frames import Split


def representative_frames(frames: Split, n_calibration: int, seed: int) -> np.ndarray:
    """Calibration frames (n, 2, L, 1) float32 drawn from a split
    (the training split: never the test set)."""
    return frames.subset(n_calibration, seed).model_input()
