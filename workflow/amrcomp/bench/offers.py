"""Which deployment precisions a backend offers here, decided before anything is loaded.

fp32, fp16 and int8 are files every backend is asked to run: a runtime that refuses one is
"unsupported" (a gap where it should work). bf16 is not a file but a way of running the fp32
file that only some runtimes and CPUs offer; where one does not, the benchmark records
"not_offered" with the reason and runs nothing (no test split, no TensorFlow: seconds).
Pure functions, so both answers are tested on any machine.
"""

from __future__ import annotations

from typing import Sequence

from amrcomp.variants import BACKENDS

NOT_OFFERED = "not_offered"
# Why a runtime has no bf16 execution of an fp32 model, whatever the CPU.
BF16_NOT_OFFERED = {
    "onnxruntime": (
        "ONNX Runtime's CPU provider runs an fp32 model in float32: it has no bfloat16 "
        "execution mode on x86 (its bfloat16 fast-math GEMM option is for Arm64 builds only)"
    ),
    "litert": (
        "LiteRT runs an fp32 .tflite in float32: neither its builtin kernels nor the XNNPACK "
        "delegate have a bfloat16 mode (XNNPACK's one reduced float mode is forced fp16)"
    ),
    "tensorrt": (
        "not built: this workflow's TensorRT networks are strongly typed, taking their precision "
        "from the ONNX file, and there is no bf16 export; a bf16 engine (BuilderFlag.BF16 on a "
        "weakly typed network, Ampere or newer GPUs) is not implemented"
    ),
}


def known_not_offered(backend: str, dtype: str) -> bool:
    """A row that is not offered whatever the host (bf16 on a runtime without bf16 anywhere):
    its job runs nothing, so it needs neither all cores nor the benchmark slot."""
    return dtype == "bf16" and backend in BF16_NOT_OFFERED


def bf16_offer(backend: str, cpu_capabilities: Sequence[str] | None = None) -> tuple[bool, str]:
    """(offered, why) for running `backend`'s fp32 file in bfloat16.

    OpenVINO offers it where its CPU plugin lists BF16 in OPTIMIZATION_CAPABILITIES (AVX-512
    BF16 or AMX); `cpu_capabilities` is that list (`amrcomp.bench.openvino.cpu_capabilities`).
    """
    if backend == "openvino":
        caps = [str(c) for c in cpu_capabilities or ()]
        if "BF16" in caps:
            return True, "OpenVINO's CPU plugin lists BF16 in OPTIMIZATION_CAPABILITIES"
        return False, (
            "OpenVINO's CPU plugin lists no BF16 in OPTIMIZATION_CAPABILITIES on this CPU "
            f"({', '.join(caps) or 'none'}): bfloat16 needs AVX-512 BF16 or AMX"
        )
    if backend in BF16_NOT_OFFERED:
        return False, BF16_NOT_OFFERED[backend]
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
