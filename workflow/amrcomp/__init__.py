"""amrcomp: model compression workflow for automatic modulation recognition (AMR).

Stages (data, train, evaluate, prune, quantize, energy, export, bench, tables) are one
module each; `frames`, `models`, `evaluate` and `atomic` are the shared ground floor.
"""

__version__ = "0.1.0"
