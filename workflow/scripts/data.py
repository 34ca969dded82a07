"""Rule `data`: make or import the frames, split them, store them once."""

from amrcomp.data import build_dataset
from amrcomp.logs import logged

with logged(snakemake.log[0], "data") as log:
    manifest = build_dataset(snakemake.params.dataset, snakemake.params.out_dir)
    log.info("counts %s, content hash %s", manifest["counts"], manifest["content_hash"])
