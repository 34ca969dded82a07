"""Rule `data_preview`: one figure per class (I/Q, constellation, spectrum) at a few SNRs."""

from amrcomp import frames
from amrcomp.data.preview import plot_preview
from amrcomp.logs import logged

with logged(snakemake.log[0], "data preview") as log:
    manifest = frames.read_manifest(snakemake.params.data_dir)
    test = frames.load_split(snakemake.params.data_dir, "test")
    paths = plot_preview(test.x, test.labels, test.snr, manifest["classes"], snakemake.output[0], snakemake.params.snrs)
    log.info("wrote %d preview figures to %s", len(paths), snakemake.output[0])
