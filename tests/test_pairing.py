"""Table V's pairings downstream of the table: the summary and the throughput figure keep the
paper's TensorRT / NVIDIA T4 throughput in its own reference rows and show each row's executed
precision (the builder is tested in test_tables.py)."""

from __future__ import annotations

import platform

import pandas as pd
import pytest

from amrcomp.atomic import read_json
from amrcomp.figures import registry
from amrcomp.report.deployment import _fastest_section, _table5_text
from amrcomp.tablefile import read_table, write_table
from amrcomp.tables import deployment, schema

REFERENCE = "paper: TensorRT on NVIDIA T4"


def row(dtype, backend, status="ok", executed="fp32", **more):
    base = {
        "model": "model1",
        "paper_model": "Model 1",
        "variant": "magnitude-50",
        "dtype": dtype,
        "backend": backend,
        "status": status,
        "executed_precision": executed,
        "precision_evidence": "test",
    }
    if status == "ok":
        base |= {"batch_size": 32, "throughput_fps": 5000.0, "accuracy_pct": 40.0}
        base |= {"device": "Test CPU 9000"}
    return base | more


@pytest.fixture()
def t5() -> pd.DataFrame:
    return schema.frame(
        "table5",
        [
            row("fp16", "onnxruntime", paper_accuracy_pct=55.8614),
            row("fp16", "litert", executed="fp32", throughput_fps=7000.0),
            row("int8", "litert", executed="int8"),
            row("int8", "onnxruntime", status="unsupported", executed="unknown", note="refused"),
            row(
                "fp16",
                REFERENCE,
                status="reference",
                executed="unknown",
                note="the paper's Table V figures, not measured here",
                paper_accuracy_pct=55.8614,
                paper_throughput_fps=91264.0,
                paper_batch_size=32,
                paper_device="NVIDIA T4 (TensorRT)",
            ),
        ],
    )


def test_summary_says_where_the_papers_throughput_is_and_what_ran(t5):
    text = _table5_text(t5)
    assert text[0].startswith("Throughput at batch 32, measured on this machine (Test CPU 9000).")
    assert f"appears only in its own rows (backend `{REFERENCE}`)" in text[0]
    assert "NVIDIA T4 (TensorRT), batch 32" in text[0]
    other = next(t for t in text if t.startswith("Files that ran in another precision"))
    assert "model1 magnitude-50 fp16 on onnxruntime ran fp32" in other
    assert "litert ran int8" not in other  # ran in its own dtype
    unsupported = next(t for t in text if t.startswith("Unsupported"))
    assert "int8 on onnxruntime (refused)" in unsupported and REFERENCE not in unsupported


def test_summary_names_the_fastest_runtime_and_what_is_not_offered():
    why = "not offered: LiteRT runs an fp32 .tflite in float32"
    rows = [
        row("fp16", "onnxruntime"),
        row("fp16", "litert", executed="fp32", throughput_fps=7000.0),
        row("int8", "litert", executed="int8"),
        row("int8", "onnxruntime", status="unsupported", executed="unknown", note="refused"),
        row("bf16", "openvino", executed="bf16", throughput_fps=9000.0),
        row("bf16", "litert", status="not_offered", executed="unknown", note=why),
    ]
    deployment.mark_fastest(rows)
    table = schema.frame("table5", rows)
    section = _fastest_section(table)
    best = section.table.set_index("dtype")
    assert best.loc["fp16", "fastest backend"] == "litert"  # 7000 over onnxruntime's 5000
    assert best.loc["fp16", "others (frames/s)"] == "onnxruntime 5000"
    assert best.loc["bf16", "fastest backend"] == "openvino" and len(best) == 3
    assert "litert 2 of 3, openvino 1 of 3" in section.text[0]
    line = next(t for t in _table5_text(table) if t.startswith("Not offered"))
    assert line == f"Not offered: bf16 on litert (1 rows): {why.removeprefix('not offered: ')}."
    assert not any(t.startswith("Unsupported") and "bf16" in t for t in _table5_text(table))


def test_throughput_figure_leaves_out_the_papers_rows_and_marks_executed_precision(
    t5, tmp_path, monkeypatch
):
    parquet = tmp_path / "table5.parquet"
    meta = {"table": "table5", "units": schema.units("table5")}
    write_table(t5, "table5", schema.arrow_schema("table5"), tmp_path / "t.csv", parquet, meta)
    drawn = {}
    monkeypatch.setattr(registry, "tradeoff", lambda df, *a, **k: drawn.update(df=df, **k))
    registry.DRAWERS["figure_tradeoff_throughput"]({"table": parquet}, {}, "x.png", "x.svg")
    df = drawn["df"]
    assert REFERENCE not in set(df["backend"]) and len(df) == 4
    assert drawn["marker_by"] == "executed_precision" and drawn["marker_label"] == "ran {}"
    assert list(df["ran_in_another_precision"]) == [True, True, False, True]
    assert "reference rows, not plotted" in drawn["note"]
    assert "1 unsupported row(s) not shown" in drawn["note"]  # the reference row is not one


def test_throughput_figure_renders(t5, tmp_path):
    from PIL import Image

    parquet = tmp_path / "table5.parquet"
    meta = {"table": "table5", "units": schema.units("table5")}
    write_table(t5, "table5", schema.arrow_schema("table5"), tmp_path / "t.csv", parquet, meta)
    png, svg = tmp_path / "f.png", tmp_path / "f.svg"
    registry.DRAWERS["figure_tradeoff_throughput"]({"table": parquet}, {}, str(png), str(svg))
    with Image.open(png) as image:
        assert image.size[0] > 300
    assert "ran fp32" in svg.read_text() and "hollow: ran in another precision" in svg.read_text()


@pytest.mark.e2e
def test_tiny_run_pairs_and_precisions(tiny_run):
    res = tiny_run / "results"
    t5 = read_table(res / "table5.parquet")[0]
    measured = t5[t5["status"] != "reference"]
    for r in measured.itertuples():
        record = read_json(res / f"bench/{r.backend}/{r.model}/{r.variant}-{r.dtype}.json")
        assert (r.executed_precision, r.precision_evidence) == (
            record["executed_precision"],
            record["precision_evidence"],
        )
    if platform.machine() in ("x86_64", "AMD64"):  # ORT's x86 CPU provider has no fp16 Conv
        ort_fp16 = measured[(measured["backend"] == "onnxruntime") & (measured["dtype"] == "fp16")]
        assert (ort_fp16["executed_precision"] == "fp32").all()
    summary = (res / "summary.md").read_text()
    assert f"| {REFERENCE} | reference |" in summary
    assert "executed_precision" in summary and "appears only in its own rows" in summary
