"""Is int8 faster than fp32 on this CPU? Model 2 under ONNX Runtime and LiteRT, from a results dir.

    .venv/bin/python benchmarks/bench_int8.py [--results results] [--model model2] [--investigate]

Part 1 prints the fp32/int8 throughput the workflow's benchmark JSONs recorded (every batch
size, both backends) and the int8 speed-up. Part 2 (--investigate) re-times the same files
under variations that decide whether int8 kernels are used at all:
- ONNX Runtime graph optimisation level (QDQ -> QLinearConv/QGemm fusion happens at EXTENDED+;
  the optimised graph's operators are listed), and int8 schemes re-quantised from the fp32 ONNX:
  U8S8 vs S8S8 symmetric activations, per-channel vs per-tensor weights;
- LiteRT with its default XNNPACK delegate vs the builtin kernels alone, for every .tflite dtype.
Timing follows amrcomp.bench.timing (warm-up, >= repeats and >= min_seconds, medians).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from amrcomp.atomic import read_json  # noqa: E402
from amrcomp.bench.timing import batch_input, time_calls  # noqa: E402


def recorded_table(results: Path, model: str) -> list[dict]:
    """fp32 vs int8 rows from results/bench/{backend}/{model}/{variant}-{dtype}.json."""
    rows = []
    for backend_dir in sorted((results / "bench").glob("*")):
        for fp32 in sorted((backend_dir / model).glob("*-fp32.json")):
            variant = fp32.name[: -len("-fp32.json")]
            int8 = fp32.with_name(f"{variant}-int8.json")
            if not int8.exists():
                continue
            a, b = read_json(fp32), read_json(int8)
            if a["status"] != "ok" or b["status"] != "ok":
                rows.append(
                    {
                        "backend": backend_dir.name,
                        "variant": variant,
                        "batch": "-",
                        "fp32": a["status"],
                        "int8": b["status"],
                        "speedup": "-",
                    }
                )
                continue
            for batch in sorted(a["throughput_fps"], key=int):
                fa, fb = a["throughput_fps"][batch], b["throughput_fps"].get(batch)
                rows.append(
                    {
                        "backend": backend_dir.name,
                        "variant": variant,
                        "batch": batch,
                        "fp32": f"{fa:,.0f}",
                        "int8": f"{fb:,.0f}" if fb else "-",
                        "speedup": f"{fb / fa:.2f}x" if fb else "-",
                    }
                )
    return rows


def print_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (nothing found)")
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  " + "  ".join(k.rjust(widths[k]) for k in keys))
    for r in rows:
        print("  " + "  ".join(str(r[k]).rjust(widths[k]) for k in keys))


def fps(call, batch: int, args) -> float:
    times = time_calls(call, args.warmup, args.repeats, args.min_seconds)
    return batch / float(np.median(times))


def ort_session(path: Path, threads: int, level: str, optimized_to: Path | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if optimized_to is not None:
        options.optimized_model_filepath = str(optimized_to)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def op_types(path: Path) -> str:
    import onnx

    ops = sorted(
        {n.op_type for n in onnx.load(str(path)).graph.node} - {"Reshape", "Transpose", "Flatten"}
    )
    return ",".join(ops)


def investigate_ort(
    results: Path, model: str, variant: str, frames: np.ndarray, train: np.ndarray | None, args
) -> list[dict]:
    from amrcomp import export

    onnx_dir = results / "onnx" / model
    x = batch_input(frames, args.batch)
    rows = []
    files = {
        "fp32": onnx_dir / f"{variant}-fp32.onnx",
        "int8 (workflow)": onnx_dir / f"{variant}-int8.onnx",
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if train is not None:
            calib = export.calibration_frames(train, 256, 0)
            for scheme in export.INT8_SCHEMES:
                files[f"int8 {scheme} scheme"] = tmp / f"{scheme}.onnx"
                export.quantize_int8(
                    files["fp32"], files[f"int8 {scheme} scheme"], calib, "minmax", scheme
                )
            files["int8 U8S8 per-tensor"] = per_tensor = tmp / "per_tensor.onnx"
            quantize_per_tensor(files["fp32"], per_tensor, calib)
        for label, path in files.items():
            if not path.exists():
                continue
            for level in ("ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL"):
                optimized = tmp / f"opt-{abs(hash((label, level)))}.onnx"
                session = ort_session(path, args.threads, level, optimized)
                name = session.get_inputs()[0].name
                speed = fps(lambda: session.run(None, {name: x}) and None, args.batch, args)
                rows.append(
                    {
                        "model": label,
                        "graph_opt": level.replace("ORT_ENABLE_", ""),
                        f"fps@{args.batch}": f"{speed:,.0f}",
                        "ops after optimisation": op_types(optimized),
                    }
                )
    return rows


def quantize_per_tensor(fp32: Path, out: Path, calib: np.ndarray) -> None:
    """U8S8 QDQ with one scale per weight tensor (the per-channel ablation)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from amrcomp.export import _FrameReader

    pre = out.with_name("pre_pt.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_static(
        str(pre),
        str(out),
        _FrameReader(calib, 64),
        quant_format=QuantFormat.QDQ,
        per_channel=False,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )


