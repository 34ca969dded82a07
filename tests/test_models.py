"""Both paper architectures match Table I exactly, per layer, and their MAC counts (Table V);
a new architecture joins the workflow as one module plus a config entry."""

import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp.models import ARCHITECTURES, build_model, module_path  # noqa: E402
from amrcomp.models.cost import bit_operations, layer_costs, totals  # noqa: E402

TABLE_I = {
    "oshea_cnn2": [("conv1", 450), ("conv2", 40050), ("dense1", 1549056), ("output", 2827)],
    "tekbiyik": [
        ("conv1", 4352),
        ("conv2", 524416),
        ("conv3", 131136),
        ("conv4", 65600),
        ("dense1", 131200),
        ("output", 1419),
    ],
}
TOTAL_PARAMS = {"oshea_cnn2": 1_592_383, "tekbiyik": 858_123}
TOTAL_MACS = {"oshea_cnn2": 6_494_016, "tekbiyik": 78_775_680}


@pytest.mark.parametrize("arch", sorted(TABLE_I))
def test_parameters_per_layer_match_table_one(arch):
    rows = layer_costs(build_model(arch))
    assert [(r["layer"], r["params"]) for r in rows] == TABLE_I[arch]
    assert totals(rows)["params"] == TOTAL_PARAMS[arch]


@pytest.mark.parametrize("arch", sorted(TABLE_I))
def test_mac_counts(arch):
    # Seeded: an unseeded initialiser draws an exact 0.0 weight now and then, one MAC fewer.
    from amrcomp.tfsetup import keras

    keras().utils.set_random_seed(1)
    rows = layer_costs(build_model(arch))
    assert totals(rows)["macs"] == TOTAL_MACS[arch]
    assert totals(rows)["effective_macs"] == TOTAL_MACS[arch]


def test_model1_second_conv_output_shape():
    rows = {r["layer"]: r for r in layer_costs(build_model("oshea_cnn2"))}
    assert rows["conv2"]["output_shape"] == "1x121x50"
    assert rows["conv2"]["macs"] == 121 * 50 * 2 * 8 * 50


def test_zeroed_kernel_lowers_effective_macs_and_bit_operations():
    model = build_model("oshea_cnn2")
    dense = model.get_layer("dense1")
    kernel, bias = dense.get_weights()
    kernel[: kernel.shape[0] // 2] = 0.0
    kernel[kernel.shape[0] // 2 :] = 0.1  # no random weight may happen to be 0.0 exactly
    dense.set_weights([kernel, bias])
    rows = {r["layer"]: r for r in layer_costs(model)}
    assert rows["dense1"]["kernel_sparsity"] == pytest.approx(0.5)
    assert rows["dense1"]["effective_macs"] == rows["dense1"]["macs"] // 2
    full = bit_operations(layer_costs(build_model("oshea_cnn2")), 32, 32)
    half = bit_operations(list(rows.values()), 32, 32)
    assert half["bit_operations"] < full["bit_operations"]


def test_output_softmax_and_input_shape():
    for arch in ARCHITECTURES:
        model = build_model(arch)
        assert model.input_shape == (None, 2, 128, 1)
        assert model.output_shape == (None, 11)
        assert model.layers[-1].activation.__name__ == "softmax"


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("resnet")
    with pytest.raises(ValueError, match="unknown architecture"):
        module_path("resnet")


def test_module_path_points_at_the_architecture_source():
    assert module_path("tekbiyik").endswith("amrcomp/models/tekbiyik.py")


NEW_ARCHITECTURE = '''"""A two-layer perceptron: the smallest model the workflow can train."""

from amrcomp.tfsetup import keras

LAYER_TYPES = frozenset({"InputLayer", "Flatten", "Dense"})


def build(input_shape=(2, 128, 1), n_classes=11, units=16):
    layers = keras().layers
    inputs = layers.Input(shape=input_shape, name="iq")
    x = layers.Dense(units, activation="relu", name="dense1")(layers.Flatten()(inputs))
    outputs = layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras().Model(inputs, outputs, name="tiny_mlp")
'''


@pytest.mark.e2e
def test_a_new_model_is_one_module_plus_a_config_entry(tmp_path):
    """CONTRIBUTING's promise, kept: drop a module into amrcomp/models/, name it in the config,
    and the workflow trains and evaluates it with no other change."""
    import json
    import os
    import shutil
    import subprocess

    from conftest import ROOT, SNAKEMAKE

    repo = tmp_path / "repo"
    skip = (".venv", ".git", "results", "runs", ".snakemake", "__pycache__", ".pytest_cache")
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(*skip))
    (repo / "workflow" / "amrcomp" / "models" / "tiny_mlp.py").write_text(NEW_ARCHITECTURE)
    entry = tmp_path / "model3.yaml"
    entry.write_text(
        "models:\n  model3:\n    arch: tiny_mlp\n    train: {epochs: 1, batch_size: 64}\n"
    )
    target = "results/eval/model3/baseline-fp32.json"
    cmd = [SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp_path / "w")]
    cmd += ["--cores", "2", target, "--configfile", str(repo / "config" / "tiny.yaml"), str(entry)]
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}  # the copy's package, not ours
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    record = json.loads((tmp_path / "w" / target).read_text())
    trained = json.loads((tmp_path / "w" / "results/models/model3/train.json").read_text())
    assert trained["arch"] == "tiny_mlp" and record["n_frames"] > 0
    assert record["totals"]["params"] == 2 * 128 * 16 + 16 + 16 * 11 + 11
