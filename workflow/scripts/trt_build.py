"""Rule `trt_build`: a TensorRT engine (strongly typed, one batch profile) from one ONNX file."""

from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

wc, params = snakemake.wildcards, snakemake.params
with logged(snakemake.log[0], f"trt_build {wc.model}/{wc.variant}-{wc.dtype}") as log:
    from amrcomp.bench.machine import machine_info
    from amrcomp.bench.tensorrt import build_engine

    plan, info = build_engine(snakemake.input.onnx, params.batch_sizes, params.opt_batch, params.workspace_mb, params.device)
    log.info("engine built in %.1f s, profile %s, %d bytes", info["build_seconds"], info["profile"], len(plan))
    with atomic_path(snakemake.output.plan, suffix=".plan") as tmp:
        tmp.write_bytes(plan)
    write_json(snakemake.output.info, {"model": wc.model, "variant": wc.variant, "dtype": wc.dtype, "onnx": snakemake.input.onnx, "plan_bytes": len(plan), "machine": machine_info(), **info})
