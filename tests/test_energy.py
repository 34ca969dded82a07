"""QKeras qtools energy: the paper's figures, the per-layer profile, the sparsity-aware
extension."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(1, 0)

from amrcomp.energy import BITS, estimate  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.models.cost import layer_costs, totals  # noqa: E402
from amrcomp.settings import (  # noqa: E402
    all_variants,  # noqa: E402
    energy_settings,
    load_config,
)
from conftest import TINY, snakemake  # noqa: E402

# Paper, microjoules per inference (FP32 / FP16 / INT8).
PAPER_UJ = {
    "model1": {"fp32": 49.46, "fp16": 21.31, "int8": 11.91},
    "model2": {"fp32": 393.37, "fp16": 133.66, "int8": 49.95},
}
DTYPES = ("fp32", "fp16", "int8")


@pytest.fixture(scope="module")
def config():
    return load_config(check=False)


@pytest.fixture(scope="module")
def models(config):
    return {name: build_model(config["models"][name]["arch"]) for name in PAPER_UJ}


@pytest.fixture(scope="module")
def records(models, config):
    """Energy of both untrained models at every dtype (qtools counts from shapes: weights
    don't matter)."""
    return {
        (name, dt): estimate(m, energy_settings(config)[dt])
        for name, m in models.items()
        for dt in DTYPES
    }


@pytest.mark.parametrize("dtype", DTYPES)
def test_model2_reproduces_paper_exactly(records, dtype):
    assert abs(records["model2", dtype]["energy_uj"] - PAPER_UJ["model2"][dtype]) <= 0.005


@pytest.mark.parametrize("dtype", DTYPES)
def test_model1_within_ten_percent_of_paper(records, dtype):
    got, paper = records["model1", dtype]["energy_uj"], PAPER_UJ["model1"][dtype]
    assert abs(got - paper) / paper < 0.10, f"{dtype}: {got:.2f} uJ vs paper {paper} uJ"


def test_config_accumulators_are_the_papers(records):
    assert [records["model2", dt]["accumulator"] for dt in DTYPES] == ["fp32", "fp16", "int16"]
    assert all(r["process"] == "horowitz" for r in records.values())


def test_layer_profile_adds_up_to_total(records):
    for record in records.values():
        layers = record["layers"]
        assert (
            abs(sum(r["total_pj"] for r in layers) - record["energy_pj"]) < 1.0
        )  # qtools truncates to int
        for row in layers:
            counted = {
                "inputs": row["inputs_pj"],
                "outputs": row["outputs_pj"],
                "parameters": row["parameters_pj"],
                "op_cost": row["mac_pj"],
            }
            assert row["total_pj"] == pytest.approx(sum(counted[k] for k in row["counted"]))


def test_profile_lists_every_computing_layer(records):
    assert [r["layer"] for r in records["model1", "fp32"]["layers"]] == [
        "conv1",
        "conv2",
        "flatten",
        "dense1",
        "output",
    ]
    model2 = [r["layer"] for r in records["model2", "fp32"]["layers"]]
    assert [n for n in model2 if n.startswith(("conv", "pool", "dense", "output"))] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "conv3",
        "pool3",
        "conv4",
        "pool4",
        "dense1",
        "output",
    ]


def test_lower_precision_costs_less(records):
    for name in PAPER_UJ:
        e = [records[name, dt]["energy_pj"] for dt in DTYPES]
        assert e[0] > e[1] > e[2]


def test_dense_model_sparsity_aware_equals_qtools(records):
    for record in records.values():
        # random initial weights may hold a stray exact zero, hence approx
        assert all(r["density"] == pytest.approx(1.0, abs=1e-5) for r in record["layers"])
        assert record["sparsity_aware_energy_pj"] == pytest.approx(record["energy_pj"], rel=1e-5)


