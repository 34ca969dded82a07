"""Rule `train`: train one baseline model and keep its best-val_loss weights."""

from pathlib import Path

import pandas as pd

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

name, settings = snakemake.wildcards.model, snakemake.params.settings
with logged(snakemake.log[0], f"train {name}") as log:
    tfsetup.configure(snakemake.threads, settings["train"]["seed"])
    devices = tfsetup.job_devices(log)  # warns now, not after training, of an unusable GPU
    from amrcomp import checkpoint
    from amrcomp.models.io import save_model
    from amrcomp.train import train_baseline

    data_dir = snakemake.params.data_dir
    manifest = frames.read_manifest(data_dir)
    train = frames.load_split(data_dir, "train", mmap=False)
    val = frames.load_split(data_dir, "val", mmap=False)
    # Beside the outputs, not one of them: Snakemake deletes a killed job's outputs.
    resume_from = Path(snakemake.output.model).with_suffix(".ckpt")
    model, result = train_baseline(name, settings, manifest, train, val, log, resume_from)
    save_model(model, snakemake.output.model)
    with atomic_path(snakemake.output.history) as tmp:
        pd.DataFrame(result["history"]).to_csv(tmp, index=False)
    summary = {"model": name, "arch": settings["arch"], "threads": snakemake.threads}
    write_json(snakemake.output.summary, {**summary, **result["used"], "devices": devices})
    checkpoint.discard(resume_from)
