"""Rule `quantize`: convert one Keras model to a .tflite flatbuffer of one dtype (Table IV)."""

import time
from pathlib import Path

from amrcomp import frames, tfsetup
from amrcomp.logs import logged

wc = snakemake.wildcards
calibration = snakemake.params.calibration
with logged(snakemake.log[0], f"quantize {wc.model}/{wc.variant}-{wc.dtype}") as log:
    tfsetup.configure(snakemake.threads, calibration["seed"] if calibration else 0)
    from amrcomp import quantize
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    frames_in = None
    if calibration:
        train = frames.load_split(Path(snakemake.input.train[0]).parent, "train")
        frames_in = quantize.representative_frames(train, calibration["frames"], calibration["seed"])
        log.info("calibrating on %d of %d training frames (seed %d)", len(frames_in), len(train), calibration["seed"])
    started = time.perf_counter()
    data = quantize.convert(model, wc.dtype, frames_in)
    quantize.write_tflite(data, snakemake.output[0])
    log.info("wrote %s: %d bytes in %.1fs", snakemake.output[0], len(data), time.perf_counter() - started)
