"""What structured filter pruning costs in accuracy against its dense control, and what it buys
in ONNX Runtime throughput, from the baselines of a finished run.

    .venv/bin/python benchmarks/bench_filters.py [--workdir /tmp/amrcomp-dag]
        [--models model1 model2] [--fractions 0.25 0.35 0.5 0.65 0.75] [--configfile extra.yaml]
        [--distill on|off] [--out /tmp/bench-filters] [--rounds 5] [--batch 32] [--threads 2]

For each model, the dense control and every `filters-<percent>` variant are built from
`{workdir}/results/models/{model}/baseline.keras` through the prune stage's own code path
(`amrcomp.prune.prune_variant` with `amrcomp.settings.prune_settings`): one fine-tune recipe, the
config's (config/config.yaml plus each --configfile, --distill overriding
prune.finetune.distill.enabled), so a variant's drop against the control measures the pruning.
Each model is scored on the test split (drop vs control with its paired 95 % interval,
`amrcomp.confidence`; accuracy from 0 dB), exported to fp32 ONNX and timed on ONNX Runtime
(the workflow's session, `--threads` intra-op threads, batch `--batch`) in interleaved rounds
over all variants of a model, each round in a rotated order and timed as `amrcomp.bench.timing`
does (warm-up, median of deploy.repeats calls and deploy.min_seconds); the best round counts,
so machine noise hits every variant alike. Prints one table per model and the machine, writes
{out}/filters.csv, the ONNX files under {out}/onnx/ and the front {out}/filters_front.png/.svg.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from amrcomp.confidence import ACCEPT_DROP_PP, accepted, accuracy_ci_pp, paired_drop_pp  # noqa: E402
from amrcomp.settings import deep_merge, load_config  # noqa: E402
from amrcomp.variants import CONTROL, parse_finetuned  # noqa: E402

SPEEDUP_LINE = 2.0  # the speed-up the figure marks: "twice as fast"
log = logging.getLogger("bench_filters")


def variant_name(fraction: float) -> str:
    """0.35 -> 'filters-35' (checked by amrcomp.variants); the prune stage takes whole percents."""
    percent = round(fraction * 100)
    if abs(percent - fraction * 100) > 1e-6:
        raise ValueError(f"fraction {fraction} is not a whole percent (the variants are filters-N)")
    return parse_finetuned(f"filters-{percent}").name


def control_name(config: dict[str, Any], variant: str) -> str:
    """The dense control a filters variant is measured against: `amrcomp.settings.control_of`
    where the tree has per-method controls ('control-filters'), else the one 'control'."""
    from amrcomp import settings

    control_of = getattr(settings, "control_of", None)
    return control_of(config, variant) if control_of else CONTROL


def variant_row(
    model: str,
    variant: str,
    fraction: float,
    cost: dict[str, int],
    finetune: dict[str, Any],
    record: dict[str, Any],
    correct: np.ndarray,
    reference: np.ndarray,
) -> dict[str, Any]:
    """One table row: cost (`amrcomp.models.cost.totals`), the fine-tune `fit` reported, the test
    record (`amrcomp.scoring.summarise`) and the drop against the control's per-frame correctness
    `reference` (the control against itself: 0 +- 0)."""
    drop, half = paired_drop_pp(reference, correct)
    return {
        "model": model,
        "variant": variant,
        "fraction": fraction,
        "params": int(cost["params"]),
        "macs": int(cost["macs"]),
        "finetune_frames": int(finetune["train_frames"]),
        "finetune_s": float(finetune["seconds"]),
        "accuracy_pct": float(record["accuracy_pct"]),
        "accuracy_ci_pp": accuracy_ci_pp(record["accuracy_pct"], record["n_frames"]),
        "drop_pp": drop,
        "drop_ci_pp": half,
        "accepted": accepted(drop, half),
        "accuracy_from_0db_pct": record["accuracy_from_0db_pct"],
    }


def add_speed(rows: list[dict[str, Any]], fps: dict[str, float], control: str) -> None:
    """Set each row's throughput and its ratio to the control's (rows of one model)."""
    for row in rows:
        row["fps"] = fps[row["variant"]]
        row["speedup"] = fps[row["variant"]] / fps[control]


def mark_front(rows: list[dict[str, Any]]) -> None:
    """Set `front` on each row: True when no other row of its model is at least as fast with a
    smaller drop (speed-up maximised, drop vs control minimised; the point estimates)."""
    from amrcomp.figures.tradeoffs import pareto_front

    for model in dict.fromkeys(r["model"] for r in rows):
        part = [r for r in rows if r["model"] == model]
        front = set(
            pareto_front(
                [r["speedup"] for r in part], [-r["drop_pp"] for r in part], maximize_x=True
            ).tolist()
        )
        for i, row in enumerate(part):
            row["front"] = i in front


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The printed table of one model's rows, right-aligned columns."""
    cells = [
        {
            "fraction": "control" if r["fraction"] == 0 else f"{r['fraction']:.2f}",
            "params": f"{r['params']:,}",
            "MACs": f"{r['macs'] / 1e6:.2f} M",
            "fine-tune s": f"{r['finetune_s']:.1f}",
            "acc %": f"{r['accuracy_pct']:.2f}",
            "drop vs control": f"{r['drop_pp']:+.2f} +- {r['drop_ci_pp']:.2f}",
            "acc >=0 dB %": f"{r['accuracy_from_0db_pct']:.2f}",
            "frames/s": f"{r['fps']:,.0f}",
            "speed-up": f"{r['speedup']:.2f}x",
            "rule": "ok" if r["accepted"] else "-",
            "front": "*" if r["front"] else "",
        }
        for r in rows
    ]
    widths = {k: max(len(k), *(len(c[k]) for c in cells)) for k in cells[0]}
    lines = ["  " + "  ".join(k.rjust(w) for k, w in widths.items())]
    lines += ["  " + "  ".join(c[k].rjust(w) for k, w in widths.items()) for c in cells]
    return lines


