"""TFLite quantisation: tensor types in the flatbuffer, sizes, batched LiteRT inference,
artifacts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import quantize, runtimes  # noqa: E402
from amrcomp import tflite as tflite_files  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.scoring import evaluate, predict_classes  # noqa: E402
from amrcomp.settings import (
    all_variants,  # noqa: E402
    load_config,  # noqa: E402
)
from conftest import TINY, snakemake  # noqa: E402

N_FRAMES = 100


@pytest.fixture(scope="module")
def frames() -> Split:
    """Random I/Q frames scaled like the data set's (each frame has unit L1 norm)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N_FRAMES, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return Split(x=x, labels=rng.integers(0, 11, N_FRAMES), snr=rng.choice([-2, 0, 2], N_FRAMES))


@pytest.fixture(scope="module")
def model():
    tfsetup.configure(2, 0)
    return build_model("oshea_cnn2")


@pytest.fixture(scope="module")
def keras_scores(model, frames):
    return model(frames.model_input(), training=False).numpy()


@pytest.fixture(scope="module")
def tflite(model, frames, tmp_path_factory):
    """Model 1 (random weights) converted to every dtype; int8 calibrated on 32 of the frames."""
    out = tmp_path_factory.mktemp("tflite")
    calibration = quantize.representative_frames(frames, 32, seed=0)
    paths = {}
    for dtype in tflite_files.DTYPES:
        paths[dtype] = out / f"model1-{dtype}.tflite"
        tflite_files.write_tflite(
            tflite_files.convert(model, dtype, calibration if dtype == "int8" else None),
            paths[dtype],
        )
    return paths


def test_fp32_is_float_throughout(tflite):
    types = runtimes.tensor_types(tflite["fp32"])
    assert (types["input_dtype"], types["output_dtype"], types["weight_dtypes"]) == (
        "float32",
        "float32",
        ["float32"],
    )


def test_fp16_stores_float16_weights(tflite):
    types = runtimes.tensor_types(tflite["fp16"])
    assert types["weight_dtypes"] == ["float16"]
    assert types["input_dtype"] == types["output_dtype"] == "float32"
    assert "DEQUANTIZE" in types["operators"]


def test_dynamic_has_int8_weights_and_float_io(tflite):
    types = runtimes.tensor_types(tflite["dynamic"])
    assert "int8" in types["kernel_dtypes"]
    assert types["input_dtype"] == types["output_dtype"] == "float32"
    assert (
        types["constant_bytes"]["int8"] > 0.95 * types["weight_bytes"]
    )  # only biases and tiny kernels stay float


def test_int8_is_full_integer(tflite):
    types = runtimes.tensor_types(tflite["int8"])
    assert (types["input_dtype"], types["output_dtype"]) == ("int8", "int8")
    assert types["kernel_dtypes"] == ["int8"]
    assert set(types["weight_dtypes"]) == {"int8", "int32"}  # int32 biases
    assert "float32" not in types["constant_bytes"] and "DEQUANTIZE" not in types["operators"]


def test_sizes_shrink_as_expected(tflite):
    size = {dt: p.stat().st_size for dt, p in tflite.items()}
    assert 1.8 < size["fp32"] / size["fp16"] < 2.2
    for dtype in ("dynamic", "int8"):
        assert 3.6 < size["fp32"] / size[dtype] < 4.4, f"{dtype}: {size}"


def test_fp32_batched_evaluation_equals_keras(tflite, frames, keras_scores):
    predict = runtimes.litert_predictor(tflite["fp32"], threads=2)
    assert np.abs(predict(frames.model_input()) - keras_scores).max() < 1e-5
    predicted = predict_classes(
        predict, frames, batch_size=32
    )  # 32+32+32+4: the last batch is short
    assert (predicted == keras_scores.argmax(axis=1)).all()
    record = evaluate(predict, frames, [str(i) for i in range(11)], batch_size=32)
    assert record["accuracy"] == pytest.approx(
        float((keras_scores.argmax(1) == frames.labels).mean())
    )


@pytest.mark.parametrize("dtype", ["fp16", "dynamic"])
def test_reduced_precision_float_io_stays_close(tflite, frames, keras_scores, dtype):
    scores = runtimes.litert_predictor(tflite[dtype])(frames.model_input())
    assert np.abs(scores - keras_scores).max() < 1e-3


