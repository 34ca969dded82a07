"""One builder per table rule, keyed by rule name: the rule script looks its rule up here.

A builder takes the rule's named inputs and params as Snakemake passes them, so a rule file
and its builder name the same things; it returns the frames the rule writes (its own table
first) and, for tables of benchmarks, the machine the measurements ran on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from amrcomp import dispatch
from amrcomp.tablefile import write_table
from amrcomp.tables import TITLES, build, deployment, energy, front, pruning
from amrcomp.tables.io import metadata
from amrcomp.tables.schema import arrow_schema


@dataclass(frozen=True)
class Built:
    """What one table rule writes: frames by table name, and where the measurements ran when
    that is not the machine building the table (None: the building machine)."""

    frames: dict[str, pd.DataFrame]
    machine: dict[str, Any] | None = None


Builder = Callable[[Mapping[str, Any], Mapping[str, Any]], Built]


BUILDERS: dict[str, Builder] = {}
register = dispatch.registrar(BUILDERS)


@register("table1")
def _table1(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Layers from the baselines' Keras evaluations."""
    return Built({"table1": build.table1(inputs["evals"], params["models"])})


@register("table2")
def _table2(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Hyperparameters from the training summaries."""
    return Built({"table2": build.table2(inputs["train"], params["models"])})


@register("table3")
def _table3(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Pruning results from the Keras evaluations and prune summaries of every variant."""
    return Built(
        {
            "table3": pruning.table3(
                inputs["evals"], inputs["prune"], params["models"], params["controls"]
            )
        }
    )


@register("table4")
def _table4(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Quantisation results; the Keras evaluations give the fp32 reference accuracy."""
    return Built({"table4": build.table4(inputs["tflite"], inputs["evals"], params["models"])})


@register("table5")
def _table5(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Deployment results, attributed to the machines the benchmarks ran on: they may differ
    from the machine that builds the table (a SLURM job, a GPU node)."""
    frame = deployment.table5(
        inputs["bench"],
        inputs["evals"],
        inputs["prune"],
        params["models"],
        params["batch_size"],
        params["controls"],
    )
    return Built({"table5": frame}, deployment.bench_machines(inputs["bench"]) or None)


@register("table_energy")
def _table_energy(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Energy per inference and, from the same records, its per-layer breakdown."""
    frame = energy.table_energy(
        inputs["energy"], inputs["evals"], inputs["tflite"], params["models"]
    )
    return Built(
        {"table_energy": frame, "table_energy_layers": energy.table_energy_layers(inputs["energy"])}
    )


@register("front")
def _front(inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Built:
    """Every variant and deployed form of each model on the accuracy-cost axes."""
    frame = front.front(
        inputs["tflite"],
        inputs["keras"],
        inputs["energy"],
        inputs["bench"],
        inputs["qat"],
        params["models"],
        params["front_controls"],
        params["batch_size"],
    )
    return Built({"front": frame}, deployment.bench_machines(inputs["bench"]) or None)


def output_keys(rule: str, table: str) -> dict[str, str]:
    """Output names of a table: csv/parquet/html for the rule's own table, a companion table's
    prefixed by its name past the rule's (table_energy_layers -> layers_csv, ...)."""
    prefix = "" if table == rule else table.removeprefix(f"{rule}_") + "_"
    return {kind: f"{prefix}{kind}" for kind in ("csv", "parquet", "html")}


def write(
    rule: str,
    table: str,
    frame: pd.DataFrame,
    outputs: Mapping[str, Any],
    provenance: Mapping[str, Any],
) -> Path:
    """Write one built table to the rule's outputs with its provenance; returns the CSV's path."""
    keys = output_keys(rule, table)
    meta = metadata(
        table, provenance["config_sha256"], provenance["dataset"], provenance["machine"]
    )
    paths = {kind: Path(outputs[key]) for kind, key in keys.items()}
    write_table(
        frame,
        table,
        arrow_schema(table),
        paths["csv"],
        paths["parquet"],
        meta,
        paths["html"],
        TITLES[table],
    )
    return paths["csv"]
