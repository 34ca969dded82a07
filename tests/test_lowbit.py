"""Low-bit QKeras variants: names and checks, the rebuild and its fine-tune, the .keras round
trip, and qtools energy, bit operations and size at the real widths."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(1, 0)

from amrcomp import variants  # noqa: E402
from amrcomp.energy import lowbit_energy, qtools_energy  # noqa: E402
from amrcomp.fitting import fit  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model, lowbit, oshea_cnn2  # noqa: E402
from amrcomp.models.io import load_model, save_model  # noqa: E402
from amrcomp.tfsetup import keras  # noqa: E402

LOG = logging.getLogger("test_lowbit")
N_CLASSES = 4
SETTINGS = {
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "seed": 0,
    "input_scale": "auto",
    "reduce_lr": None,
    "early_stopping_patience": 0,
}


def tones(n: int, seed: int) -> Split:
    """L1-normalised noisy complex tones, one frequency per class: raw frames as small as
    RadioML's (peaks ~0.03) that a tiny model separates in a few epochs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    arg = 2 * np.pi * ((labels[:, None] + 1) * np.arange(128) / 32 + rng.uniform(size=(n, 1)))
    x = np.stack([np.cos(arg), np.sin(arg)], 1) + rng.normal(scale=0.3, size=(n, 2, 128))
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return Split(x.astype(np.float32), labels, np.zeros(n, dtype=np.int64))


TRAIN, VAL = tones(512, 1), tones(256, 2)


@pytest.mark.parametrize("name,bits", [("qkeras-w8a8", (8, 8)), ("qkeras-w4a2", (4, 2))])
def test_variant_names_carry_the_bits(name, bits):
    parsed = variants.parse(name)
    assert (parsed.bits, parsed.training, parsed.parent, parsed.name) == (
        bits, "qkeras", "baseline", name
    )  # fmt: skip


@pytest.mark.parametrize("name", ["qkeras-w1a8", "qkeras-w8a9", "qkeras-w8a0"])
def test_bits_outside_2_to_8_are_refused(name):
    with pytest.raises(ValueError, match=r"bits must be 2\.\.8"):
        variants.parse(name)


def test_import_leaves_tensorflow_out():
    imported = "sorted({'tensorflow', 'qkeras'} & set(sys.modules))"
    code = f"import sys, amrcomp.models.lowbit; print({imported})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_range_exponent_covers_the_values_or_clips_rare_peaks():
    assert lowbit.range_exponent(np.array([0.03, -0.01]), 8, signed=True) == -5  # [-1/32, 1/32)
    assert lowbit.range_exponent(np.array([3.0, 0.5]), 8, signed=False) == 2
    # Most outputs ~0.05, one at 3: at 4 bits the peak's range (step 1/4) would zero them all.
    relu = np.r_[np.linspace(0.0, 0.1, 10_000), 3.0]
    assert lowbit.range_exponent(relu, 4, signed=False) < 0
    assert lowbit.range_exponent(relu, 8, signed=False) > lowbit.range_exponent(relu, 4, False)
    with pytest.raises(ValueError, match="not all zero"):
        lowbit.range_exponent(np.zeros(4), 8, signed=True)


def test_scaled_ranges_are_undone_in_the_next_kernel():
    """A relu whose outputs are all far below 1 gets a scaled-up [0, 1) range; the float scores
    survive only if the next kernel divides that scale out again."""
    keras().utils.set_random_seed(1)
    inputs = keras().Input((2, 128, 1))
    x = keras().layers.Conv2D(4, (2, 3), activation="relu", name="conv1")(inputs)
    x = keras().layers.Dense(N_CLASSES, activation="softmax", name="dense")(
        keras().layers.Flatten()(x)
    )
    model = keras().Model(inputs, x, name="small")
    kernel, bias = model.get_layer("conv1").get_weights()
    model.get_layer("conv1").set_weights([kernel / 64, bias / 64])
    frames = TRAIN.model_input()[:128]
    qmodel = lowbit.quantized_clone(model, 8, 8, frames)
    assert qmodel.get_layer("conv1").activation.integer == 0
    expected, got = model.predict(frames, verbose=0), qmodel.predict(frames, verbose=0)
    assert np.abs(expected - got).max() < 0.05


