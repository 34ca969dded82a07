"""Config: the shipped files validate, bad ones are rejected with the key and expected
type named."""

import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError

from amrcomp.settings import CONFIG_DIR, ConfigError, deep_merge, load_config, model_finetune
from amrcomp.variants import pruned_variants


def write(tmp_path: Path, obj) -> Path:
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(obj))
    return path


@pytest.mark.parametrize("name", ["tiny.yaml", "paper.yaml", "beyond.yaml"])
def test_shipped_configs_validate(name):
    config = load_config(CONFIG_DIR / name)
    assert set(config["models"]) == {"model1", "model2"}


def test_paper_config_has_the_papers_settings():
    config = load_config(CONFIG_DIR / "paper.yaml")
    assert config["dataset"]["frames_per_block"] * 11 * 20 == 220_000
    assert config["dataset"]["split"] == {"train": 0.6, "val": 0.2, "test": 0.2}
    for name, entry in config["models"].items():
        train = entry["train"]
        assert (
            train["epochs"],
            train["batch_size"],
            train["learning_rate"],
            train["beta_1"],
            train["beta_2"],
        ) == (110, 256, 0.001, 0.9, 0.999)
        assert train["input_scale"] is None  # the paper trained on the raw frames
        assert (
            model_finetune(config, name, "magnitude")["frames"] is None
        )  # fine-tunes see the whole training split


def test_deep_merge_keeps_sibling_keys():
    config = load_config(CONFIG_DIR / "tiny.yaml")
    assert config["models"]["model2"]["train"]["epochs"] == 1
    assert config["models"]["model2"]["train"]["learning_rate"] == 0.001  # from the default file
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}) == {"a": {"b": 3, "c": 2}}


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"dataset": {"sed": 1}}, "sed"),
        ({"models": {"model1": {"train": {"epochs": "ten"}}}}, "'ten' is not of type 'integer'"),
        ({"models": {"model1": {"train": {"epochs": "ten"}}}}, "['model1']['train']['epochs']"),
        ({"prune": {"sparsities": [50, 120]}}, "120 is greater than the maximum of 99"),
        ({"prune": {"sparsities": [0]}}, "0 is less than the minimum of 1"),
        ({"quantize": {"dtypes": ["int4"]}}, "'int4' is not one of"),
        ({"deploy": {"backends": ["tvm"]}}, "'tvm' is not one of"),
        ({"dataset": {"source": "rml2020"}}, "'rml2020' is not one of"),
        (
            {"models": {"model1": {"train": {"input_scale": "big"}}}},
            "['model1']['train']['input_scale']",
        ),
        (
            {"models": {"model1": {"train": {"input_scale": -3}}}},
            "['model1']['train']['input_scale']",
        ),
        ({"models": {"model1": {"finetune": {"frames": 0}}}}, "['model1']['finetune']['frames']"),
        ({"models": {"model1": {"finetune": {"epoch": 2}}}}, "epoch"),
    ],
)
def test_schema_rejections_name_the_problem(tmp_path, override, expected):
    with pytest.raises(WorkflowError) as err:
        load_config(write(tmp_path, override))
    assert expected in str(err.value)


def test_unknown_architecture_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"models\.model1\.arch: unknown architecture 'vgg'"):
        load_config(write(tmp_path, {"models": {"model1": {"arch": "vgg"}}}))


def test_table_variant_must_be_built(tmp_path):
    with pytest.raises(ConfigError, match="tables.table5_variants.model1: variant 'control-f"):
        load_config(write(tmp_path, {"prune": {"methods": ["magnitude"]}}))


def test_table5_variants_per_model(tmp_path):
    """One list for every model, or one per model (the default: each model's fastest filters
    variant within the tolerance); a model without a list, or a list naming a variant nobody
    builds, is refused with the key named."""
    from amrcomp.settings import table5_variants

    config = load_config()
    assert table5_variants(config, "model1")[-1] == "filters-35"
    assert table5_variants(config, "model2")[-1] == "filters-50"
    one = load_config(write(tmp_path, {"tables": {"table5_variants": ["magnitude-50"]}}))
    assert table5_variants(one, "model1") == table5_variants(one, "model2") == ["magnitude-50"]
    edited = load_config(write(tmp_path, {"tables": {"table5_variants": {"model2": ["baseline"]}}}))
    assert table5_variants(edited, "model2") == ["baseline"]  # deep-merged: model1 keeps its list
    assert table5_variants(edited, "model1") == table5_variants(config, "model1")
    extra = {"models": {"model3": {"arch": "oshea_cnn2"}}}
    with pytest.raises(ConfigError, match="tables.table5_variants: no list for model 'model3'"):
        load_config(write(tmp_path, extra))
    unbuilt = {"tables": {"table5_variants": {"model2": ["filters-75"]}}}
    with pytest.raises(ConfigError, match="tables.table5_variants.model2: variant 'filters-75'"):
        load_config(write(tmp_path, unbuilt))


