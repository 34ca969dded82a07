"""Rules `figure_*`: one figure (PNG + SVG) from evaluation records, histories or tables."""

import pandas as pd

from amrcomp import figures
from amrcomp.logs import logged
from amrcomp.tables import build, readers
from amrcomp.tables.io import read_table

rule = snakemake.rule
inp, out, wc = snakemake.input, snakemake.output, snakemake.wildcards
with logged(snakemake.log[0], rule) as log:
    if rule == "figure_accuracy_snr":
        figures.accuracy_vs_snr(wc.model, [readers.keras_eval(p) for p in inp.evals], [readers.tflite_eval(p) for p in inp.tflite], out.png, out.svg)
    elif rule == "figure_confusion":
        figures.confusion_matrices(wc.model, readers.keras_eval(inp[0]), out.png, out.svg)
    elif rule == "figure_training":
        finetunes = {p.rsplit("pruned-", 1)[1].removesuffix(".history.csv"): pd.read_csv(p) for p in inp.finetune}
        figures.training_curves(wc.model, pd.read_csv(inp.baseline), finetunes, out.png, out.svg)
    elif rule == "figure_tradeoff_size":
        points = build.tflite_points(inp.tflite)
        figures.tradeoff(points, "size_zip_mb", "TFLite model size after zip (MB, log scale)", out.png, out.svg, "Accuracy vs model size: every variant x TFLite dtype", log_x=True)
    elif rule == "figure_tradeoff_energy":
        table, _ = read_table(inp.table)
        long = pd.concat([table.assign(cost=table["energy_uj"], estimate="qtools"), table.assign(cost=table["sparsity_aware_energy_uj"], estimate="sparsity-aware")])
        figures.tradeoff(long, "cost", "energy per inference (uJ, log scale)", out.png, out.svg, "Accuracy vs energy (QKeras qtools, Horowitz 45 nm)", log_x=True, panel_by=("model", "estimate"), note="accuracy: Keras for fp32, TFLite fp16 / full-integer int8 for the others")
    elif rule == "figure_tradeoff_throughput":
        table, _ = read_table(inp.table)
        table = table.assign(point=table["variant"] + " " + table["backend"])
        skipped = int(table["throughput_fps"].isna().sum())
        batch = int(table["batch_size"].dropna().iloc[0]) if table["batch_size"].notna().any() else 0
        figures.tradeoff(table, "throughput_fps", f"throughput at batch {batch} (frames/s, log scale)", out.png, out.svg, "Accuracy vs throughput (Table V)", maximize_x=True, log_x=True, colour_by="point", note=f"{skipped} unsupported row(s) not shown" if skipped else "")
    else:
        raise ValueError(f"workflow/scripts/figures.py does not draw rule {rule!r}")
    log.info("wrote %s and %s", out.png, out.svg)
