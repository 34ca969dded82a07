"""Rules `trt_build` (a TensorRT engine from one ONNX file) and `benchmark` (accuracy, throughput
and latency of one deployed file on one backend); the work is in amrcomp.bench."""

import logging

from amrcomp import dispatch
from amrcomp.atomic import write_json
from amrcomp.gpu import needs_tensorrt, require_tensorrt
from amrcomp.logs import logged

wc, inputs, params = snakemake.wildcards, snakemake.input, snakemake.params
labels = dict(wc.items())  # model, variant, dtype (and backend for `benchmark`)


def trt_build(log: logging.Logger) -> None:
    from amrcomp.bench.tensorrt import build_plan

    build = build_plan(inputs.onnx, snakemake.output.plan, params.settings, log)
    write_json(snakemake.output.info, {**labels, **build})


def benchmark(log: logging.Logger) -> None:
    from amrcomp.bench import benchmark_file

    record = benchmark_file(
        inputs.get("deployed"),
        params.data_dir,
        params.settings,
        params.device,
        labels,
        inputs.get("build"),
        log,
        inputs.fp16_reference or None,
        inputs.get("scored"),
        inputs.get("offer"),
    )
    write_json(snakemake.output[0], record)


RULES = {"trt_build": trt_build, "benchmark": benchmark}
with logged(snakemake.log[0], f"{snakemake.rule} {' '.join(labels.values())}") as log:
    if needs_tensorrt(snakemake.rule, labels):
        require_tensorrt()  # on a cluster, the first check of the node this job landed on
    dispatch.entry(RULES, snakemake.rule, "workflow/scripts/bench.py")(log)
