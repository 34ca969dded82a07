"""Rules `export_onnx` (Keras -> fp32 ONNX) and `convert_onnx` (fp32 ONNX -> fp16 / QDQ int8).

Each export is written to a temporary file, checked against its Keras model on the test split,
and only then renamed into place: a failing check leaves no ONNX file behind.
"""

from amrcomp import frames, tfsetup
from amrcomp.atomic import atomic_path, write_json
from amrcomp.logs import logged

wc, params = snakemake.wildcards, snakemake.params
dtype = params.dtype
with logged(snakemake.log[0], f"export {wc.model}/{wc.variant}-{dtype}") as log:
    tfsetup.configure(snakemake.threads, 0)
    import onnx

    from amrcomp import export
    from amrcomp.sizes import file_sizes
    from amrcomp.train import load_model

    model = load_model(snakemake.input.model)
    test = frames.load_split(params.data_dir, "test")
    quantization = None
    with atomic_path(snakemake.output.onnx, suffix=".onnx") as tmp:
        if dtype == "fp32":
            export.keras_to_onnx(model, tmp, params.opset)
        elif dtype == "fp16":
            export.save_onnx(export.to_float16(onnx.load(snakemake.input.fp32)), tmp)
        elif dtype == "int8":
            calib = params.calibration
            train = frames.load_split(params.data_dir, "train")
            chosen = export.calibration_frames(train.x, calib["frames"], calib["seed"])
            log.info("calibrating int8 (%s, scheme %s) on %d training frames", calib["method"], params.int8_scheme, len(chosen))
            quantization = export.quantize_int8(snakemake.input.fp32, tmp, chosen, calib["method"], params.int8_scheme)
        else:
            raise ValueError(f"unknown ONNX dtype {dtype!r}; deploy.dtypes allows fp32, fp16, int8")
        check = export.check_export(
            lambda x: model(x, training=False).numpy(), tmp, dtype, test.model_input(),
            threads=snakemake.threads, batch_size=params.batch_size, labels=test.labels, **params.check,
        )
        log.info("check on %d test frames: %s", check["n_frames"], {k: v for k, v in check.items() if k != "n_frames"})
        ops = export.op_counts(tmp)
    write_json(snakemake.output.check, {
        "model": wc.model, "variant": wc.variant, "dtype": dtype, "opset": int(params.opset),
        "check": check, "quantization": quantization, "ops": ops, "source": snakemake.input.model,
        **file_sizes(snakemake.output.onnx),
    })
