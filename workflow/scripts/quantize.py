"""Rule `quantize`: convert one Keras model to a .tflite flatbuffer of each dtype (Table IV)."""

import time
from pathlib import Path

from amrcomp import frames, tfsetup
from amrcomp.logs import logged

wc = snakemake.wildcards
dtypes = list(snakemake.params.dtypes)
calibration = snakemake.params.calibration
with logged(snakemake.log[0], f"quantize {wc.model}/{wc.variant}") as log:
    tfsetup.configure(snakemake.threads, calibration["seed"] if calibration else 0)
    from amrcomp import quantize
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    frames_in = None
    if calibration:
        train = frames.load_split(Path(snakemake.input.train[0]).parent, "train")
        frames_in = quantize.representative_frames(train, calibration["frames"], calibration["seed"])
        log.info("int8 calibrates on %d of %d training frames (seed %d)", len(frames_in), len(train), calibration["seed"])
    for done, (dtype, path) in enumerate(zip(dtypes, snakemake.output, strict=True), start=1):
        started = time.perf_counter()
        data = quantize.convert(model, dtype, frames_in if dtype == "int8" else None)
        quantize.write_tflite(data, path)
        log.info("%d/%d %s: wrote %s, %d bytes in %.1fs", done, len(dtypes), dtype, path, len(data), time.perf_counter() - started)
