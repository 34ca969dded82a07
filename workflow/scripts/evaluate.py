"""Rule `evaluate_keras`: accuracy, per-SNR accuracy, confusion and cost of a Keras model."""

from amrcomp import frames, tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc = snakemake.wildcards
with logged(snakemake.log[0], f"evaluate {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.evaluate import evaluate
    from amrcomp.models.cost import layer_costs, totals
    from amrcomp.sizes import file_sizes
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    manifest = frames.read_manifest(snakemake.params.data_dir)
    test = frames.load_split(snakemake.params.data_dir, "test")
    record = evaluate(lambda x: model(x, training=False).numpy(), test, manifest["classes"], snakemake.params.batch_size)
    layers = layer_costs(model)
    record.update(model=wc.model, variant=wc.variant, dtype="fp32", backend="keras", layers=layers, totals=totals(layers), **file_sizes(snakemake.input.model))
    log.info("accuracy %.2f %% on %d test frames", record["accuracy_pct"], record["n_frames"])
    write_json(snakemake.output[0], record)
