"""Rule `benchmark`: accuracy over the test split, throughput and latency of one deployed file on one backend."""

from amrcomp import frames
from amrcomp.atomic import read_json, write_json
from amrcomp.logs import logged

wc, params = snakemake.wildcards, snakemake.params
with logged(snakemake.log[0], f"bench {wc.backend} {wc.model}/{wc.variant}-{wc.dtype}") as log:
    from amrcomp.bench import open_runner, run_benchmark

    settings = params.settings
    manifest = frames.read_manifest(params.data_dir)
    test = frames.load_split(params.data_dir, "test", mmap=False)
    extra = {"build": read_json(snakemake.input.build)} if "build" in snakemake.input.keys() else {}
    deployed = snakemake.input.deployed
    log.info("%s on %s: %d test frames, batch sizes %s, %d threads", wc.backend, deployed, len(test), settings["batch_sizes"], settings["threads"])
    record = run_benchmark(
        lambda: open_runner(wc.backend, deployed, settings["threads"], params.device),
        deployed, test, manifest["classes"], settings,
        {"model": wc.model, "variant": wc.variant, "dtype": wc.dtype, "backend": wc.backend},
        log, extra,
    )
    log.info("status %s%s", record["status"], f": {record['message']}" if record["message"] else "")
    write_json(snakemake.output[0], record)
