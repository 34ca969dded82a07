"""Training precision: bf16 where the host runs it natively, recorded, never in a saved model."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import mixed, records  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.models.io import load_model, save_model  # noqa: E402
from amrcomp.prune import finetune_precision, finetune_settings, prune_variant  # noqa: E402
from amrcomp.prune.filters import plan, shrink  # noqa: E402
from amrcomp.prune.unstructured import TFMOT_BF16  # noqa: E402
from amrcomp.settings import load_config  # noqa: E402
from amrcomp.tables import build  # noqa: E402
from amrcomp.tfsetup import keras  # noqa: E402
from amrcomp.train import train_baseline  # noqa: E402
from amrcomp.variants import parse_finetuned  # noqa: E402

LOG = logging.getLogger("test_mixed")
N_CLASSES = 4
SMALL = {"filters": (8, 8), "dense_units": 16}  # Model 1's architecture, a few thousand weights


def frames(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    # a class-dependent tone, so a few steps learn something and predictions are not all ties
    t = np.arange(128)
    x = np.stack([np.cos(0.2 * (labels[:, None] + 1) * t), np.sin(0.2 * (labels[:, None] + 1) * t)])
    x = np.moveaxis(x, 0, 1) + rng.normal(scale=0.5, size=(n, 2, 128))
    return Split(x.astype(np.float32) / 128, labels, np.zeros(n, dtype=np.int64))


def small_model():
    return build_model("oshea_cnn2", n_classes=N_CLASSES, **SMALL)


def mixed_layers(model) -> list[str]:
    """Layers whose saved config names a policy other than plain float32."""
    return [
        layer["config"]["name"]
        for layer in model.get_config()["layers"]
        if layer["config"].get("dtype") not in (None, "float32")
    ]


@pytest.mark.parametrize(
    "setting, cpu, gpus, used, reason",
    [
        ("auto", ["avx2", "avx512f", "avx512_bf16"], [], "bf16", "CPU flag avx512_bf16"),
        ("auto", ["avx512_bf16", "amx_bf16", "amx_int8"], [], "bf16", "CPU flag amx_bf16"),
        ("auto", ["avx2", "fma", "avx512f"], [], "fp32", "no CPU flag amx_bf16 or avx512_bf16"),
        ("auto", [], [], "fp32", "no GPU"),
        ("auto", ["avx2"], [("A100", (8, 0))], "bf16", "GPU A100 compute capability 8.0"),
        ("auto", ["amx_bf16"], [("T4", (7, 5))], "fp32", "7.5 < 8.0"),
        ("fp32", ["amx_bf16"], [], "fp32", "set to fp32 (auto would give bf16: CPU flag"),
        ("bf16", ["avx2"], [], "bf16", "set to bf16 (auto would give fp32: no GPU"),
        ("bf16", ["avx512_bf16"], [], "bf16", "set to bf16"),
    ],
)
def test_resolution_from_the_hosts_flags(setting, cpu, gpus, used, reason):
    record = mixed.resolve(setting, cpu, gpus)
    assert record["setting"] == setting and record["used"] == used
    assert reason in record["reason"]


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        mixed.resolve("fp16", [])


def test_recast_computes_in_bf16_with_a_float32_output_and_back():
    model = small_model()
    bf16 = mixed.recast(model, "bf16")
    assert bf16.get_layer("conv1").compute_dtype == "bfloat16"
    assert bf16.get_layer("conv1").variable_dtype == "float32"  # master weights stay float32
    assert bf16.get_layer("output").compute_dtype == "float32"  # softmax and loss in float32
    x = frames(16, 0).x[..., None]
    assert bf16(x).dtype == "float32"
    plain = mixed.recast(bf16, "fp32")
    assert not mixed_layers(plain) and mixed_layers(bf16)
    np.testing.assert_array_equal(plain.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bf16_training_saves_a_plain_float32_model_that_predicts_like_the_trained_one(tmp_path):
    train_settings = load_config(check=False)["models"]["model1"]["train"]
    settings = {
        "arch": "oshea_cnn2",
        "arch_params": SMALL,
        "train": {**train_settings, "epochs": 2, "batch_size": 64, "precision": "bf16"},
    }
    manifest = {"classes": list("abcd"), "frame_shape": [2, 128]}
    model, result = train_baseline("tiny", settings, manifest, frames(384, 1), frames(128, 2), LOG)
    assert result["used"]["precision"]["used"] == "bf16"
    path = tmp_path / "baseline.keras"
    save_model(model, path)
    loaded = load_model(path)
    assert not mixed_layers(loaded), "the file must not carry the mixed policy"
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    for saved, trained in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(saved, trained)
    x = frames(128, 3).x[..., None]
    saved, as_trained = (m.predict(x, verbose=0) for m in (loaded, mixed.recast(model, "bf16")))
    assert np.abs(saved - as_trained).max() < 0.05  # bf16 rounding only
    assert np.mean(saved.argmax(1) == as_trained.argmax(1)) > 0.9

    # the record the train rule writes, read back as Table II reads it
    record = tmp_path / "train.json"
    record.write_text(json.dumps({"model": "tiny", **result["used"]}))
    assert set(records.train_summary(record)["precision"]) == {"setting", "used", "reason"}
    row = build.table2([record], {"tiny": {"paper_name": None}}).iloc[0]
    assert row["precision"] == "bf16" and row["precision_reason"].startswith("set to bf16")


def test_a_train_record_without_its_precision_is_refused(tmp_path):
    record = tmp_path / "train.json"
    keys = dict.fromkeys(records.TRAIN_KEYS, 1)
    record.write_text(json.dumps(keys))
    with pytest.raises(records.RecordError, match="precision"):
        records.train_summary(record)


def prune(variant: str):
    tune = finetune_settings(
        {"epochs": 1, "batch_size": 64, "learning_rate": 1e-3}, seed=1, beta_1=0.9, beta_2=0.999
    )
    return prune_variant(
        small_model(),
        parse_finetuned(variant),
        frames(256, 1),
        frames(64, 2),
        N_CLASSES,
        tune,
        LOG,
        frequency=2,  # the schedule fires during the 4 steps
        input_scale=50.0,
        precision="bf16",
    )


def test_filters_fine_tune_runs_in_bf16_and_returns_a_float32_model():
    model, report = prune("filters-50")
    assert report["precision"]["used"] == "bf16"
    assert not mixed_layers(model)
    assert model.get_layer("conv1").kernel.shape[-1] == 4
    # the smaller model is rebuilt from the bf16 model's config, so it fine-tunes in bf16
    bf16 = mixed.recast(small_model(), "bf16")
    small = shrink(bf16, plan(bf16, 0.5, ())[0])
    assert small.get_layer("conv2").compute_dtype == "bfloat16"
    assert small.get_layer("output").compute_dtype == "float32"


@pytest.mark.parametrize("variant", ["magnitude-50", "m_by_n-50"])
def test_tfmot_fine_tunes_fall_back_to_fp32_and_say_why(variant):
    model, report = prune(variant)
    assert report["precision"] == {
        "setting": "bf16",
        "used": "fp32",
        "reason": report["precision"]["reason"],
    }
    assert report["precision"]["reason"].startswith(TFMOT_BF16)
    assert not mixed_layers(model)
    for row in report["layers"]:
        if row["pruned"]:
            assert row["achieved_sparsity"] == pytest.approx(0.5, abs=0.01)


def test_fall_back_only_where_tfmot_wraps_layers():
    bf16 = mixed.resolve("auto", ["avx512_bf16"])
    fp32 = mixed.resolve("auto", ["avx2"])
    assert finetune_precision("filters", bf16) == bf16
    assert finetune_precision("none", bf16) == bf16  # the dense control
    assert finetune_precision("magnitude", fp32) == fp32
    fallen = finetune_precision("m_by_n", bf16)
    assert fallen["used"] == "fp32" and fallen["setting"] == "auto"
    assert fallen["reason"].endswith("(otherwise bf16: CPU flag avx512_bf16)")


def test_tfmot_still_mishandles_bf16():
    """Why the fall-back exists. When this fails, tfmot has fixed its wrappers: measure the
    magnitude and m_by_n fine-tunes under bf16 and drop `finetune_precision`'s fall-back."""
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=100)

    def wrapped(**kwargs):
        def clone(layer):  # the wrapper takes the layer itself, weights and all
            if layer.name != "dense1":
                return layer
            return tfmot.sparsity.keras.prune_low_magnitude(layer, schedule, **kwargs)

        bf16 = mixed.recast(small_model(), "bf16")
        net = keras().models.clone_model(bf16, clone_function=clone)
        return net, net.get_layer("prune_low_magnitude_dense1")

    # 1. a wrapper in the default (float32) policy runs its bf16 layer in float32
    _, wrapper = wrapped()
    assert wrapper.output.dtype == "float32"
    # 2. a wrapper in the mixed policy rounds the float32 weights to bf16 in each training step
    net, wrapper = wrapped(dtype="mixed_bfloat16")
    net.compile(keras().optimizers.SGD(0.0), "categorical_crossentropy")  # no update at all
    before = wrapper.layer.kernel.numpy()
    data = frames(64, 4)
    labels = keras().utils.to_categorical(data.labels, N_CLASSES)
    net.fit(
        data.x[..., None],
        labels,
        batch_size=64,
        verbose=0,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
    )
    after = wrapper.layer.kernel.numpy()
    rounded = keras().backend.cast(keras().backend.cast(before, "bfloat16"), "float32").numpy()
    kept = after != 0  # weights a scheduled mask update may have zeroed do not count
    assert kept.mean() >= 0.5 and not np.array_equal(after[kept], before[kept])
    np.testing.assert_array_equal(after[kept], rounded[kept])
