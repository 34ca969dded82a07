"""Build the result tables (Tables I-V and the energy tables) from the stages' JSON records.

Every builder takes the paths its rule lists as inputs (and nothing else from disk) plus
the config's `models` mapping, whose `paper_name` decides which rows get the paper's values.
Rows keep the order of the paths, which the rules give model-major as in the paper.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from amrcomp.tables import paper, readers
from amrcomp.tables.schema import frame

MB = 1e6
COUNTED_TYPES = ("Conv2D", "Dense")
# Which evaluation gives the accuracy shown next to each qtools data type: fp32 is the Keras
# model itself, fp16 the float16 TFLite model, int8 the full-integer TFLite model (qtools' int8
# estimate quantises weights and activations, as full-integer TFLite does).
ENERGY_ACCURACY_SOURCE = {"fp32": ("keras", "fp32"), "fp16": ("tflite", "fp16"), "int8": ("tflite", "int8")}


def split_variant(variant: str) -> tuple[str, int]:
    """'magnitude-50' -> ('magnitude', 50); 'baseline' -> ('none', 0)."""
    if variant == "baseline":
        return "none", 0
    match = re.fullmatch(r"(magnitude|m_by_n|filters)-(\d+)", variant)
    if not match:
        raise ValueError(f"variant {variant!r} is neither 'baseline' nor '<method>-<sparsity>' (magnitude-50, filters-25, m_by_n-50)")
    return match.group(1), int(match.group(2))


def paper_name(models: dict[str, Any], model: str) -> str | None:
    """The paper's label of a configured model, or None when it has none (or an unknown one)."""
    if model not in models:
        raise ValueError(f"record of model {model!r}, which is not in the config's models {sorted(models)}")
    name = (models[model] or {}).get("paper_name")
    return name if paper.known(name) else None


def _prod(shape: str) -> int:
    return math.prod(int(d) for d in shape.split("x")) if shape else 0


def bias_adds(row: dict[str, Any]) -> int:
    """Bias additions of a Conv2D/Dense row: one per output element when the layer has a bias."""
    if row["type"] not in COUNTED_TYPES or row["params"] <= row["kernel_params"]:
        return 0
    return _prod(row["output_shape"])


def ops_summary(layers: list[dict[str, Any]]) -> dict[str, float]:
    """MACs, effective MACs and the paper's 'FLOPS (M)' (MACs + bias adds), in millions."""
    macs = sum(r["macs"] for r in layers)
    effective = sum(r["effective_macs"] for r in layers)
    adds = sum(bias_adds(r) for r in layers)
    return {"macs_m": macs / 1e6, "effective_macs_m": effective / 1e6, "mflops_dense": (macs + adds) / 1e6, "mflops_effective": (effective + adds) / 1e6}


def _nonzero(layers: list[dict[str, Any]]) -> int:
    return int(sum(r["nonzero_params"] for r in layers))


def sparsity_pct(nonzero_params: int, baseline_params: int) -> float:
    """Share of the baseline's parameters that pruning zeroed or removed, in percent."""
    return 100.0 * (1.0 - nonzero_params / baseline_params) if baseline_params else float("nan")


# --- Table I -------------------------------------------------------------------------------


def table1(eval_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """Layers of each baseline (from its Keras evaluation) beside the paper's Table I."""
    rows = []
    for path in eval_paths:
        record = readers.keras_eval(path)
        readers.check_identity(record, path, variant="baseline")
        model, label = record["model"], paper_name(models, record["model"])
        layers = record["layers"]
        published = paper.TABLE1.get(label) if label else None
        if published and [t for t, _, _ in published] != [r["type"] for r in layers]:
            published = None  # a different architecture under the paper's label: no per-layer match
        for i, layer in enumerate(layers):
            ref = published[i] if published else (None, None, None)
            rows.append(
                {
                    "model": model,
                    "paper_model": label,
                    "layer": layer["layer"],
                    "layer_type": layer["type"],
                    "units": layer["units"] or None,
                    "kernel": layer["kernel"] or None,
                    "output_shape": layer["output_shape"],
                    "params": layer["params"],
                    "macs": layer["macs"],
                    "bias_adds": bias_adds(layer),
                    "paper_layer_type": ref[0],
                    "paper_params": ref[1],
                    "paper_description": ref[2],
                    "params_diff": layer["params"] - ref[1] if ref[1] is not None else None,
                }
            )
        total = sum(r["params"] for r in layers)
        paper_total = paper.TOTAL_PARAMS.get(label) if label else None
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "layer": "total",
                "layer_type": "Total",
                "params": total,
                "macs": sum(r["macs"] for r in layers),
                "bias_adds": sum(bias_adds(r) for r in layers),
                "paper_params": paper_total,
                "params_diff": total - paper_total if paper_total is not None else None,
            }
        )
    return frame("table1", rows)


