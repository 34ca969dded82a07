"""QAT and PQAT: tfmot wrappers fine-tuned on raw frames, full-integer TFLite, the sparsity that
survives conversion, the ONNX copy, and the static layer lists the config check reads."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import qat, runtimes, tflite, variants  # noqa: E402
from amrcomp.fitting import fit  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402

LOG = logging.getLogger("test_qat")
N_CLASSES = 11
TINY = {"filters": (8, 8), "dense_units": 32, "dropout": 0.1}


def tone_frames(n: int, seed: int) -> Split:
    """A task a tiny CNN learns in seconds: class k is a complex tone of frequency (k+1)/48 in
    noise, each frame L1-normalised like RadioML's (amplitudes ~0.004)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    phase = 2 * np.pi * (labels[:, None] + 1) / 48 * np.arange(128) + rng.uniform(0, 7, (n, 1))
    x = np.stack([np.cos(phase), np.sin(phase)], 1) + rng.normal(scale=0.7, size=(n, 2, 128))
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return Split(x.astype(np.float32), labels, np.zeros(n, dtype=np.int64))


def settings(epochs: int, learning_rate: float, input_scale: str | None) -> dict:
    return {
        "epochs": epochs,
        "batch_size": 32,
        "learning_rate": learning_rate,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "seed": 0,
        "input_scale": input_scale,
        "reduce_lr": None,
        "early_stopping_patience": 0,
    }


def magnitude_pruned(model, fraction: float):
    """A copy with the smallest-|w| `fraction` of every kernel zeroed (what the prune stage's
    stripped magnitude variants hold: zeros, no wrappers)."""
    copy = tfsetup.keras().models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers:
        if type(layer).__name__ in ("Conv2D", "Dense"):
            kernel, bias = layer.get_weights()
            cut = np.quantile(np.abs(kernel), fraction)
            layer.set_weights([np.where(np.abs(kernel) <= cut, 0, kernel), bias])
    return copy


def accuracy(predict, frames: Split) -> float:
    return float(np.mean(predict(frames.model_input()).argmax(1) == frames.labels))


@pytest.fixture(scope="module")
def splits() -> dict[str, Split]:
    return {"train": tone_frames(512, 0), "val": tone_frames(128, 1), "test": tone_frames(256, 2)}


@pytest.fixture(scope="module")
def pruned(splits) -> dict:
    """A tiny Model 1 trained like a baseline (input scale 'auto', folded: it takes raw frames),
    then 50 % magnitude-pruned; with its weights as pruned and the baseline's test accuracy."""
    tfsetup.keras().utils.set_random_seed(0)  # the same weights whichever tests ran before
    model = build_model("oshea_cnn2", **TINY)
    fit(model, splits["train"], splits["val"], N_CLASSES, settings(8, 3e-3, "auto"), LOG)
    base = accuracy(lambda x: model(x, training=False).numpy(), splits["test"])
    model = magnitude_pruned(model, 0.5)
    return {"model": model, "weights": model.get_weights(), "accuracy": base}


@pytest.fixture(scope="module")
def tuned(pruned, splits, tmp_path_factory) -> dict:
    """Each scheme fine-tuned 3 epochs on the raw frames by `fit`, converted and stored."""
    out, runs = tmp_path_factory.mktemp("qat"), {}
    for scheme in qat.SCHEMES:
        model = qat.quantize_aware(pruned["model"], scheme)
        result = fit(model, splits["train"], splits["val"], N_CLASSES, settings(3, 1e-3, None), LOG)
        path = out / f"{scheme}.tflite"
        tflite.write_tflite(tflite.convert(model, "int8", splits["train"].model_input()[:16]), path)
        runs[scheme] = {"model": model, "result": result, "path": path}
    return runs


def test_module_imports_without_tensorflow():
    code = "import sys, amrcomp.qat; print('tensorflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("arch", ["oshea_cnn2", "tekbiyik"])
