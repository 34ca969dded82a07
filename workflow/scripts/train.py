"""Rule `train`: train one baseline model and keep its best-val_loss weights."""

import pandas as pd

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

settings = snakemake.params.settings
with logged(snakemake.log[0], f"train {snakemake.wildcards.model}") as log:
    if settings["train"].get("fail"):
        raise RuntimeError(f"models.{snakemake.wildcards.model}.train.fail is set: failing on purpose")
    tfsetup.configure(snakemake.threads, settings["train"]["seed"])
    from amrcomp.models import build_model
    from amrcomp.train import fit, save_model

    manifest = frames.read_manifest(snakemake.params.data_dir)
    train = frames.load_split(snakemake.params.data_dir, "train", mmap=False)
    val = frames.load_split(snakemake.params.data_dir, "val", mmap=False)
    model = build_model(settings["arch"], n_classes=len(manifest["classes"]), input_shape=(*manifest["frame_shape"], 1), **settings.get("arch_params", {}))
    result = fit(model, train, val, len(manifest["classes"]), settings["train"], log)
    save_model(model, snakemake.output.model)
    with atomic_path(snakemake.output.history) as tmp:
        pd.DataFrame(result["history"]).to_csv(tmp, index=False)
    write_json(snakemake.output.summary, {"model": snakemake.wildcards.model, "arch": settings["arch"], "threads": snakemake.threads, **result["used"]})