# --- Table II ------------------------------------------------------------------------------


def table2(train_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """Training hyperparameters actually used (train.json) beside the paper's Table II."""
    rows = []
    for path in train_paths:
        used = readers.train_summary(path)
        label = paper_name(models, used["model"])
        ref = {f"paper_{k}": v for k, v in paper.TABLE2.items()} if label else {}
        rows.append(
            {
                "model": used["model"],
                "paper_model": label,
                **{k: used[k] for k in ("optimizer", "learning_rate", "beta_1", "beta_2", "loss", "batch_size", "epochs_max", "epochs_run", "best_epoch")},
                "best_val_loss": used.get("best_val_loss"),
                "train_frames": used.get("train_frames"),
                "train_seconds": used.get("seconds"),
                **ref,
            }
        )
    return frame("table2", rows)


# --- Table III -----------------------------------------------------------------------------


def table3(eval_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """Accuracy, parameters, MACs and sizes of the baseline and every pruned variant (Keras)."""
    records = [(path, readers.keras_eval(path)) for path in eval_paths]
    baselines = {r["model"]: r for _, r in records if r["variant"] == "baseline"}
    rows = []
    for path, record in records:
        model, variant = record["model"], record["variant"]
        if model not in baselines:
            raise ValueError(f"table3 needs the baseline evaluation of {model} (results/eval/{model}/baseline-fp32.json) among its inputs to compute sparsity and accuracy drop")
        base = baselines[model]
        method, target = split_variant(variant)
        label = paper_name(models, model)
        ref = paper.TABLE3.get(label, {}).get(target) if label and method == "magnitude" else None
        totals = record["totals"]
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "variant": variant,
                "pruning_method": method,
                "sparsity_pct": target,
                "achieved_sparsity_pct": sparsity_pct(_nonzero(record["layers"]), base["totals"]["params"]),
                "accuracy_pct": record["accuracy_pct"],
                "accuracy_drop_pp": base["accuracy_pct"] - record["accuracy_pct"],
                "params": totals["params"],
                "nonzero_params": totals["nonzero_params"],
                "macs": totals["macs"],
                "effective_macs": totals["effective_macs"],
                "size_mb": record["size_bytes"] / MB,
                "size_zip_mb": record["size_zip_bytes"] / MB,
                "paper_accuracy_pct": ref[0] if ref else None,
                "paper_nonzero_params": ref[1] if ref else None,
            }
        )
    return frame("table3", rows)


# --- Table IV ------------------------------------------------------------------------------


def table4(tflite_paths: Sequence[str | Path], keras_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """TFLite accuracy and size per variant and dtype beside the paper's Table IV (baseline)."""
    keras_acc = {}
    for path in keras_paths:
        record = readers.keras_eval(path)
        keras_acc[(record["model"], record["variant"])] = record["accuracy_pct"]
    records = [(path, readers.tflite_eval(path)) for path in tflite_paths]
    fp32_size = {(r["model"], r["variant"]): r["size_bytes"] for _, r in records if r["dtype"] == "fp32"}
    rows = []
    for path, record in records:
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        key = (model, variant)
        if key not in keras_acc:
            raise ValueError(f"table4: {path} has no Keras evaluation of {model}/{variant} among the inputs (results/eval/{model}/{variant}-fp32.json)")
        label = paper_name(models, model)
        ref = paper.TABLE4.get(label, {}).get(dtype) if label and variant == "baseline" else None
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "variant": variant,
                "dtype": dtype,
                "paper_dtype": paper.TABLE4_DTYPE_LABELS.get(dtype),
                "accuracy_pct": record["accuracy_pct"],
                "keras_accuracy_pct": keras_acc[key],
                "size_mb": record["size_bytes"] / MB,
                "size_zip_mb": record["size_zip_bytes"] / MB,
                "compression_x": fp32_size[key] / record["size_bytes"] if key in fp32_size else None,
                "paper_accuracy_pct": ref[0] if ref else None,
                "paper_size_mb": ref[1] if ref else None,
            }
        )
    return frame("table4", rows)


# --- Table V -------------------------------------------------------------------------------


