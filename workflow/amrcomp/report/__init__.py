"""Report stage: results/summary.md, the headline numbers of this run beside the paper's.

Built from the written tables only (never from the raw records), so the summary cannot
disagree with them. The same sections render as Markdown and as HTML (for the report).

- `render`:      `Section`, and the sections as Markdown (`markdown`) and HTML (`to_html`);
- `comparisons`: the run, and the sections beside the paper's numbers (Tables I, III, IV and
                 energy);
- `compression`: pruning budgets, drops against the dense control and the acceptance rule
                 (Tables III, V);
- `deployment`:  Table V: what ran where and in which precision, the fastest runtime;
- `front`:       the cheapest point within the tolerance on each cost axis (the front table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from amrcomp.report.comparisons import (
    _baselines_section,
    _energy_section,
    _magnitude_section,
    _quantisation_section,
    _run_section,
)
from amrcomp.report.compression import (
    _accepted_section,
    _budgets_section,
    _drops_section,
    _sparsest_section,
)
from amrcomp.report.deployment import _deployment_section, _fastest_section
from amrcomp.report.front import _front_section
from amrcomp.report.render import Section, markdown, to_html
from amrcomp.tablefile import read_table

__all__ = ["Section", "markdown", "read_tables", "sections", "to_html"]


def read_tables(
    paths: Iterable[str | Path],
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Tables and their metadata keyed by file stem (table1, ...): the names `sections` expects."""
    tables, metas = {}, {}
    for path in paths:
        name = Path(path).stem
        tables[name], metas[name] = read_table(path)
    return tables, metas


def sections(tables: dict[str, pd.DataFrame], meta: dict[str, Any]) -> list[Section]:
    """The summary's sections from the tables (keyed table1..table5, table_energy)."""
    t1, t3 = tables["table1"], tables["table3"]
    out = [
        _run_section(meta, tables.get("table2")),
        _baselines_section(t1, t3),
        _magnitude_section(t3),
        _budgets_section(t3),
    ]
    sparsest = _sparsest_section(t3)
    if sparsest is not None:
        out.append(sparsest)
    t5 = tables["table5"]
    out += [
        _drops_section(t3),
        _quantisation_section(tables["table4"]),
        _energy_section(tables["table_energy"]),
        _deployment_section(t5),
        _fastest_section(t5),
        _accepted_section(t5),
    ]
    if "front" in tables:
        out.append(_front_section(tables["front"]))
    return out
