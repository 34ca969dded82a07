"""Pruning stage: magnitude, 2:4 and filter pruning on small models, then the rule's artifacts."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.models.cost import layer_costs, totals  # noqa: E402
from amrcomp.prune import finetune_settings, prune_variant  # noqa: E402
from amrcomp.prune.filters import l1_keep, plan, shrink  # noqa: E402
from amrcomp.prune.unstructured import m_by_n_holds  # noqa: E402
from amrcomp.settings import model_finetune  # noqa: E402
from amrcomp.variants import parse_finetuned as parse_variant  # noqa: E402
from conftest import random_frames  # noqa: E402

LOG = logging.getLogger("test_prune")
N_CLASSES = 4
# Small versions of both architectures: every kernel a multiple of 4 weights, steps << frequency.
SMALL = {
    "oshea_cnn2": {"filters": (8, 8), "dense_units": 16},
    "tekbiyik": {"filters": (8, 8, 8, 8), "dense_units": 16},
}


def frames(n: int, seed: int) -> Split:
    return random_frames(n, seed, N_CLASSES)


def small_model(arch: str = "oshea_cnn2"):
    return build_model(arch, n_classes=N_CLASSES, **SMALL[arch])


def run(variant: str, arch: str = "oshea_cnn2", skip=(), frequency: int = 100, epochs: int = 1):
    """Prune a small random model with a one-epoch fine-tune of 4 steps (fewer than `frequency`)."""
    tune = finetune_settings({"epochs": epochs, "batch_size": 32, "learning_rate": 1e-3}, seed=1)
    return prune_variant(
        small_model(arch),
        parse_variant(variant),
        frames(128, 1),
        frames(64, 2),
        N_CLASSES,
        tune,
        LOG,
        skip_layers=skip,
        frequency=frequency,
    )


def kernels(model) -> dict[str, np.ndarray]:
    return {
        layer.name: layer.kernel.numpy()
        for layer in model.layers
        if type(layer).__name__ in ("Conv2D", "Dense")
    }


@pytest.mark.parametrize("sparsity", [25, 50, 75])
def test_magnitude_reaches_target_per_layer_even_when_schedule_never_fires(sparsity):
    model, report = run(f"magnitude-{sparsity}", frequency=100)
    target = sparsity / 100
    assert report["pruned_layers"] == ["conv1", "conv2", "dense1", "output"]
    for name, kernel in kernels(model).items():
        achieved = 1 - np.count_nonzero(kernel) / kernel.size
        assert abs(achieved - target) <= 0.01, (name, achieved)
    assert {r["layer"]: r["achieved_sparsity"] for r in report["layers"]} == pytest.approx(
        {n: 1 - np.count_nonzero(k) / k.size for n, k in kernels(model).items()}
    )
    assert report["totals_after"]["effective_macs"] < report["totals_before"]["effective_macs"]
    assert report["finetune"]["epochs_run"] == 1 and len(report["history"]) == 1


def test_magnitude_with_frequent_schedule_updates_keeps_target():
    model, report = run("magnitude-50", arch="tekbiyik", frequency=1, epochs=2)
    for row in report["layers"]:
        assert row["pruned"] and abs(row["achieved_sparsity"] - 0.5) <= 0.01, row


def test_skip_list_is_honoured():
    model, report = run("magnitude-50", skip=["output", "conv1"])
    k = kernels(model)
    assert np.count_nonzero(k["output"]) == k["output"].size
    assert np.count_nonzero(k["conv1"]) == k["conv1"].size
    assert abs(1 - np.count_nonzero(k["dense1"]) / k["dense1"].size - 0.5) <= 0.01
    assert report["not_pruned"] == {
        "conv1": "listed in prune.skip_layers",
        "output": "listed in prune.skip_layers",
    }
    _, filters_report = run("filters-50", skip=["conv2"])
    units = {r["layer"]: r["units_after"] for r in filters_report["layers"]}
    assert units == {"conv1": 4, "conv2": 8, "dense1": 8, "output": N_CLASSES}


def test_unknown_skip_layer_is_an_error():
    with pytest.raises(ValueError, match="skip_layers.*nope"):
        run("magnitude-50", skip=["nope"])


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_m_by_n_pattern_and_single_channel_conv_reported(arch):
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.sparsity.keras.pruning_utils import (
        is_pruned_m_by_n,
    )

    model, report = run("m_by_n-50", arch=arch)
    assert "conv1" not in report["pruned_layers"]
    assert "input dimension 1 < 4" in report["not_pruned"]["conv1"]
    k = kernels(model)
    assert np.count_nonzero(k["conv1"]) == k["conv1"].size
    for name in report["pruned_layers"]:
        kernel = k[name]
        # every group of 4 consecutive input-dimension weights has >= 2 zeros
        groups = np.moveaxis(kernel, -2, -1).reshape(-1, 4)
        assert np.all(np.count_nonzero(groups, axis=1) <= 2), name
        assert is_pruned_m_by_n(tf.constant(kernel), (2, 4)), name  # tfmot's own checker agrees
        assert 1 - np.count_nonzero(kernel) / kernel.size == pytest.approx(0.5)


def test_m_by_n_checker_rejects_dense_groups():
    kernel = np.ones((1, 8, 8, 3), dtype=np.float32)
    assert not m_by_n_holds(kernel, (2, 4))
    kernel[..., 0:2, :] = 0
    kernel[..., 4:6, :] = 0
    assert m_by_n_holds(kernel, (2, 4))


def test_filters_removes_lowest_l1_and_shrinks_macs():
    model, report = run("filters-50")
    rows = {r["layer"]: r for r in layer_costs(model)}
    parent = {r["layer"]: r for r in layer_costs(small_model())}
    assert [rows[n]["units"] for n in ("conv1", "conv2", "dense1", "output")] == [
        4,
        4,
        8,
        N_CLASSES,
    ]
    # conv2 loses half its inputs and half its outputs: a quarter of its MACs remain
    assert rows["conv2"]["macs"] * 4 == parent["conv2"]["macs"]
    assert rows["conv1"]["macs"] * 2 == parent["conv1"]["macs"]
    assert rows["dense1"]["macs"] * 4 == parent["dense1"]["macs"]
    assert (
        report["totals_after"]["params"]
        == totals(list(rows.values()))["params"]
        < report["totals_before"]["params"] / 3
    )
    assert report["not_pruned"] == {"output": "output layer: keeps one unit per class"}


@pytest.mark.parametrize("variant", ["filters-50", "magnitude-50"])
def test_saved_pruned_model_holds_weights_only(variant, tmp_path):
    """No optimizer state in the file (it would triple a fine-tuned model's size) and plain
    tf_keras loads it."""
    from amrcomp.models.io import save_model

    model, _ = run(variant)
    path = tmp_path / "m.keras"
    save_model(model, path)
    assert path.stat().st_size < 4 * model.count_params() + 64_000
    loaded = tfsetup.keras().models.load_model(path, compile=False)
    x = frames(8, 5).model_input()
    np.testing.assert_array_equal(
        loaded(x, training=False).numpy(), model(x, training=False).numpy()
    )


def test_l1_keep_picks_largest_norms_in_order():
    kernel = np.zeros((1, 2, 1, 6), dtype=np.float32)
    kernel[..., :] = np.array([5.0, 0.1, 3.0, 0.2, 4.0, 0.3])
    assert l1_keep(kernel, 0.5).tolist() == [0, 2, 4]
    assert l1_keep(kernel, 0.0).tolist() == list(range(6))


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_filters_zero_fraction_reproduces_parent_exactly(arch):
    parent = small_model(arch)
    x = frames(16, 3).model_input()
    keep, _ = plan(parent, 0.0, ())
    child = shrink(parent, keep)
    np.testing.assert_array_equal(
        child(x, training=False).numpy(), parent(x, training=False).numpy()
    )


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_filters_removing_dead_units_keeps_outputs(arch):
    """Zero half the filters of each hidden layer: they have the lowest L1 norm, and removing them
    (with the matching input rows, through Flatten) must not change the outputs."""
    parent = small_model(arch)
    rng = np.random.default_rng(0)
    hidden = [layer for layer in parent.layers if type(layer).__name__ in ("Conv2D", "Dense")][:-1]
    for layer in hidden:
        kernel, bias = layer.get_weights()
        dead = rng.choice(kernel.shape[-1], kernel.shape[-1] // 2, replace=False)
        kernel[..., dead] = 0.0
        bias[dead] = 0.0
        bias[np.setdiff1d(np.arange(len(bias)), dead)] = 0.05
        layer.set_weights([kernel, bias])
    keep, _ = plan(parent, 0.5, ())
    child = shrink(parent, keep)
    assert child.count_params() < parent.count_params()
    x = frames(16, 4).model_input()
    np.testing.assert_allclose(
        child(x, training=False).numpy(), parent(x, training=False).numpy(), rtol=1e-5, atol=1e-6
    )


def test_filters_rejects_branching_models():
    keras = tfsetup.keras()
    inputs = keras.layers.Input((2, 128, 1))
    a = keras.layers.Conv2D(4, (1, 3), padding="same")(inputs)
    b = keras.layers.Conv2D(4, (1, 3), padding="same")(inputs)
    out = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Add()([a, b])))
    with pytest.raises(ValueError, match="single-chain"):
        plan(keras.Model(inputs, out), 0.5, ())


def test_control_is_the_pruned_variants_fine_tune_without_pruning():
    """One code path: the control's fine-tune record is a magnitude variant's, and it prunes
    nothing (every weight stays, the model keeps its layers)."""
    from amrcomp.variants import parse_finetuned

    tune = finetune_settings({"epochs": 1, "batch_size": 32, "learning_rate": 1e-3}, seed=1)
    control, report = prune_variant(
        small_model(), parse_finetuned("control-filters"), frames(128, 1), frames(64, 2),
        N_CLASSES, tune, LOG, frequency=100, input_scale=3.0,
    )  # fmt: skip
    _, pruned = run("magnitude-50")
    assert report["variant"] == "control-filters" and report["method"] == "none"
    assert report["layers"] == [] and report["pruned_layers"] == []
    assert report["totals_after"]["nonzero_params"] == report["totals_before"]["params"]
    assert report["budget"]["pruning_schedule"] == "none (dense control)"
    recipe = ("epochs", "steps", "frames", "learning_rate")
    assert {k: report["budget"][k] for k in recipe} == {k: pruned["budget"][k] for k in recipe}
    assert report["settings"]["finetune"] == pruned["settings"]["finetune"]
    assert report["distillation"] == pruned["distillation"] == {"enabled": False}
    assert report["finetune"]["input_scale"] == 3.0  # unfolded for the fine-tune, as for them
    assert [layer.name for layer in control.layers] == [
        layer.name for layer in small_model().layers
    ]


@pytest.mark.parametrize(
    "name", ["baseline", "control", "m_by_n-75", "filters-0", "magnitude-100", "prune-50"]
)
def test_bad_variant_names(name):
    with pytest.raises(ValueError):
        parse_variant(name)


# ---------------------------------------------------------------- rule-level (tiny config)


def _pruned_targets(config: dict) -> list[str]:
    from amrcomp.variants import pruned_variants

    return [
        f"results/models/{m}/pruned-{v}.keras"
        for m in config["models"]
        for v in pruned_variants(config["prune"])
    ]


@pytest.fixture(scope="module")
def pruned_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run with every pruned variant built and evaluated
    (a no-op if tiny_run has them)."""
    from amrcomp.settings import load_config
    from conftest import snakemake

    workdir = tmp_path_factory.mktemp("pruned") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    config = load_config(Path(__file__).parents[1] / "config" / "tiny.yaml", check=False)
    targets = _pruned_targets(config)
    evals = [
        t.replace("results/models/", "results/eval/")
        .replace("/pruned-", "/")
        .replace(".keras", "-fp32.json")
        for t in targets
    ]
    snakemake(workdir, *targets, *evals)
    return workdir, config


@pytest.mark.e2e
def test_pruned_artifacts_load_and_match_their_json(pruned_run):
    workdir, config = pruned_run
    keras = tfsetup.keras()
    for target in _pruned_targets(config):
        path = workdir / target
        summary = json.loads(path.with_suffix(".json").read_text())
        history = (
            path.with_name(path.name.replace(".keras", ".history.csv"))
            .read_text()
            .strip()
            .splitlines()
        )
        model = keras.models.load_model(path, compile=False)  # plain tf_keras, no custom objects
        variant = parse_variant(summary["variant"])
        assert (
            summary["method"] == variant.method and summary["target_sparsity"] == variant.fraction
        )
        finetune = model_finetune(config, path.parent.name, variant.method)
        assert len(history) == 1 + summary["finetune"]["epochs_run"] == 1 + finetune["epochs"]
        assert (
            summary["finetune"]["train_frames"] == finetune["frames"]
        )  # the seeded draw, not the whole split
        costs = layer_costs(model)
        assert totals(costs) == summary["totals_after"]
        by_layer = {r["layer"]: r for r in costs}
        for row in summary["layers"]:
            if variant.method == "filters":
                assert by_layer[row["layer"]]["units"] == row["units_after"]
            else:
                assert by_layer[row["layer"]]["kernel_sparsity"] == pytest.approx(
                    row["achieved_sparsity"]
                )
                if row["pruned"]:
                    assert abs(row["achieved_sparsity"] - variant.fraction) <= 0.01
        evaluation = json.loads(
            (workdir / "results/eval" / path.parent.name / f"{variant.name}-fp32.json").read_text()
        )
        assert evaluation["totals"] == summary["totals_after"]
        assert evaluation["size_zip_bytes"] < evaluation["size_bytes"]


@pytest.mark.e2e
def test_adding_a_sparsity_builds_only_the_new_variants(pruned_run, tmp_path):
    from conftest import TINY, snakemake

    workdir, config = pruned_run
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy, symlinks=True)
    extra = tmp_path / "more.yaml"
    more = {"prune": {"sparsities": [*config["prune"]["sparsities"], 75]}}
    extra.write_text(yaml.safe_dump(more))
    config["prune"]["sparsities"] = more["prune"]["sparsities"]
    targets = _pruned_targets(config)
    proc = snakemake(copy, "-n", *targets, configfiles=(TINY, extra))
    outputs = sorted(
        re.findall(r"^\s*output: (\S+?\.keras)", proc.stdout + proc.stderr, flags=re.M)
    )
    expected = sorted(
        f"results/models/{m}/pruned-{method}-75.keras"
        for m in config["models"]
        for method in config["prune"]["methods"]
        if method != "m_by_n"
    )
    assert outputs == expected


