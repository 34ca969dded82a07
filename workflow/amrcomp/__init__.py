"""amrcomp: model compression workflow for automatic modulation recognition (AMR).

Stages, one name each through rules/, workflow/scripts/ and this package: data, train,
evaluate, prune, quantize, energy, export, bench, tables, figures, report. The ground floor
they share (and which imports none of them): frames, models, fitting, distill, scoring,
confidence, runtimes, variants, settings, records, tablefile, paper, machine, sizes, atomic,
logs, tfsetup, gpu.
"""

__version__ = "0.1.0"
