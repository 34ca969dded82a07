"""Rules `export_onnx` (Keras -> fp32 ONNX), `convert_onnx` (fp32 ONNX -> fp16 / QDQ int8),
checkpoint `offer_qat_onnx` (can tf2onnx convert a QAT int8 .tflite?) and `export_qat_onnx`
(that .tflite -> ONNX, checked against it on LiteRT).

Each export is checked on the test split against its source before it is renamed into place
(amrcomp.export.export_checked): fp32 against the Keras model, fp16/int8 against the checked
fp32 export on ONNX Runtime. A failing check leaves no ONNX file behind. Only the rules that
run tf2onnx start TensorFlow (seconds per job); `convert_onnx` never imports it.
"""

from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc, inputs, params = snakemake.wildcards, snakemake.input, snakemake.params
dtype = wc.get("dtype", "int8")  # the QAT offer has no dtype wildcard: its files are int8
with logged(snakemake.log[0], f"{snakemake.rule} {wc.model}/{wc.variant}-{dtype}") as log:
    if dtype == "fp32" or "qat" in snakemake.rule:  # tf2onnx reads Keras/TFLite
        from amrcomp import tfsetup

        tfsetup.configure(snakemake.threads, 0)
    if snakemake.rule == "offer_qat_onnx":
        from amrcomp.export.qat import offer

        record = offer(inputs.tflite, params.opset)
        log.info("tf2onnx %s: %s", "converts it" if record["offered"] else "cannot", record)
    elif snakemake.rule == "export_qat_onnx":
        from amrcomp.export.qat import export_qat

        record = export_qat(inputs.tflite, snakemake.output.onnx, params, snakemake.threads, log)
    else:
        from amrcomp.export import export_checked

        record = export_checked(
            dtype,
            inputs.model if dtype == "fp32" else inputs.fp32,
            snakemake.output.onnx,
            params.data_dir,
            params.settings,
            snakemake.threads,
            calibration=params.get("calibration"),
            int8_scheme=params.get("int8_scheme"),
            log=log,
            scores_out=snakemake.output.get("scores"),
            reference_scores=inputs.get("keras_scores") or inputs.get("fp32_scores"),
        )
    out = snakemake.output.get("offer") or snakemake.output.check
    write_json(out, {"model": wc.model, "variant": wc.variant, **record})
