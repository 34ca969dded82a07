"""Rule `energy`: QKeras qtools energy (Horowitz) of one model at each data type, per layer and total."""

from amrcomp import tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc = snakemake.wildcards
dtypes = list(snakemake.params.dtypes)
with logged(snakemake.log[0], f"energy {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.energy import estimate
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    for done, (dtype, path) in enumerate(zip(dtypes, snakemake.output, strict=True), start=1):
        record = estimate(model, snakemake.params.settings[dtype])
        record.update(model=wc.model, variant=wc.variant, dtype=dtype)
        log.info("%d/%d %s (acc %s): %.2f uJ, sparsity-aware %.2f uJ, %.3g bit operations", done, len(dtypes), dtype, record["accumulator"], record["energy_uj"], record["sparsity_aware_energy_uj"], record["bit_operations"])
        write_json(path, record)