def investigate_litert(
    results: Path, model: str, variant: str, frames: np.ndarray, args
) -> list[dict]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    rows = []
    x = batch_input(frames, args.batch)
    for path in sorted((results / "tflite" / model).glob(f"{variant}-*.tflite")):
        for label, resolver in (
            ("XNNPACK (default)", OpResolverType.AUTO),
            ("builtin kernels only", OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
        ):
            interpreter = Interpreter(
                model_path=str(path),
                num_threads=args.threads,
                experimental_op_resolver_type=resolver,
            )
            inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
            interpreter.resize_tensor_input(inp["index"], [args.batch, *inp["shape"][1:]])
            interpreter.allocate_tensors()
            feed = (
                x.astype(inp["dtype"])
                if np.issubdtype(inp["dtype"], np.floating)
                else np.zeros(x.shape, inp["dtype"])
            )

            def call(interpreter=interpreter, feed=feed, inp=inp, out=out):
                interpreter.set_tensor(inp["index"], feed)
                interpreter.invoke()
                interpreter.get_tensor(out["index"])

            rows.append(
                {
                    "tflite": path.stem,
                    "kernels": label,
                    f"fps@{args.batch}": f"{fps(call, args.batch, args):,.0f}",
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--model", default="model2")
    parser.add_argument(
        "--variant", default=None, help="default: the first variant with an fp32 ONNX"
    )
    parser.add_argument("--investigate", action="store_true")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()

    from amrcomp.machine import machine_info

    info = machine_info()
    print(f"machine: {info['cpu']}, {info['cores']} cores, flags {', '.join(info['cpu_flags'])}")
    print(
        f"libraries: onnxruntime {info['libraries']['onnxruntime']}, "
        f"ai-edge-litert {info['libraries']['ai-edge-litert']}"
    )
    print_table(
        recorded_table(args.results, args.model),
        f"Recorded by the workflow ({args.results}/bench/*/{args.model}): frames/s",
    )
    if not args.investigate:
        return
    from amrcomp.frames import load_split

    data_dirs = sorted(p.parent for p in (args.results / "data").glob("*/manifest.json"))
    if not data_dirs:
        raise SystemExit(f"no data set under {args.results}/data: run the workflow first")
    test = load_split(data_dirs[0], "test").model_input(0, 1024)
    train = np.asarray(load_split(data_dirs[0], "train").x)
    fp32_files = sorted((args.results / "onnx" / args.model).glob("*-fp32.onnx"))
    if not fp32_files:
        raise SystemExit(f"no ONNX exports under {args.results}/onnx/{args.model}")
    variant = args.variant or fp32_files[0].name[: -len("-fp32.onnx")]
    print_table(
        investigate_ort(args.results, args.model, variant, test, train, args),
        f"ONNX Runtime CPU, {args.model}/{variant}, batch {args.batch}, {args.threads} threads",
    )
    print_table(
        investigate_litert(args.results, args.model, variant, test, args),
        f"LiteRT, {args.model}/{variant}, batch {args.batch}, {args.threads} threads",
    )


if __name__ == "__main__":
    main()