def test_static_layer_lists_are_what_build_makes_and_both_kinds_handle_them(arch):
    from amrcomp.models import layer_types

    built = {type(layer).__name__ for layer in build_model(arch).layers}
    assert layer_types(arch) == built  # the config check reads the static list
    assert built <= variants.QAT_LAYERS["tfmot"] and built <= variants.QAT_LAYERS["qkeras"]


def test_quantize_aware_refuses_layers_tfmot_cannot_quantise():
    keras = tfsetup.keras()
    inputs = keras.Input((8, 2))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.LSTM(4)(inputs)))
    with pytest.raises(ValueError, match=r"cannot quantise layers \['LSTM'\]"):
        qat.quantize_aware(model, "qat")


def test_quantizable_layers_are_what_tfmot_supports():
    """Every listed type is supported by both schemes' registries (built, so weights count)."""
    base = "tensorflow_model_optimization.python.core.quantization.keras."
    default = importlib.import_module(base + "default_8bit.default_8bit_quantize_registry")
    preserve = importlib.import_module(
        base + "collab_opts.prune_preserve.prune_preserve_quantize_registry"
    )
    registries = (
        default.Default8BitQuantizeRegistry(),
        preserve.PrunePreserveQuantizeRegistry(),
    )
    layers = tfsetup.keras().layers
    made = {
        "Conv2D": lambda: layers.Conv2D(2, (1, 2)),
        "Dense": lambda: layers.Dense(2),
        "Dropout": lambda: layers.Dropout(0.5),
        "Reshape": lambda: layers.Reshape((-1,)),
        "Permute": lambda: layers.Permute((2, 1, 3)),
    }
    for name in sorted(variants.QAT_LAYERS["tfmot"] - {"InputLayer"}):
        layer = made.get(name, getattr(layers, name))()
        layer.build((None, 2, 8, 1))
        assert all(registry.supports(layer) for registry in registries), name


def test_unknown_scheme_is_refused(pruned):
    with pytest.raises(ValueError, match="unknown QAT scheme 'int4'"):
        qat.quantize_aware(pruned["model"], "int4")


def test_quantize_aware_wraps_a_copy_in_float32(pruned, tuned):
    model = qat.quantize_aware(pruned["model"], "pqat")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:2] == ["InputLayer", "QuantizeLayer"]
    assert set(kinds[2:]) == {"QuantizeWrapperV2"}
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    # the fine-tunes (fixture `tuned`) changed their copies, never the pruned model
    now = pruned["model"].get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(pruned["weights"], now))


def test_fine_tune_sees_raw_frames_and_the_input_range_is_theirs(tuned, splits):
    """No scale unfolded: the input quantiser learnt the raw frames' min/max, which the .tflite
    quantises its int8 input with (a scaled fine-tune would give a ~100x wider step)."""
    x = splits["train"].x
    for run in tuned.values():
        used = run["result"]["used"]
        assert (used["input_scale"], used["epochs_run"]) == (1.0, 3)
        quantiser = run["model"].layers[1]
        low, high = (float(w.numpy()) for w in quantiser.weights[:2])
        assert low == pytest.approx(float(x.min())) and high == pytest.approx(float(x.max()))
        interpreter = runtimes.litert_interpreter(run["path"])
        scale, _ = interpreter.get_input_details()[0]["quantization"]
        assert scale == pytest.approx((high - low) / 255, rel=0.05)


def test_converted_file_is_full_integer_like_ptq_int8(tuned):
    for run in tuned.values():
        types = runtimes.tensor_types(run["path"])
        assert (types["input_dtype"], types["output_dtype"]) == ("int8", "int8")
        assert types["kernel_dtypes"] == ["int8"]
        assert types["weight_dtypes"] == ["int32", "int8"]  # biases int32, as PTQ's
        assert {"CONV_2D", "FULLY_CONNECTED"} <= set(types["operators"])
        assert "DEQUANTIZE" not in types["operators"]


