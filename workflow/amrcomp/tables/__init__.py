"""Tables stage: the paper's Tables I-V and the energy tables, rebuilt from this run's records.

- `schema`:   columns, types and units of every table;
- `build`:    Tables I, II, IV and the helpers every builder shares; `pruning`: Table III;
              `deployment`: Table V; `energy`: the energy tables; `front`: every variant
              and form on the accuracy-cost axes; all from the earlier
              stages' records (`amrcomp.records`) and the paper's numbers (`amrcomp.paper`);
- `paired`:   accuracy intervals and paired drops (Tables III, V; `amrcomp.confidence`);
- `registry`: the builder of each table rule, and writing its outputs (`amrcomp.tablefile`);
- `io`:       provenance kept in each table file (config digest, data set, machine).
"""

TITLES = {
    "table1": "Table I - model layers, parameters and MACs",
    "table2": "Table II - training hyperparameters",
    "table3": "Table III - pruning: accuracy and parameters",
    "table4": "Table IV - TFLite quantisation: accuracy and size",
    "table5": "Table V - deployment: accuracy, size and throughput",
    "table_energy": "Energy per inference (QKeras qtools, Horowitz 45 nm)",
    "table_energy_layers": "Energy per layer (QKeras qtools, Horowitz 45 nm)",
    "front": "Accuracy-cost front: every variant and deployed form on energy, size and throughput",
}
