"""Rule `evaluate_tflite`: accuracy of one .tflite file on the whole test split with LiteRT (batched)."""

import time
from pathlib import Path

from amrcomp import frames
from amrcomp.atomic import write_json
from amrcomp.evaluate import evaluate
from amrcomp.logs import logged
from amrcomp.quantize import litert_predictor, tensor_types
from amrcomp.sizes import file_sizes

wc = snakemake.wildcards
path = snakemake.input.tflite
with logged(snakemake.log[0], f"evaluate_tflite {wc.model}/{wc.variant}-{wc.dtype}") as log:
    data_dir = Path(snakemake.input.manifest).parent
    manifest = frames.read_manifest(data_dir)
    test = frames.load_split(data_dir, "test")
    types = tensor_types(path)
    log.info("%s: input %s, output %s, weights %s", path, types["input_dtype"], types["output_dtype"], types["weight_dtypes"])
    predict = litert_predictor(path, snakemake.threads)
    started = time.perf_counter()
    record = evaluate(predict, test, manifest["classes"], snakemake.params.batch_size)
    seconds = time.perf_counter() - started
    record.update(model=wc.model, variant=wc.variant, dtype=wc.dtype, backend="litert", threads=snakemake.threads, eval_seconds=round(seconds, 3), **types, **file_sizes(path))
    log.info("accuracy %.2f %% on %d test frames (%.0f frames/s)", record["accuracy_pct"], record["n_frames"], record["n_frames"] / max(seconds, 1e-9))
    write_json(snakemake.output[0], record)