def bench_measurements(record: dict[str, Any], batch_size: int, path: str | Path) -> dict[str, Any]:
    """Accuracy, sizes, throughput at `batch_size` and at the best batch size, batch-1 latency, device.

    An unsupported record (the backend refused this dtype here) keeps its sizes and device and
    gets missing measurements with the backend's message as the note.
    """
    row: dict[str, Any] = {"device": device_name(record, path), "note": record.get("message")}
    if "size_bytes" in record:
        row["size_mb"] = record["size_bytes"] / MB
    if "size_zip_bytes" in record:
        row["size_zip_mb"] = record["size_zip_bytes"] / MB
    if record["status"] != "ok":
        row["note"] = record.get("message") or "unsupported (no message recorded)"
        return row
    fps = {int(b): float(v) for b, v in record["throughput_fps"].items()}
    if batch_size not in fps:
        raise readers.RecordError(f"{path}: throughput_fps has no batch size {batch_size} (measured: {sorted(fps)}); set tables.batch_size to one of deploy.batch_sizes")
    latency = record["latency_ms"]
    if not isinstance(latency, dict):
        raise readers.RecordError(f"{path}: latency_ms must hold the batch-1 percentiles p50/p90/p99, got {latency!r}; re-run the benchmark")
    readers.require(latency, ("p50", "p90", "p99"), path, "latency_ms")
    best = max(fps, key=fps.get)
    row.update(
        accuracy_pct=record["accuracy_pct"],
        throughput_fps=fps[batch_size],
        best_batch_size=best,
        best_throughput_fps=fps[best],
        latency_p50_ms=latency["p50"],
        latency_p90_ms=latency["p90"],
        latency_p99_ms=latency["p99"],
    )
    return row


def device_name(record: dict[str, Any], path: str | Path) -> str:
    """The GPU's name for TensorRT (the configured device), else the CPU model."""
    machine = record.get("machine")
    if not isinstance(machine, dict):
        raise readers.RecordError(f"{path}: machine must describe the benchmark host, got {machine!r}; re-run the benchmark")
    if record["backend"] == "tensorrt":
        gpus = machine.get("gpus") or []
        index = int((record.get("backend_info") or {}).get("device", 0) or 0)
        if index < len(gpus):
            return str(gpus[index].get("name") or "unknown GPU")
        return "unknown GPU"
    return str(machine.get("cpu") or "unknown CPU")


def table5(bench_paths: Sequence[str | Path], keras_paths: Sequence[str | Path], prune_paths: Sequence[str | Path], models: dict[str, Any], batch_size: int) -> pd.DataFrame:
    """Deployment results per model, variant, dtype and backend beside the paper's Table V."""
    layers = {}
    nonzero = {}
    for path in keras_paths:
        record = readers.keras_eval(path)
        layers[(record["model"], record["variant"])] = record["layers"]
        nonzero[(record["model"], record["variant"])] = record["totals"]["nonzero_params"]
    before = {}
    for path in prune_paths:
        record = readers.load(path)
        readers.require(record, ("model", "variant", "totals_before"), path, "prune summary")
        before[(record["model"], record["variant"])] = record["totals_before"]["params"]
    rows = []
    for path in bench_paths:
        record = readers.bench(path)
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        key = (model, variant)
        if key not in layers:
            raise ValueError(f"table5: {path} has no Keras evaluation of {model}/{variant} among the inputs (results/eval/{model}/{variant}-fp32.json)")
        method, target = split_variant(variant)
        if variant == "baseline":
            achieved = 0.0
        elif key in before:
            achieved = sparsity_pct(nonzero[key], before[key])
        else:
            raise ValueError(f"table5: no prune summary of {model}/{variant} among the inputs (results/models/{model}/pruned-{variant}.json)")
        label = paper_name(models, model)
        ref = paper.TABLE5.get(label, {}).get(dtype) if label and variant == paper.TABLE5_VARIANT else None
        row = {
            "model": model,
            "paper_model": label,
            "variant": variant,
            "pruning_method": method,
            "sparsity_pct": target,
            "achieved_sparsity_pct": achieved,
            "dtype": dtype,
            "backend": record["backend"],
            "status": record["status"],
            "batch_size": batch_size,
            **ops_summary(layers[key]),
            **bench_measurements(record, batch_size, path),
        }
        if ref:
            row.update(
                paper_mflops=paper.TABLE5_MFLOPS[label],
                paper_sparsity_pct=paper.TABLE5_SPARSITY_PCT,
                paper_accuracy_pct=ref[0],
                paper_size_mb=ref[1],
                paper_throughput_fps=ref[2],
                paper_batch_size=paper.TABLE5_BATCH_SIZE,
                paper_device=paper.TABLE5_DEVICE,
            )
        rows.append(row)
    # Model-major like the paper (the inputs come backend-major): model, variant, dtype, backend.
    first = {}
    for row in rows:
        for key in ("model", "variant", "dtype", "backend"):
            first.setdefault((key, row[key]), len(first))
    rows.sort(key=lambda r: tuple(first[(k, r[k])] for k in ("model", "variant", "dtype", "backend")))
    return frame("table5", rows)