def test_clone_refuses_unsupported_layers():
    inputs = keras().Input((2, 128, 1))
    x = keras().layers.BatchNormalization()(keras().layers.Conv2D(2, (1, 3))(inputs))
    model = keras().Model(inputs, x, name="bn_model")
    with pytest.raises(
        ValueError, match=r"bn_model: QKeras cannot rebuild layers \['BatchNormalization'\]"
    ):
        lowbit.quantized_clone(model, 8, 8, TRAIN.model_input()[:8])


@pytest.fixture(scope="module")
def trained():
    """A tiny model 1 (oshea_cnn2) trained on raw frames with the input scale folded in."""
    keras().utils.set_random_seed(0)
    model = build_model("oshea_cnn2", n_classes=N_CLASSES, filters=(8, 8), dense_units=16)
    used = fit(model, TRAIN, VAL, N_CLASSES, SETTINGS, LOG)["used"]
    assert used["input_scale_folded_into"] == "conv1"
    return model


def test_w8a8_clone_agrees_with_the_float_model(trained):
    frames = VAL.model_input()
    qmodel = lowbit.quantized_clone(trained, 8, 8, TRAIN.model_input()[:128])
    expected = trained.predict(frames, verbose=0).argmax(1)
    agreement = float(np.mean(qmodel.predict(frames, verbose=0).argmax(1) == expected))
    assert agreement > 0.9, agreement
    assert [type(layer).__name__ for layer in qmodel.layers[:4]] == [
        "InputLayer",
        "Rescaling",
        "QActivation",
        "QConv2D",
    ]


def test_w4a4_fine_tunes_and_survives_a_keras_round_trip(trained, tmp_path):
    qmodel = lowbit.quantized_clone(trained, 4, 4, TRAIN.model_input()[:128])
    settings = {**SETTINGS, "epochs": 1, "input_scale": None, "learning_rate": 1e-3}
    history = fit(qmodel, TRAIN, VAL, N_CLASSES, settings, LOG)["history"]
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    save_model(qmodel, tmp_path / "w4a4.keras")
    loaded = load_model(tmp_path / "w4a4.keras", custom_objects=lowbit.custom_objects())
    frames = VAL.model_input()[:64]
    np.testing.assert_array_equal(
        loaded.predict(frames, verbose=0), qmodel.predict(frames, verbose=0)
    )
    assert lowbit.layer_bits(loaded) == lowbit.layer_bits(qmodel)


@pytest.fixture(scope="module")
def model1_energy():
    """qtools of the full-size model 1 (untrained: qtools counts from shapes and widths)."""
    model = oshea_cnn2.build()
    calibration = TRAIN.model_input()[:32]
    reference, _, _ = qtools_energy(model, "fp32", "fp32")
    lowbits = {
        bits: lowbit_energy(lowbit.quantized_clone(model, *bits, calibration))
        for bits in ((8, 8), (4, 4))
    }
    return model, reference, lowbits


def test_lower_bits_cost_less_energy(model1_energy):
    _, reference, lowbits = model1_energy
    assert lowbits[4, 4]["energy_pj"] < lowbits[8, 8]["energy_pj"] < reference
    for (w, a), record in lowbits.items():
        assert (record["weight_bits"], record["activation_bits"], record["input_bits"]) == (w, a, a)
        assert abs(sum(r["total_pj"] for r in record["layers"]) - record["energy_pj"]) < 1.0


def test_bit_operations_and_size_at_the_real_widths(model1_energy):
    model, _, lowbits = model1_energy
    w8, w4 = lowbits[8, 8], lowbits[4, 4]
    assert w8["size_bytes"] == model.count_params()  # 8-bit kernels and biases: a byte each
    biases = sum(r["bias_params"] for r in w4["bits"])
    assert w4["size_bytes"] == (model.count_params() - biases) / 2 + biases
    assert [r["activation_bits"] for r in w4["bits"]] == [4, 4, 4, 4]
    # 4x fewer bits per operand: 1/4 of the bit operations, less the weights that round to zero
    assert 0.2 < w4["bit_operations"] / w8["bit_operations"] <= 0.25
