"""Rules `prune` and `control`: prune one baseline to one variant ('{method}-{sparsity}'),
fine-tune, strip, save; the control is the same fine-tune without pruning."""

import pandas as pd

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged
from amrcomp.variants import parse_finetuned

wc, settings, data_dir = snakemake.wildcards, snakemake.params.settings, snakemake.params.data_dir
variant = parse_finetuned(wc.variant)
with logged(snakemake.log[0], f"prune {wc.model}/{variant.name}") as log:
    tfsetup.configure(snakemake.threads, settings["seed"])
    devices = tfsetup.job_devices(log)
    from amrcomp.fitting import input_scale_for
    from amrcomp.models.io import load_model, save_model
    from amrcomp.prune import finetune_settings, prune_variant

    n_classes = len(frames.read_manifest(data_dir)["classes"])
    train = frames.load_split(data_dir, "train", mmap=False)
    input_scale = input_scale_for(train, settings["input_scale"])  # the baseline's: same split
    train = train.subset(settings["finetune"]["frames"], settings["seed"])
    val = frames.load_split(data_dir, "val", mmap=False)
    betas = settings["beta_1"], settings["beta_2"]
    finetune = finetune_settings(settings["finetune"], settings["seed"], *betas)
    model, report = prune_variant(
        load_model(snakemake.input.model), variant, train, val, n_classes, finetune, log,
        skip_layers=settings["skip_layers"], frequency=settings["frequency"],
        input_scale=input_scale, precision=settings["precision"],
    )  # fmt: skip
    save_model(model, snakemake.output.model)
    with atomic_path(snakemake.output.history) as tmp:
        pd.DataFrame(report["history"]).to_csv(tmp, index=False)
    summary = {"model": wc.model, "threads": snakemake.threads, "devices": devices}
    write_json(snakemake.output.summary, {**summary, **report})
    after, before = report["totals_after"], report["totals_before"]
    log.info(
        "params %d -> %d (nonzero %d)", before["params"], after["params"], after["nonzero_params"]
    )
