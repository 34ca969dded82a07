"""Rule `summary`: results/summary.md (and its HTML view for the report) from the written tables."""

from amrcomp import report
from amrcomp.atomic import write_text
from amrcomp.logs import logged

with logged(snakemake.log[0], "summary") as log:
    tables, metas = report.read_tables(snakemake.input.tables)
    secs = report.sections(tables, metas["table1"])
    write_text(snakemake.output.markdown, report.markdown(secs))
    write_text(snakemake.output.html, report.to_html(secs))
    log.info("summary of %d tables: %d sections", len(tables), len(secs))
