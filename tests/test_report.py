"""Report stage: the tiny run's results/summary.md, and the Snakemake HTML report rendering in a
real browser (headless Debian chromium).

The report is a React app; `--dump-dom` after load shows what it rendered. To look past the
landing page, a copy of the report gets a small script that calls the app's own navigation
(`app.setView`) once it has loaded, exactly what clicking a category or a result does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from amrcomp.tablefile import read_table
from conftest import snakemake

pytestmark = pytest.mark.e2e

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def test_summary_reports_headline_numbers(tiny_run):
    text = (tiny_run / "results" / "summary.md").read_text()
    assert text.startswith("# Results summary")
    for heading in (
        "Baselines (Table I",
        "Magnitude pruning (Table III)",
        "(Table IV)",
        "Energy per inference",
        "Deployment (Table V)",
    ):
        assert heading in text
    assert "1,592,383" in text and "858,123" in text and "49.4600" in text and "89,966" in text
    t1 = read_table(tiny_run / "results" / "table1.parquet")[0]
    assert f"{int(t1[t1['layer'] == 'total']['macs'].iloc[0]):,}" in text


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("AMRCOMP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"AMRCOMP_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory) -> Path:
    """snakemake --report of the completed tiny run (same config and directory)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    snakemake(tiny_run, "--report", str(out))
    assert out.stat().st_size > 100_000
    return out


def run_chromium(
    chromium: str, tmp_path: Path, url: str, *args: str
) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        chromium,
        *FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
        "--window-size=1400,1000",
        *args,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-3000:]}"
    return proc


def navigated(report: Path, tmp_path: Path, name: str, script: str) -> str:
    """file:// URL of a copy of the report that runs `script` (with `app` ready) after load."""
    html = report.read_text(encoding="utf-8")
    hook = (
        "<script>window.addEventListener('load', function () { setTimeout(function () { "
        f"{script} }}, 500); }});</script>"
    )
    copy = tmp_path / f"{name}.html"
    end = html.rfind(
        "</body>"
    )  # the last one: embedded scripts and data may contain the string too
    copy.write_text(html[:end] + hook + html[end:], encoding="utf-8")
    return copy.as_uri()


def screenshot_colours(chromium: str, tmp_path: Path, url: str, name: str) -> int:
    from PIL import Image

    shot = tmp_path / f"{name}.png"
    run_chromium(chromium, tmp_path, url, f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1400, 1000)
        colours = image.convert("RGB").getcolors(1 << 24)
    return len(colours)


@pytest.mark.browser
def test_report_holds_every_table_and_figure(report):
    html = report.read_text(encoding="utf-8")
    for name in (
        "table1.csv",
        "table5.csv",
        "table_energy.csv",
        "table_energy_layers.html",
        "summary.html",
        "tradeoff_throughput.png",
        "accuracy_snr_model1.png",
        "confusion_model2_baseline.png",
        "training_model1.png",
        "front.csv",
        "front.png",
    ):
        assert name in html, name
    assert (
        "Complete configuration" in html
        and "table5_variants" in html
        and "calibration_frames" in html
    ), "the report must show the configuration"


@pytest.mark.browser
def test_landing_page_renders_description_config_and_categories(chromium, report, tmp_path):
    dom = run_chromium(chromium, tmp_path, report.as_uri(), "--dump-dom").stdout
    assert "AMR model compression" in dom, "workflow description (report/workflow.rst) not rendered"
    assert 'Data set: <tt class="docutils literal">tiny</tt>' in dom, (
        "config values missing from the description"
    )
    assert "Table V variants: control-filters, magnitude-50, filters-50" in dom
    config = dom[dom.find("Complete configuration") :]
    assert "frames_per_block" in config and "agreement_min" in config, (
        "the complete configuration is not rendered"
    )
    for category in ("Tables", "Figures", "Summary"):
        assert f">{category}<" in dom, f"category {category} not in the rendered menu"
    assert screenshot_colours(chromium, tmp_path, report.as_uri(), "landing") > 2, (
        "blank screenshot"
    )


@pytest.mark.browser
def test_table_and_figure_listings_render(chromium, report, tmp_path):
    tables = navigated(
        report,
        tmp_path,
        "tables",
        "app.setView({navbarMode: 'subcategory', category: 'Tables', subcategory: 'Table V'});",
    )
    dom = run_chromium(chromium, tmp_path, tables, "--dump-dom").stdout
    assert "Table V" in dom and "table5.csv" in dom and "table5.html (view)" in dom
    info = navigated(
        report,
        tmp_path,
        "info",
        "var key = Object.keys(results).find(function (k) { return k.endsWith('table5.csv'); });"
        " app.setView({navbarMode: 'resultinfo', resultPath: key});",
    )
    dom = run_chromium(chromium, tmp_path, info, "--dump-dom").stdout
    assert "deployment of control-filters, magnitude-50, filters-50" in dom, (
        "Table V caption (report/table5.rst, rendered with the config) missing"
    )
    figs = navigated(
        report,
        tmp_path,
        "figures",
        "app.setView({navbarMode: 'subcategory', category: 'Figures', subcategory: 'Trade-offs'});",
    )
    dom = run_chromium(chromium, tmp_path, figs, "--dump-dom").stdout
    for axis in ("size", "energy", "throughput"):
        assert f">{axis}<" in dom, axis


def _show(path_suffix: str, content: str) -> str:
    return (
        "var key = Object.keys(results).find(function (k) "
        f"{{ return k.endsWith({json.dumps(path_suffix)}); }});"
        f"app.setView({{content: {json.dumps(content)}, "
        "contentPath: results[key].data_uri, resultPath: key});"
    )


@pytest.mark.browser
def test_figure_and_table_views_render(chromium, report, tmp_path):
    figure = navigated(report, tmp_path, "figure", _show("figures/tradeoff_size.png", "img"))
    dom = run_chromium(chromium, tmp_path, figure, "--dump-dom").stdout
    assert re.search(r'<img src="data:image/png;[^"]*filename=tradeoff_size\.png', dom), (
        "figure not shown"
    )
    assert screenshot_colours(chromium, tmp_path, figure, "figure") > 50, "figure view looks blank"
    table = navigated(report, tmp_path, "table", _show("report/table5.html", "html"))
    dom = run_chromium(chromium, tmp_path, table, "--dump-dom").stdout
    assert re.search(r'<iframe src="data:text/html;[^"]*filename=table5\.html', dom), (
        "table view not shown"
    )
    assert screenshot_colours(chromium, tmp_path, table, "table") > 10, "table view looks blank"
