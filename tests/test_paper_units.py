"""Tables a reader can put beside the paper: sizes in MiB, the paper's numbers as printed, what
pruning removed, and the fine-tune budget and mask updates that decide one-shot vs gradual."""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import paper, records  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.models.cost import layer_costs, totals  # noqa: E402
from amrcomp.prune import finetune_settings, finetune_steps, prune_variant, schedule_label  # noqa: E402
from amrcomp.prune.filters import layer_rows, plan, shrink  # noqa: E402
from amrcomp.prune.unstructured import schedule_updates  # noqa: E402
from amrcomp.settings import load_config, model_finetune  # noqa: E402
from amrcomp.tablefile import read_table  # noqa: E402
from amrcomp.tables import build, pruning, schema  # noqa: E402
from amrcomp.variants import parse_finetuned  # noqa: E402
from conftest import ROOT, TINY  # noqa: E402

MODELS = {"model1": {"paper_name": "Model 1"}, "model2": {"paper_name": "Model 2"}}
ARCH = {"model1": "oshea_cnn2", "model2": "tekbiyik"}
COLUMNS = yaml.safe_load((ROOT / "workflow" / "amrcomp" / "tables" / "columns.yaml").read_text())[
    "tables"
]


def write(tmp_path, name: str, record: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(record))
    return str(path)


def eval_record(model: str, variant: str, rows: list, dtype: str = "fp32", size: int = 1) -> dict:
    """A Keras or TFLite evaluation record with the fields the table builders read (one frame,
    classified right, at 0 dB)."""
    from amrcomp.scoring import summarise

    per_frame = summarise(np.array([0]), np.array([0]), np.array([0]), ["a"])
    return {
        **per_frame,
        "model": model,
        "variant": variant,
        "dtype": dtype,
        "accuracy_pct": 50.0,
        "accuracy_per_snr": {"0": 0.5},
        "confusion": [[1]],
        "layers": rows,
        "totals": totals(rows),
        "size_bytes": size,
        "size_zip_bytes": size,
    }


def trained_costs(model) -> list:
    """Cost rows as after training: no weight or bias is exactly zero."""
    for weight in model.weights:
        weight.assign(np.full(weight.shape, 0.1, dtype=np.float32))
    return layer_costs(model)


# --- 1. sizes in MiB --------------------------------------------------------------------------


def test_sizes_are_mib_the_papers_unit():
    # Model 2's fp16 weights: 858,123 x 2 B = 1.637 MiB, printed 1.64 (1.716 in MB of 10^6).
    fp16 = records.sizes_mib({"size_bytes": 858123 * 2, "size_zip_bytes": 2**20})
    assert fp16["size_mib"] == pytest.approx(paper.TABLE4["Model 2"]["fp16"][1], rel=0.005)
    assert fp16["size_zip_mib"] == 1.0


def test_every_size_column_is_named_and_labelled_mib():
    sizes = [
        (table, name, unit)
        for table, cols in COLUMNS.items()
        for name, _, unit, _ in cols
        if "size" in name and "batch" not in name
    ]
    assert sizes, "no size column found"
    for table, name, unit in sizes:
        assert name.endswith("_mib") and unit == "MiB", (table, name, unit)
    for table in COLUMNS:
        assert not [c.name for c in schema.columns(table) if c.name.endswith("_mb")], table


def test_no_text_reports_sizes_in_mb():
    files = [
        *ROOT.glob("workflow/**/*.py"),
        *ROOT.glob("workflow/**/*.yaml"),
        *ROOT.glob("report/*.rst"),
        ROOT / "README.md",
        ROOT / "config" / "README.md",
    ]
    pattern = re.compile(r"size[_a-z]*_mb\b|sizes_mb|\(MB\b|MB \(1e6|10\^6 bytes")
    hits = [f"{p.relative_to(ROOT)}: {m}" for p in files for m in pattern.findall(p.read_text())]
    assert not hits, hits


# --- 2. Model 1's printed sizes ---------------------------------------------------------------


