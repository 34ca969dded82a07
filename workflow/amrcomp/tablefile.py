"""Result-table files: Parquet (typed, self-describing), CSV, and an HTML view for people.

The tables stage writes them, the figures and the report read them; this module knows the file
formats, not the tables: the caller passes each table's Arrow schema, whose fields carry unit
and description (field metadata). The schema metadata's `amrcomp` key holds the provenance
(units, config sha256, data set, machine), so a table found on its own still says what
produced it.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from amrcomp.atomic import atomic_path, write_text

META_KEY = b"amrcomp"


def write_table(
    df: pd.DataFrame,
    table: str,
    schema: pa.Schema,
    csv: str | Path,
    parquet: str | Path,
    meta: dict[str, Any],
    html_view: str | Path | None = None,
    title: str = "",
) -> None:
    """Write one table as Parquet (typed, with metadata), CSV and optionally an HTML view."""
    if list(df.columns) != schema.names:
        raise ValueError(
            f"{table}: columns {list(df.columns)} differ from the schema {schema.names}"
        )
    arrow = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    arrow = arrow.replace_schema_metadata(
        {**(arrow.schema.metadata or {}), META_KEY: json.dumps(meta, sort_keys=True).encode()}
    )
    with atomic_path(parquet) as tmp:
        pq.write_table(arrow, tmp)
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
    if html_view is not None:
        write_text(html_view, render_html(df, schema, title or table, meta))


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A table (nullable integer, string and boolean columns) and its `amrcomp` metadata."""
    arrow = pq.read_table(path)
    meta = json.loads((arrow.schema.metadata or {}).get(META_KEY, b"{}"))
    return arrow.to_pandas(
        types_mapper={
            pa.int64(): pd.Int64Dtype(),
            pa.string(): pd.StringDtype(),
            pa.bool_(): pd.BooleanDtype(),
        }.get
    ), meta


def fmt(value: Any) -> str:
    """A cell for people: thousands separators, four decimals, a dash for missing values."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (
        hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"
    ):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value)


STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem;color:#222}
table{border-collapse:collapse;font-size:0.8rem}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#eee;position:sticky;top:0}
th small{font-weight:normal;color:#555}
td.text{text-align:left}
.paper{background:#fff6dd}
p.meta{font-size:0.75rem;color:#555}
"""


def _is_paper(name: str) -> bool:
    """A column of the paper's published values (paper_model is only the row label)."""
    return name.startswith("paper_") and name != "paper_model"


def _header(field: pa.Field) -> str:
    """A column header: name, unit below it, and the description on hover."""
    meta = field.metadata or {}
    unit, description = meta[b"unit"].decode(), meta[b"description"].decode()
    shade = "paper" if _is_paper(field.name) else ""
    small = f"<br><small>{html.escape(unit)}</small>" if unit else ""
    name = html.escape(field.name)
    return f'<th class="{shade}" title="{html.escape(description)}">{name}{small}</th>'


def _cell(field: pa.Field, value: Any) -> str:
    """A cell, shaded in paper columns and left-aligned when it holds text."""
    shade = "paper" if _is_paper(field.name) else ""
    align = "text" if pa.types.is_string(field.type) else ""
    cls = " ".join(x for x in (shade, align) if x)
    return f'<td class="{cls}">{html.escape(fmt(value))}</td>'


def render_html(df: pd.DataFrame, schema: pa.Schema, title: str, meta: dict[str, Any]) -> str:
    """A standalone HTML page of the table (the report shows it inline); paper columns shaded."""
    head = "".join(_header(f) for f in schema)
    rows = "".join(
        "<tr>" + "".join(_cell(f, v) for f, v in zip(schema, record)) + "</tr>"
        for record in df.itertuples(index=False)
    )
    dataset = meta.get("dataset", {})
    content = html.escape(str(dataset.get("content_hash", ""))[:12])
    config = html.escape(meta.get("config_sha256", "")[:12])
    info = (
        f"data set {html.escape(str(dataset.get('name')))} (content sha256 {content}…), "
        f"config sha256 {config}…; shaded columns are the paper's published values; "
        "hover a header for its meaning."
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>"
        f'<p class="meta">{info}</p><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></body></html>\n"
    )
