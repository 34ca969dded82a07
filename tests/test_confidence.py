"""Confidence intervals: accuracy, paired drops (hand-made vectors and the formula's edge cases),
the acceptance rule, and the per-frame evaluation record that pairing rests on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from amrcomp import confidence, records
from amrcomp.scoring import decode_classes, encode_classes, summarise


def test_paired_drop_on_hand_made_vectors():
    reference = np.array([1, 1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    variant = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 1], bool)
    # b = 2 frames only the reference gets right (1, 7), c = 1 only the variant (4), n = 10
    drop, ci = confidence.paired_drop_pp(reference, variant)
    assert drop == pytest.approx(100 * (2 - 1) / 10)
    assert ci == pytest.approx(100 * 1.96 * math.sqrt(2 + 1 - (2 - 1) ** 2 / 10) / 10)
    assert ci == pytest.approx(33.378, abs=1e-3)
    # the same as the normal interval of the mean per-frame difference (population variance)
    d = reference.astype(float) - variant.astype(float)
    assert ci == pytest.approx(100 * 1.96 * np.sqrt(np.var(d) / len(d)))
    assert confidence.paired_drop_pp(variant, reference) == pytest.approx((-drop, ci))


def test_paired_drop_edge_cases():
    right = np.ones(5, bool)
    assert confidence.paired_drop_pp(right, right) == (0.0, 0.0)  # no discordant frame
    assert confidence.paired_drop_pp(~right, ~right) == (0.0, 0.0)
    # every frame discordant one way: b = n, c = 0, b + c - (b - c)^2 / n = 0, a certain drop
    assert confidence.paired_drop_pp(right, ~right) == (100.0, 0.0)
    # balanced discordance: no drop, but an interval of 1.96 sqrt(b + c) / n
    a, b = np.array([1, 0, 1, 1], bool), np.array([0, 1, 1, 1], bool)
    drop, ci = confidence.paired_drop_pp(a, b)
    assert drop == 0.0 and ci == pytest.approx(100 * 1.96 * math.sqrt(2) / 4)
    one = np.array([True])
    assert confidence.paired_drop_pp(one, ~one) == (100.0, 0.0)  # n = 1
    with pytest.raises(ValueError, match="at least one frame"):
        confidence.paired_drop_pp(np.array([], bool), np.array([], bool))
    with pytest.raises(ValueError, match="one length"):
        confidence.paired_drop_pp(right, right[:4])


def test_accuracy_interval():
    assert confidence.accuracy_ci_pp(50.0, 100) == pytest.approx(9.8)
    assert confidence.accuracy_ci_pp(0.0, 100) == 0.0 == confidence.accuracy_ci_pp(100.0, 7)
    with pytest.raises(ValueError, match="at least one frame"):
        confidence.accuracy_ci_pp(50.0, 0)


@pytest.mark.parametrize(
    "drop, ci, ok",
    [(1.0, 1.0, True), (1.0, 1.01, False), (1.01, 0.0, False), (-3.0, 4.9, True),
     (0.5, 1.5, True), (float("nan"), 0.0, False), (0.0, float("nan"), False)],
)  # fmt: skip
def test_acceptance_rule(drop, ci, ok):
    assert confidence.accepted(drop, ci) is ok


def test_record_keeps_per_frame_classes_and_accuracy_from_0db():
    labels, snr = np.array([0, 1, 10, 3, 3]), np.array([-10, 0, 4, -2, 18])
    predicted = np.array([0, 2, 10, 3, 1])
    record = summarise(labels, snr, predicted, [f"c{i}" for i in range(11)])
    assert record["labels"] == "01a33" and record["predicted"] == "02a31"
    assert decode_classes(record["predicted"]).tolist() == predicted.tolist()
    assert record["n_frames_from_0db"] == 3 and record["accuracy_from_0db_pct"] == pytest.approx(
        100 / 3
    )
    assert records.correct_frames(record, "r.json").tolist() == [True, False, True, True, False]
    low = summarise(labels[:1], snr[:1], predicted[:1], ["a"] * 11)
    assert low["n_frames_from_0db"] == 0 and low["accuracy_from_0db_pct"] is None
    with pytest.raises(ValueError, match="0..35"):
        encode_classes(np.array([36]))


def test_records_of_other_frames_are_refused():
    labels, snr, classes = np.array([0, 1, 2, 0]), np.array([0, 2, 4, 6]), ["a", "b", "c"]
    ref = summarise(labels, snr, labels, classes)
    same = summarise(labels, snr, np.array([0, 1, 1, 1]), classes)
    records.check_same_frames(ref, "ref.json", same, "same.json")
    shuffled = summarise(labels, snr[::-1], labels, classes)  # same labels, SNRs in other order
    with pytest.raises(records.RecordError, match="not scored on the same test frames"):
        records.check_same_frames(ref, "ref.json", shuffled, "other.json")
    shorter = summarise(labels[:3], snr[:3], labels[:3], classes)
    with pytest.raises(records.RecordError, match=r"other\.json and ref\.json.*n_frames 3 vs 4"):
        records.check_same_frames(ref, "ref.json", shorter, "other.json")
    with pytest.raises(records.RecordError, match=r"old\.json.*lacks \['labels'"):
        records.correct_frames({"n_frames": 4}, "old.json")


def test_summary_names_the_fastest_variant_the_acceptance_rule_admits():
    from amrcomp.report.compression import _accepted_section
    from amrcomp.tables import schema

    def row(variant, backend, fps, drop=None, ci=None, status="ok", model="model1"):
        method = "none" if variant.startswith("control") else variant.split("-")[0]
        ids = {"model": model, "variant": variant, "pruning_method": method, "dtype": "fp32"}
        ran = {"backend": backend, "status": status, "throughput_fps": fps, "batch_size": 32}
        return {**ids, **ran, "drop_vs_control_pp": drop, "drop_vs_control_ci95_pp": ci}

    t5 = schema.frame(
        "table5",
        [
            row("control-filters", "litert", 1000.0, model="model1"),
            row("filters-50", "litert", 9000.0, 1.5, 0.2),  # faster, but drops too much
            row("filters-50", "onnxruntime", 5000.0, 0.9, 1.2),  # upper end 2.1 > 2
            row("magnitude-50", "litert", 1200.0, 0.5, 1.4),  # admitted
            row("magnitude-50", "onnxruntime", 1100.0, -0.2, 0.8),  # admitted, slower
            row("magnitude-50", "onnxruntime", 1100.0, 0.1, 0.1, model="model2"),
            row("filters-50", "litert", 1.0, status="unsupported", model="model2"),
        ],
    )
    section = _accepted_section(t5)
    picked = section.table.set_index("model")
    assert picked.loc["model1", "variant"] == "magnitude-50"
    assert picked.loc["model1", "backend"] == "litert"
    assert picked.loc["model1", "drop vs control (pp)"] == "0.50 ± 1.40"
    assert picked.loc["model2", "variant"] == "magnitude-50"
    assert "at most 1 point" in section.text[0] and "at most 2 points" in section.text[0]
    none = _accepted_section(t5[t5["model"] == "model1"].head(3))
    assert none.text[-1] == "No pruned variant meets the rule: model1."
