"""Figures stage: accuracy vs SNR, confusion matrices, training curves, and accuracy trade-offs
against size, energy and throughput with the Pareto front marked.

- `plots`:     per-model figures and what every figure shares (markers, saving);
- `tradeoffs`: accuracy against one cost, panel by panel, with the Pareto front;
- `registry`:  the drawer of each figure rule, reading its inputs.

Drawing functions take records or tables already read and a pair of output paths (PNG, SVG),
so they can be tested on synthetic inputs.
"""

import matplotlib

matplotlib.use("Agg")  # files only, never a window: figure rules run on headless nodes
