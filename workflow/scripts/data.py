"""Rules `data` (make or import the frames, split them, store them once) and `data_preview`
(one figure per class: I/Q, constellation and spectrum at a few SNRs)."""

from amrcomp import frames
from amrcomp.logs import logged

params = snakemake.params
with logged(snakemake.log[0], snakemake.rule) as log:
    if snakemake.rule == "data":
        from amrcomp.data import build_dataset

        manifest = build_dataset(params.dataset, params.out_dir)
        log.info("counts %s, content hash %s", manifest["counts"], manifest["content_hash"])
    else:
        from amrcomp.data.preview import plot_preview

        classes = frames.read_manifest(params.data_dir)["classes"]
        test = frames.load_split(params.data_dir, "test")
        out = snakemake.output[0]
        paths = plot_preview(test.x, test.labels, test.snr, classes, out, params.snrs)
        log.info("wrote %d preview figures to %s", len(paths), out)
