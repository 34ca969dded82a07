"""Write and read result tables: Parquet (typed, self-describing), CSV, and an HTML view.

The Parquet schema carries each column's unit and description (field metadata) and, under
the `amrcomp` key of the schema metadata, the units, the sha256 of the config the table was
built with, the data set's name and content hash, and the machine, so a table found on its
own still says what produced it.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import platform
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from amrcomp.atomic import atomic_path, write_text
from amrcomp.tables.schema import arrow_schema, columns, units

META_KEY = b"amrcomp"


def config_digest(config: dict[str, Any]) -> str:
    """sha256 of the JSON dump (sorted keys) of the config: identical configs, identical digest."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else whatever platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Where a table was built (tables that aggregate benchmarks take the benchmarks' machine)."""
    return {"cpu": cpu_model(), "system": platform.system(), "release": platform.release(), "arch": platform.machine(), "python": platform.python_version()}


def dataset_info(name: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Data set name and content hash (from results/data/{name}/manifest.json)."""
    if "content_hash" not in manifest:
        raise ValueError(f"the manifest of data set {name!r} has no content_hash; re-run the data rule")
    return {"name": name, "content_hash": manifest["content_hash"], "source": manifest.get("source"), "counts": manifest.get("counts")}


def metadata(table: str, config_sha256: str, dataset: dict[str, Any], machine: dict[str, Any]) -> dict[str, Any]:
    return {
        "table": table,
        "units": units(table),
        "descriptions": {c.name: c.description for c in columns(table)},
        "config_sha256": config_sha256,
        "dataset": dataset,
        "machine": machine,
    }


def write_table(df: pd.DataFrame, table: str, csv: str | Path, parquet: str | Path, meta: dict[str, Any], html_view: str | Path | None = None, title: str = "") -> None:
    """Write one table as Parquet (typed, with metadata), CSV and optionally an HTML view."""
    schema = arrow_schema(table)
    if list(df.columns) != schema.names:
        raise ValueError(f"{table}: columns {list(df.columns)} differ from the schema {schema.names}")
    arrow = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), META_KEY: json.dumps(meta, sort_keys=True).encode()})
    with atomic_path(parquet) as tmp:
        pq.write_table(arrow, tmp)
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
    if html_view is not None:
        write_text(html_view, render_html(df, table, title or table, meta))


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A table and its `amrcomp` metadata."""
    arrow = pq.read_table(path)
    meta = json.loads((arrow.schema.metadata or {}).get(META_KEY, b"{}"))
    return arrow.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype()}.get), meta


def fmt(value: Any) -> str:
    """A cell for people: thousands separators, four decimals, a dash for missing values."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
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


def render_html(df: pd.DataFrame, table: str, title: str, meta: dict[str, Any]) -> str:
    """A standalone HTML page of the table (the report shows it inline); paper columns shaded."""
    cols = columns(table)
    head = "".join(f'<th class="{"paper" if _is_paper(c.name) else ""}" title="{html.escape(c.description)}">{html.escape(c.name)}' + (f"<br><small>{html.escape(c.unit)}</small>" if c.unit else "") + "</th>" for c in cols)
    body = []
    for record in df.itertuples(index=False):
        cells = []
        for c, value in zip(cols, record):
            cls = " ".join(x for x in ("paper" if _is_paper(c.name) else "", "text" if c.kind == "str" else "") if x)
            cells.append(f'<td class="{cls}">{html.escape(fmt(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    dataset = meta.get("dataset", {})
    info = f"data set {html.escape(str(dataset.get('name')))} (content sha256 {html.escape(str(dataset.get('content_hash', ''))[:12])}…), config sha256 {html.escape(meta.get('config_sha256', '')[:12])}…; shaded columns are the paper's published values; hover a header for its meaning."
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2><p class="meta">{info}</p><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></body></html>\n'