def test_calibration_frames_change_no_byte(tuned, splits):
    model, stored = tuned["qat"]["model"], tuned["qat"]["path"].read_bytes()
    calibration = splits["train"].model_input()[:16]
    assert tflite.convert(model, "int8", 2 * calibration) == stored  # the fixture's: 16 frames
    assert tflite.convert(model, "int8", 3 * calibration) == stored


def test_pqat_keeps_the_pruned_zeros_and_qat_loses_them(pruned, tuned, splits):
    ptq = tflite.convert(pruned["model"], "int8", splits["train"].model_input()[:32])
    assert tflite.weight_sparsity(ptq)["overall"] == pytest.approx(0.5, abs=0.01)
    pqat = tflite.weight_sparsity(tuned["pqat"]["path"])
    assert len(pqat) == 5  # four kernels and "overall"
    assert all(0.5 - 0.01 <= v < 0.6 for v in pqat.values()), pqat
    # Plain QAT regrows the zeroed weights: 0.09-0.14 observed. The first kernel keeps its 50 %:
    # with the input scale folded in, its weights are ~250x larger than Adam's steps.
    assert tflite.weight_sparsity(tuned["qat"]["path"].read_bytes())["overall"] < 0.25


def test_int8_files_keep_the_accuracy_and_follow_their_keras_model(pruned, tuned, splits):
    test = splits["test"]
    for run in tuned.values():
        litert = runtimes.litert_predictor(run["path"])
        keras = run["model"].predict(test.model_input(), verbose=0)
        assert accuracy(litert, test) >= pruned["accuracy"] - 0.05  # 0.98 vs baseline 0.99 observed
        assert np.mean(litert(test.model_input()).argmax(1) == keras.argmax(1)) >= 0.97


def test_tekbiyik_pqat_converts_with_max_pooling(splits, tmp_path):
    model = build_model("tekbiyik", filters=(8, 8, 4, 4), dense_units=16)
    tuned = qat.quantize_aware(magnitude_pruned(model, 0.5), "pqat")
    fit(tuned, splits["val"], splits["val"], N_CLASSES, settings(1, 1e-3, None), LOG)
    path = tmp_path / "tekbiyik.tflite"
    tflite.write_tflite(tflite.convert(tuned, "int8", splits["val"].model_input()[:8]), path)
    types = runtimes.tensor_types(path)
    assert "MAX_POOL_2D" in types["operators"] and types["kernel_dtypes"] == ["int8"]
    assert tflite.weight_sparsity(path)["overall"] == pytest.approx(0.5, abs=0.01)
    from amrcomp.export.qat import qat_onnx

    record = qat_onnx(path, tmp_path / "tekbiyik.onnx", splits["test"].model_input()[:64])
    assert record["check"]["passed"] and record["ops"]["MaxPool"] == 4


def test_onnx_copy_agrees_with_the_tflite(tuned, splits, tmp_path):
    import onnx

    from amrcomp.export.qat import qat_onnx

    onnx_path = tmp_path / "pqat.onnx"
    record = qat_onnx(tuned["pqat"]["path"], onnx_path, splits["test"].model_input())
    check = record["check"]
    assert check["passed"] and check["agreement"] >= 0.99
    assert check["decisive_frames"] > 200 and check["decisive_agreement"] >= 0.99
    assert record["converter"].startswith("tf2onnx 1.17")
    graph = onnx.load(str(onnx_path)).graph
    assert ([i.name for i in graph.input], [o.name for o in graph.output]) == (["iq"], ["scores"])
    predict = runtimes.onnx_predictor(onnx_path, 1)  # float frames in, float scores out
    litert = runtimes.litert_predictor(tuned["pqat"]["path"])
    assert accuracy(predict, splits["test"]) == pytest.approx(
        accuracy(litert, splits["test"]), abs=0.01
    )
    assert not list(tmp_path.glob(".*tmp*"))


