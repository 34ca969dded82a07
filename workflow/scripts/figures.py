"""Rules `figure_*`: one figure (PNG + SVG) from evaluation records, histories or tables."""

from amrcomp import dispatch
from amrcomp.figures import registry
from amrcomp.logs import logged

rule, out = snakemake.rule, snakemake.output
inputs, wildcards = dict(snakemake.input.items()), dict(snakemake.wildcards.items())
with logged(snakemake.log[0], rule) as log:
    dispatch.entry(registry.DRAWERS, rule, "workflow/scripts/figures.py")(
        inputs, wildcards, out.png, out.svg
    )
    log.info("wrote %s and %s", out.png, out.svg)
