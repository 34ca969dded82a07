"""The accuracy-cost front: every variant and deployed form of each model on energy, size and
throughput, Pareto flags, the paper's points, and the summary's cheapest point per axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from amrcomp.settings import all_variants, load_config
from amrcomp.tablefile import read_table
from amrcomp.tables.front import mark_pareto
from conftest import TINY


def test_pareto_flags_need_both_accuracy_and_cost():
    rows = [
        {"model": "m", "status": "measured", "accuracy_pct": a, "energy_uj": e, "size_mib": s,
         "throughput_fps": t}
        for a, e, s, t in [(50, 10, 1.0, 100), (49, 5, 1.0, 200), (48, 6, 0.5, 50), (50, 11, 2, 90)]
    ]  # fmt: skip
    mark_pareto(rows)
    assert [r["pareto_energy"] for r in rows] == [True, True, False, False]  # 3rd: 2nd beats it
    assert [r["pareto_storage"] for r in rows] == [True, False, True, False]  # 2nd: 1st beats it
    assert [r["pareto_throughput"] for r in rows] == [True, True, False, False]


@pytest.fixture(scope="module")
def front(tiny_run) -> pd.DataFrame:
    return read_table(tiny_run / "results" / "front.parquet")[0]


@pytest.mark.e2e
def test_front_holds_every_variant_and_form(front):
    config = load_config(TINY)
    measured = front[front["status"] == "measured"]
    for model in config["models"]:
        mine = measured[measured["model"] == model]
        floats = len(all_variants(config, model)) * len(config["quantize"]["dtypes"])
        assert len(mine) == floats + len(config["qat"]["variants"])
        forms = set(zip(mine["variant"], mine["dtype"]))
        assert {("qat", "int8"), ("pqat-magnitude-50", "int8")} <= forms
        assert {("qkeras-w8a8", "w8a8"), ("qkeras-w4a4", "w4a4")} <= forms
        for axis in ("energy", "storage", "throughput"):
            assert mine[f"pareto_{axis}"].fillna(False).any(), (model, axis)
    paper = front[front["status"] == "paper"]
    assert len(paper) == 2 * 3 and paper["energy_uj"].notna().all()


@pytest.mark.e2e
def test_quantisation_aware_points_carry_their_costs(front):
    measured = front[front["status"] == "measured"].set_index(["model", "variant", "dtype"])
    for model in ("model1", "model2"):
        w8, w4 = (
            measured.loc[(model, "qkeras-w8a8", "w8a8")],
            measured.loc[(model, "qkeras-w4a4", "w4a4")],
        )
        int8 = measured.loc[(model, "baseline", "int8")]
        # Real widths: 8-bit activations below the paper's int16 accumulator reads, 4 bits below.
        assert w4["energy_uj"] < w8["energy_uj"] < int8["energy_uj"]
        assert w4["bit_operations"] < w8["bit_operations"]
        assert w4["size_mib"] < w8["size_mib"] and w8["storage"].startswith("computed")
        assert np.isnan(w8["throughput_fps"])  # no runtime here runs sub-8-bit arithmetic
        qat = measured.loc[(model, "qat", "int8")]
        assert qat["throughput_fps"] > 0 and qat["fastest_backend"] in (
            "litert",
            "onnxruntime",
            "openvino",
        )
        assert qat["energy_uj"] == pytest.approx(int8["energy_uj"])  # the parent's estimate
        pqat = measured.loc[(model, "pqat-magnitude-50", "int8")]
        assert 49 <= pqat["kernel_zeros_pct"] <= 60  # the zeros survive conversion
        for row in (w8, w4, qat, pqat):
            assert row["control"] == "control-magnitude"
            assert np.isfinite(row["drop_vs_control_pp"]) and row["drop_vs_control_ci95_pp"] >= 0


@pytest.mark.e2e
def test_summary_names_the_cheapest_point_per_axis(tiny_run):
    text = (tiny_run / "results" / "summary.md").read_text()
    section = text.split("## Cheapest within the tolerance, per axis (front)")[1]
    assert "acceptance rule" in section.split("##")[0]