def test_onnx_not_offered_names_why_and_writes_nothing(tuned, splits, tmp_path):
    from amrcomp.export.qat import NotOffered, qat_onnx

    broken = tmp_path / "half.tflite"
    data = tuned["qat"]["path"].read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotOffered, match="tf2onnx .*from_tflite failed"):
        qat_onnx(broken, tmp_path / "half.onnx", splits["test"].model_input())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half.tflite"]


def test_offer_says_whether_tf2onnx_converts_the_file(tuned, tmp_path):
    from amrcomp.export.qat import offer

    made = offer(tuned["qat"]["path"])
    assert made["offered"] is True and made["converter"].startswith("tf2onnx 1.17")
    broken = tmp_path / "half.tflite"
    data = tuned["qat"]["path"].read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    refused = offer(broken)
    assert refused["offered"] is False and refused["converter"] == made["converter"]
    assert "tf2onnx 1.17" in refused["reason"] and "from_tflite failed" in refused["reason"]
    assert refused["reason"].endswith("LiteRT runs the .tflite")


def test_onnx_copy_needs_an_int8_file(pruned, splits, tmp_path):
    from amrcomp.export.qat import qat_onnx

    fp32 = tmp_path / "fp32.tflite"
    tflite.write_tflite(tflite.convert(pruned["model"], "fp32"), fp32)
    with pytest.raises(ValueError, match="not int8 in and out"):
        qat_onnx(fp32, tmp_path / "fp32.onnx", splits["test"].model_input())
    assert not (tmp_path / "fp32.onnx").exists()


@pytest.mark.e2e
def test_qat_rows_run_the_offered_copy_and_a_refused_file_is_not_offered(tiny_copy):
    from amrcomp.atomic import read_json, write_json
    from amrcomp.tablefile import read_table
    from conftest import snakemake

    results = tiny_copy / "results"
    for model in ("model1", "model2"):
        for variant in ("qat", "pqat-magnitude-50"):
            made = read_json(results / f"onnx/{model}/{variant}-int8.offer.json")
            assert made["offered"] is True and made["converter"].startswith("tf2onnx")
            assert read_json(results / f"onnx/{model}/{variant}-int8.check.json")["check"]["passed"]
            for backend in ("onnxruntime", "openvino"):
                row = read_json(results / f"bench/{backend}/{model}/{variant}-int8.json")
                assert row["deployed_file"] == f"results/onnx/{model}/{variant}-int8.onnx"
                assert row["status"] == "ok"
    # As if tf2onnx could not convert Model 1's qat file: its ONNX rows say why, nothing is built.
    reason = "no ONNX copy of this QAT .tflite (tf2onnx from_tflite failed: a test); LiteRT runs it"
    write_json(
        results / "onnx/model1/qat-int8.offer.json",
        {**made, "model": "model1", "variant": "qat", "offered": False, "reason": reason},
    )
    for stale in ("onnx", "check.json"):
        (results / f"onnx/model1/qat-int8.{stale}").unlink()
    proc = snakemake(tiny_copy, "results/front.csv")
    assert "export_qat_onnx" not in proc.stderr and "offer_qat_onnx" not in proc.stderr
    assert not (results / "onnx/model1/qat-int8.onnx").exists()
    for backend in ("onnxruntime", "openvino"):
        row = read_json(results / f"bench/{backend}/model1/qat-int8.json")
        assert row["status"] == "not_offered" and row["message"] == reason
        assert row["deployed_file"] is None and row["size_bytes"] is None
    front = read_table(results / "front.parquet")[0].set_index(["model", "variant", "dtype"])
    assert front.loc[("model1", "qat", "int8"), "fastest_backend"] == "litert"
    assert front.loc[("model2", "qat", "int8"), "throughput_fps"] > 0
