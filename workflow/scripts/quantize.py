"""Rule `quantize`: convert one Keras model to a .tflite flatbuffer of each dtype (Table IV)."""

import time
from pathlib import Path

from amrcomp import frames, tfsetup
from amrcomp.logs import logged

wc, dtypes = snakemake.wildcards, list(snakemake.params.dtypes)
calibration = snakemake.params.calibration
with logged(snakemake.log[0], f"quantize {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, calibration["seed"] if calibration else 0)
    from amrcomp import quantize, tflite
    from amrcomp.models.io import load_model

    model = load_model(snakemake.input.model)
    chosen = None
    if calibration:
        train = frames.load_split(Path(snakemake.input.train[0]).parent, "train")
        chosen = quantize.representative_frames(train, calibration["frames"], calibration["seed"])
        log.info("int8 calibrates on %d of %d training frames", len(chosen), len(train))
    for done, (dtype, path) in enumerate(zip(dtypes, snakemake.output, strict=True), start=1):
        started = time.perf_counter()
        data = tflite.convert(model, dtype, chosen if dtype == "int8" else None)
        tflite.write_tflite(data, path)
        seconds = time.perf_counter() - started
        log.info(
            "%d/%d %s: %s, %d bytes in %.1fs", done, len(dtypes), dtype, path, len(data), seconds
        )
