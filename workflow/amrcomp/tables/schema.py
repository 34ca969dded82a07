"""Column schemas of every result table: name, type, unit and meaning, in output order.

The schema (declared in columns.yaml beside this module) is the contract of the tables: `frame`
builds a DataFrame with exactly these columns and types (a builder that forgets or invents a
column fails here, not in a reader weeks later), and `arrow_schema` puts the units and
descriptions into the Parquet schema (`amrcomp.tablefile` writes it) so the files document
themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import yaml

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


def _load(path: Path) -> dict[str, tuple[Column, ...]]:
    tables = yaml.safe_load(path.read_text())["tables"]
    return {name: tuple(Column(*spec) for spec in specs) for name, specs in tables.items()}


# Declarations are data (columns.yaml), kept apart from the code that enforces them.
TABLES: dict[str, tuple[Column, ...]] = _load(Path(__file__).with_name("columns.yaml"))


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
            raise ValueError(
                f"{table}: row {i} has columns {sorted(extra)} that the schema does not define"
            )
    df = pd.DataFrame([{n: row.get(n) for n in names} for row in rows], columns=names)
    for c in cols:
        df[c.name] = df[c.name].astype(KINDS[c.kind][1])
    return df


def arrow_schema(table: str) -> pa.Schema:
    """Arrow schema with unit and description in each field's metadata."""
    return pa.schema(
        [
            pa.field(c.name, c.arrow_type, metadata={"unit": c.unit, "description": c.description})
            for c in columns(table)
        ]
    )
