"""Tables and figures: builders on synthetic records (fast) and the tiny run's outputs (e2e)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import machine, paper, records  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.models.cost import layer_costs, totals  # noqa: E402
from amrcomp.tablefile import read_table, write_table  # noqa: E402
from amrcomp.tables import build, deployment, energy, pruning, schema  # noqa: E402
from conftest import ROOT, TINY, snakemake  # noqa: E402

MODELS = {
    "model1": {"arch": "oshea_cnn2", "paper_name": "Model 1"},
    "model2": {"arch": "tekbiyik", "paper_name": "Model 2"},
    "mine": {"arch": "oshea_cnn2", "paper_name": None},
}
# Every pruned variant of these tests is measured against the magnitude recipe's control.
CONTROLS = {
    f"{m}-{n}": "control-magnitude" for m in ("magnitude", "filters") for n in range(1, 100)
}
ARCH = {"model1": "oshea_cnn2", "model2": "tekbiyik", "mine": "oshea_cnn2"}
CLASSES = [f"c{i}" for i in range(11)]


@pytest.fixture(scope="module")
def costs():
    """Per-layer cost rows of both paper architectures, built for real (biases nonzero, as
    trained)."""
    out = {}
    for arch in set(ARCH.values()):
        model = build_model(arch)
        for weight in model.weights:
            if "bias" in weight.name:
                weight.assign(np.full(weight.shape, 0.1, dtype=np.float32))
        out[arch] = layer_costs(model)
    return out


def prune_rows(rows, fraction):
    """Cost rows as if `fraction` of every kernel were zero (what magnitude pruning leaves)."""
    out = []
    for r in rows:
        zeros = int(round(r["kernel_params"] * fraction))
        out.append(
            {
                **r,
                "nonzero_params": r["nonzero_params"] - zeros,
                "kernel_sparsity": zeros / r["kernel_params"],
                "effective_macs": int(round(r["macs"] * (1 - fraction))),
            }
        )
    return out


def per_frame(acc: float, n: int = 100, snr_order: int = 1) -> dict:
    """The per-frame fields of an evaluation of `n` frames (labels cycling over the classes,
    SNRs alternating -10/+10 dB) whose first acc % are classified right."""
    from amrcomp.scoring import summarise

    labels = np.arange(n) % len(CLASSES)
    snr = np.where(np.arange(n) % 2 == 0, 10, -10)[::snr_order]
    right = np.arange(n) < round(acc * n / 100)
    record = summarise(labels, snr, np.where(right, labels, (labels + 1) % 11), CLASSES)
    keys = ("n_frames", "labels", "predicted", "frames_sha256")
    return {k: record[k] for k in (*keys, "accuracy_from_0db_pct", "n_frames_from_0db")}


def eval_record(model, variant, rows, acc, dtype="fp32", backend="keras", size=1_000_000):
    conf = (np.eye(11) * 5 + 1).astype(int).tolist()
    return {
        **per_frame(acc),
        "model": model,
        "variant": variant,
        "dtype": dtype,
        "backend": backend,
        "classes": CLASSES,
        "snrs": [-10, 0, 10],
        "accuracy": acc / 100,
        "accuracy_pct": acc,
        "accuracy_per_snr": {"-10": 0.1, "0": acc / 100, "10": 0.9},
        "confusion": conf,
        "confusion_per_snr": {"-10": conf, "0": conf, "10": conf},
        "layers": rows,
        "totals": totals(rows),
        "size_bytes": size,
        "size_zip_bytes": size // 2,
    }


def prune_record(model, variant, before_rows, after_rows, layers=(), distill=None):
    """A prune summary as rules prune and control write it (a one-shot magnitude budget unless
    filters; the control's budget has no schedule)."""
    filters = variant.startswith("filters") or variant.startswith("control")
    return {
        "model": model,
        "variant": variant,
        "method": "none" if variant.startswith("control") else variant.rsplit("-", 1)[0],
        "distillation": distill or {"enabled": False},
        "layers": list(layers),
        "totals_before": totals(before_rows),
        "totals_after": totals(after_rows),
        "budget": {
            "epochs": 1,
            "steps": 32,
            "frames": 8000,
            "learning_rate": 5e-4,
            "frequency": None if filters else 100,
            "schedule_mask_updates": None if filters else 0,
            "explicit_mask_applications": None if filters else 2,
            "pruning_schedule": {
                "control-magnitude": "none (dense control)",
                "control-filters": "none (dense control)",
            }.get(variant, "structured one-shot" if filters else "one-shot"),
        },
    }


def write(tmp_path, name, record):
    path = tmp_path / name
    path.write_text(json.dumps(record))
    return str(path)


def bench_record(model, variant, dtype, backend, status="ok", fps=None):
    base = {
        "model": model,
        "variant": variant,
        "dtype": dtype,
        "backend": backend,
        "status": status,
        "size_bytes": 2_000_000,
        "size_zip_bytes": 900_000,
        "machine": {"cpu": "Test CPU 9000", "gpus": [{"name": "Tesla T4", "driver": "550"}]},
        "backend_info": {"device": 0},
        "executed_precision": "fp32" if status == "ok" else "unknown",
        "precision_evidence": "test record",
    }
    if status != "ok":
        return {
            **base,
            "message": f"{backend} cannot run {dtype} here",
            "accuracy_pct": None,
            "throughput_fps": None,
            "latency_ms": None,
        }
    return {
        **base,
        **per_frame(40.0),
        "message": None,
        "accuracy_pct": 40.0,
        "throughput_fps": fps or {"1": 1000.0, "32": 9000.0, "256": 12000.0},
        "latency_ms": {"p50": 1.0, "p90": 1.5, "p99": 2.0},
    }


# --- fast: builders on synthetic records ------------------------------------------------------


def test_paper_table1_sums_to_published_totals():
    for label, layers in paper.TABLE1.items():
        assert sum(p for _, p, _ in layers) == paper.TOTAL_PARAMS[label]


def test_table1_reproduces_paper_parameters_and_flops(tmp_path, costs):
    paths = [
        write(tmp_path, f"{m}.json", eval_record(m, "baseline", costs[ARCH[m]], 50.0))
        for m in MODELS
    ]
    t1 = build.table1(paths, MODELS)
    for model, label in (("model1", "Model 1"), ("model2", "Model 2")):
        rows = t1[t1["model"] == model]
        assert list(rows["paper_params"]) == [p for _, p, _ in paper.TABLE1[label]] + [
            paper.TOTAL_PARAMS[label]
        ]
        assert (rows["params_diff"] == 0).all()
        assert (rows["paper_model"] == label).all()
    mine = t1[t1["model"] == "mine"]
    assert (
        mine["paper_params"].isna().all()
        and mine["paper_model"].isna().all()
        and mine["params_diff"].isna().all()
    )
    ops = {m: build.ops_summary(costs[ARCH[m]]) for m in ("model1", "model2")}
    assert round(ops["model1"]["mflops_dense"], 1) == paper.TABLE5_MFLOPS["Model 1"]
    assert round(ops["model2"]["mflops_dense"], 2) == paper.TABLE5_MFLOPS["Model 2"]
    assert ops["model1"]["macs_m"] == pytest.approx(6.494016)


def test_table3_paper_columns_only_on_magnitude_rows(tmp_path, costs):
    # A trained baseline has no zero weight: its biases are nonzero too (the built model's are 0).
    rows = [{**r, "nonzero_params": r["params"]} for r in costs["oshea_cnn2"]]
    paths = [
        write(tmp_path, "b.json", eval_record("model1", "baseline", rows, 50.0)),
        write(
            tmp_path, "m.json", eval_record("model1", "magnitude-50", prune_rows(rows, 0.5), 49.0)
        ),
        write(tmp_path, "f.json", eval_record("model1", "filters-50", prune_rows(rows, 0.5), 48.0)),
    ]
    prunes = [
        write(tmp_path, f"p{v}.json", prune_record("model1", v, rows, prune_rows(rows, 0.5)))
        for v in ("magnitude-50", "filters-50")
    ]
    paths.append(write(tmp_path, "c.json", eval_record("model1", "control-magnitude", rows, 50.0)))
    prunes.append(
        write(tmp_path, "pc.json", prune_record("model1", "control-magnitude", rows, rows))
    )
    t3 = pruning.table3(paths, prunes, MODELS, CONTROLS).set_index("variant")
    assert t3.loc["magnitude-50", "paper_accuracy_pct"] == 55.8636
    assert t3.loc["magnitude-50", "paper_params_printed"] == 1016217
    assert pd.isna(t3.loc["filters-50", "paper_accuracy_pct"]) and pd.isna(
        t3.loc["baseline", "paper_params_printed"]
    )
    assert t3.loc["magnitude-50", "accuracy_drop_pp"] == pytest.approx(1.0)
    assert t3.loc["magnitude-50", "achieved_sparsity_pct"] == pytest.approx(50, abs=0.1)
    assert t3.loc["baseline", "achieved_sparsity_pct"] == 0
    assert t3.loc["magnitude-50", "effective_macs"] == pytest.approx(6494016 / 2, abs=5)


def test_table3_intervals_and_paired_drops_against_baseline_and_control(tmp_path, costs):
    """Accuracy with its interval over all frames and from 0 dB up, and drops against the
    baseline and the control with paired intervals, from the records' per-frame classes."""
    rows = [{**r, "nonzero_params": r["params"]} for r in costs["oshea_cnn2"]]
    accs = {"baseline": 50.0, "control-magnitude": 53.0, "magnitude-50": 49.0}
    paths = [
        write(tmp_path, f"{v}.json", eval_record("model1", v, rows, acc)) for v, acc in accs.items()
    ]
    distill = {"enabled": True, "alpha": 0.5, "temperature": 4.0}
    prunes = [
        write(tmp_path, f"p{v}.json", prune_record("model1", v, rows, rows, distill=distill))
        for v in ("control-magnitude", "magnitude-50")
    ]
    t3 = pruning.table3(paths, prunes, MODELS, CONTROLS).set_index("variant")
    # first 50 / 53 / 49 of 100 frames right: against the baseline b = 1, c = 0 (magnitude);
    # against the control b = 4, c = 0
    mag = t3.loc["magnitude-50"]
    assert mag["accuracy_ci95_pp"] == pytest.approx(100 * 1.96 * np.sqrt(0.49 * 0.51 / 100))
    assert mag["accuracy_drop_pp"] == pytest.approx(1.0)
    assert mag["accuracy_drop_ci95_pp"] == pytest.approx(1.96 * np.sqrt(1 - 1 / 100))
    assert mag["drop_vs_control_pp"] == pytest.approx(4.0)
    assert mag["drop_vs_control_ci95_pp"] == pytest.approx(1.96 * np.sqrt(4 - 16 / 100))
    # every other frame is at +10 dB: 25 of the first 49 frames
    assert mag["accuracy_from_0db_pct"] == pytest.approx(50.0)
    assert mag["accuracy_from_0db_ci95_pp"] == pytest.approx(100 * 1.96 * np.sqrt(0.25 / 50))
    control = t3.loc["control-magnitude"]
    assert control["accuracy_drop_pp"] == pytest.approx(-3.0)
    assert pd.isna(control["drop_vs_control_pp"]) and pd.isna(
        t3.loc["baseline", "drop_vs_control_pp"]
    )
    assert t3.loc["baseline", ["accuracy_drop_pp", "accuracy_drop_ci95_pp"]].tolist() == [0, 0]
    assert control["pruning_schedule"] == "none (dense control)"
    assert control["finetune_distillation"] == mag["finetune_distillation"]
    assert mag["finetune_distillation"] == "from the baseline, alpha 0.5, T 4"
    assert pd.isna(t3.loc["baseline", "finetune_distillation"])
    with pytest.raises(ValueError, match=r"needs the control-magnitude evaluation of model1"):
        pruning.table3([p for p in paths if "control" not in p], prunes, MODELS, CONTROLS)


def test_records_of_different_test_splits_are_refused(tmp_path, costs):
    """Table III and Table V pair records frame by frame: records of other frames fail, naming
    both files."""
    rows = [{**r, "nonzero_params": r["params"]} for r in costs["oshea_cnn2"]]
    other = {**eval_record("model1", "magnitude-50", rows, 49.0), **per_frame(49.0, snr_order=-1)}
    paths = [
        write(tmp_path, "baseline.json", eval_record("model1", "baseline", rows, 50.0)),
        write(tmp_path, "control.json", eval_record("model1", "control-magnitude", rows, 50.0)),
        write(tmp_path, "magnitude.json", other),
    ]
    prunes = [
        write(tmp_path, f"p{v}.json", prune_record("model1", v, rows, rows))
        for v in ("control-magnitude", "magnitude-50")
    ]
    with pytest.raises(records.RecordError, match=r"magnitude\.json and .*baseline\.json were "
                       "not scored on the same test frames"):  # fmt: skip
        pruning.table3(paths, prunes, MODELS, CONTROLS)
    evals = [write(tmp_path, f"e{v}.json", eval_record("model1", v, rows, 45.0))
             for v in ("control-magnitude", "magnitude-50")]  # fmt: skip
    short = {**bench_record("model1", "magnitude-50", "fp32", "litert"), **per_frame(40.0, n=90)}
    bench = [
        write(tmp_path, "bc.json", bench_record("model1", "control-magnitude", "fp32", "litert")),
        write(tmp_path, "bm.json", short),
    ]
    before = [write(tmp_path, "pm.json", prune_record("model1", "magnitude-50", rows, rows))]
    with pytest.raises(records.RecordError, match=r"bm\.json and .*bc\.json.*n_frames 90 vs 100"):
        deployment.table5(bench, evals, before, MODELS, 32, CONTROLS)


def test_table5_drop_and_speedup_against_the_control_of_the_same_dtype_and_backend(tmp_path, costs):
    rows = costs["oshea_cnn2"]
    evals = [
        write(tmp_path, f"e{v}.json", eval_record("model1", v, rows, 45.0))
        for v in ("control-magnitude", "magnitude-50")
    ]
    prunes = [write(tmp_path, "p.json", prune_record("model1", "magnitude-50", rows, rows))]
    slow, fast = {"1": 500.0, "32": 3000.0}, {"1": 1000.0, "32": 9000.0}
    worse = {**per_frame(37.0), "accuracy_pct": 37.0}  # 37 of the control's 40 frames right
    specs = [
        ("control-magnitude", "fp32", "onnxruntime", "ok", slow, {}),
        ("control-magnitude", "int8", "onnxruntime", "ok", fast, {}),
        ("control-magnitude", "fp32", "litert", "unsupported", None, {}),
        ("magnitude-50", "fp32", "onnxruntime", "ok", fast, worse),
        ("magnitude-50", "int8", "onnxruntime", "ok", fast, {}),
        ("magnitude-50", "fp32", "litert", "ok", None, {}),
    ]
    bench = [
        write(tmp_path, f"b{i}.json", {**bench_record("model1", v, d, b, st, fps), **more})
        for i, (v, d, b, st, fps, more) in enumerate(specs)
    ]
    t5 = deployment.table5(bench, evals, prunes, MODELS, 32, CONTROLS)
    t5 = t5[t5["status"] != "reference"].set_index(["variant", "dtype", "backend"])
    fp32 = t5.loc[("magnitude-50", "fp32", "onnxruntime")]
    assert fp32["speedup_vs_control"] == pytest.approx(3.0)  # against fp32 on the same backend
    assert fp32["drop_vs_control_pp"] == pytest.approx(3.0)  # 40 vs 37 right, b = 3, c = 0
    assert fp32["drop_vs_control_ci95_pp"] == pytest.approx(1.96 * np.sqrt(3 - 9 / 100))
    assert fp32["accuracy_ci95_pp"] == pytest.approx(100 * 1.96 * np.sqrt(0.37 * 0.63 / 100))
    int8 = t5.loc[("magnitude-50", "int8", "onnxruntime")]
    assert int8["speedup_vs_control"] == pytest.approx(1.0) and int8["drop_vs_control_pp"] == 0
    # the control's litert row did not run: nothing to compare with, but its own interval stays
    litert = t5.loc[("magnitude-50", "fp32", "litert")]
    assert pd.isna(litert["speedup_vs_control"]) and pd.isna(litert["drop_vs_control_pp"])
    assert litert["accuracy_ci95_pp"] > 0
    control = t5.loc[("control-magnitude", "fp32", "onnxruntime")]
    assert pd.isna(control["speedup_vs_control"]) and pd.isna(control["drop_vs_control_pp"])


def test_table4_maps_paper_int8_to_dynamic(tmp_path, costs):
    rows = costs["tekbiyik"]
    keras = [write(tmp_path, "k.json", eval_record("model2", "baseline", rows, 50.0))]
    tfl = [
        write(
            tmp_path,
            f"{d}.json",
            {**eval_record("model2", "baseline", rows, 49.0, dtype=d, backend="litert", size=s)},
        )
        for d, s in (
            ("fp32", 3_400_000),
            ("fp16", 1_700_000),
            ("dynamic", 900_000),
            ("int8", 880_000),
        )
    ]
    t4 = build.table4(tfl, keras, MODELS).set_index("dtype")
    assert (
        t4.loc["dynamic", "paper_dtype"] == "INT8"
        and t4.loc["dynamic", "paper_accuracy_pct"] == 54.62
        and t4.loc["dynamic", "paper_size_mib"] == 0.83
    )
    assert pd.isna(t4.loc["int8", "paper_accuracy_pct"]) and pd.isna(t4.loc["int8", "paper_dtype"])
    assert t4.loc["fp16", "compression_x"] == pytest.approx(2.0)
    assert t4.loc["fp32", "size_mib"] == pytest.approx(3_400_000 / 2**20)


def test_table5_unsupported_rows_keep_note_and_paper_values(tmp_path, costs):
    rows = prune_rows(costs["oshea_cnn2"], 0.5)
    evals = [write(tmp_path, "e.json", eval_record("model1", "magnitude-50", rows, 45.0))]
    prunes = [
        write(
            tmp_path,
            "p.json",
            {
                "model": "model1",
                "variant": "magnitude-50",
                "totals_before": totals(costs["oshea_cnn2"]),
            },
        )
    ]
    bench = [
        write(tmp_path, "ok.json", bench_record("model1", "magnitude-50", "fp32", "onnxruntime")),
        write(tmp_path, "trt.json", bench_record("model1", "magnitude-50", "int8", "tensorrt")),
        write(
            tmp_path,
            "no.json",
            bench_record("model1", "magnitude-50", "fp16", "litert", status="unsupported"),
        ),
    ]
    t5 = deployment.table5(bench, evals, prunes, MODELS, 32, CONTROLS).set_index(
        ["dtype", "backend"]
    )
    ok = t5.loc[("fp32", "onnxruntime")]
    assert (
        ok["throughput_fps"] == 9000.0
        and ok["best_batch_size"] == 256
        and ok["best_throughput_fps"] == 12000.0
    )
    assert (
        ok["device"] == "Test CPU 9000"
        and ok["latency_p50_ms"] == 1.0
        and ok["size_zip_mib"] == pytest.approx(900_000 / 2**20)
    )
    assert ok["paper_accuracy_pct"] == 55.8636 and ok["paper_size_mib"] == 3.43
    assert ok["paper_mflops"] == 6.5
    # The paper's throughput is TensorRT's on a T4: only in the paper's own reference rows.
    assert (
        t5[t5["status"] != "reference"][
            ["paper_throughput_fps", "paper_device", "paper_batch_size"]
        ]
        .isna()
        .all()
        .all()
    )
    paper_fp32 = t5.loc[("fp32", "paper: TensorRT on NVIDIA T4")]
    assert paper_fp32["status"] == "reference" and paper_fp32["paper_throughput_fps"] == 89966
    assert paper_fp32["paper_device"] == "NVIDIA T4 (TensorRT)"
    assert paper_fp32["paper_batch_size"] == 32 and paper_fp32["paper_accuracy_pct"] == 55.8636
    assert pd.isna(paper_fp32["throughput_fps"]) and pd.isna(paper_fp32["accuracy_pct"])
    assert ok["executed_precision"] == "fp32" and paper_fp32["executed_precision"] == "unknown"
    assert round(ok["mflops_dense"], 1) == 6.5 and ok["mflops_effective"] < ok["mflops_dense"]
    assert t5.loc[("int8", "tensorrt"), "device"] == "Tesla T4"
    bad = t5.loc[("fp16", "litert")]
    assert bad["status"] == "unsupported" and "cannot run fp16" in bad["note"]
    assert (
        math.isnan(bad["throughput_fps"])
        and math.isnan(bad["accuracy_pct"])
        and pd.isna(bad["best_batch_size"])
    )
    assert pd.isna(bad["paper_throughput_fps"]) and bad["executed_precision"] == "unknown"
    assert t5.loc[("fp16", "paper: TensorRT on NVIDIA T4"), "paper_throughput_fps"] == 91264


def test_table5_not_offered_rows_and_fastest_backend(tmp_path, costs):
    """A bf16 row a runtime does not offer (the benchmark's own record) says so and why, apart
    from a refusal; each measured row names the fastest backend that ran its dtype."""
    from amrcomp.bench import not_offered_record
    from amrcomp.bench.offers import BF16_NOT_OFFERED

    rows = costs["oshea_cnn2"]
    evals = [write(tmp_path, "e.json", eval_record("model1", "baseline", rows, 45.0))]
    deployed = tmp_path / "m.onnx"
    deployed.write_bytes(b"\0" * 1000)
    settings = {"batch_sizes": [1, 32], "warmup": 1, "repeats": 3, "min_seconds": 0.0}
    settings |= {"threads": 2, "eval_batch_size": 8}
    labels = {"model": "model1", "variant": "baseline", "dtype": "bf16", "backend": "litert"}
    absent = not_offered_record(deployed, settings, labels, BF16_NOT_OFFERED["litert"])
    fast = {"1": 900.0, "32": 20000.0}
    bench = [
        write(tmp_path, "b1.json", bench_record("model1", "baseline", "fp32", "onnxruntime")),
        write(
            tmp_path, "b2.json", bench_record("model1", "baseline", "fp32", "openvino", fps=fast)
        ),
        write(
            tmp_path, "b3.json", bench_record("model1", "baseline", "bf16", "openvino", fps=fast)
        ),
        write(tmp_path, "b4.json", absent),
        write(tmp_path, "b5.json", bench_record("model1", "baseline", "int8", "onnxruntime")),
        write(
            tmp_path,
            "b6.json",
            bench_record("model1", "baseline", "int8", "openvino", "unsupported"),
        ),
    ]
    t5 = deployment.table5(bench, evals, [], MODELS, 32, CONTROLS).set_index(["dtype", "backend"])
    row = t5.loc[("bf16", "litert")]
    assert row["status"] == "not_offered" and row["note"].startswith("not offered: LiteRT")
    assert pd.isna(row["throughput_fps"]) and row["executed_precision"] == "unknown"
    assert row["size_mib"] == pytest.approx(1000 / 2**20)
    assert t5.loc[("int8", "openvino"), "status"] == "unsupported"
    assert "not offered" not in t5.loc[("int8", "openvino"), "note"]
    fastest = t5[t5["status"] != "reference"].groupby("dtype")["fastest_backend"].unique()
    assert {d: list(v) for d, v in fastest.items()} == {
        "fp32": ["openvino"],  # 20,000 frames/s at batch 32 beats 9,000
        "bf16": ["openvino"],  # the only bf16 row that ran
        "int8": ["onnxruntime"],  # openvino refused it
    }
    assert t5[t5["status"] == "reference"]["fastest_backend"].isna().all()


def test_table5_batch_size_not_measured_names_file(tmp_path, costs):
    rows = costs["oshea_cnn2"]
    evals = [write(tmp_path, "e.json", eval_record("model1", "baseline", rows, 45.0))]
    bench = [
        write(
            tmp_path,
            "ok.json",
            bench_record("model1", "baseline", "fp32", "onnxruntime", fps={"1": 10.0, "8": 50.0}),
        )
    ]
    with pytest.raises(records.RecordError, match=r"ok\.json.*batch size 32.*tables\.batch_size"):
        deployment.table5(bench, evals, [], MODELS, 32, CONTROLS)


def test_tables_name_the_devices_each_result_computed_on(tmp_path, costs):
    """Table II shows where training computed (train.json's devices.used), Table V where each
    benchmark did; the paper's reference rows have only paper_device. Records from before
    devices were recorded leave Table II's cell empty and Table V on the machine's names."""
    from amrcomp.machine import devices

    host = {"environ": {}, "nvidia": ["Tesla T4, 550"], "cpu": "Test CPU 9000"}
    unused = devices([], **host)  # a GPU node whose TensorFlow has no CUDA
    train = {
        "optimizer": "Adam",
        "learning_rate": 1e-3,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "loss": "categorical_crossentropy",
        **dict.fromkeys(("batch_size", "epochs_max", "epochs_run", "best_epoch"), 2),
        "precision": {"setting": "auto", "used": "fp32", "reason": "no bf16"},
    }
    t2 = build.table2(
        [
            write(tmp_path, "t1.json", {**train, "model": "model1", "devices": unused}),
            write(tmp_path, "t2.json", {**train, "model": "model2"}),
        ],
        MODELS,
    ).set_index("model")
    assert t2.loc["model1", "train_devices"] == "CPU: Test CPU 9000 (allocated GPU unused)"
    assert pd.isna(t2.loc["model2", "train_devices"])

    rows = costs["oshea_cnn2"]
    evals = [write(tmp_path, "e.json", eval_record("model1", "magnitude-50", rows, 45.0))]
    prunes = [
        write(tmp_path, "p.json", prune_record("model1", "magnitude-50", rows, rows)),
    ]
    labels = ("model1", "magnitude-50", "fp32")
    bench = [
        write(
            tmp_path,
            "ort.json",
            {**bench_record(*labels, "onnxruntime"), "devices": devices(**host)},
        ),
        write(
            tmp_path,
            "trt.json",
            {
                **bench_record(*labels, "tensorrt"),
                "devices": devices(gpu_runtime="TensorRT", **host),
            },
        ),
        write(tmp_path, "old.json", bench_record(*labels, "litert")),
    ]
    t5 = deployment.table5(bench, evals, prunes, MODELS, 32, CONTROLS).set_index("backend")
    assert t5.loc["onnxruntime", "device"] == "CPU: Test CPU 9000"
    assert t5.loc["tensorrt", "device"] == "GPU: Tesla T4 (TensorRT); CPU: Test CPU 9000"
    assert t5.loc["litert", "device"] == "Test CPU 9000"
    reference = t5[t5["status"] == "reference"]
    assert len(reference) and reference["device"].isna().all()
    assert (reference["paper_device"] == paper.TABLE5_DEVICE).all()


def test_reader_names_file_and_missing_key(tmp_path, costs):
    record = eval_record("model1", "baseline", costs["oshea_cnn2"], 50.0)
    del record["layers"]
    path = write(tmp_path, "stale.json", record)
    with pytest.raises(records.RecordError, match=r"stale\.json.*lacks \['layers'\]"):
        build.table1([path], MODELS)
    bad = write(
        tmp_path,
        "weird.json",
        {**bench_record("model1", "baseline", "fp32", "litert"), "status": "crashed"},
    )
    with pytest.raises(records.RecordError, match=r"weird\.json.*status"):
        records.bench(bad)


def test_energy_table_accuracy_sources_and_paper_values(tmp_path, costs):
    rows = costs["tekbiyik"]
    keras = [write(tmp_path, "k.json", eval_record("model2", "baseline", rows, 50.0))]
    tfl = [
        write(
            tmp_path,
            f"t{d}.json",
            eval_record("model2", "baseline", rows, acc, dtype=d, backend="litert"),
        )
        for d, acc in (("fp16", 49.5), ("int8", 48.0))
    ]
    layer = {
        "layer": "conv1",
        "type": "Conv2D",
        "inputs_pj": 1.0,
        "outputs_pj": 2.0,
        "parameters_pj": 3.0,
        "mac_pj": 4.0,
        "counted": ["inputs", "op_cost"],
        "total_pj": 5.0,
        "density": 1.0,
        "sparsity_aware_pj": 5.0,
    }
    estimates = [
        write(
            tmp_path,
            f"e{d}.json",
            {
                "model": "model2",
                "variant": "baseline",
                "dtype": d,
                "accumulator": a,
                "energy_uj": uj,
                "sparsity_aware_energy_uj": uj,
                "bit_operations": 1e9,
                "weight_memory_bits": 1e6,
                "weight_bits": b,
                "activation_bits": b,
                "layers": [layer],
            },
        )
        for d, a, uj, b in (
            ("fp32", "fp32", 400.0, 32),
            ("fp16", "fp16", 100.0, 16),
            ("int8", "int16", 50.0, 8),
        )
    ]
    te = energy.table_energy(estimates, keras, tfl, MODELS).set_index("dtype")
    assert list(te["paper_energy_uj"]) == [393.37, 133.66, 49.95]
    assert (
        te.loc["int8", "accuracy_source"] == "tflite-int8"
        and te.loc["int8", "accuracy_pct"] == 48.0
    )
    assert (
        te.loc["fp32", "accuracy_source"] == "keras-fp32"
        and te.loc["fp16", "saving_vs_fp32_x"] == 4.0
    )
    layers = energy.table_energy_layers(estimates)
    assert len(layers) == 3 and set(layers["counted_terms"]) == {"inputs+op_cost"}


def test_frame_enforces_schema():
    with pytest.raises(ValueError, match="bogus"):
        schema.frame("table2", [{"model": "m", "bogus": 1}])
    df = schema.frame("table2", [{"model": "m", "batch_size": 256}])
    assert list(df.columns) == [c.name for c in schema.columns("table2")]
    assert str(df["batch_size"].dtype) == "Int64" and pd.isna(df.loc[0, "epochs_run"])


def test_written_table_carries_units_and_provenance(tmp_path, costs):
    df = build.table1(
        [write(tmp_path, "b.json", eval_record("model1", "baseline", costs["oshea_cnn2"], 50.0))],
        MODELS,
    )
    meta = {
        "table": "table1",
        "units": schema.units("table1"),
        "config_sha256": "0" * 64,
        "dataset": {"name": "x", "content_hash": "f" * 64},
        "machine": {"cpu": "c"},
    }
    write_table(
        df,
        "table1",
        schema.arrow_schema("table1"),
        tmp_path / "t.csv",
        tmp_path / "t.parquet",
        meta,
        tmp_path / "t.html",
        "Table I",
    )
    arrow = pq.read_schema(tmp_path / "t.parquet")
    assert arrow.field("macs").metadata[b"unit"] == b"MAC"
    back, read_meta = read_table(tmp_path / "t.parquet")
    assert (
        read_meta["units"]["params"] == "parameters"
        and read_meta["dataset"]["content_hash"] == "f" * 64
    )
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert "1,549,056" in (tmp_path / "t.html").read_text()


def test_pareto_front():
    from amrcomp.figures.tradeoffs import pareto_front

    x, y = [1.0, 2.0, 3.0, 0.5, 2.5], [50.0, 60.0, 55.0, 40.0, 61.0]
    assert list(pareto_front(x, y)) == [3, 0, 1, 4]
    assert list(pareto_front(x, y, maximize_x=True)) == [2, 4]


def test_figures_render_from_synthetic_records(tmp_path, costs):
    from PIL import Image

    from amrcomp.figures import plots, tradeoffs

    record = eval_record("model1", "baseline", costs["oshea_cnn2"], 50.0)
    plots.confusion_matrices("model1", record, tmp_path / "c.png", tmp_path / "c.svg")
    points = pd.DataFrame(
        {
            "model": ["m"] * 3,
            "variant": ["a", "b", "c"],
            "dtype": ["fp32", "fp16", "int8"],
            "accuracy_pct": [50.0, 49.0, 45.0],
            "size_zip_mib": [4.0, 2.0, 1.0],
        }
    )
    tradeoffs.tradeoff(
        points,
        "size_zip_mib",
        "size (MiB)",
        tmp_path / "t.png",
        tmp_path / "t.svg",
        "t",
        log_x=True,
    )
    for stem in ("c", "t"):
        with Image.open(tmp_path / f"{stem}.png") as image:
            assert image.size[0] > 300 and len(image.convert("RGB").getcolors(1 << 24)) > 10
        assert "<svg" in (tmp_path / f"{stem}.svg").read_text()


def _rule_names(rule_file: str) -> set[str]:
    text = (ROOT / "rules" / rule_file).read_text()
    return set(re.findall(r"^rule (\w+):", text, re.M)) | set(
        re.findall(r"^use rule \w+ as (\w+) with:", text, re.M)
    )


def test_every_table_and_figure_rule_has_exactly_one_builder():
    from amrcomp import dispatch
    from amrcomp.figures import registry as figure_registry
    from amrcomp.tables import registry as table_registry

    assert set(table_registry.BUILDERS) == _rule_names("tables.smk")
    assert set(figure_registry.DRAWERS) == _rule_names("figures.smk")
    with pytest.raises(ValueError, match="tables.py has no entry for rule 'table9'"):
        dispatch.entry(table_registry.BUILDERS, "table9", "workflow/scripts/tables.py")
    with pytest.raises(ValueError, match="figures.py has no entry for rule 'figure_nothing'"):
        dispatch.entry(figure_registry.DRAWERS, "figure_nothing", "workflow/scripts/figures.py")


def test_registry_writes_companion_table_to_prefixed_outputs(tmp_path, costs):
    from amrcomp.tables import registry

    rows = costs["oshea_cnn2"]
    keras = [write(tmp_path, "k.json", eval_record("model1", "baseline", rows, 50.0))]
    layer = {
        "layer": "conv1",
        "type": "Conv2D",
        "inputs_pj": 1.0,
        "outputs_pj": 2.0,
        "parameters_pj": 3.0,
        "mac_pj": 4.0,
        "counted": ["op_cost"],
        "total_pj": 4.0,
        "density": 1.0,
        "sparsity_aware_pj": 4.0,
    }
    estimate = {
        "model": "model1",
        "variant": "baseline",
        "dtype": "fp32",
        "accumulator": "fp32",
        "energy_uj": 50.0,
        "sparsity_aware_energy_uj": 50.0,
        "bit_operations": 1e9,
        "weight_memory_bits": 1e6,
        "weight_bits": 32,
        "activation_bits": 32,
        "layers": [layer],
    }
    built = registry.BUILDERS["table_energy"](
        {"energy": [write(tmp_path, "e.json", estimate)], "evals": keras, "tflite": []},
        {"models": MODELS},
    )
    assert list(built.frames) == ["table_energy", "table_energy_layers"] and built.machine is None
    assert registry.output_keys("table_energy", "table_energy_layers") == {
        "csv": "layers_csv",
        "parquet": "layers_parquet",
        "html": "layers_html",
    }
    outputs = {
        f"{p}{kind}": str(tmp_path / f"{p}out.{kind}")
        for p in ("", "layers_")
        for kind in ("csv", "parquet", "html")
    }
    provenance = {
        "config_sha256": "0" * 64,
        "dataset": {"name": "x", "content_hash": "f" * 64},
        "machine": {"cpu": "c"},
    }
    for table, frame in built.frames.items():
        registry.write("table_energy", table, frame, outputs, provenance)
    layers, meta = read_table(tmp_path / "layers_out.parquet")
    assert meta["table"] == "table_energy_layers" and list(layers["layer"]) == ["conv1"]
    assert read_table(tmp_path / "out.parquet")[1]["table"] == "table_energy"


def test_stages_import_only_the_ground_floor():
    """scripts -> stages -> ground floor: a stage reaching into another couples their rules."""
    package = ROOT / "workflow" / "amrcomp"
    stages = {
        "tables": sorted((package / "tables").glob("*.py")),
        "figures": sorted((package / "figures").glob("*.py")),
        "report": sorted((package / "report").glob("*.py")),
    }
    for stage, files in stages.items():
        others = [s for s in stages if s != stage]
        for path in files:
            imported = re.findall(r"^\s*(?:from|import) amrcomp\.(\w+)", path.read_text(), re.M)
            imported += re.findall(r"^\s*from amrcomp import ([\w, ]+)", path.read_text(), re.M)
            names = {n.strip() for group in imported for n in group.split(",")}
            assert not names & set(others), (
                f"{path.relative_to(ROOT)} imports stage {names & set(others)}"
            )


# --- e2e: the tiny run's tables and figures ---------------------------------------------------

TABLES = list(schema.TABLES)


@pytest.mark.e2e
@pytest.mark.parametrize("name", TABLES)
def test_table_schema_units_and_provenance(tiny_run, name):
    path = tiny_run / "results" / f"{name}.parquet"
    arrow = pq.read_schema(path)
    expected = schema.arrow_schema(name)
    assert arrow.names == expected.names
    assert [f.type for f in arrow] == [f.type for f in expected]
    assert all(
        arrow.field(c.name).metadata[b"unit"].decode() == c.unit for c in schema.columns(name)
    )
    df, meta = read_table(path)
    assert len(df) > 0
    assert meta["units"] == schema.units(name)
    assert re.fullmatch(r"[0-9a-f]{64}", meta["config_sha256"])
    manifest = json.loads((tiny_run / "results" / "data" / "tiny" / "manifest.json").read_text())
    assert (
        meta["dataset"]["name"] == "tiny"
        and meta["dataset"]["content_hash"] == manifest["content_hash"]
    )
    assert meta["machine"]
    csv = pd.read_csv(tiny_run / "results" / f"{name}.csv")
    assert list(csv.columns) == arrow.names and len(csv) == len(df)
    for col in (c.name for c in schema.columns(name) if c.kind in ("int", "float")):
        assert np.allclose(
            csv[col].astype(float), df[col].astype(float), equal_nan=True, rtol=1e-9
        ), col


@pytest.mark.e2e
def test_tables_cover_the_configured_grid(tiny_run):
    from amrcomp.settings import all_variants, load_config, table5_variants

    config = load_config(TINY)
    models = list(config["models"])
    read = {n: read_table(tiny_run / "results" / f"{n}.parquet")[0] for n in TABLES}
    assert len(read["table3"]) == len(models) * len(all_variants(config))
    assert len(read["table4"]) == len(models) * len(config["tables"]["table4_variants"]) * len(
        config["quantize"]["dtypes"]
    )
    t5 = read["table5"]
    measured = t5[t5["status"] != "reference"]
    deployed = sum(len(table5_variants(config, m)) for m in models)
    assert len(measured) == deployed * len(config["deploy"]["dtypes"]) * len(
        config["deploy"]["backends"]
    )
    # One paper row per paper model and paper dtype (no bf16), for the paper's variant only.
    papers = [e["paper_name"] for e in config["models"].values() if paper.known(e["paper_name"])]
    dtypes = config["deploy"]["dtypes"]
    shown = {
        config["models"][m]["paper_name"]: paper.TABLE5_VARIANT in table5_variants(config, m)
        for m in models
    }
    expected = sum(d in paper.TABLE5[label] and shown[label] for label in papers for d in dtypes)
    assert len(t5) - len(measured) == expected > 0
    assert len(read["table_energy"]) == len(models) * len(all_variants(config)) * len(
        config["energy"]["dtypes"]
    )
    ok = t5[t5["status"] == "ok"]
    assert (
        ok["throughput_fps"].gt(0).all()
        and ok["accuracy_pct"].between(0, 100).all()
        and ok["device"].str.len().gt(0).all()
    )
    assert t5[t5["status"] != "ok"]["note"].notna().all()
    assert (measured["batch_size"] == config["tables"]["batch_size"]).all()
    assert t5["executed_precision"].isin(["fp32", "fp16", "bf16", "int8", "mixed", "unknown"]).all()
    # Every model, variant and dtype some backend ran names its fastest, one of those that ran.
    for _, group in ok.groupby(["model", "variant", "dtype"]):
        assert group["fastest_backend"].nunique() == 1
        assert group["fastest_backend"].iloc[0] in set(group["backend"])
    assert ok["precision_evidence"].str.len().gt(0).all()
    # Every training, fine-tune, evaluation and benchmark names the devices it computed on.
    cpu = f"CPU: {machine.cpu_model()}"
    assert read["table2"]["train_devices"].str.contains(cpu, regex=False).all()
    assert (ok.loc[ok["backend"] != "tensorrt", "device"] == cpu).all()
    for rel in (
        "models/model1/train.json",
        "models/model1/pruned-magnitude-50.json",
        "eval/model1/baseline-fp32.json",
        "eval/tflite/model1/baseline-fp32.json",
    ):
        found = json.loads((tiny_run / "results" / rel).read_text())["devices"]
        assert cpu in found["used"] and found["cpu"] == machine.cpu_model(), rel
        assert (found["tensorflow_gpus"] is None) == rel.startswith("eval/tflite"), rel


@pytest.mark.e2e
def test_tiny_tables_carry_intervals_and_comparisons_with_the_control(tiny_run):
    res = tiny_run / "results"
    t3 = read_table(res / "table3.parquet")[0]
    assert (t3.groupby("model")["variant"].apply(lambda v: "control-magnitude" in set(v))).all()
    assert t3["accuracy_ci95_pp"].between(0, 50).all() and t3["accuracy_drop_ci95_pp"].ge(0).all()
    assert t3["accuracy_from_0db_pct"].between(0, 100).all()
    pruned = t3[t3["pruning_method"] != "none"]
    assert pruned["drop_vs_control_pp"].notna().all()
    assert pruned["drop_vs_control_ci95_pp"].ge(0).all()
    dense = t3[t3["pruning_method"] == "none"]
    assert dense["drop_vs_control_pp"].isna().all()
    # each pruned variant had exactly its method's control's fine-tune budget
    recipe = "epochs steps frames learning_rate distillation".split()
    recipe = [f"finetune_{k}" for k in recipe]
    by_variant = t3.set_index(["model", "variant"])
    for row in pruned.itertuples():
        own = by_variant.loc[(row.model, row.variant), recipe]
        control = by_variant.loc[(row.model, f"control-{row.pruning_method}"), recipe]
        assert own.tolist() == control.tolist(), (row.model, row.variant)
    t5 = read_table(res / "table5.parquet")[0]
    ok = t5[t5["status"] == "ok"]
    assert ok["accuracy_ci95_pp"].gt(0).all()
    controls = ok[ok["variant"] == "control-filters"].set_index(["model", "dtype", "backend"])
    pruned5 = ok[ok["pruning_method"] != "none"]
    keys = zip(pruned5["model"], pruned5["dtype"], pruned5["backend"])
    compared = pruned5[[key in controls.index for key in keys]]
    assert len(compared) and compared["speedup_vs_control"].gt(0).all()
    # a drop only against the variant's own control; the speed-up against any dense control
    own = compared["pruning_method"] == "filters"
    assert compared.loc[own, "drop_vs_control_ci95_pp"].ge(0).all()
    assert compared.loc[~own, "drop_vs_control_pp"].isna().all()
    for row in compared.itertuples():
        control = controls.loc[(row.model, row.dtype, row.backend)]
        assert row.speedup_vs_control == pytest.approx(
            row.throughput_fps / control["throughput_fps"]
        )


@pytest.mark.e2e
def test_paper_columns_hold_the_papers_numbers(tiny_run):
    res = tiny_run / "results"
    t1 = read_table(res / "table1.parquet")[0]
    m1 = t1[t1["model"] == "model1"]
    assert list(m1["paper_params"]) == [450, 40050, 1549056, 2827, 1592383]
    assert (t1["params_diff"] == 0).all(), "the architectures must reproduce Table I exactly"
    assert list(t1[t1["model"] == "model2"]["paper_params"]) == [
        4352,
        524416,
        131136,
        65600,
        131200,
        1419,
        858123,
    ]
    t2 = read_table(res / "table2.parquet")[0]
    assert (
        (t2["paper_learning_rate"] == 0.001).all()
        and (t2["paper_epochs"] == 110).all()
        and (t2["paper_batch_size"] == 256).all()
    )
    assert (t2["paper_optimizer"] == "Adam").all() and (t2["optimizer"] == "Adam").all()
    t3 = read_table(res / "table3.parquet")[0].set_index(["model", "variant"])
    assert t3.loc[("model1", "magnitude-50"), "paper_accuracy_pct"] == 55.8636
    assert t3.loc[("model2", "magnitude-50"), "paper_params_printed"] == 429062
    assert (
        t3.loc[("model1", "filters-50"), ["paper_accuracy_pct", "paper_params_printed"]]
        .isna()
        .all()
    )
    t4 = read_table(res / "table4.parquet")[0].set_index(["model", "variant", "dtype"])
    assert t4.loc[("model1", "baseline", "fp32"), "paper_size_mib"] == 5.83
    assert t4.loc[("model2", "baseline", "dynamic"), "paper_accuracy_pct"] == 54.62
    assert t4.xs("magnitude-50", level="variant")["paper_accuracy_pct"].isna().all()
    t5 = read_table(res / "table5.parquet")[0]
    mag = t5[t5["variant"] == "magnitude-50"].set_index(["model", "dtype"])
    reference = mag[mag["status"] == "reference"]
    mag = mag[mag["status"] != "reference"]
    for (model, dtype), (acc, size, fps) in {
        ("model1", d): v for d, v in paper.TABLE5["Model 1"].items()
    }.items():
        assert reference.loc[(model, dtype), "paper_throughput_fps"] == fps
        assert set(mag.loc[(model, dtype), "paper_accuracy_pct"]) == {acc}
        assert reference.loc[(model, dtype), "paper_accuracy_pct"] == acc
    assert set(reference.xs("model2", level="model")["paper_device"]) == {"NVIDIA T4 (TensorRT)"}
    assert set(reference["backend"]) == {"paper: TensorRT on NVIDIA T4"}
    # The paper's T4 throughput never sits beside a CPU measurement.
    assert mag[["paper_throughput_fps", "paper_device", "paper_batch_size"]].isna().all().all()
    assert (
        t5[t5["variant"] == "filters-50"][["paper_throughput_fps", "paper_accuracy_pct"]]
        .isna()
        .all()
        .all()
    )
    assert (mag.xs("model1", level="model")["mflops_dense"].round(1) == 6.5).all()
    assert (mag.xs("model2", level="model")["mflops_dense"].round(2) == 78.86).all()
    te = (
        read_table(res / "table_energy.parquet")[0]
        .set_index(["model", "variant", "dtype"])
        .sort_index()
    )
    assert list(
        te.loc[("model1", "baseline")].loc[["fp32", "fp16", "int8"], "paper_energy_uj"]
    ) == [49.46, 21.31, 11.91]
    assert te.xs("magnitude-50", level="variant")["paper_energy_uj"].isna().all()


@pytest.mark.e2e
def test_figures_are_nonempty_images(tiny_run):
    from PIL import Image

    pngs = sorted((tiny_run / "results" / "figures").glob("*.png"))
    stems = {p.stem for p in pngs}
    assert {
        "accuracy_snr_model1",
        "training_model2",
        "confusion_model1_baseline",
        "confusion_model2_magnitude-50",
        "tradeoff_size",
        "tradeoff_energy",
        "tradeoff_throughput",
        "front",
    } <= stems
    for png in pngs:
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            colours = image.convert("RGB").getcolors(1 << 24)
            assert image.size[0] >= 400 and image.size[1] >= 300 and len(colours) > 20, png
        svg = png.with_suffix(".svg")
        assert svg.stat().st_size > 1000 and "<svg" in svg.read_text()[:2000], svg


def _planned_jobs(output: str) -> list[tuple[str, str]]:
    """(rule, output line) of every job in a dry-run listing."""
    jobs, rule = [], None
    for line in output.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if match:
            rule = match.group(1)
        elif rule and line.strip().startswith("output:"):
            jobs.append((rule, line.split(":", 1)[1].strip()))
            rule = None
    return jobs


@pytest.mark.e2e
def test_table5_target_plans_only_what_table5_needs(tmp_path):
    overlay = tmp_path / "wide.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "prune": {
                    "methods": ["magnitude", "m_by_n", "filters"],
                    "sparsities": [25, 50],
                    "method_sparsities": {"filters": [25, 50]},
                },
                # config/tiny.yaml gives each model its own filters level: widen both
                "models": {
                    m: {"method_sparsities": {"filters": [25, 50]}} for m in ("model1", "model2")
                },
                "tables": {
                    "table4_variants": ["baseline", "filters-25"],
                    "table5_variants": ["magnitude-50"],
                },
            }
        )
    )
    proc = snakemake(tmp_path / "work", "-n", "results/table5.csv", configfiles=(TINY, overlay))
    jobs = _planned_jobs(proc.stdout)
    rules = {r for r, _ in jobs}
    assert {"table5", "benchmark", "prune"} <= rules, rules
    assert not rules & {
        "energy",
        "table1",
        "table2",
        "table3",
        "table4",
        "table_energy",
        "summary",
        "qat",
        "qkeras",
        "front",
    }, rules
    assert not [r for r in rules if r.startswith("figure_")]
    for rule, out in jobs:
        if rule in (
            "prune",
            "quantize",
            "export_onnx",
            "convert_onnx",
            "benchmark",
            "evaluate_keras",
        ):
            variants = set(re.findall(r"(baseline|magnitude-\d+|m_by_n-\d+|filters-\d+)", out))
            assert variants and variants <= {"magnitude-50"} | (
                {"baseline"} if rule == "evaluate_keras" else set()
            ), (rule, out)
    assert [o for r, o in jobs if r == "evaluate_keras"] and all(
        "baseline" not in o for r, o in jobs if r == "evaluate_keras"
    )
    # A LiteRT row takes the accuracy its .tflite was scored with (amrcomp.bench): that file's
    # evaluate_tflite job, for the dtypes Table V deploys only (not Table IV's `dynamic`).
    scored = [o for r, o in jobs if r == "evaluate_tflite"]
    assert scored and all(re.search(r"/magnitude-50-(fp32|fp16|int8)\.json", o) for o in scored)