def test_bit_operations_follow_the_itu_convention(records, models):
    for (name, dt), record in records.items():
        macs = totals(layer_costs(models[name]))["macs"]
        assert record["bit_operations"] == pytest.approx(macs * BITS[dt] ** 2, rel=1e-5)
        assert record["weight_bits"] == record["activation_bits"] == BITS[dt]


def test_zeroed_weights_lower_only_the_sparsity_aware_figure(models, records, config):
    model = models["model1"]
    dense_weights = model.get_weights()
    try:
        rng = np.random.default_rng(0)
        for layer in model.layers:
            if layer.weights:
                kernel, *rest = layer.get_weights()
                kernel = np.where(rng.random(kernel.shape) < 0.5, 0.0, kernel).astype(kernel.dtype)
                layer.set_weights([kernel, *rest])
        sparse = estimate(model, energy_settings(config)["fp32"])
    finally:
        model.set_weights(dense_weights)
    dense = records["model1", "fp32"]
    assert sparse["energy_pj"] == dense["energy_pj"]  # qtools counts shapes only
    assert sparse["sparsity_aware_energy_pj"] < 0.9 * dense["sparsity_aware_energy_pj"]
    assert sparse["bit_operations"] == pytest.approx(0.5 * dense["bit_operations"], rel=0.02)
    densities = {r["layer"]: r["density"] for r in sparse["layers"]}
    assert densities["dense1"] == pytest.approx(0.5, abs=0.01)
    assert densities["flatten"] == 1.0
    for row in sparse["layers"]:
        assert row["sparsity_aware_pj"] <= row["total_pj"] + 1e-6


def test_accumulators_left_out_take_the_schema_default_and_unknown_dtypes_fail(
    models, config, tmp_path
):
    override = tmp_path / "acc.yaml"
    override.write_text("energy: {accumulators: {fp32: fp16}}\n")
    settings = energy_settings(load_config(override, check=False))
    assert settings["fp32"]["accumulator"] == "fp16" and settings["int8"]["accumulator"] == "int16"
    with pytest.raises(ValueError, match="unknown energy dtype"):
        estimate(models["model1"], {**settings["int8"], "quantizer": "dynamic"})


# ---- end to end on the tiny run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def energy_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run with every energy estimate built (a no-op when the default
    target has them)."""
    config = load_config(TINY, check=False)
    targets = [
        f"results/energy/{m}/{v}-{d}.json"
        for m in config["models"]
        for v in all_variants(config)
        for d in config["energy"]["dtypes"]
    ]
    workdir = tmp_path_factory.mktemp("energy_run") / "run"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    snakemake(workdir, *targets)
    return workdir, config, targets


@pytest.mark.e2e
def test_energy_artifacts(energy_run):
    workdir, config, targets = energy_run
    keys = {
        "model",
        "variant",
        "dtype",
        "quantizer",
        "accumulator",
        "process",
        "energy_pj",
        "energy_uj",
        "sparsity_aware_energy_pj",
        "sparsity_aware_energy_uj",
        "bit_operations",
        "weight_memory_bits",
        "weight_bits",
        "activation_bits",
        "layers",
    }
    for target in targets:
        record = json.loads((workdir / target).read_text())
        assert keys <= set(record), target
        assert record["energy_uj"] > 0 and record["layers"]
        assert record["sparsity_aware_energy_pj"] <= record["energy_pj"] + 1.0


@pytest.mark.e2e
def test_pruned_variants_keep_qtools_energy_but_lower_sparsity_aware(energy_run):
    workdir, config, _ = energy_run
    for model in config["models"]:
        base = json.loads((workdir / f"results/energy/{model}/baseline-fp32.json").read_text())
        pruned = json.loads(
            (workdir / f"results/energy/{model}/magnitude-50-fp32.json").read_text()
        )
        assert pruned["energy_pj"] == base["energy_pj"]
        assert pruned["sparsity_aware_energy_pj"] < base["sparsity_aware_energy_pj"]
