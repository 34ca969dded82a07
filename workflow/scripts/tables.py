"""Rules `table1`..`table5`, `table_energy`: build one result table from its input records."""

from amrcomp.atomic import read_json
from amrcomp.logs import logged
from amrcomp.tables import TITLES, build
from amrcomp.tables.io import config_digest, dataset_info, machine_info, metadata, write_table

rule = snakemake.rule
inp, out, params = snakemake.input, snakemake.output, snakemake.params
with logged(snakemake.log[0], rule) as log:
    dataset = dataset_info(params.dataset, read_json(inp.manifest))
    machine = machine_info()
    if rule == "table1":
        tables = {"table1": build.table1(inp.evals, params.models)}
    elif rule == "table2":
        tables = {"table2": build.table2(inp.train, params.models)}
    elif rule == "table3":
        tables = {"table3": build.table3(inp.evals, params.models)}
    elif rule == "table4":
        tables = {"table4": build.table4(inp.tflite, inp.evals, params.models)}
    elif rule == "table5":
        tables = {"table5": build.table5(inp.bench, inp.evals, inp.prune, params.models, params.batch_size)}
        machine = build.bench_machines(inp.bench) or machine
    elif rule == "table_energy":
        tables = {"table_energy": build.table_energy(inp.energy, inp.evals, inp.tflite, params.models), "table_energy_layers": build.table_energy_layers(inp.energy)}
    else:
        raise ValueError(f"workflow/scripts/tables.py does not build rule {rule!r}")
    for name, df in tables.items():
        prefix = "" if name == rule else "layers_"
        meta = metadata(name, config_digest(snakemake.config), dataset, machine)
        write_table(df, name, out[f"{prefix}csv"], out[f"{prefix}parquet"], meta, out[f"{prefix}html"], TITLES[name])
        log.info("%s: %d rows x %d columns -> %s", name, len(df), len(df.columns), out[f"{prefix}csv"])
