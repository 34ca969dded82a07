"""Rules `table1`..`table5`, `table_energy`: build one result table from its input records."""

from amrcomp import dispatch
from amrcomp.atomic import read_json
from amrcomp.logs import logged
from amrcomp.machine import machine_info
from amrcomp.tables import registry
from amrcomp.tables.io import config_digest, dataset_info

rule = snakemake.rule
inputs, params = dict(snakemake.input.items()), dict(snakemake.params.items())
with logged(snakemake.log[0], rule) as log:
    built = dispatch.entry(registry.BUILDERS, rule, "workflow/scripts/tables.py")(inputs, params)
    provenance = {
        "config_sha256": config_digest(snakemake.config),
        "dataset": dataset_info(params["dataset"], read_json(inputs["manifest"])),
        "machine": built.machine or machine_info(),
    }
    for table, frame in built.frames.items():
        csv = registry.write(rule, table, frame, dict(snakemake.output.items()), provenance)
        log.info("%s: %d rows x %d columns -> %s", table, len(frame), len(frame.columns), csv)
