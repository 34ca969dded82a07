"""Read the JSON records of the earlier stages and check they hold what tables and figures use.

Each reader names the file and the missing or malformed field, so a stale or foreign
artifact fails the table or figure rule with a message saying which file to rebuild.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from amrcomp.scoring import decode_classes

EVAL_KEYS = (
    "model",
    "variant",
    "dtype",
    "accuracy_pct",
    "accuracy_per_snr",
    "confusion",
    "size_bytes",
    "size_zip_bytes",
)
# Every evaluation's per-frame record (amrcomp.scoring.summarise): what pairing two records needs.
PER_FRAME_KEYS = ("n_frames", "labels", "predicted", "frames_sha256")
KERAS_EVAL_KEYS = (*EVAL_KEYS, "layers", "totals")
LAYER_KEYS = (
    "layer",
    "type",
    "units",
    "kernel",
    "output_shape",
    "params",
    "kernel_params",
    "nonzero_params",
    "kernel_sparsity",
    "macs",
    "effective_macs",
)
TRAIN_KEYS = (
    "model",
    "optimizer",
    "learning_rate",
    "beta_1",
    "beta_2",
    "loss",
    "batch_size",
    "epochs_max",
    "epochs_run",
    "best_epoch",
)
# How a training or fine-tune computed (amrcomp.mixed): train.json and prune summaries.
PRECISION_KEYS = ("setting", "used", "reason")
ENERGY_KEYS = (
    "model",
    "variant",
    "dtype",
    "accumulator",
    "energy_uj",
    "sparsity_aware_energy_uj",
    "bit_operations",
    "weight_memory_bits",
    "weight_bits",
    "activation_bits",
    "layers",
)
ENERGY_LAYER_KEYS = (
    "layer",
    "type",
    "inputs_pj",
    "outputs_pj",
    "parameters_pj",
    "mac_pj",
    "counted",
    "total_pj",
    "density",
    "sparsity_aware_pj",
)
BENCH_KEYS = (
    "model",
    "variant",
    "dtype",
    "backend",
    "status",
    "message",
    "machine",
    "size_bytes",
    "size_zip_bytes",
)
BENCH_OK_KEYS = ("throughput_fps", "latency_ms", "accuracy_pct")
# unsupported: the runtime refused a file it should run; not_offered: the runtime or CPU has no
# such precision (bf16), so nothing was run.
BENCH_STATUSES = ("ok", "unsupported", "not_offered")

PRUNE_KEYS = (
    *("model", "variant", "method", "layers", "totals_before", "totals_after", "budget"),
    "distillation",
)
BUDGET_KEYS = (
    "epochs",
    "steps",
    "frames",
    "learning_rate",
    "frequency",
    "schedule_mask_updates",
    "explicit_mask_applications",
    "pruning_schedule",
)

MIB = 2**20  # the paper's model sizes are MiB: Model 2's 858,123 fp16 weights print as 1.64


def sizes_mib(record: dict[str, Any]) -> dict[str, float]:
    """A record's file size raw and zip-compressed, in MiB: the one place sizes are converted.
    NaN where there is no file (a QAT row with no ONNX copy: `amrcomp.export.qat.offer`)."""
    return {
        f"size{part}_mib": float("nan") if record[f"size{part}_bytes"] is None
        else record[f"size{part}_bytes"] / MIB
        for part in ("", "_zip")
    }  # fmt: skip


class RecordError(ValueError):
    """An input record that lacks or misstates something a table or figure needs."""


def _fail(path: str | Path, problem: str) -> RecordError:
    return RecordError(
        f"{path}: {problem}; delete the file and re-run the rule that makes it "
        f"(snakemake --forcerun <rule> {path})"
    )


def load(path: str | Path) -> dict[str, Any]:
    """One JSON record (an object)."""
    try:
        record = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RecordError(f"{path} does not exist; build it first (snakemake {path})") from None
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err})") from err
    if not isinstance(record, dict):
        raise _fail(path, f"expected a JSON object, got {type(record).__name__}")
    return record


def require(
    record: dict[str, Any], keys: Iterable[str], path: str | Path, what: str = "record"
) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise _fail(path, f"{what} lacks {missing} (has {sorted(record)})")


def _number(value: Any, path: str | Path, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(path, f"{key} must be a finite number, got {value!r}")
    return float(value)


def keras_eval(path: str | Path) -> dict[str, Any]:
    """Keras evaluation (rule evaluate_keras): accuracy, confusion, per-layer cost rows, totals."""
    record = load(path)
    require(record, KERAS_EVAL_KEYS, path)
    if not record["layers"]:
        raise _fail(path, "layers is empty")
    for i, row in enumerate(record["layers"]):
        require(row, LAYER_KEYS, path, f"layers[{i}]")
    _number(record["accuracy_pct"], path, "accuracy_pct")
    return record


def tflite_eval(path: str | Path) -> dict[str, Any]:
    """LiteRT evaluation of one .tflite file (rule evaluate_tflite)."""
    record = load(path)
    require(record, EVAL_KEYS, path)
    _number(record["accuracy_pct"], path, "accuracy_pct")
    return record


def train_summary(path: str | Path) -> dict[str, Any]:
    """Hyperparameters actually used by training (rule train, train.json)."""
    record = load(path)
    require(record, (*TRAIN_KEYS, "precision"), path)
    require(record["precision"], PRECISION_KEYS, path, "precision")
    return record


def prune_summary(path: str | Path) -> dict[str, Any]:
    """What pruning did to one variant (rule prune): per-layer rows, totals, fine-tune budget."""
    record = load(path)
    require(record, PRUNE_KEYS, path, "prune summary")
    require(record["budget"], BUDGET_KEYS, path, "budget")
    return record


def energy(path: str | Path) -> dict[str, Any]:
    """QKeras qtools energy record (rule energy) with its per-layer profile."""
    record = load(path)
    require(record, ENERGY_KEYS, path)
    for key in ("energy_uj", "sparsity_aware_energy_uj", "bit_operations", "weight_memory_bits"):
        _number(record[key], path, key)
    for i, row in enumerate(record["layers"]):
        require(row, ENERGY_LAYER_KEYS, path, f"layers[{i}]")
    return record


def bench(path: str | Path) -> dict[str, Any]:
    """Deployment benchmark (status ok with measurements, or unsupported / not_offered with a
    message)."""
    record = load(path)
    require(record, BENCH_KEYS, path)
    if record["status"] not in BENCH_STATUSES:
        raise _fail(path, f"status must be one of {BENCH_STATUSES}, got {record['status']!r}")
    if record["status"] == "ok":
        require(record, BENCH_OK_KEYS, path)
        if not isinstance(record["throughput_fps"], dict) or not record["throughput_fps"]:
            raise _fail(
                path,
                f"throughput_fps must map batch size -> frames/s, got {record['throughput_fps']!r}",
            )
        for batch, fps in record["throughput_fps"].items():
            _number(fps, path, f"throughput_fps[{batch}]")
        _number(record["accuracy_pct"], path, "accuracy_pct")
    return record


def devices_used(record: dict[str, Any], path: str | Path) -> str | None:
    """Where a training, evaluation or benchmark computed (its `devices` record's `used` text,
    `amrcomp.machine.devices`); None for a record written before devices were recorded, which
    is no reason to retrain."""
    if "devices" not in record:
        return None
    found = record["devices"]
    if not isinstance(found, dict) or not isinstance(found.get("used"), str):
        raise _fail(
            path, f"devices must hold a 'used' text (amrcomp.machine.devices), got {found!r}"
        )
    return found["used"]


def correct_frames(record: dict[str, Any], path: str | Path) -> np.ndarray:
    """Per-frame correctness (predicted == label) of an evaluation or benchmark record."""
    require(record, PER_FRAME_KEYS, path, "evaluation (per-frame labels and predictions)")
    labels, predicted = decode_classes(record["labels"]), decode_classes(record["predicted"])
    if not len(labels) == len(predicted) == record["n_frames"]:
        raise _fail(
            path,
            f"{len(labels)} labels and {len(predicted)} predictions for n_frames "
            f"{record['n_frames']}",
        )
    return labels == predicted


def check_same_frames(
    reference: dict[str, Any], reference_path: str | Path, record: dict[str, Any], path: str | Path
) -> None:
    """Refuse to pair two records that did not score the same test frames in the same order."""
    require(reference, PER_FRAME_KEYS, reference_path, "evaluation")
    require(record, PER_FRAME_KEYS, path, "evaluation")
    if (reference["n_frames"], reference["frames_sha256"]) != (
        record["n_frames"],
        record["frames_sha256"],
    ):
        raise RecordError(
            f"{path} and {reference_path} were not scored on the same test frames "
            f"(n_frames {record['n_frames']} vs {reference['n_frames']}, labels/SNR checksum "
            f"{record['frames_sha256'][:12]} vs {reference['frames_sha256'][:12]}), so their "
            "accuracies cannot be paired frame by frame; re-run the older one on the current "
            "test split (snakemake --forcerun <rule> <file>)"
        )


def check_identity(record: dict[str, Any], path: str | Path, **expected: str) -> None:
    """The record describes what its path says (model, variant, dtype, backend)."""
    for key, value in expected.items():
        if key in record and str(record[key]) != str(value):
            raise _fail(path, f"{key} is {record[key]!r} but the file stands for {value!r}")