def test_int8_input_quantised_and_output_dequantised(tflite, frames, keras_scores):
    scores = runtimes.litert_predictor(tflite["int8"])(frames.model_input())
    assert scores.dtype == np.float32 and scores.shape == keras_scores.shape
    assert np.abs(scores.sum(axis=1) - 1.0).max() < 0.05  # dequantised softmax, not raw int8 codes
    assert np.abs(scores - keras_scores).max() < 0.02


def test_batch_size_does_not_change_results(tflite, frames):
    predict = runtimes.litert_predictor(tflite["dynamic"])
    whole = predict(frames.model_input())
    singles = np.concatenate([predict(frames.model_input(i, i + 1)) for i in range(5)])
    np.testing.assert_allclose(singles, whole[:5], atol=1e-6)
    np.testing.assert_allclose(predict(frames.model_input()), whole)


def test_predictor_rejects_wrong_frame_shape(tflite):
    predict = runtimes.litert_predictor(tflite["fp32"])
    with pytest.raises(ValueError, match="takes frames of shape"):
        predict(np.zeros((4, 2, 64, 1), np.float32))


def test_calibration_draw_is_seeded_distinct_and_capped():
    from amrcomp.frames import draw_indices

    a = draw_indices(1000, 64, seed=3)
    assert len(a) == 64 and len(np.unique(a)) == 64 and (np.diff(a) > 0).all()
    np.testing.assert_array_equal(a, draw_indices(1000, 64, seed=3))
    assert not np.array_equal(a, draw_indices(1000, 64, seed=4))
    np.testing.assert_array_equal(draw_indices(10, 64, seed=3), np.arange(10))
    with pytest.raises(ValueError, match="empty"):
        draw_indices(0, 64, seed=3)


def test_bad_requests_are_clear_errors(model, tmp_path):
    with pytest.raises(ValueError, match="calibration frames"):
        tflite_files.convert(model, "int8", None)
    with pytest.raises(ValueError, match="unknown TFLite dtype"):
        tflite_files.convert(model, "int4")
    with pytest.raises(FileNotFoundError, match="quantize rule"):
        runtimes.litert_predictor(tmp_path / "missing.tflite")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        runtimes.tensor_types(tmp_path / "junk.tflite")


# ---- end to end on the tiny run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def quantize_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run with every TFLite evaluation built (a no-op when the
    default target has them)."""
    config = load_config(TINY, check=False)
    keys = [
        (m, v, d)
        for m in config["models"]
        for v in all_variants(config)
        for d in config["quantize"]["dtypes"]
    ]
    workdir = tmp_path_factory.mktemp("quantize_run") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    snakemake(workdir, *(f"results/eval/tflite/{m}/{v}-{d}.json" for m, v, d in keys))
    return workdir, keys


@pytest.mark.e2e
def test_tflite_artifacts_exist_and_load(quantize_run):
    workdir, keys = quantize_run
    expected_input = {"fp32": "float32", "fp16": "float32", "dynamic": "float32", "int8": "int8"}
    for model, variant, dtype in keys:
        path = workdir / f"results/tflite/{model}/{variant}-{dtype}.tflite"
        types = runtimes.tensor_types(path)
        assert types["input_dtype"] == expected_input[dtype], path
        scores = runtimes.litert_predictor(path)(np.zeros((3, 2, 128, 1), np.float32))
        assert scores.shape[0] == 3 and np.isfinite(scores).all()


@pytest.mark.e2e
def test_tflite_evaluations_have_every_field(quantize_run):
    workdir, keys = quantize_run
    fields = {
        "accuracy",
        "accuracy_pct",
        "accuracy_per_snr",
        "confusion",
        "n_frames",
        "model",
        "variant",
        "dtype",
        "backend",
        "size_bytes",
        "size_zip_bytes",
        "input_dtype",
        "output_dtype",
        "weight_dtypes",
    }
    for model, variant, dtype in keys:
        record = json.loads(
            (workdir / f"results/eval/tflite/{model}/{variant}-{dtype}.json").read_text()
        )
        assert fields <= set(record), (model, variant, dtype)
        assert (record["model"], record["variant"], record["dtype"], record["backend"]) == (
            model,
            variant,
            dtype,
            "litert",
        )
        assert 0.0 <= record["accuracy"] <= 1.0 and record["n_frames"] == sum(
            map(sum, record["confusion"])
        )
        keras_path = workdir / f"results/eval/{model}/{variant}-fp32.json"
        if dtype == "fp32" and keras_path.exists():
            keras = json.loads(keras_path.read_text())
            assert record["n_frames"] == keras["n_frames"]
            assert (
                abs(record["accuracy"] - keras["accuracy"]) < 0.01
            )  # same fp32 model, another runtime
