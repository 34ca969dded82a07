"""ONNX copies of the quantisation-aware int8 .tflite files (rule `export_qat_onnx`).

tf2onnx's per-tensor fake-quant support does not cover tfmot's per-channel, narrow-range weight
quantisers, so the Keras QAT model is not exported; its converted .tflite is, through tf2onnx's
TFLite path, then checked against the .tflite on LiteRT like every export against its source.
Whether tf2onnx can convert a file is only known by trying: checkpoint `offer_qat_onnx` tries
first (`offer`), and a file it cannot convert gets "not offered" benchmark rows, not a copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from amrcomp.atomic import atomic_path
from amrcomp.export import INPUT_NAME as ONNX_INPUT
from amrcomp.export import compare, op_counts, verdict

ONNX_OUTPUT = "scores"


class NotOffered(RuntimeError):
    """tf2onnx cannot turn this QAT .tflite into an ONNX file; the message says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def convert(tflite_path: str | Path, opset: int | None = None):
    """tf2onnx's ONNX model of a QAT int8 .tflite (its TFLite path), taking float32 frames "iq"
    and returning float32 "scores" like the other ONNX exports: the .tflite's int8 input/output
    quantisation becomes a QuantizeLinear and a DequantizeLinear at the graph's ends.

    Raises NotOffered with the converter's reason when tf2onnx cannot make a valid copy.
    tf2onnx imports TensorFlow.
    """
    import tf2onnx

    from amrcomp.runtimes import litert_interpreter

    try:
        proto, _ = tf2onnx.convert.from_tflite(str(tflite_path), opset=opset)
    except Exception as err:  # noqa: BLE001 - any converter failure means no ONNX copy
        raise NotOffered(f"tf2onnx {tf2onnx.__version__} from_tflite failed: {brief(err)}") from err
    interpreter = litert_interpreter(tflite_path)
    ends = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    if any(np.dtype(end["dtype"]) != np.int8 for end in ends):
        raise ValueError(f"{tflite_path}: not int8 in and out; qat_onnx takes convert_qat's files")
    return float_io(proto, ends[0]["quantization"], ends[1]["quantization"])


def brief(err: Exception) -> str:
    """An exception's type and the first line of its message, short enough for a table note."""
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:160]}"


def offer(tflite_path: str | Path, opset: int | None = None) -> dict[str, Any]:
    """Whether tf2onnx can make the ONNX copy ONNX Runtime and OpenVINO would run (checkpoint
    `offer_qat_onnx`): a benchmark row of a file it cannot convert is then "not offered", with
    this reason, instead of a failed run."""
    import tf2onnx

    converter = f"tf2onnx {tf2onnx.__version__} (from_tflite)"
    try:
        convert(tflite_path, opset)
    except NotOffered as err:
        reason = f"no ONNX copy of this QAT .tflite ({err.reason}); LiteRT runs the .tflite"
        return {"offered": False, "reason": reason, "converter": converter}
    return {"offered": True, "reason": None, "converter": converter}


def qat_onnx(
    tflite_path: str | Path,
    onnx_path: str | Path,
    frames: np.ndarray,
    agreement_min: float = 0.99,
    threads: int = 1,
    opset: int | None = None,
    margin: float = 0.1,
) -> dict[str, Any]:
    """ONNX copy of a QAT int8 .tflite (`convert`), checked on ONNX Runtime against the .tflite
    on LiteRT over `frames` (n, 2, L, 1) and written atomically only if it passed.

    Raises NotOffered when tf2onnx cannot convert the file and `ExportCheckFailed` when the
    copy disagrees.
    """
    import onnx
    import tf2onnx

    from amrcomp.runtimes import OrtSession, litert_predictor

    proto = convert(tflite_path, opset)
    reference = "the QAT .tflite on LiteRT"
    with atomic_path(onnx_path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))
        session = OrtSession(tmp, threads)
        figures = compare(
            litert_predictor(tflite_path, threads),
            session.predict,
            np.asarray(frames, dtype=np.float32),
            margin=margin,
            reference_name=reference,
        )
        check = verdict("int8", figures, agreement_min, reference_name=reference)
        ops = op_counts(tmp)
    return {
        "converter": f"tf2onnx {tf2onnx.__version__} (from_tflite)",
        "opset": next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "check": {
            "status": "checked",
            **check,
            "reference": reference,
            "runtime": "onnxruntime (CPU)",
        },
        "ops": ops,
        "onnxruntime_graph": session.optimized,
    }


def float_io(proto, quant_in: tuple[float, int], quant_out: tuple[float, int]):
    """`proto` (int8 input and output, as tf2onnx keeps them) behind float32 frames in and
    float32 scores out, quantised with the .tflite's own (scale, zero point) at each end."""
    import onnx
    from onnx import TensorProto, helper

    graph = proto.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise NotOffered(f"tf2onnx made {len(graph.input)} inputs, {len(graph.output)} outputs")
    old_in, old_out = graph.input[0], graph.output[0]

    def dims(value) -> list:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    constants = [
        helper.make_tensor("iq_scale", TensorProto.FLOAT, [], [float(quant_in[0])]),
        helper.make_tensor("iq_zero_point", TensorProto.INT8, [], [int(quant_in[1])]),
        helper.make_tensor("scores_scale", TensorProto.FLOAT, [], [float(quant_out[0])]),
        helper.make_tensor("scores_zero_point", TensorProto.INT8, [], [int(quant_out[1])]),
    ]
    quantize = helper.make_node(
        "QuantizeLinear", [ONNX_INPUT, "iq_scale", "iq_zero_point"], [old_in.name]
    )
    dequantize = helper.make_node(
        "DequantizeLinear", [old_out.name, "scores_scale", "scores_zero_point"], [ONNX_OUTPUT]
    )
    wrapped = helper.make_model(
        helper.make_graph(
            [quantize, *graph.node, dequantize],
            graph.name,
            [helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, dims(old_in))],
            [helper.make_tensor_value_info(ONNX_OUTPUT, TensorProto.FLOAT, dims(old_out))],
            [*graph.initializer, *constants],
            value_info=[*graph.value_info, old_in, old_out],
        ),
        opset_imports=proto.opset_import,
        ir_version=proto.ir_version,
    )
    try:
        onnx.checker.check_model(wrapped, full_check=True)
    except onnx.checker.ValidationError as err:
        raise NotOffered(f"tf2onnx's graph is not valid ONNX: {brief(err)}") from err
    return wrapped


def export_qat(
    tflite_path: str | Path, out: str | Path, params: Any, threads: int, log=None
) -> dict[str, Any]:
    """The rule's record: `qat_onnx` over the test split with the export check's settings
    (`params.settings`: amrcomp.settings.export_settings). A file tf2onnx cannot convert fails
    the job: the benchmarks never ask for it (`offer`), so only an explicit target gets here."""
    from amrcomp.frames import load_split
    from amrcomp.sizes import file_sizes

    settings, test = params.settings, load_split(params.data_dir, "test")
    check = settings["check"]
    try:
        record = qat_onnx(
            tflite_path, out, test.model_input(), check["agreement_min"], threads,
            settings["opset"], check["margin"],
        )  # fmt: skip
    except NotOffered as err:
        raise NotOffered(
            f"{err.reason}; there is no ONNX copy of {tflite_path} to build (its ONNX Runtime "
            "and OpenVINO benchmark rows say 'not offered'); LiteRT runs the .tflite"
        ) from err
    if log:
        log.info("check on %d test frames: %s", len(test), record["check"])
    return {"dtype": "int8", "source": str(tflite_path), **record, **file_sizes(out)}
