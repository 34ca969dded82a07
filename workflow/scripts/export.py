"""Rules `export_onnx` (Keras -> fp32 ONNX), `convert_onnx` (fp32 ONNX -> fp16 / QDQ int8) and
`export_qat_onnx` (a QAT variant's int8 .tflite -> ONNX, checked against it on LiteRT).

Each export is checked on the test split against its source before it is renamed into place
(amrcomp.export.export_checked): fp32 against the Keras model, fp16/int8 against the checked
fp32 export on ONNX Runtime. A failing check leaves no ONNX file behind. Only `export_onnx`
starts TensorFlow (seconds per job); `convert_onnx` never imports it.
"""

from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc, inputs, params = snakemake.wildcards, snakemake.input, snakemake.params
with logged(snakemake.log[0], f"export {wc.model}/{wc.variant}-{wc.dtype}") as log:
    if wc.dtype == "fp32" or snakemake.rule == "export_qat_onnx":  # tf2onnx reads Keras/TFLite
        from amrcomp import tfsetup

        tfsetup.configure(snakemake.threads, 0)
    if snakemake.rule == "export_qat_onnx":
        from amrcomp.export.qat import export_qat

        record = export_qat(inputs.tflite, snakemake.output.onnx, params, snakemake.threads, log)
    else:
        from amrcomp.export import export_checked

        record = export_checked(
            wc.dtype,
            inputs.model if wc.dtype == "fp32" else inputs.fp32,
            snakemake.output.onnx,
            params.data_dir,
            params.settings,
            snakemake.threads,
            calibration=params.get("calibration"),
            int8_scheme=params.get("int8_scheme"),
            log=log,
        )
    write_json(snakemake.output.check, {"model": wc.model, "variant": wc.variant, **record})
