"""Rules `export_onnx` (Keras -> fp32 ONNX) and `convert_onnx` (fp32 ONNX -> fp16 / QDQ int8).

Each export is checked against its Keras model on the test split before it is renamed into
place (amrcomp.export.export_checked): a failing check leaves no ONNX file behind.
"""

from amrcomp import tfsetup
from amrcomp.atomic import write_json
from amrcomp.logs import logged

wc, inputs, params = snakemake.wildcards, snakemake.input, snakemake.params
with logged(snakemake.log[0], f"export {wc.model}/{wc.variant}-{wc.dtype}") as log:
    tfsetup.configure(snakemake.threads, 0)
    from amrcomp.export import export_checked

    record = export_checked(
        wc.dtype,
        inputs.model,
        snakemake.output.onnx,
        params.data_dir,
        params.settings,
        snakemake.threads,
        fp32_path=inputs.get("fp32"),
        calibration=params.get("calibration"),
        int8_scheme=params.get("int8_scheme"),
        log=log,
    )
    write_json(snakemake.output.check, {"model": wc.model, "variant": wc.variant, **record})
