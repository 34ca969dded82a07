"""The summary's sections and their two renderings: Markdown (results/summary.md, readable in a
terminal) and HTML (the Snakemake report shows HTML, not Markdown)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from amrcomp.tablefile import fmt


@dataclass
class Section:
    """One heading of the summary: its sentences and an optional table, in either format."""

    title: str
    text: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None


def _view(df: pd.DataFrame, columns: str, **renames: str) -> pd.DataFrame:
    """The named (space-separated) columns of one section's table, renamed, freshly indexed."""
    return df[columns.split()].rename(columns=renames).reset_index(drop=True)


def _md_table(df: pd.DataFrame) -> str:
    """A GitHub Markdown table; '|' inside a cell would split it, so it becomes '/'."""
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(fmt(v).replace("|", "/") for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def markdown(secs: list[Section]) -> str:
    """results/summary.md: readable in a terminal and rendered by any Git host."""
    parts = ["# Results summary", ""]
    for sec in secs:
        parts += [f"## {sec.title}", ""]
        parts += [*(t for t in sec.text), ""] if sec.text else []
        if sec.table is not None:
            parts += [_md_table(sec.table) if len(sec.table) else "_no rows_", ""]
    return "\n".join(parts).rstrip() + "\n"


def to_html(secs: list[Section]) -> str:
    """The same sections as a standalone page: the Snakemake report shows HTML, not Markdown."""
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Results summary</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}"
        "table{border-collapse:collapse;font-size:0.8rem}"
        "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        "</style></head><body><h1>Results summary</h1>"
    ]
    for sec in secs:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        parts += [f"<p>{html.escape(t).replace('`', '')}</p>" for t in sec.text]
        if sec.table is not None and len(sec.table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in sec.table.columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                for row in sec.table.itertuples(index=False)
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