def test_per_model_sparsity_levels(tmp_path):
    """models.<m>.method_sparsities gives one model its own levels (the default: each model's
    fastest filters level within the tolerance) without re-training its baseline; a table
    asking a model for a level it does not build is refused with the key and model named."""
    from amrcomp.settings import all_variants, model_settings, pruned_of

    config = load_config()
    assert pruned_of(config, "model1")[-1:] == ["filters-35"]
    assert pruned_of(config, "model2")[-1:] == ["filters-50"]
    assert set(pruned_of(config)) >= {"filters-35", "filters-50", "magnitude-75"}
    assert "filters-50" not in all_variants(config, "model1")
    assert "method_sparsities" not in model_settings(config, "model1")  # the train rule's param
    unbuilt = {"tables": {"table5_variants": {"model1": ["filters-50"]}}}
    with pytest.raises(ConfigError, match="table5_variants.model1: variant 'filters-50' is not "):
        load_config(write(tmp_path, unbuilt))
    both = {"models": {"model1": {"method_sparsities": {"filters": [35, 50]}}}, **unbuilt}
    assert "filters-50" in all_variants(load_config(write(tmp_path, both)), "model1")
    bad = {"models": {"model1": {"method_sparsities": {"m_by_n": [50]}}}}
    with pytest.raises(WorkflowError, match="method_sparsities"):
        load_config(write(tmp_path, bad))


