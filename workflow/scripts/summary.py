"""Rule `summary`: results/summary.md (and its HTML view for the report) from the written tables."""

from pathlib import Path

from amrcomp.atomic import write_text
from amrcomp.logs import logged
from amrcomp.tables import summary
from amrcomp.tables.io import read_table

with logged(snakemake.log[0], "summary") as log:
    tables, metas = {}, {}
    for path in snakemake.input.tables:
        name = Path(path).stem
        tables[name], metas[name] = read_table(path)
    secs = summary.sections(tables, metas["table1"])
    write_text(snakemake.output.markdown, summary.markdown(secs))
    write_text(snakemake.output.html, summary.to_html(secs))
    log.info("summary of %d tables: %d sections", len(tables), len(secs))