def front_figure(rows: list[dict[str, Any]], png: Path, svg: Path, title: str) -> None:
    """Drop vs control (with its paired 95 % interval) against speed-up, one panel per model:
    the 1-point tolerance as a band, the 2x speed-up as a line, the front joined."""
    import matplotlib.pyplot as plt

    from amrcomp.figures.plots import save

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.2), squeeze=False)
    for ax, model in zip(axes[0], models):
        part = sorted((r for r in rows if r["model"] == model), key=lambda r: r["speedup"])
        x = np.array([r["speedup"] for r in part])
        y = np.array([r["drop_pp"] for r in part])
        ci = np.array([r["drop_ci_pp"] for r in part])
        on_front = np.array([r["front"] for r in part])
        ax.errorbar(x, y, yerr=ci, fmt="none", ecolor="grey", elinewidth=1, capsize=3, zorder=2)
        ax.scatter(x[on_front], y[on_front], color="crimson", s=40, zorder=4, label="on the front")
        ax.scatter(
            x[~on_front],
            y[~on_front],
            facecolors="none",
            edgecolors="crimson",
            s=40,
            zorder=4,
            label="dominated",
        )
        # what each speed-up costs at best: the drop of the next front point at or above it
        ax.plot(
            x[on_front], y[on_front], color="crimson", linewidth=1, zorder=3, drawstyle="steps-pre"
        )
        for r in part:
            label = "control" if r["fraction"] == 0 else f"{100 * r['fraction']:.0f} %"
            ax.annotate(
                label, (r["speedup"], r["drop_pp"]), textcoords="offset points", xytext=(5, 4)
            )
        low = min(-0.5, float(np.min(y - ci)) - 0.3)
        high = max(ACCEPT_DROP_PP + 0.5, float(np.max(y + ci)) + 0.3)
        ax.axhspan(low, ACCEPT_DROP_PP, color="tab:green", alpha=0.08, zorder=0)
        ax.axhline(
            ACCEPT_DROP_PP,
            color="tab:green",
            linestyle="--",
            linewidth=1,
            label=f"{ACCEPT_DROP_PP:g}-point tolerance",
        )
        ax.axvline(
            SPEEDUP_LINE, color="tab:blue", linestyle=":", label=f"{SPEEDUP_LINE:g}x speed-up"
        )
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_ylim(low, high)
        ax.set_xlim(min(0.9, float(x.min()) - 0.1), max(SPEEDUP_LINE + 0.3, float(x.max()) * 1.1))
        ax.set_title(model)
        ax.set_xlabel("speed-up: ONNX Runtime frames/s / the control's")
        ax.set_ylabel("accuracy drop vs control (points, 95 % CI)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, png, svg)


def interleaved_fps(
    calls: dict[str, Callable[[], None]],
    batch: int,
    rounds: int,
    timing: dict[str, Any],
) -> dict[str, list[float]]:
    """Frames/s of every call in every round; each round times all of them, in rotated order."""
    from amrcomp.bench.timing import time_calls

    names = list(calls)
    fps: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times = time_calls(
                calls[name], timing["warmup"], timing["repeats"], timing["min_seconds"]
            )
            fps[name].append(batch / float(np.median(times)))
    return fps


def build_model_rows(
    config: dict[str, Any], model: str, fractions: Sequence[float], args, data_dir: Path
) -> list[dict[str, Any]]:
    """Build, score, export and time the control and every filters variant of one model."""
    from amrcomp import frames, tfsetup
    from amrcomp.bench.onnxrt import OrtRunner
    from amrcomp.bench.timing import batch_input
    from amrcomp.export import FP32_MAX_ABS_DIFF, keras_to_onnx
    from amrcomp.fitting import input_scale_for
    from amrcomp.models.cost import layer_costs, totals
    from amrcomp.models.io import load_model
    from amrcomp.prune import finetune_settings, prune_variant
    from amrcomp.scoring import predict_classes, summarise
    from amrcomp.settings import bench_settings, eval_batch_size, prune_settings

    names = {variant_name(f): f for f in fractions}
    controls = {control_name(config, v) for v in names}
    if len(controls) != 1:
        raise ValueError(f"the filters variants of {model} have different controls: {controls}")
    control = controls.pop()
    built = {control: 0.0, **names}
    classes = frames.read_manifest(data_dir)["classes"]
    test = frames.load_split(data_dir, "test", mmap=False)
    full_train = frames.load_split(data_dir, "train", mmap=False)
    val = frames.load_split(data_dir, "val", mmap=False)
    inner = logging.getLogger("bench_filters.finetune")  # prune_variant's per-epoch lines
    rows, onnx_files, reference = [], {}, None
    for variant, fraction in built.items():
        settings = prune_settings(config, model, variant)
        if args.distill is not None:
            override = {"distill": {"enabled": args.distill == "on"}}
            settings["finetune"] = deep_merge(settings["finetune"], override)
        tfsetup.configure(args.threads, settings["seed"])  # as each prune job starts
        input_scale = input_scale_for(full_train, settings["input_scale"])
        train = full_train.subset(settings["finetune"]["frames"], settings["seed"])
        betas = settings["beta_1"], settings["beta_2"]
        finetune = finetune_settings(settings["finetune"], settings["seed"], *betas)
        if variant == control:
            recipe = {k: finetune[k] for k in ("epochs", "batch_size", "learning_rate")}
            distill = finetune["distill"] or "off"
            log.info("%s fine-tune: %d frames, %s, distill %s", model, len(train), recipe, distill)
        baseline = load_model(args.workdir / "results" / "models" / model / "baseline.keras")
        pruned, report = prune_variant(
            baseline, parse_finetuned(variant), train, val, len(classes), finetune, inner,
            skip_layers=settings["skip_layers"], frequency=settings["frequency"],
            input_scale=input_scale, precision=settings["precision"],
        )  # fmt: skip

        def keras_scores(x: np.ndarray, net=pruned) -> np.ndarray:
            return net(x, training=False).numpy()

        predicted = predict_classes(keras_scores, test, eval_batch_size(config))
        record = summarise(test.labels, test.snr, predicted, classes)
        correct = predicted == np.asarray(test.labels)
        reference = correct if reference is None else reference
        cost = totals(layer_costs(pruned))
        row = variant_row(
            model, variant, fraction, cost, report["finetune"], record, correct, reference
        )
        path = args.out / "onnx" / model / f"{variant}-fp32.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        keras_to_onnx(pruned, path, config["deploy"]["opset"])
        probe = test.model_input(0, 1024)
        diff = float(
            np.max(np.abs(OrtRunner(path, args.threads).predict(probe) - keras_scores(probe)))
        )
        row["onnx_max_abs_diff"] = diff
        if diff > FP32_MAX_ABS_DIFF:
            log.warning("%s/%s: ONNX differs from Keras by %.2g", model, variant, diff)
        rows.append(row)
        onnx_files[variant] = path
        log.info(
            "built %s/%s: %s params, %.2f M MACs, fine-tune %.1f s, accuracy %.2f %%, "
            "drop %+.2f +- %.2f points",
            model, variant, f"{row['params']:,}", row["macs"] / 1e6, row["finetune_s"],
            row["accuracy_pct"], row["drop_pp"], row["drop_ci_pp"],
        )  # fmt: skip
    timing = bench_settings(config)
    x = batch_input(test.model_input(0, 1024), args.batch)
    calls = {v: OrtRunner(p, args.threads).bind(x) for v, p in onnx_files.items()}
    fps = interleaved_fps(calls, args.batch, args.rounds, timing)
    for variant, rates in fps.items():
        log.info(
            "timed %s/%s: best %s frames/s of %d rounds (worst %s)",
            model, variant, f"{max(rates):,.0f}", len(rates), f"{min(rates):,.0f}",
        )  # fmt: skip
    add_speed(rows, {v: max(r) for v, r in fps.items()}, control)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/amrcomp-dag"))
    parser.add_argument("--models", nargs="+", default=["model1", "model2"])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.25, 0.35, 0.5, 0.65, 0.75])
    parser.add_argument("--configfile", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-filters"))
    parser.add_argument("--distill", choices=["on", "off"], default=None, help="default: config")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds; the best counts")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="fine-tune and ONNX Runtime")
    parser.add_argument("--verbose", action="store_true", help="log every fine-tune epoch")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if args.verbose:
        logging.getLogger("bench_filters.finetune").setLevel(logging.INFO)

    config = load_config(*args.configfile, check=False)
    fractions = list(dict.fromkeys(args.fractions))
    for fraction in fractions:
        variant_name(fraction)  # fail before any fine-tune
    unknown = sorted(set(args.models) - set(config["models"]))
    if unknown:
        parser.error(f"no such model(s) {unknown}; the config has {sorted(config['models'])}")
    from amrcomp import frames

    data_dir = args.workdir / "results" / "data" / config["dataset"]["name"]
    needed = [Path(p) for p in frames.all_paths(data_dir)]
    needed += [args.workdir / "results" / "models" / m / "baseline.keras" for m in args.models]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise SystemExit(f"{args.workdir} lacks {missing}: run the workflow there first")
    args.out.mkdir(parents=True, exist_ok=True)

    from amrcomp.machine import machine_info

    info = machine_info()
    libraries = info["libraries"]
    machine = (
        f"machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
        f"load average {os.getloadavg()[0]:.2f}; onnxruntime {libraries['onnxruntime']}, "
        f"tensorflow {libraries['tensorflow']}, tf2onnx {libraries['tf2onnx']}"
    )
    print(machine, flush=True)
    rows: list[dict[str, Any]] = []
    for model in args.models:
        rows += build_model_rows(config, model, fractions, args, data_dir)
    mark_front(rows)
    print(
        f"\nfilters pruning vs its dense control (same fine-tune); test split, paired 95 % CI; "
        f"ONNX Runtime fp32, batch {args.batch}, {args.threads} threads, best of {args.rounds} "
        f"interleaved rounds; rule: drop <= {ACCEPT_DROP_PP:g} and its CI top <= 2 points; "
        "* = on the front"
    )
    for model in args.models:
        print(f"\n{model} ({config['models'][model]['arch']})")
        print("\n".join(table_lines([r for r in rows if r["model"] == model])))
    csv = args.out / "filters.csv"
    pd.DataFrame(rows).assign(batch=args.batch, threads=args.threads).to_csv(csv, index=False)
    title = f"Filter pruning: accuracy vs ONNX Runtime speed (batch {args.batch})"
    front_figure(rows, args.out / "filters_front.png", args.out / "filters_front.svg", title)
    print(f"\nwrote {csv}, {args.out / 'filters_front.png'} and .svg")


if __name__ == "__main__":
    main()