def test_table4_shows_printed_sizes_beside_what_the_parameters_need(tmp_path):
    keras, tflite = [], []
    for model, arch in ARCH.items():
        rows = trained_costs(build_model(arch))
        keras.append(write(tmp_path, f"{model}.json", eval_record(model, "baseline", rows)))
        for dtype in ("fp32", "fp16", "dynamic"):
            record = eval_record(model, "baseline", rows, dtype, size=10**6)
            tflite.append(write(tmp_path, f"{model}-{dtype}.json", record))
    t4 = build.table4(tflite, keras, MODELS).set_index(["model", "dtype"])
    m1, m2 = t4.loc["model1"], t4.loc["model2"]
    assert list(m1["paper_size_mib"]) == [5.83, 2.91, 1.46]  # as printed, never corrected
    assert m1.loc["fp32", "weights_mib"] == pytest.approx(1592383 * 4 / 2**20)  # 6.07
    assert (m1["paper_size_mib"] < m1["weights_mib"]).all()
    assert (m2["paper_size_mib"] >= m2["weights_mib"]).all()


def test_no_text_says_the_paper_is_expected_to_match():
    files = [
        *ROOT.glob("workflow/**/*.py"),
        *ROOT.glob("report/*.rst"),
        ROOT / "README.md",
        ROOT / "config" / "README.md",
    ]
    hits = [str(p.relative_to(ROOT)) for p in files if "expected to match" in p.read_text()]
    assert not hits, hits


# --- 3. Table III's paper column --------------------------------------------------------------


def test_table3_paper_column_is_the_printed_parameter_count():
    cols = {name: desc for name, _, _, desc in COLUMNS["table3"]}
    assert "paper_nonzero_params" not in cols
    assert "as printed" in cols["paper_params_printed"]
    assert "Model 2 at 50 %" in cols["paper_params_printed"]
    # ... which is why: only that one is the share of the model's parameters its sparsity
    # leaves (858,123 / 2, rounded); Model 1 at 75 % is 0.5 % off, the others far.
    kept = {
        (label, s): printed / (paper.TOTAL_PARAMS[label] * (1 - s / 100)) - 1
        for label, rows in paper.TABLE3.items()
        for s, (_, printed) in rows.items()
    }
    assert [k for k, v in kept.items() if abs(v) < 0.001] == [("Model 2", 50)]
    assert round(858123 / 2 + 0.5) == paper.TABLE3["Model 2"][50][1]


# --- 4. achieved sparsity, filters and parameters removed -------------------------------------