# --- Energy --------------------------------------------------------------------------------


def table_energy(energy_paths: Sequence[str | Path], keras_paths: Sequence[str | Path], tflite_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """qtools energy per model, variant and dtype, with the matching model's accuracy."""
    accuracy = {}
    for path in keras_paths:
        record = readers.keras_eval(path)
        accuracy[("keras", record["model"], record["variant"], "fp32")] = record["accuracy_pct"]
    for path in tflite_paths:
        record = readers.tflite_eval(path)
        accuracy[("tflite", record["model"], record["variant"], record["dtype"])] = record["accuracy_pct"]
    records = [(path, readers.energy(path)) for path in energy_paths]
    fp32 = {(r["model"], r["variant"]): r["energy_uj"] for _, r in records if r["dtype"] == "fp32"}
    rows = []
    for path, record in records:
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        if dtype not in ENERGY_ACCURACY_SOURCE:
            raise readers.RecordError(f"{path}: energy dtype {dtype!r} has no accuracy source; known: {sorted(ENERGY_ACCURACY_SOURCE)}")
        kind, acc_dtype = ENERGY_ACCURACY_SOURCE[dtype]
        acc_key = (kind, model, variant, acc_dtype)
        if acc_key not in accuracy:
            raise ValueError(f"table_energy: no {kind} evaluation of {model}/{variant}-{acc_dtype} among the inputs for the accuracy of {path}")
        label = paper_name(models, model)
        ref = paper.ENERGY_UJ.get(label, {}).get(dtype) if label and variant == "baseline" else None
        base = fp32.get((model, variant))
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "variant": variant,
                "dtype": dtype,
                "accumulator": record["accumulator"],
                "energy_uj": record["energy_uj"],
                "sparsity_aware_energy_uj": record["sparsity_aware_energy_uj"],
                "saving_vs_fp32_x": base / record["energy_uj"] if base and record["energy_uj"] else None,
                "bit_operations": record["bit_operations"],
                "weight_memory_bits": record["weight_memory_bits"],
                "weight_bits": record["weight_bits"],
                "activation_bits": record["activation_bits"],
                "accuracy_pct": accuracy[acc_key],
                "accuracy_source": f"{kind}-{acc_dtype}",
                "paper_energy_uj": ref,
            }
        )
    return frame("table_energy", rows)


def table_energy_layers(energy_paths: Sequence[str | Path]) -> pd.DataFrame:
    """qtools per-layer energy terms of every model, variant and dtype."""
    rows = []
    for path in energy_paths:
        record = readers.energy(path)
        for layer in record["layers"]:
            rows.append(
                {
                    "model": record["model"],
                    "variant": record["variant"],
                    "dtype": record["dtype"],
                    "layer": layer["layer"],
                    "layer_type": layer["type"],
                    "inputs_pj": layer["inputs_pj"],
                    "outputs_pj": layer["outputs_pj"],
                    "parameters_pj": layer["parameters_pj"],
                    "mac_pj": layer["mac_pj"],
                    "counted_terms": "+".join(layer["counted"]),
                    "total_pj": layer["total_pj"],
                    "density": layer["density"],
                    "sparsity_aware_pj": layer["sparsity_aware_pj"],
                }
            )
    return frame("table_energy_layers", rows)


def tflite_points(tflite_paths: Iterable[str | Path]) -> pd.DataFrame:
    """Accuracy and sizes of every TFLite evaluation (the accuracy-vs-size trade-off figure)."""
    rows = []
    for path in tflite_paths:
        record = readers.tflite_eval(path)
        rows.append({"model": record["model"], "variant": record["variant"], "dtype": record["dtype"], "accuracy_pct": record["accuracy_pct"], "size_mb": record["size_bytes"] / MB, "size_zip_mb": record["size_zip_bytes"] / MB})
    return pd.DataFrame(rows, columns=["model", "variant", "dtype", "accuracy_pct", "size_mb", "size_zip_mb"])


def bench_machines(bench_paths: Iterable[str | Path]) -> dict[str, Any]:
    """The distinct machines the benchmarks ran on, keyed by backend (Table V's provenance)."""
    machines: dict[str, Any] = {}
    for path in bench_paths:
        record = readers.bench(path)
        if record["status"] == "ok":
            machines.setdefault(record["backend"], record["machine"])
    return machines
