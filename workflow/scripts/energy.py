"""Rules `energy` and `energy_lowbit`: QKeras qtools energy (Horowitz) of one model at each
uniform data type, or of a QKeras model at its own bit widths; per layer and total."""

from amrcomp import tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc, dtypes = snakemake.wildcards, list(snakemake.params.dtypes)
with logged(snakemake.log[0], f"energy {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.energy import estimate, lowbit_energy
    from amrcomp.models.io import load_model

    if snakemake.rule == "energy_lowbit":  # a QKeras model at its own widths
        from amrcomp.models.lowbit import custom_objects

        model = load_model(snakemake.input.model, custom_objects=custom_objects())
        record = lowbit_energy(model, **snakemake.params.settings)
        record.update(dtype="lowbit", accumulator="each layer's, as qtools derives it")
        record.update(model=wc.model, variant=wc.variant)
        log.info("%.2f uJ, %.3g bit operations", record["energy_uj"], record["bit_operations"])
        write_json(snakemake.output[0], record)
    else:
        model = load_model(snakemake.input.model)
        for done, (dtype, path) in enumerate(zip(dtypes, snakemake.output, strict=True), 1):
            record = estimate(model, snakemake.params.settings[dtype])
            record.update(model=wc.model, variant=wc.variant, dtype=dtype)
            uj, sparse = record["energy_uj"], record["sparsity_aware_energy_uj"]
            log.info(
                "%d/%d %s: %.2f uJ, sparsity-aware %.2f uJ", done, len(dtypes), dtype, uj, sparse
            )
            write_json(path, record)