def test_achieved_sparsity_is_described_as_computed(tmp_path):
    desc = {name: d for name, _, _, d in COLUMNS["table3"]}["achieved_sparsity_pct"]
    assert "baseline's parameters" in desc and "Conv2D/Dense kernels" not in desc
    # Magnitude pruning at 50 % zeroes half of every kernel, but biases stay: below 50 %.
    rows = trained_costs(build_model("tekbiyik"))
    half = [{**r, "nonzero_params": r["nonzero_params"] - r["kernel_params"] // 2} for r in rows]
    assert 49.9 < build.sparsity_pct(totals(half)["nonzero_params"], totals(rows)["params"]) < 50


@pytest.fixture(scope="module")
def filter_pruned():
    """Model 2 with half the filters of every layer removed by the real code (no fine-tune)."""
    model = build_model("tekbiyik")
    trained_costs(model)
    keep, reasons = plan(model, 0.5, [])
    small = shrink(model, keep)
    return model, small, layer_rows(model, small, keep, reasons, 0.5)


def test_table3_reports_filters_and_parameters_removed(tmp_path, filter_pruned):
    model, small, layers = filter_pruned
    before, after = layer_costs(model), layer_costs(small)
    evals = [
        write(tmp_path, "b.json", eval_record("model2", "baseline", before)),
        write(tmp_path, "c.json", eval_record("model2", "control-filters", before)),
        write(tmp_path, "f.json", eval_record("model2", "filters-50", after)),
    ]
    budget = {
        "epochs": 1,
        "steps": 32,
        "frames": 8000,
        "learning_rate": 5e-4,
        "frequency": None,
        "schedule_mask_updates": None,
        "explicit_mask_applications": None,
        "pruning_schedule": schedule_label("filters", None),
    }
    summary = {
        "model": "model2",
        "variant": "filters-50",
        "method": "filters",
        "layers": layers,
        "totals_before": totals(before),
        "totals_after": totals(after),
        "budget": budget,
        "distillation": {"enabled": False},
    }
    control = {**summary, "variant": "control-filters", "method": "none", "layers": []}
    prunes = [write(tmp_path, "p.json", summary), write(tmp_path, "pc.json", control)]
    controls = {"filters-50": "control-filters"}
    t3 = pruning.table3(evals, prunes, MODELS, controls).set_index("variant")
    row = t3.loc["filters-50"]
    assert row["filters_removed_pct"] == pytest.approx(50, abs=0.5)
    assert row["params_removed_pct"] == pytest.approx(
        100 * (1 - small.count_params() / model.count_params())
    )
    assert row["params_removed_pct"] > 70  # a middle layer loses its inputs too
    per_layer = dict(item.split(" ") for item in row["per_layer_removed_pct"].split(", "))
    assert per_layer["conv1"] == "50/50" and per_layer["conv2"] == "50/75"
    assert per_layer["output"] == "0/50"
    assert row["pruning_schedule"] == "structured one-shot"
    assert t3.loc["baseline", "params_removed_pct"] == 0
    assert pd.isna(t3.loc["baseline", "filters_removed_pct"])
    with pytest.raises(ValueError, match=r"no prune summary of model2/filters-50"):
        pruning.table3(evals, prunes[1:], MODELS, controls)  # the control's summary only


def test_table3_rule_reads_every_prune_summary():
    tables = (ROOT / "rules" / "tables.smk").read_text()
    table3 = tables.split("use rule table1 as table3 with:")[1].split("\nuse rule")[0]
    assert "prune=PRUNE_SUMMARIES," in table3
    common = (ROOT / "rules" / "common.smk").read_text()
    summaries = (
        "FINETUNED = {m: [variants.model_stem(v) for v in finetuned_variants(config, m)] for m in "
        'MODELS}\nPRUNE_SUMMARIES = per_variant("results/models/{model}/{variant}.json", FINETUNED)'
    )
    assert summaries in common
    assert len(common.splitlines()) <= 175


# --- 5. pruning budgets -----------------------------------------------------------------------


def test_schedule_update_count_follows_tfmots_rule():
    assert schedule_updates(32, 100, None) == 0
    assert schedule_updates(196, 100, None) == 1
    assert schedule_updates(16, 5, None) == 3
    assert schedule_updates(16, 5, (2, 4)) == 1 and schedule_updates(0, 5, (2, 4)) == 0
    assert finetune_steps({"epochs_run": 1, "train_frames": 8000, "batch_size": 256}) == 32
    assert schedule_label("magnitude", 0) == "one-shot"
    assert schedule_label("magnitude", 1) == "gradual (1 update)"
    assert schedule_label("magnitude", 3) == "gradual (3 updates)"
    assert schedule_label("filters", None) == "structured one-shot"


def test_default_model2_fine_tune_is_one_shot():
    """The default's 32 steps never reach frequency 100: only the explicit masks prune."""
    config = load_config()
    finetune = model_finetune(config, "model2", "magnitude")
    steps = finetune_steps(
        {"epochs_run": finetune["epochs"], "train_frames": finetune["frames"], **finetune}
    )
    updates = schedule_updates(steps, config["prune"]["frequency"], None)
    assert (steps, updates, schedule_label("magnitude", updates)) == (32, 0, "one-shot")


class MaskUpdates(tfsetup.keras().callbacks.Callback):
    """Counts training steps, and those on which any pruning wrapper's threshold changed: tfmot
    assigns the thresholds only when it updates the masks."""

    def __init__(self):
        super().__init__()
        self.steps, self.updates, self.last = 0, 0, None

    def _thresholds(self):
        return [
            t.numpy().copy()
            for layer in self.model.layers
            if hasattr(layer, "pruning_vars")
            for _, _, t in layer.pruning_vars
        ]

    def on_train_begin(self, logs=None):
        self.last = self._thresholds()

    def on_train_batch_end(self, batch, logs=None):
        now = self._thresholds()
        self.steps += 1
        self.updates += any(not np.array_equal(a, b) for a, b in zip(now, self.last))
        self.last = now


def _frames(n: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    return Split(
        rng.normal(size=(n, 2, 128)).astype(np.float32),
        rng.integers(0, 4, n),
        np.zeros(n, dtype=np.int64),
    )


def test_recorded_budget_and_mask_updates_are_what_tfmot_did(monkeypatch):
    from amrcomp import fitting

    counter = MaskUpdates()
    fit = fitting.fit
    monkeypatch.setattr(
        fitting,
        "fit",
        lambda *a, extra_callbacks=(), **k: fit(
            *a, extra_callbacks=[*extra_callbacks, counter], **k
        ),
    )
    model = build_model("oshea_cnn2", n_classes=4, filters=(8, 8), dense_units=16)
    tune = finetune_settings({"epochs": 2, "batch_size": 32, "learning_rate": 1e-3}, seed=1)
    _, report = prune_variant(
        model,
        parse_finetuned("magnitude-50"),
        _frames(128, 1),
        _frames(64, 2),
        4,
        tune,
        logging.getLogger("test"),
        frequency=4,
    )
    budget = report["budget"]
    # 2 epochs of 4 batches: tfmot counts steps 1..8 and updates on steps 4 and 8 (the last
    # step included, step 0 not).
    assert budget["steps"] == counter.steps == 8
    assert budget["schedule_mask_updates"] == counter.updates == 2
    assert budget["explicit_mask_applications"] == 2
    assert budget["pruning_schedule"] == "gradual (2 updates)"
    assert (budget["epochs"], budget["frames"], budget["learning_rate"]) == (2, 128, 1e-3)
    assert budget["frequency"] == 4


# --- e2e: the tiny run ------------------------------------------------------------------------


@pytest.mark.e2e
def test_table4_model2_sizes_agree_with_the_paper(tiny_run):
    t4, meta = read_table(tiny_run / "results" / "table4.parquet")
    assert meta["units"]["size_mib"] == "MiB" and meta["units"]["paper_size_mib"] == "MiB"
    rows = t4[(t4["model"] == "model2") & (t4["variant"] == "baseline")].set_index("dtype")
    for dtype, printed in {"fp32": 3.31, "fp16": 1.64, "dynamic": 0.83}.items():
        assert rows.loc[dtype, "paper_size_mib"] == printed
        assert rows.loc[dtype, "size_mib"] == pytest.approx(printed, rel=0.02), dtype


@pytest.mark.e2e
def test_summary_says_sizes_are_mib_and_model1_printed(tiny_run):
    text = (tiny_run / "results" / "summary.md").read_text()
    assert "MiB" in text and "size_mb" not in text and "expected to match" not in text
    assert (
        "Model 1 sizes (fp32 / fp16 / dynamic: 5.83 / 2.91 / 1.46 MiB) are shown as printed" in text
    )
    assert "Model 2 sizes" not in text
    assert "`paper_params_printed` is the paper's #Parameters as printed" in text


@pytest.mark.e2e
def test_table3_shows_each_variants_budget_and_removal(tiny_run):
    config = load_config(TINY)
    t3 = read_table(tiny_run / "results" / "table3.parquet")[0].set_index(["model", "variant"])
    for model in config["models"]:
        for variant in ("magnitude-50", "filters-50"):
            finetune = model_finetune(config, model, variant.split("-")[0])
            row = t3.loc[(model, variant)]
            path = tiny_run / "results" / "models" / model / f"pruned-{variant}.json"
            budget = json.loads(path.read_text())["budget"]
            assert row["finetune_steps"] == budget["steps"] > 0
            assert row["finetune_frames"] == finetune["frames"] == budget["frames"]
            assert row["finetune_epochs"] == finetune["epochs"]
            assert row["finetune_learning_rate"] == finetune["learning_rate"]
            assert row["pruning_schedule"] == budget["pruning_schedule"]
        magnitude = t3.loc[(model, "magnitude-50")]
        frequency = config["prune"]["frequency"]
        updates = magnitude["finetune_steps"] // frequency
        assert magnitude["pruning_frequency"] == frequency
        assert magnitude["schedule_mask_updates"] == updates
        assert magnitude["explicit_mask_applications"] == 2
        assert magnitude["pruning_schedule"] == schedule_label("magnitude", updates)
        filters = t3.loc[(model, "filters-50")]
        assert filters["pruning_schedule"] == "structured one-shot"
        assert filters["filters_removed_pct"] == pytest.approx(50, abs=1)
        assert filters["params_removed_pct"] > filters["filters_removed_pct"]
        assert pd.isna(magnitude["filters_removed_pct"]) and magnitude["params_removed_pct"] == 0
