"""One drawer per figure rule, keyed by rule name: the rule script looks its rule up here.

A drawer takes the rule's named inputs and wildcards as Snakemake passes them, reads the
records or tables (through `amrcomp.records` and `amrcomp.tablefile`, never through the tables
stage) and draws the figure to the PNG and SVG paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from amrcomp import dispatch, records, variants
from amrcomp.figures import plots
from amrcomp.figures.front import front_figure
from amrcomp.figures.tradeoffs import tradeoff
from amrcomp.tablefile import read_table

Drawer = Callable[[Mapping[str, Any], Mapping[str, str], str, str], None]


def tflite_points(tflite_paths: Iterable[str | Path]) -> pd.DataFrame:
    """Accuracy and sizes of every TFLite evaluation: the size trade-off covers every variant
    and dtype, not only the Table IV variants."""
    rows = []
    for path in tflite_paths:
        record = records.tflite_eval(path)
        rows.append(
            {
                "model": record["model"],
                "variant": record["variant"],
                "dtype": record["dtype"],
                "accuracy_pct": record["accuracy_pct"],
                **records.sizes_mib(record),
            }
        )
    return pd.DataFrame(
        rows, columns=["model", "variant", "dtype", "accuracy_pct", "size_mib", "size_zip_mib"]
    )


def energy_points(table: pd.DataFrame) -> pd.DataFrame:
    """The energy table with both qtools estimates as rows (`cost`, `estimate`): one panel each,
    since the shape-based estimate cannot tell a magnitude-pruned variant from its baseline."""
    qtools = table.assign(cost=table["energy_uj"], estimate="qtools")
    aware = table.assign(cost=table["sparsity_aware_energy_uj"], estimate="sparsity-aware")
    return pd.concat([qtools, aware])


DRAWERS: dict[str, Drawer] = {}
register = dispatch.registrar(DRAWERS)


@register("figure_accuracy_snr")
def _accuracy_snr(
    inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str
) -> None:
    """Every Keras variant of a model beside the TFLite dtypes of its Table IV variants."""
    keras = [records.keras_eval(p) for p in inputs["evals"]]
    tflite = [records.tflite_eval(p) for p in inputs["tflite"]]
    plots.accuracy_vs_snr(wildcards["model"], keras, tflite, png, svg)


@register("figure_confusion")
def _confusion(inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str) -> None:
    """Confusion matrices of one Keras evaluation."""
    plots.confusion_matrices(wildcards["model"], records.keras_eval(inputs["evaluation"]), png, svg)


@register("figure_training")
def _training(inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str) -> None:
    """Baseline training and each fine-tune, labelled by the variant its file name carries."""
    finetunes = {
        p.rsplit("pruned-", 1)[1].removesuffix(".history.csv"): pd.read_csv(p)
        for p in inputs["finetune"]
    }
    plots.training_curves(wildcards["model"], pd.read_csv(inputs["baseline"]), finetunes, png, svg)


@register("figure_tradeoff_size")
def _tradeoff_size(
    inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str
) -> None:
    """Zipped size: pruning zeros only shrink a file once compressed, as the paper measured."""
    points = tflite_points(inputs["tflite"])
    tradeoff(
        points,
        "size_zip_mib",
        "TFLite model size after zip (MiB, log scale)",
        png,
        svg,
        "Accuracy vs model size: every variant x TFLite dtype",
        log_x=True,
    )


@register("figure_tradeoff_energy")
def _tradeoff_energy(
    inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str
) -> None:
    """Both energy estimates per model, from the energy table (its accuracy column included)."""
    table, _ = read_table(inputs["table"])
    tradeoff(
        energy_points(table),
        "cost",
        "energy per inference (uJ, log scale)",
        png,
        svg,
        "Accuracy vs energy (QKeras qtools, Horowitz 45 nm)",
        log_x=True,
        panel_by=("model", "estimate"),
        note="accuracy: Keras for fp32, TFLite fp16 / full-integer int8 for the others",
    )


def _file_label(dtype: str) -> str:
    """'int8 file', or 'bf16 (fp32 file)' for a precision run from another dtype's file."""
    source = variants.file_dtype(dtype)
    return f"{dtype} file" if source == dtype else f"{dtype} ({source} file)"


@register("figure_tradeoff_throughput")
def _tradeoff_throughput(
    inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str
) -> None:
    """Table V's rows measured here that ran, marked by the precision they executed in (hollow:
    not their file's dtype). The paper's TensorRT/T4 rows are left out, as in Table V no CPU
    point stands beside them; the note counts the unsupported and not-offered rows so none
    vanish silently."""
    table, _ = read_table(inputs["table"])
    table = table[table["status"] != "reference"]
    table = table.assign(
        point=table["variant"] + " " + table["backend"],
        # bf16 is no file: "bf16 (fp32 file)"
        label=table["variant"] + " " + table["backend"] + " " + table["dtype"].map(_file_label),
        ran_in_another_precision=table["executed_precision"] != table["dtype"],
    )
    skipped = int((table["status"] == "unsupported").sum())
    absent = int((table["status"] == "not_offered").sum())
    batch = int(table["batch_size"].dropna().iloc[0]) if table["batch_size"].notna().any() else 0
    devices = ", ".join(sorted(set(table["device"].dropna())))
    notes = [
        f"measured on {devices or 'no device recorded'}; the paper's TensorRT / NVIDIA T4 "
        "throughput is in Table V's reference rows, not plotted",
        *([f"{skipped} unsupported row(s) not shown"] if skipped else []),
        *([f"{absent} not-offered row(s) (no such precision here) not shown"] if absent else []),
    ]
    tradeoff(
        table,
        "throughput_fps",
        f"throughput at batch {batch} (frames/s, log scale)",
        png,
        svg,
        "Accuracy vs throughput (Table V)",
        maximize_x=True,
        log_x=True,
        colour_by="point",
        marker_by="executed_precision",
        note="\n".join(notes),
        marker_label="ran {}",
        label_by="label",
        hollow_by="ran_in_another_precision",
    )


@register("figure_front")
def _front(inputs: Mapping[str, Any], wildcards: Mapping[str, str], png: str, svg: str) -> None:
    """Every variant and deployed form on the accuracy-cost axes, from the front table."""
    table, _ = read_table(inputs["table"])
    front_figure(table, png, svg)
