"""Tables stage: the paper's Tables I-V and the energy tables, rebuilt from this run's records.

- `paper`:   the paper's published numbers (the `paper_*` columns);
- `schema`:  columns, types and units of every table;
- `readers`: checked loading of the earlier stages' JSON records;
- `build`:   one builder per table;
- `io`:      Parquet/CSV/HTML writing with provenance metadata;
- `summary`: results/summary.md, headline numbers beside the paper's.
"""

TITLES = {
    "table1": "Table I - model layers, parameters and MACs",
    "table2": "Table II - training hyperparameters",
    "table3": "Table III - pruning: accuracy and parameters",
    "table4": "Table IV - TFLite quantisation: accuracy and size",
    "table5": "Table V - deployment: accuracy, size and throughput",
    "table_energy": "Energy per inference (QKeras qtools, Horowitz 45 nm)",
    "table_energy_layers": "Energy per layer (QKeras qtools, Horowitz 45 nm)",
}
