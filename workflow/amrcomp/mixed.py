"""Training precision: bf16 compute with float32 weights where the host runs bf16 natively.

Keras' `mixed_bfloat16` policy computes convolutions and matrix products in bfloat16 and keeps
float32 master weights; on CPUs with bf16 dot-product instructions (AMX, AVX512-BF16) oneDNN
then trains several times faster, elsewhere bf16 is emulated and slower. So `auto` picks bf16
only on such hosts. It is resolved inside the job (`resolve_here`), never as a rule param: on a
cluster the host that submits a job is not the one that trains.

Saved models must compute in float32: a layer's policy is stored in the .keras file, and
evaluation, quantisation and export would inherit bf16. A model trained under bf16 is therefore
rebuilt with `recast(model, "fp32")` before it leaves the training code.
"""

from __future__ import annotations

from typing import Sequence

from amrcomp.machine import cpu_flags

SETTINGS = ("auto", "fp32", "bf16")
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}
# CPU flags of native bf16 dot products (oneDNN's bf16 kernels), in order of preference.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# NVIDIA Ampere and later have bf16 tensor cores.
BF16_GPU_CAPABILITY = (8, 0)
Gpu = tuple[str, tuple[int, int]]  # (name, compute capability)


def native(cpu: Sequence[str], gpus: Sequence[Gpu]) -> tuple[str, str]:
    """(precision, reason) `auto` gives on a host: TensorFlow trains on a GPU when it sees one,
    so the first GPU decides; without one, the CPU's flags."""
    if gpus:
        name, capability = gpus[0]
        label = f"GPU {name} compute capability {capability[0]}.{capability[1]}"
        if tuple(capability) >= BF16_GPU_CAPABILITY:
            return "bf16", label
        return "fp32", f"{label} < 8.0: no native bf16"
    flag = next((f for f in BF16_CPU_FLAGS if f in cpu), None)
    if flag:
        return "bf16", f"CPU flag {flag}"
    return "fp32", f"no GPU and no CPU flag {' or '.join(BF16_CPU_FLAGS)}: bf16 would be emulated"


def resolve(setting: str, cpu: Sequence[str], gpus: Sequence[Gpu] = ()) -> dict[str, str]:
    """The record {"setting", "used", "reason"} of a precision setting on a host's flags/GPUs."""
    if setting not in SETTINGS:
        raise ValueError(f"precision must be one of {SETTINGS}, got {setting!r}")
    used, reason = native(cpu, gpus)
    if setting != "auto":
        used, reason = setting, f"set to {setting} (auto would give {used}: {reason})"
    return {"setting": setting, "used": used, "reason": reason}


def host_gpus() -> list[Gpu]:
    """Name and compute capability of every GPU TensorFlow sees."""
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = tuple(details.get("compute_capability") or (0, 0))
        gpus.append((str(details.get("device_name", device.name)), capability))
    return gpus


def resolve_here(setting: str) -> dict[str, str]:
    """`resolve` on the machine running this job."""
    return resolve(setting, cpu_flags(), host_gpus())


def fall_back(resolved: dict[str, str], reason: str) -> dict[str, str]:
    """The record of a step that runs in fp32 although the host's precision is bf16."""
    if resolved["used"] == "fp32":
        return resolved
    return {
        "setting": resolved["setting"],
        "used": "fp32",
        "reason": f"{reason} (otherwise bf16: {resolved['reason']})",
    }


def recast(model, precision: str):
    """A copy of `model`, same weights, whose layers compute in `precision` ("fp32" or "bf16").

    Under bf16 the output layers stay float32, so the softmax and the loss keep full precision.
    The copy is uncompiled and shares no layer with `model`.
    """
    from amrcomp.tfsetup import keras

    policy = POLICIES[precision]
    outputs = set(model.output_names)

    def clone(layer):
        config = layer.get_config()
        if layer.dtype_policy.variable_dtype == "float32":  # float layers: float32 or mixed
            config["dtype"] = "float32" if layer.name in outputs else policy
        return type(layer).from_config(config)

    copy = keras().models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