@pytest.mark.e2e
def test_control_has_the_recipe_of_a_pruned_variant_on_the_tiny_config(tmp_path):
    """Built by the workflow (rule control) with distillation on: the same frames, steps,
    learning rate, seed, input scale and distillation as the model's magnitude variant."""
    from amrcomp.settings import load_config
    from conftest import TINY, snakemake

    overlay = tmp_path / "distill.yaml"
    distill = {"enabled": True, "alpha": 0.5, "temperature": 4.0}
    overlay.write_text(yaml.safe_dump({"prune": {"finetune": {"distill": distill}}}))
    models = tmp_path / "work" / "results" / "models" / "model1"
    targets = [
        f"results/models/model1/{v}.json" for v in ("control-magnitude", "pruned-magnitude-50")
    ]
    snakemake(tmp_path / "work", *targets, configfiles=(TINY, overlay))
    control, pruned = (json.loads((models / f"{v}.json").read_text()) for v in
                       ("control-magnitude", "pruned-magnitude-50"))  # fmt: skip
    finetune = model_finetune(load_config(TINY, overlay), "model1", "magnitude")
    for summary in (control, pruned):
        assert summary["distillation"] == {**distill, "enabled": True}
        assert summary["finetune"]["train_frames"] == finetune["frames"]  # the seeded draw
        assert summary["finetune"]["loss"] == "DistillationLoss"
    recipe = ("epochs", "steps", "frames", "learning_rate")
    assert {k: control["budget"][k] for k in recipe} == {k: pruned["budget"][k] for k in recipe}
    assert control["settings"]["finetune"] == pruned["settings"]["finetune"]
    assert control["settings"]["input_scale"] == pruned["settings"]["input_scale"]
    assert control["budget"]["pruning_schedule"] == "none (dense control)"
    history = (models / "control-magnitude.history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + finetune["epochs"]
    assert (models / "control-magnitude.keras").stat().st_size > 0


@pytest.mark.parametrize("variant", ["magnitude-50", "filters-50"])
def test_fine_tune_sees_the_baselines_input_scale_and_folds_it_back(variant):
    # A baseline trained with input scale 100 holds kernel*100 in conv1; the fine-tune must run on
    # the unfolded kernel with frames*100, and the saved model must take raw frames again.
    baseline = small_model()
    trained_conv1 = np.abs(baseline.get_layer("conv1").kernel.numpy()).mean()
    conv1 = baseline.get_layer("conv1")
    conv1.set_weights([conv1.get_weights()[0] * 100.0, conv1.get_weights()[1]])
    tune = finetune_settings({"epochs": 1, "batch_size": 32, "learning_rate": 1e-9}, seed=1)
    x = frames(128, 1)
    model, report = prune_variant(
        baseline, parse_variant(variant), x, frames(64, 2), N_CLASSES, tune, LOG, input_scale=100.0
    )
    assert report["finetune"]["input_scale"] == 100.0 and report["settings"]["input_scale"] == 100.0
    kernel = model.get_layer("conv1").kernel.numpy()
    assert np.abs(kernel[kernel != 0]).mean() > 50 * trained_conv1  # folded back, not left at 1x
    if variant.startswith("magnitude"):  # lr ~0: outputs match the masked baseline on raw frames
        masked = small_model()
        masked.set_weights(
            [
                np.where(k_new == 0, 0, k_old)
                for k_new, k_old in zip(model.get_weights(), baseline.get_weights())
            ]
        )
        np.testing.assert_allclose(
            model.predict(x.model_input(), verbose=0),
            masked.predict(x.model_input(), verbose=0),
            rtol=1e-3,
            atol=1e-5,
        )
