"""The paper's published numbers, keyed by its model labels ("Model 1", "Model 2").

Only values printed in the paper live here (Tables I-V and the energy figures of Sec. III-D);
every comparison column of the result tables (`paper_*`) and every paper number the summary
quotes comes from this module, so a model whose config entry has no `paper_name` gets empty
paper columns instead of guesses.
"""

from __future__ import annotations

from typing import Any

MODELS = ("Model 1", "Model 2")

# Table I: (layer type, #parameters, description) of every layer with parameters, in order.
TABLE1: dict[str, list[tuple[str, int, str]]] = {
    "Model 1": [
        ("Conv2D", 450, "50 filters of size (1, 8)"),
        ("Conv2D", 40050, "50 filters of size (2, 8)"),
        ("Dense", 1549056, "Fully connected layer with 256 units"),
        ("Dense", 2827, "Output layer with 11 units"),
    ],
    "Model 2": [
        ("Conv2D", 4352, "256 filters of size (2, 8)"),
        ("Conv2D", 524416, "128 filters of size (2, 8)"),
        ("Conv2D", 131136, "64 filters of size (2, 8)"),
        ("Conv2D", 65600, "64 filters of size (2, 8)"),
        ("Dense", 131200, "Fully connected layer with 128 units"),
        ("Dense", 1419, "Output layer with 11 units"),
    ],
}
# Sec. III-A: total parameters (the sums of Table I).
TOTAL_PARAMS = {"Model 1": 1592383, "Model 2": 858123}

# Table II: training hyperparameters, identical for both models (names as tf_keras spells them).
TABLE2: dict[str, Any] = {
    "learning_rate": 0.001,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "loss": "categorical_crossentropy",
    "optimizer": "Adam",
    "epochs": 110,
    "batch_size": 256,
}

# Table III: magnitude pruning at each sparsity -> (accuracy %, #parameters as printed). Only
# Model 2 at 50 % (858,123 / 2) is a nonzero-parameter count; the others are neither the nonzero
# nor the total parameters of a variant pruned to that sparsity.
TABLE3: dict[str, dict[int, tuple[float, int]]] = {
    "Model 1": {25: (56.0090, 1531258), 50: (55.8636, 1016217), 75: (54.0590, 400092)},
    "Model 2": {25: (56.3613, 553992), 50: (56.0568, 429062), 75: (54.6272, 183431)},
}

# Table IV: baseline TFLite models -> (accuracy %, size MiB). The paper's "INT8" column is
# dynamic-range quantisation (int8 weights, float activations): our `dynamic` dtype. Sizes are
# MiB (2^20 bytes): Model 2's 858,123 parameters at 2 bytes are 1.637 MiB, printed 1.64. Model 1's
# are printed smaller than its 1,592,383 parameters allow (6.07 MiB at 4 bytes, printed 5.83);
# they are kept as printed.
TABLE4_DTYPE_LABELS = {"fp32": "FP32", "fp16": "FP16", "dynamic": "INT8"}
TABLE4: dict[str, dict[str, tuple[float, float]]] = {
    "Model 1": {"fp32": (56.24, 5.83), "fp16": (55.86, 2.91), "dynamic": (55.97, 1.46)},
    "Model 2": {"fp32": (56.60, 3.31), "fp16": (56.05, 1.64), "dynamic": (54.62, 0.83)},
}

# Sec. III-D: QKeras qtools energy of the baseline models, microjoules per inference.
ENERGY_UJ: dict[str, dict[str, float]] = {
    "Model 1": {"fp32": 49.46, "fp16": 21.31, "int8": 11.91},
    "Model 2": {"fp32": 393.37, "fp16": 133.66, "int8": 49.95},
}

# Table V: magnitude pruning at 50 % on an NVIDIA T4 with TensorRT, batch 32.
# "FLOPS (M)" is MACs plus bias additions, in millions (6,494,016 + 19,117 and
# 78,775,680 + 88,203), i.e. the dense model's operation count, not a rate.
TABLE5_VARIANT = "magnitude-50"
TABLE5_GPU = "NVIDIA T4"
TABLE5_RUNTIME = "TensorRT"
TABLE5_DEVICE = f"{TABLE5_GPU} ({TABLE5_RUNTIME})"
TABLE5_BATCH_SIZE = 32
TABLE5_MFLOPS = {"Model 1": 6.5, "Model 2": 78.86}
TABLE5_SPARSITY_PCT = 50
# dtype -> (accuracy %, size MiB, throughput samples/s)
TABLE5: dict[str, dict[str, tuple[float, float, float]]] = {
    "Model 1": {
        "fp32": (55.8636, 3.43, 89966),
        "fp16": (55.8614, 1.89, 91264),
        "int8": (55.8386, 0.84, 91578),
    },
    "Model 2": {
        "fp32": (56.0568, 1.87, 24829),
        "fp16": (56.0386, 1.04, 59844),
        "int8": (55.9341, 0.49, 61247),
    },
}

# Sec. III-A: baseline test accuracy averaged over all SNRs (RML2016.10a).
BASELINE_ACCURACY_PCT = {"Model 1": 56.24, "Model 2": 56.60}


def known(paper_name: str | None) -> bool:
    """True for the labels the paper's tables use; anything else gets empty paper columns."""
    return paper_name in MODELS
