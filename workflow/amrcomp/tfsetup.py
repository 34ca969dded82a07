"""Import TensorFlow the one way this project supports (legacy tf_keras, seeded, bounded threads).

tfmot and qkeras reject Keras 3 models, so TF_USE_LEGACY_KERAS must be set before TensorFlow
is first imported; every stage that needs TensorFlow calls `configure` first.
"""

from __future__ import annotations

import os
import random

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure(threads: int | None = None, seed: int | None = None, deterministic: bool = True):
    """Import TensorFlow, pin its thread pools and seeds; return the `tf` module.

    Deterministic ops make two runs with the same seed give the same weights on CPU.
    """
    import numpy as np
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
        except RuntimeError:  # already initialised in this process: keep the first setting
            pass
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
        tf.keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return tf


def keras():
    """Return the tf_keras module (Keras 2 API) after `configure` has set the environment."""
    import tf_keras

    return tf_keras
