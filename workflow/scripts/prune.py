"""Rule `prune`: prune one baseline to one variant ('{method}-{sparsity}'), fine-tune, strip, save."""

import pandas as pd

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

wc = snakemake.wildcards
settings = snakemake.params.settings
with logged(snakemake.log[0], f"prune {wc.model}/{wc.variant}") as log:
    from amrcomp.prune import finetune_settings, parse_variant

    variant = parse_variant(wc.variant)
    tfsetup.configure(snakemake.threads, settings["seed"])
    from amrcomp.prune import prune_variant
    from amrcomp.train import input_scale_for, load_model, save_model

    manifest = frames.read_manifest(snakemake.params.data_dir)
    train = frames.load_split(snakemake.params.data_dir, "train", mmap=False)
    input_scale = input_scale_for(train, settings["input_scale"])  # the baseline's: same split, same rule
    train = train.subset(settings["finetune"].get("frames"), settings["seed"])
    val = frames.load_split(snakemake.params.data_dir, "val", mmap=False)
    baseline = load_model(snakemake.input.model)
    finetune = finetune_settings(settings["finetune"], settings["seed"], settings["beta_1"], settings["beta_2"])
    model, report = prune_variant(
        baseline,
        variant,
        train,
        val,
        len(manifest["classes"]),
        finetune,
        log,
        skip_layers=settings["skip_layers"],
        frequency=settings["frequency"] or 100,
        input_scale=input_scale,
    )
    save_model(model, snakemake.output.model)
    with atomic_path(snakemake.output.history) as tmp:
        pd.DataFrame(report["history"]).to_csv(tmp, index=False)
    write_json(snakemake.output.summary, {"model": wc.model, "threads": snakemake.threads, **report})
    after, before = report["totals_after"], report["totals_before"]
    log.info("params %d -> %d (nonzero %d), effective MACs %d -> %d", before["params"], after["params"], after["nonzero_params"], before["effective_macs"], after["effective_macs"])
