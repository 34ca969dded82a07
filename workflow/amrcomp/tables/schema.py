"""Column schemas of every result table: name, type, unit and meaning, in output order.

The schema is the contract of the tables: `frame` builds a DataFrame with exactly these
columns and types (a builder that forgets or invents a column fails here, not in a reader
weeks later), and `amrcomp.tables.io` writes the units and descriptions into the Parquet
schema so the files document themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

KINDS = {
    "int": (pa.int64(), "Int64"),
    "float": (pa.float64(), "float64"),
    "str": (pa.string(), "string"),
    "bool": (pa.bool_(), "boolean"),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    unit: str
    description: str

    @property
    def arrow_type(self) -> pa.DataType:
        return KINDS[self.kind][0]


def _cols(*specs: tuple[str, str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


MODEL = ("model", "str", "", "model name in the config (models.<name>)")
PAPER_MODEL = ("paper_model", "str", "", "the paper's label of this model (models.<name>.paper_name); empty: no paper row")
VARIANT = ("variant", "str", "", "baseline or pruned variant '<method>-<sparsity>'")
METHOD = ("pruning_method", "str", "", "magnitude (tfmot low-magnitude), m_by_n (2:4), filters (structured), none (baseline)")
SPARSITY = ("sparsity_pct", "int", "%", "target sparsity of the pruning method (0 for the baseline)")
ACHIEVED = ("achieved_sparsity_pct", "float", "%", "measured share of zero weights in Conv2D/Dense kernels")

TABLES: dict[str, tuple[Column, ...]] = {
    "table1": _cols(
        MODEL,
        PAPER_MODEL,
        ("layer", "str", "", "layer name; 'total' for the per-model sum"),
        ("layer_type", "str", "", "Keras layer class (Conv2D, Dense); 'Total' for the sum row"),
        ("units", "int", "", "filters of a Conv2D or units of a Dense layer"),
        ("kernel", "str", "", "kernel height x width of a Conv2D layer"),
        ("output_shape", "str", "", "output tensor shape without the batch axis (H x W x C)"),
        ("params", "int", "parameters", "trainable parameters (weights + biases)"),
        ("macs", "int", "MAC", "multiply-accumulates per frame of the layer's kernel (bias adds excluded)"),
        ("bias_adds", "int", "operations", "bias additions per frame (one per output element)"),
        ("paper_layer_type", "str", "", "the paper's Table I layer type"),
        ("paper_params", "int", "parameters", "the paper's Table I #Parameters"),
        ("paper_description", "str", "", "the paper's Table I description"),
        ("params_diff", "int", "parameters", "params - paper_params"),
    ),
    "table2": _cols(
        MODEL,
        PAPER_MODEL,
        ("optimizer", "str", "", "optimizer class actually used"),
        ("learning_rate", "float", "", "initial learning rate"),
        ("beta_1", "float", "", "Adam beta_1"),
        ("beta_2", "float", "", "Adam beta_2"),
        ("loss", "str", "", "training loss"),
        ("batch_size", "int", "frames", "training batch size"),
        ("epochs_max", "int", "epochs", "configured maximum epochs"),
        ("epochs_run", "int", "epochs", "epochs actually run (early stopping may end sooner)"),
        ("best_epoch", "int", "epochs", "epoch whose weights were kept (lowest val_loss)"),
        ("best_val_loss", "float", "", "validation loss of the kept epoch"),
        ("train_frames", "int", "frames", "training frames"),
        ("train_seconds", "float", "s", "wall time of training"),
        ("paper_optimizer", "str", "", "the paper's Table II optimizer"),
        ("paper_learning_rate", "float", "", "the paper's Table II learning rate"),
        ("paper_beta_1", "float", "", "the paper's Table II beta_1"),
        ("paper_beta_2", "float", "", "the paper's Table II beta_2"),
        ("paper_loss", "str", "", "the paper's Table II loss"),
        ("paper_epochs", "int", "epochs", "the paper's Table II epochs"),
        ("paper_batch_size", "int", "frames", "the paper's Table II batch size"),
    ),
    "table3": _cols(
        MODEL,
        PAPER_MODEL,
        VARIANT,
        METHOD,
        SPARSITY,
        ACHIEVED,
        ("accuracy_pct", "float", "%", "Keras test accuracy averaged over all SNRs"),
        ("accuracy_drop_pp", "float", "percentage points", "baseline accuracy_pct - this accuracy_pct"),
        ("params", "int", "parameters", "parameters stored (zeros included)"),
        ("nonzero_params", "int", "parameters", "nonzero parameters (what pruning leaves)"),
        ("macs", "int", "MAC", "dense multiply-accumulates per frame"),
        ("effective_macs", "int", "MAC", "MACs scaled by each layer's nonzero-kernel density"),
        ("size_mb", "float", "MB (1e6 bytes)", "Keras model file size"),
        ("size_zip_mb", "float", "MB (1e6 bytes)", "Keras model file size after zip deflate (level 9); pruning shows here"),
        ("paper_accuracy_pct", "float", "%", "the paper's Table III accuracy (magnitude pruning)"),
        ("paper_nonzero_params", "int", "parameters", "the paper's Table III #Parameters (compare with nonzero_params)"),
    ),
    "table4": _cols(
        MODEL,
        PAPER_MODEL,
        VARIANT,
        ("dtype", "str", "", "TFLite conversion: fp32, fp16 (float16 weights), dynamic (int8 weights, float activations), int8 (full integer)"),
        ("paper_dtype", "str", "", "the paper's Table IV column label of this dtype (its INT8 is our dynamic)"),
        ("accuracy_pct", "float", "%", "LiteRT test accuracy averaged over all SNRs"),
        ("keras_accuracy_pct", "float", "%", "Keras (fp32) test accuracy of the same variant"),
        ("size_mb", "float", "MB (1e6 bytes)", ".tflite file size"),
        ("size_zip_mb", "float", "MB (1e6 bytes)", ".tflite file size after zip deflate (level 9)"),
        ("compression_x", "float", "x", "fp32 .tflite size / this size (same model and variant)"),
        ("paper_accuracy_pct", "float", "%", "the paper's Table IV accuracy (baseline only)"),
        ("paper_size_mb", "float", "MB", "the paper's Table IV model size (baseline only)"),
    ),
    "table5": _cols(
        MODEL,
        PAPER_MODEL,
        VARIANT,
        METHOD,
        SPARSITY,
        ACHIEVED,
        ("dtype", "str", "", "deployed precision: fp32, fp16, int8 (QDQ ONNX / TFLite)"),
        ("backend", "str", "", "inference runtime benchmarked"),
        ("status", "str", "", "ok, or unsupported (backend cannot run this dtype here; see note)"),
        ("note", "str", "", "why a row has no measurement, or other remarks of the benchmark"),
        ("accuracy_pct", "float", "%", "test accuracy of the deployed artefact on this backend"),
        ("size_mb", "float", "MB (1e6 bytes)", "deployed artefact file size"),
        ("size_zip_mb", "float", "MB (1e6 bytes)", "deployed artefact size after zip deflate (level 9); the paper's sizes are compressed"),
        ("macs_m", "float", "MMAC", "dense multiply-accumulates per frame, millions"),
        ("effective_macs_m", "float", "MMAC", "MACs scaled by nonzero-kernel density, millions"),
        ("mflops_dense", "float", "M operations", "MACs + bias additions per frame, millions: the paper's 'FLOPS (M)' definition (6.5 / 78.86 for the dense models)"),
        ("mflops_effective", "float", "M operations", "effective MACs + bias additions per frame, millions"),
        ("batch_size", "int", "frames", "batch size of throughput_fps (tables.batch_size)"),
        ("throughput_fps", "float", "frames/s", "inference throughput at batch_size"),
        ("best_batch_size", "int", "frames", "batch size with the highest throughput"),
        ("best_throughput_fps", "float", "frames/s", "throughput at best_batch_size"),
        ("latency_p50_ms", "float", "ms", "median latency of one frame (batch 1)"),
        ("latency_p90_ms", "float", "ms", "90th percentile latency of one frame (batch 1)"),
        ("latency_p99_ms", "float", "ms", "99th percentile latency of one frame (batch 1)"),
        ("device", "str", "", "CPU model or GPU name the benchmark ran on"),
        ("paper_mflops", "float", "M operations", "the paper's Table V 'FLOPS (M)' (MACs + bias adds of the dense model)"),
        ("paper_sparsity_pct", "int", "%", "the paper's Table V sparsity"),
        ("paper_accuracy_pct", "float", "%", "the paper's Table V accuracy"),
        ("paper_size_mb", "float", "MB", "the paper's Table V model size"),
        ("paper_throughput_fps", "float", "frames/s", "the paper's Table V throughput (images/s = frames/s)"),
        ("paper_batch_size", "int", "frames", "batch size of the paper's throughput"),
        ("paper_device", "str", "", "where the paper measured Table V"),
    ),
    "table_energy": _cols(
        MODEL,
        PAPER_MODEL,
        VARIANT,
        ("dtype", "str", "", "qtools data type of weights and activations"),
        ("accumulator", "str", "", "qtools accumulator type"),
        ("energy_uj", "float", "uJ", "qtools energy per inference (Horowitz 45 nm; shape-based, ignores sparsity)"),
        ("sparsity_aware_energy_uj", "float", "uJ", "qtools per-layer terms with MAC and parameter reads scaled by kernel density"),
        ("saving_vs_fp32_x", "float", "x", "energy_uj of fp32 / this energy_uj (same model and variant)"),
        ("bit_operations", "float", "bit operations", "sum of MACs x activation bits x weight bits, density-discounted"),
        ("weight_memory_bits", "float", "bits", "nonzero kernel weights x weight bits"),
        ("weight_bits", "int", "bits", "bits per weight"),
        ("activation_bits", "int", "bits", "bits per activation"),
        ("accuracy_pct", "float", "%", "test accuracy of the matching model (see accuracy_source)"),
        ("accuracy_source", "str", "", "which evaluation accuracy_pct comes from (keras-fp32, tflite-fp16, tflite-int8)"),
        ("paper_energy_uj", "float", "uJ", "the paper's energy (Sec. III-D; baseline only)"),
    ),
    "table_energy_layers": _cols(
        MODEL,
        VARIANT,
        ("dtype", "str", "", "qtools data type"),
        ("layer", "str", "", "layer name"),
        ("layer_type", "str", "", "Keras layer class"),
        ("inputs_pj", "float", "pJ", "energy of reading the layer's inputs"),
        ("outputs_pj", "float", "pJ", "energy of writing the layer's outputs"),
        ("parameters_pj", "float", "pJ", "energy of reading the layer's parameters"),
        ("mac_pj", "float", "pJ", "energy of the layer's operations (qtools op_cost)"),
        ("counted_terms", "str", "", "terms qtools sums for this layer class"),
        ("total_pj", "float", "pJ", "sum of the counted terms"),
        ("density", "float", "", "nonzero share of the layer's kernel"),
        ("sparsity_aware_pj", "float", "pJ", "counted terms with MAC and parameter terms scaled by density"),
    ),
}


def columns(table: str) -> tuple[Column, ...]:
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; known: {sorted(TABLES)}")
    return TABLES[table]


def units(table: str) -> dict[str, str]:
    return {c.name: c.unit for c in columns(table)}


def frame(table: str, rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame with exactly the table's columns, order and types.

    Missing keys become missing values; a key the schema does not know is a bug and raises.
    """
    cols = columns(table)
    names = [c.name for c in cols]
    rows = list(rows)
    for i, row in enumerate(rows):
        extra = set(row) - set(names)
        if extra:
            raise ValueError(f"{table}: row {i} has columns {sorted(extra)} that the schema does not define")
    df = pd.DataFrame([{n: row.get(n) for n in names} for row in rows], columns=names)
    for c in cols:
        df[c.name] = df[c.name].astype(KINDS[c.kind][1])
    return df


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema with unit and description in each field's metadata."""
    return pa.schema([pa.field(c.name, c.arrow_type, metadata={"unit": c.unit, "description": c.description}) for c in columns(table)])
