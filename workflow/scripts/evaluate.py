"""Rules `evaluate_keras` and `evaluate_tflite`: accuracy overall, per SNR and per class of one
model file on the whole test split (Keras in TensorFlow, .tflite on LiteRT); a Keras model's
scores per frame too (the reference of its fp32 ONNX export's check)."""

import numpy as np

from amrcomp import frames, machine, tfsetup, variants
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

wc, rule = snakemake.wildcards, snakemake.rule
dtype = wc.get("dtype", "fp32")
with logged(snakemake.log[0], f"{rule} {wc.model}/{wc.variant}-{dtype}") as log:
    from amrcomp import evaluate

    data_dir = snakemake.params.data_dir
    classes = frames.read_manifest(data_dir)["classes"]
    test = frames.load_split(data_dir, "test")
    path, batch = snakemake.input.model, snakemake.params.batch_size
    if rule == "evaluate_keras":  # LiteRT needs no TensorFlow: only Keras pays its start-up
        tfsetup.configure(snakemake.threads, 0)
        devices = tfsetup.job_devices(log)
        qkeras = variants.parse(wc.variant).training == "qkeras"  # its layers' classes to load
        record, scores = evaluate.keras_record(path, test, classes, batch, qkeras)
        with atomic_path(snakemake.output.scores) as out:
            np.save(out, scores)
    else:
        devices = machine.devices()  # LiteRT's CPU kernels
        record = evaluate.tflite_record(path, test, classes, batch, snakemake.threads)
    record.update(model=wc.model, variant=wc.variant, dtype=dtype, devices=devices)
    log.info("accuracy %.2f %% on %d test frames", record["accuracy_pct"], record["n_frames"])
    write_json(snakemake.output[0], record)
