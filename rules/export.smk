# ONNX exports of each (model, variant), each checked on the test split against its source's
# scores before it is renamed into place: fp32 from Keras (its scores: evaluate_keras'), fp16
# and QDQ int8 from the fp32 file (its scores: its check's on ONNX Runtime), so only export_onnx
# jobs start TensorFlow, and no job runs a source again to check its export.


rule export_onnx:
    input:
        model=keras_model,
        # The Keras model's scores per test frame, from its evaluation: the check's reference.
        keras_scores="results/eval/{model}/{variant}-fp32.scores.npy",
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        onnx="results/onnx/{model}/{variant}-{dtype}.onnx",
        check="results/onnx/{model}/{variant}-{dtype}.check.json",
        # Its scores on the test split, from its check: the reference of fp16 and int8.
        scores="results/onnx/{model}/{variant}-{dtype}.scores.npy",
    log:
        "results/logs/onnx/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/onnx/{model}/{variant}-{dtype}.tsv"
    wildcard_constraints:
        variant=variants.FLOAT_PATTERN,
        dtype="fp32",
    conda:
        "../envs/amrcomp.yaml"
    # One thread: these jobs are mostly start-up, so two run side by side on 2 cores.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        data_dir=data_dir_of_inputs,
        settings=export_settings(config),
    script:
        "../workflow/scripts/export.py"


# fp16 and int8 read the fp32 export (int8 also calibrates on training frames): more memory.
use rule export_onnx as convert_onnx with:
    input:
        unpack(onnx_conversion_inputs),
    output:
        onnx="results/onnx/{model}/{variant}-{dtype}.onnx",
        check="results/onnx/{model}/{variant}-{dtype}.check.json",
    wildcard_constraints:
        variant=variants.FLOAT_PATTERN,
        dtype="fp16|int8",
    resources:
        mem_mb=6000,
        runtime=60,
    # int8 only: the fp16 file (LiteRT's precision reference) must not re-run when they change.
    params:
        calibration=lambda w: onnx_calibration(config) if w.dtype == "int8" else None,
        int8_scheme=lambda w: int8_scheme(config) if w.dtype == "int8" else None,


# Whether tf2onnx converts a QAT variant's int8 .tflite is only known by trying: the benchmarks
# of its ONNX copy read this record first, and a file it cannot convert gets "not offered" rows.
checkpoint offer_qat_onnx:
    input:
        tflite="results/tflite/{model}/{variant}-int8.tflite",
    output:
        offer="results/onnx/{model}/{variant}-int8.offer.json",
    log:
        "results/logs/onnx/{model}/{variant}-offer.log",
    benchmark:
        "results/benchmarks/onnx/{model}/{variant}-offer.tsv"
    wildcard_constraints:
        variant=variants.TFMOT_QAT_PATTERN,
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        opset=export_settings(config)["opset"],
    script:
        "../workflow/scripts/export.py"


# A QAT variant's ONNX copy, from its int8 .tflite by tf2onnx's TFLite path, checked on ONNX
# Runtime against that file on LiteRT (amrcomp.export.qat); tf2onnx starts TensorFlow.
use rule export_onnx as export_qat_onnx with:
    input:
        tflite="results/tflite/{model}/{variant}-int8.tflite",
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        onnx="results/onnx/{model}/{variant}-{dtype}.onnx",
        check="results/onnx/{model}/{variant}-{dtype}.check.json",
    wildcard_constraints:
        variant=variants.TFMOT_QAT_PATTERN,
        dtype="int8",
