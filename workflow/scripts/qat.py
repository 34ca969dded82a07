"""Rules `qat` and `qkeras`: one quantisation-aware fine-tune of a float model, saved as an int8
.tflite (tfmot) or a .keras file (QKeras), with its history and summary."""

import pandas as pd

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged
from amrcomp.variants import parse

wc, settings, data_dir = snakemake.wildcards, snakemake.params.settings, snakemake.params.data_dir
variant = parse(wc.variant)
with logged(snakemake.log[0], f"{snakemake.rule} {wc.model}/{variant.name}") as log:
    tfsetup.configure(snakemake.threads, settings["seed"])
    from amrcomp import tflite
    from amrcomp.models.io import load_model, save_model
    from amrcomp.prune import finetune_settings
    from amrcomp.qat import finetune_variant
    from amrcomp.quantize import representative_frames

    n_classes = len(frames.read_manifest(data_dir)["classes"])
    train = frames.load_split(data_dir, "train", mmap=False)
    draw = settings["calibration"]
    calibration = representative_frames(train, draw["frames"], draw["seed"])
    train = train.subset(settings["finetune"]["frames"], settings["seed"])
    val = frames.load_split(data_dir, "val", mmap=False)
    betas = settings["beta_1"], settings["beta_2"]
    finetune = finetune_settings(settings["finetune"], settings["seed"], *betas)
    model, report = finetune_variant(
        load_model(snakemake.input.model), variant, train, val, n_classes, finetune, log,
        calibration, settings["precision"],
    )  # fmt: skip
    if snakemake.rule == "qkeras":
        save_model(model, snakemake.output.model)
    else:
        data = tflite.convert(model, "int8", calibration)
        report["converted_weight_sparsity"] = tflite.weight_sparsity(data)
        log.info(
            "int8 kernels: %.1f %% zeros", 100 * report["converted_weight_sparsity"]["overall"]
        )
        tflite.write_tflite(data, snakemake.output.tflite)
    with atomic_path(snakemake.output.history) as tmp:
        pd.DataFrame(report["history"]).to_csv(tmp, index=False)
    write_json(
        snakemake.output.summary, {"model": wc.model, "threads": snakemake.threads, **report}
    )
