"""Rule `energy`: QKeras qtools energy (Horowitz) of one model at one data type, per layer and total."""

from amrcomp import tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc = snakemake.wildcards
with logged(snakemake.log[0], f"energy {wc.model}/{wc.variant}-{wc.dtype}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.energy import estimate
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    record = estimate(model, snakemake.params.settings)
    record.update(model=wc.model, variant=wc.variant, dtype=wc.dtype)
    log.info("%s/%s %s (acc %s): %.2f uJ, sparsity-aware %.2f uJ, %.3g bit operations", wc.model, wc.variant, wc.dtype, record["accumulator"], record["energy_uj"], record["sparsity_aware_energy_uj"], record["bit_operations"])
    write_json(snakemake.output[0], record)
