"""QKeras rebuild of a float chain model for the `qkeras-w<W>a<A>` variants (the qat stage
fine-tunes it, `amrcomp.energy.lowbit_energy` prices it at its own widths).

Relu stays fused into each QConv2D/QDense (as quantized_relu) rather than a separate
QActivation: qtools would charge a separate activation layer an output write the paper's float
reference (relu fused in Conv2D/Dense) never pays, and fused layers keep the float model's names,
so per-layer rows line up with its profile. Importing this module imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from amrcomp import tfsetup
from amrcomp.variants import QAT_LAYERS, QKERAS_BITS

# Biases are <0.1 % of the parameters: 8 bits (or W if wider) costs nothing measurable and keeps
# them from being the accuracy bottleneck of a 2-4-bit model.
MIN_BIAS_BITS = 8
QUANTIZED = ("QConv2D", "QDense")


# Range exponents tried for an activation's fixed-point format: [0, 2**e) or [-2**e, 2**e).
RANGE_EXPONENTS = range(-12, 13)
# Values an exponent is chosen on (a fixed stride through them, so the choice is deterministic).
RANGE_SAMPLE = 1 << 20


def range_exponent(values: np.ndarray, bits: int, signed: bool) -> int:
    """The e whose `bits`-bit fixed-point range [0, 2**e) (signed: [-2**e, 2**e)) rounds
    `values` with the least squared error.

    The peak is the wrong range at 4 bits: a relu's few large outputs would set a step (1/16 of
    the range) above most outputs' size, and those round to zero; the MSE choice clips the
    rare peaks instead (Banner et al., "Post training 4-bit quantization", NeurIPS 2019).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[:: max(1, values.size // RANGE_SAMPLE)]
    if not values.size or not np.all(np.isfinite(values)) or not np.any(values):
        raise ValueError("calibration values must be finite and not all zero to set a range")
    levels = 2 ** (bits - 1) if signed else 2**bits
    low = -levels if signed else 0

    def error(e: int) -> float:
        step = 2.0**e / levels
        return float(
            np.mean((values - np.clip(np.round(values / step), low, levels - 1) * step) ** 2)
        )

    return min(RANGE_EXPONENTS, key=error)


def _relu_outputs(model, frames: np.ndarray) -> dict[str, np.ndarray]:
    """Each relu layer's outputs of the float model on the calibration frames."""
    relus = [layer for layer in model.layers if layer.get_config().get("activation") == "relu"]
    probe = tfsetup.keras().Model(model.inputs, [layer.output for layer in relus])
    outputs = probe.predict(frames, batch_size=256, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return {layer.name: np.asarray(out) for layer, out in zip(relus, outputs)}


def quantized_clone(
    model, weight_bits: int, act_bits: int, calibration: np.ndarray, input_bits: int | None = None
):
    """An uncompiled QKeras copy of a float chain model that takes the same raw frames, with the
    float weights as its starting point.

    Conv2D/Dense -> QConv2D/QDense: W-bit kernels with per-output-channel power-of-two scales
    (alpha="auto_po2": the first kernel carries the folded input scale, ~100x the others, so one
    fixed range would clip it or zero the rest), biases at max(W, MIN_BIAS_BITS) bits, relu as
    quantized_relu(A). Each range is `range_exponent`'s on `calibration` ((n, 2, L, 1) training
    frames): the input is scaled by a power of two and quantised to `input_bits` (default A); a
    relu range below [0, 1), which QKeras cannot express, becomes [0, 1) on outputs scaled up by
    2**s (kernel and bias times 2**s). Each power of two is undone in the next kernel, exactly,
    since only relu, pooling, dropout and flatten (all positively homogeneous) lie between.
    The output keeps its softmax. Fine-tune it with input_scale null: a further input scale
    cannot be folded past the rescale.
    """
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    in_bits = act_bits if input_bits is None else input_bits
    if not {weight_bits, act_bits, in_bits} <= set(QKERAS_BITS):
        raise ValueError(
            f"bits must be {QKERAS_BITS[0]}..{QKERAS_BITS[-1]}, got W{weight_bits}A{act_bits}"
        )
    unknown = sorted({type(layer).__name__ for layer in model.layers} - QAT_LAYERS["qkeras"])
    if unknown:
        raise ValueError(f"{model.name}: QKeras cannot rebuild layers {unknown}")
    frames = np.asarray(calibration, dtype=np.float32)
    scale = 2.0 ** -range_exponent(frames, in_bits, signed=True)  # what the next kernel undoes
    outputs = _relu_outputs(model, frames)
    keras = tfsetup.keras()
    inputs = keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    x = keras.layers.Rescaling(scale, name="input_po2_scale")(inputs)
    # A string, not a quantizer object: QActivation saves its argument as given, and a .keras
    # file cannot rebuild an object from that.
    x = QActivation(f"quantized_bits({in_bits},0,alpha=1)", name="input_quant")(x)
    weights: dict[str, list[np.ndarray]] = {}
    for layer in model.layers[1:]:
        kind, config = type(layer).__name__, layer.get_config()
        if kind not in ("Conv2D", "Dense"):
            x = type(layer).from_config(config)(x)
            continue
        kernel, *bias = layer.get_weights()
        weights[layer.name] = [kernel / np.float32(scale), *bias]
        activation, scale = config["activation"], 1.0
        if activation == "relu":
            exponent = range_exponent(outputs[layer.name], act_bits, signed=False)
            scale = 2.0 ** max(0, -exponent)
            weights[layer.name] = [w * np.float32(scale) for w in weights[layer.name]]
            config["activation"] = quantized_relu(act_bits, max(0, exponent))
        elif layer is not model.layers[-1] or activation not in ("softmax", "linear"):
            raise ValueError(f"{model.name}: cannot quantise {layer.name}'s {activation!r}")
        config["kernel_quantizer"] = quantized_bits(weight_bits, 0, alpha="auto_po2")
        bias_bits = max(weight_bits, MIN_BIAS_BITS)
        config["bias_quantizer"] = quantized_bits(bias_bits, 0, alpha="auto_po2")
        x = (QConv2D if kind == "Conv2D" else QDense)(**config)(x)
    qmodel = keras.Model(inputs, x, name=f"{model.name}_w{weight_bits}a{act_bits}")
    for name, values in weights.items():
        qmodel.get_layer(name).set_weights(values)
    return qmodel


def custom_objects() -> dict[str, Any]:
    """QKeras layers and quantizers by name, for `amrcomp.models.io.load_model`."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict[str, Any] = {}
    _add_supported_quantized_objects(objects)
    return objects


def input_quantizer(qmodel):
    """The quantizer of the model's input (its first QActivation)."""
    return next(layer.quantizer for layer in qmodel.layers if type(layer).__name__ == "QActivation")


def layer_bits(qmodel) -> list[dict[str, Any]]:
    """Per QConv2D/QDense: its input's bits, weight and bias bits, MACs, parameters, and the
    sparsity of its quantised kernel (weights that round to zero are zeros when deployed)."""
    rows, act = [], input_quantizer(qmodel).bits
    for layer in qmodel.layers:
        kind = type(layer).__name__
        if kind not in QUANTIZED:
            continue
        kernel_q, bias_q = layer.get_quantizers()[:2]
        kernel = np.asarray(kernel_q(layer.kernel))
        positions = layer.output_shape[1:-1] if kind == "QConv2D" else ()
        biases = int(layer.bias.shape[0]) if layer.use_bias else 0
        rows.append(
            {
                "layer": layer.name,
                "type": kind[1:],  # Conv2D/Dense, the types models.cost counts
                "activation_bits": int(act),
                "weight_bits": int(kernel_q.bits),
                "bias_bits": int(bias_q.bits) if biases else 0,
                "macs": int(np.prod(positions, dtype=np.int64)) * kernel.size,
                "kernel_params": kernel.size,
                "bias_params": biases,
                "kernel_sparsity": 1.0 - np.count_nonzero(kernel) / kernel.size,
            }
        )
        act = getattr(layer.activation, "bits", 32)  # a float activation leaves 32-bit values
    return rows