def test_qat_variants_are_checked_without_tensorflow(tmp_path):
    """qat.variants: names parse (bits 2..8), a pqat variant's parent is built for every model,
    and every model's static layer list is one its kind of training handles; each refusal names
    the key. No TensorFlow is imported to decide."""
    import subprocess
    import sys

    from amrcomp.settings import front_controls, model_finetune, qat_settings, qat_variants

    tiny = load_config(CONFIG_DIR / "tiny.yaml")
    assert qat_variants(tiny, "qkeras") == ["qkeras-w8a8", "qkeras-w4a4"]
    assert qat_variants(tiny, "pqat") == ["pqat-magnitude-50"]
    assert front_controls(tiny)["qat"] == front_controls(tiny)["qkeras-w4a4"] == "control-magnitude"
    assert front_controls(tiny)["filters-50"] == "control-filters"
    assert "control-filters" not in front_controls(tiny)
    assert qat_settings(tiny, "model1", "qat")["finetune"]["frames"] == 800  # magnitude's recipe
    # QKeras variants may follow another method's control, and are then compared with it
    longer = load_config(
        CONFIG_DIR / "tiny.yaml", write(tmp_path, {"qat": {"qkeras_recipe": "filters"}})
    )
    filters = qat_settings(longer, "model1", "qkeras-w4a4")["finetune"]
    assert filters == model_finetune(longer, "model1", "filters")
    assert filters != qat_settings(longer, "model1", "qat")["finetune"]
    assert front_controls(longer)["qkeras-w4a4"] == "control-filters"
    assert front_controls(longer)["qat"] == "control-magnitude"
    check = "from amrcomp.settings import load_config; load_config(sys.argv[1])"
    code = f"import sys; {check}; print('tensorflow' in sys.modules)"
    tiny_path = str(CONFIG_DIR / "tiny.yaml")
    proc = subprocess.run(
        [sys.executable, "-c", code, tiny_path], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == "False", proc.stderr[-2000:]
    refusals = {
        "qkeras-w9a8": r"qat.variants: .*bits must be 2\.\.8",
        "pqat-magnitude-60": r"qat.variants: .pqat-magnitude-60. fine-tunes .magnitude-60.",
    }
    for name, message in refusals.items():
        with pytest.raises(ConfigError, match=message):
            load_config(write(tmp_path, {"qat": {"variants": [name]}}))
    no_filters = {
        "prune": {"methods": ["magnitude"]},
        "models": {m: {"method_sparsities": {}} for m in ("model1", "model2")},
        "qat": {"variants": ["qkeras-w8a8"], "qkeras_recipe": "filters"},
        "tables": {"table5_variants": ["magnitude-50"]},
    }
    with pytest.raises(ConfigError, match=r"qat.qkeras_recipe: 'qkeras-w8a8' would follow 'fil"):
        load_config(write(tmp_path, no_filters))
    no_magnitude = {
        **no_filters,
        "prune": {"methods": ["filters"]},
        "qat": {"variants": ["qat"]},
        "tables": {"table5_variants": ["baseline"]},
    }
    with pytest.raises(ConfigError, match=r"qat.variants: 'qat' would follow 'magnitude'"):
        load_config(write(tmp_path, no_magnitude))
    for name in ("int4", "pqat-filters-50"):  # the schema's pattern refuses these
        with pytest.raises(WorkflowError, match="qat"):
            load_config(write(tmp_path, {"qat": {"variants": [name]}}))


def test_qat_refuses_an_architecture_with_layers_it_cannot_quantise(tmp_path, monkeypatch):
    from amrcomp import models

    monkeypatch.setattr(models, "layer_types", lambda arch: frozenset({"Conv2D", "LSTM"}))
    import amrcomp.settings

    monkeypatch.setattr(amrcomp.settings, "layer_types", models.layer_types)
    with pytest.raises(
        ConfigError, match=r"qat.variants: 'qat' cannot be built for models.model1 .*\['LSTM'\]"
    ):
        load_config(write(tmp_path, {"qat": {"variants": ["qat"]}}))


def test_real_source_needs_a_path(tmp_path):
    with pytest.raises(ConfigError, match="dataset.path"):
        load_config(write(tmp_path, {"dataset": {"source": "rml2016.10a"}}))


def test_pruned_variant_names():
    assert pruned_variants(
        {"methods": ["magnitude", "m_by_n", "filters"], "sparsities": [25, 75]}
    ) == ["magnitude-25", "magnitude-75", "m_by_n-50", "filters-25", "filters-75"]


def test_every_generator_parameter_is_settable_from_config(tmp_path):
    import dataclasses

    from amrcomp.data.synthetic import GeneratorParams

    defaults = {
        f.name: list(f.default) if isinstance(f.default, tuple) else f.default
        for f in dataclasses.fields(GeneratorParams)
    }
    config = load_config(write(tmp_path, {"dataset": {"synthetic": defaults}}))
    assert GeneratorParams.from_dict(config["dataset"]["synthetic"]) == GeneratorParams()


def test_schema_generator_defaults_are_the_generators(tmp_path):
    """The schema is the config's home of defaults; GeneratorParams keeps the same values for
    library users, and the two may not drift apart."""
    import dataclasses

    from amrcomp.data.params import GeneratorParams

    filled = load_config()["dataset"]["synthetic"]
    assert GeneratorParams.from_dict(filled) == GeneratorParams()
    assert set(filled) == {f.name for f in dataclasses.fields(GeneratorParams)}


def _walk(schema: dict, path: str, defs: dict):
    """Every property schema below `schema`, with its dotted path (through $ref and maps)."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}", sub
        target = defs.get(sub.get("$ref", "").rsplit("/", 1)[-1], sub)
        yield from _walk({**target, **sub}, f"{path}.{name}", defs)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from _walk(extra, f"{path}.<name>", defs)


def test_every_schema_key_has_a_description_and_a_default():
    """Defaults live in config/schema.yaml only. The exceptions are by design: a model entry's
    `arch` (a study names its architectures) and a model's fine-tune overrides, whose absent keys
    mean 'prune.finetune's value'."""
    schema = yaml.safe_load((CONFIG_DIR / "schema.yaml").read_text())
    missing = []
    for path, sub in _walk(schema, "", schema["$defs"]):
        exempt = path in {".models", ".models.<name>.arch"} or path.startswith(
            ".models.<name>.finetune."
        )
        if "description" not in sub or ("default" not in sub and not exempt):
            missing.append(path)
    assert not missing, f"schema keys without a description or default: {missing}"


def test_defaults_fill_a_config_that_names_only_its_models(tmp_path):
    """config/config.yaml sets only the models and, naming them, each model's Table V variants;
    every other value comes from the schema."""
    shipped = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    assert set(shipped) == {"models", "tables"} and set(shipped["tables"]) == {"table5_variants"}
    assert set(shipped["tables"]["table5_variants"]) == set(shipped["models"])
    config = load_config()
    assert config["deploy"]["backends"] == ["onnxruntime", "litert", "openvino"]
    assert config["deploy"]["dtypes"] == ["fp32", "fp16", "int8", "bf16"]
    assert config["models"]["model2"]["train"]["batch_size"] == 256
    # no override: no change
    assert model_finetune(config, "model2", "magnitude") == config["prune"]["finetune"]


def test_schema_enums_speak_the_variant_vocabulary():
    """The schema's lists of methods, dtypes and backends are amrcomp.variants' (a new kind
    joins the registry and the schema together, or this fails)."""
    from amrcomp import variants

    schema = yaml.safe_load((CONFIG_DIR / "schema.yaml").read_text())
    props = schema["properties"]
    assert props["prune"]["properties"]["methods"]["items"]["enum"] == list(variants.METHODS)
    assert props["quantize"]["properties"]["dtypes"]["items"]["enum"] == list(
        variants.TFLITE_DTYPES
    )
    assert props["deploy"]["properties"]["backends"]["items"]["enum"] == list(variants.BACKENDS)
    deploy_dtypes = props["deploy"]["properties"]["dtypes"]["items"]["enum"]
    assert deploy_dtypes == list(variants.DEPLOY_DTYPES)
    pattern = schema["$defs"]["variant_name"]["pattern"]
    assert props["tables"]["properties"]["table5_variants"]["items"] == {
        "$ref": "#/$defs/variant_name"
    }
    for name in ("baseline", "control-filters", "magnitude-50", "m_by_n-50", "filters-25"):
        assert re.fullmatch(pattern.strip("^$"), name) and re.fullmatch(
            variants.VARIANT_PATTERN, name
        )


def test_one_control_per_distinct_recipe(tmp_path):
    """A dense control per fine-tune recipe, built by the prune stage, in Table V by default;
    methods with one recipe (and precision: tfmot's wrappers fine-tune in fp32) share one."""
    from amrcomp import variants
    from amrcomp.settings import (
        all_variants,
        control_of,
        controls,
        finetuned_variants,
        table5_variants,
    )

    config = load_config()
    assert all_variants(config)[:3] == ["baseline", "control-magnitude", "control-filters"]
    assert all(table5_variants(config, m)[0] == "control-filters" for m in config["models"])
    assert control_of(config, "filters-35") == "control-filters"
    assert control_of(config, "magnitude-50") == "control-magnitude"
    assert control_of(config, "baseline") is None
    assert model_finetune(config, "model1", "filters")["epochs"] == 3  # models.*.method_finetune
    assert model_finetune(config, "model1", "magnitude")["frames"] == 50000  # models.*.finetune
    tfmot = {"methods": ["magnitude", "m_by_n"]}
    shared = load_config(
        write(tmp_path, {"prune": tfmot, "tables": {"table5_variants": ["m_by_n-50"]}})
    )
    assert controls(shared) == {"magnitude": "control-magnitude", "m_by_n": "control-magnitude"}
    apart = {
        "prune": {**tfmot, "method_finetune": {"m_by_n": {"epochs": 2}}},
        "tables": {"table5_variants": ["m_by_n-50"]},
    }
    assert set(controls(load_config(write(tmp_path, apart))).values()) == {
        "control-magnitude",
        "control-m_by_n",
    }
    unpruned = {"prune": {"methods": []}, "tables": {"table5_variants": ["baseline"]}}
    assert finetuned_variants(load_config(write(tmp_path, unpruned))) == []
    control = variants.parse("control-filters")
    assert control.name == "control-filters" and not control.is_pruned and control.is_finetuned
    assert control.pruning_method == "none" and control.method == "filters"
    assert variants.model_stem("control-filters") == "control-filters"
    assert variants.model_stem("filters-50") == "pruned-filters-50"
    assert variants.model_stem("baseline") == "baseline"
    with pytest.raises(ValueError, match="not built by the prune stage"):
        variants.parse_finetuned("baseline")
    with pytest.raises(ValueError, match="neither"):
        variants.parse("control")
    no_pruning = {"prune": {"methods": []}, "tables": {"table5_variants": ["control-filters"]}}
    with pytest.raises(ConfigError, match="tables.table5_variants: variant 'control-filters'"):
        load_config(write(tmp_path, no_pruning))
    distill = {"models": {"model2": {"finetune": {"distill": {"enabled": True}}}}}
    merged = model_finetune(load_config(write(tmp_path, distill)), "model2", "magnitude")
    assert merged["distill"] == {"enabled": True, "alpha": 0.5, "temperature": 4.0}


def test_every_schema_key_is_documented_in_config_readme():
    schema = yaml.safe_load((CONFIG_DIR / "schema.yaml").read_text())
    readme = (CONFIG_DIR / "README.md").read_text()
    keys = {path.rsplit(".", 1)[-1] for path, _ in _walk(schema, "", schema["$defs"])}
    assert not {k for k in keys if f"`{k}`" not in readme and f"{k}`" not in readme} - {"<name>"}
