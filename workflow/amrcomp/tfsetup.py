"""Import TensorFlow the one way this project supports (legacy tf_keras, seeded, bounded threads).

tfmot and qkeras reject Keras 3 models, so TF_USE_LEGACY_KERAS must be set before TensorFlow
is first imported; every stage that needs TensorFlow calls `configure` first. The jobs that
train or evaluate then ask `job_devices` where TensorFlow computes, for their records.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def configure(threads: int | None = None, seed: int | None = None, deterministic: bool = True):
    """Import TensorFlow, pin its thread pools and seeds; return the `tf` module.

    Deterministic ops make two runs with the same seed give the same weights on CPU.
    """
    import numpy as np

    first = "tensorflow" not in sys.modules
    started = time.perf_counter()
    import tensorflow as tf
    import tf_keras  # noqa: F401 - what every caller goes on to use: part of the import cost

    if first:  # a job's share of the DAG's per-job overhead (benchmarks/bench_dag.py)
        logging.getLogger(__name__).info("TensorFlow import %.2f s", time.perf_counter() - started)
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


def tensorflow_gpus() -> list[str]:
    """Names of the GPUs TensorFlow can use: none on a CPU-only build, whatever the node has."""
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except (RuntimeError, ValueError):
            details = {}
        names.append(str(details.get("device_name") or device.name))
    return names


def job_devices(log: logging.Logger) -> dict[str, Any]:
    """`machine.devices` of this TensorFlow job, logged; a warning when the job was given a GPU
    TensorFlow cannot use, since it then computes on the CPU without a word of its own."""
    from amrcomp.machine import devices

    found = devices(tensorflow_gpus())
    log.info("devices: %s", found["used"])
    if found["warning"]:
        log.warning(found["warning"])
    return found
