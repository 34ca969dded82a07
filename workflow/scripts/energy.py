"""Rule `energy`: QKeras qtools energy (Horowitz) of one model at each data type,
per layer and total."""

from amrcomp import tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc, dtypes = snakemake.wildcards, list(snakemake.params.dtypes)
with logged(snakemake.log[0], f"energy {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.energy import estimate
    from amrcomp.models.io import load_model

    model = load_model(snakemake.input.model)
    for done, (dtype, path) in enumerate(zip(dtypes, snakemake.output, strict=True), start=1):
        record = estimate(model, snakemake.params.settings[dtype])
        record.update(model=wc.model, variant=wc.variant, dtype=dtype)
        uj, sparse = record["energy_uj"], record["sparsity_aware_energy_uj"]
        log.info("%d/%d %s: %.2f uJ, sparsity-aware %.2f uJ", done, len(dtypes), dtype, uj, sparse)
        write_json(path, record)
