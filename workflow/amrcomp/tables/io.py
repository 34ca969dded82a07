"""Provenance of the result tables: config digest, data set and machine, kept in each file.

`amrcomp.tablefile` writes this metadata under the `amrcomp` key of the Parquet schema, with
the units and descriptions from `amrcomp.tables.schema`, so a table found on its own still
says what produced it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from amrcomp.tables.schema import columns, units


def config_digest(config: dict[str, Any]) -> str:
    """sha256 of the JSON dump (sorted keys) of the config: identical configs, identical digest."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def dataset_info(name: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Data set name and content hash (from results/data/{name}/manifest.json)."""
    if "content_hash" not in manifest:
        raise ValueError(
            f"the manifest of data set {name!r} has no content_hash; re-run the data rule"
        )
    return {
        "name": name,
        "content_hash": manifest["content_hash"],
        "source": manifest.get("source"),
        "counts": manifest.get("counts"),
    }


def metadata(
    table: str, config_sha256: str, dataset: dict[str, Any], machine: dict[str, Any]
) -> dict[str, Any]:
    """What a table file says about itself: units and column meanings, config, data, machine."""
    return {
        "table": table,
        "units": units(table),
        "descriptions": {c.name: c.description for c in columns(table)},
        "config_sha256": config_sha256,
        "dataset": dataset,
        "machine": machine,
    }
