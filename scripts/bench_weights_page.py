"""Measure how long one update of the live weights page takes in headless Chromium.

Usage::

    python scripts/bench_weights_page.py --sites GRID.gpkg [--data-dir DATA] [--criteria FILE]
        [--updates 60]
    python scripts/bench_weights_page.py --page OUT/weights.html

``--sites``: a GeoPackage with a ``sites`` layer from ``productivecity indicators``
(e.g. the whole-region grid of the test bed: ``productivecity indicators --area
brussels-vilvoorde --data-dir DATA --sites grid --out GRID.gpkg``, 3,830 sites);
the page is built for it with the criteria (default: the shipped example criteria
of the sample scenario), the gpkg's ``study_area`` layer as context and, with
``--data-dir``, the base map read from that folder's OSM file (as a run draws it).
``--page``: an existing page, e.g. the ``weights.html`` of a run (with its base map).

A script appended to a copy of the page moves the sliders through the page's own
controls (random values, a fixed seed) and switches each exclusion off and on. One
update is timed from setting the slider to the end of the work it causes, done
synchronously: the rescoring, the places, the list, the map's restyling, the
canvas redraw of the sites (forced at once instead of at the next animation frame,
and rasterised at once by reading a pixel back) and the style and layout of the
page (forced by reading its height). The timings
are written into the DOM and read with ``--dump-dom``. The last line is::

    RESULT sites=<n> slider_median_ms=<ms> slider_max_ms=<ms> exclusion_median_ms=<ms> \
exclusion_max_ms=<ms>
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import statistics
import subprocess
import tempfile
import warnings
from pathlib import Path

logger = logging.getLogger("bench_weights_page")

CHROMIUM = Path("/usr/bin/chromium")

_BENCH = r"""
(function () {
  var R = window.pcWeights.renderer, seed = 12345;
  function rand() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
  var box = Array.from(document.querySelectorAll(".pc-profile"))
    .filter(function (b) { return b.style.display !== "none"; })[0];
  var sliders = box.querySelectorAll(".pc-slider"), boxes = box.querySelectorAll(".pc-exclusion");
  function timed(action) {
    var t0 = performance.now();
    action();
    R._redraw();
    R._ctx.getImageData(0, 0, 1, 1);  /* rasterises what was drawn, now */
    void document.body.offsetHeight;
    return performance.now() - t0;
  }
  function move(k) {
    var s = sliders[k % sliders.length];
    return timed(function () {
      s.value = String(0.05 + 0.9 * rand()); s.dispatchEvent(new Event("input", {bubbles: true}));
    });
  }
  for (var w = 0; w < 5; w++) { move(w); }
  var slider = [], exclusion = [];
  for (var k = 0; k < UPDATES; k++) { slider.push(move(k)); }
  boxes.forEach(function (cb) {
    exclusion.push(timed(function () { cb.click(); }));
    exclusion.push(timed(function () { cb.click(); }));
  });
  var pre = document.createElement("pre"); pre.id = "pc-bench";
  pre.textContent = JSON.stringify({sites: document.querySelector("#pc-data") ?
    JSON.parse(document.getElementById("pc-data").textContent).ids.length : 0,
    slider: slider, exclusion: exclusion});
  document.body.appendChild(pre);
})();
"""


def build_page(sites_gpkg: Path, criteria: Path | None, out: Path,
               data_dir: Path | None = None) -> Path:
    """Write the weights page of the sites in ``sites_gpkg`` to ``out``.

    With ``data_dir``, the base map is read from its OSM file (as a run draws it).
    """
    import geopandas as gpd
    import pyogrio

    from productivecity.outputs.weights_page import write_weights_page
    from productivecity.siting.criteria import load_criteria, usable_criteria
    from productivecity.workflow.examples import example_path

    sites = gpd.read_file(sites_gpkg, layer="sites")
    if "site_id" in sites.columns:
        sites = sites.set_index("site_id")
    layers = {}
    if "study_area" in pyogrio.list_layers(sites_gpkg)[:, 0]:
        layers["study_area"] = gpd.read_file(sites_gpkg, layer="study_area")
    if criteria is None:
        from productivecity.workflow.config import load_config

        criteria = load_config(example_path("sample")).criteria_file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # criteria dropped for indicators the gpkg lacks
        spec, dropped = usable_criteria(load_criteria(criteria), sites)
    for line in dropped:
        logger.warning("left out: %s", line)
    basemap = None
    if data_dir is not None and "study_area" in layers:
        from productivecity.sources.basemap import read_basemap

        basemap = read_basemap(layers, data_dir)
    return write_weights_page(sites, layers, out, spec=spec, basemap=basemap, overwrite=True)


def measure(page: Path, updates: int, workdir: Path) -> dict:
    """Run the bench script in headless Chromium; return the timings (ms)."""
    driven = workdir / "bench.html"
    text = page.read_text(encoding="utf-8")
    driven.write_text(text.replace(
        "</html>", f"<script>{_BENCH.replace('UPDATES', str(int(updates)))}</script></html>"),
        encoding="utf-8")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={workdir / 'profile'}", "--window-size=1400,1000", "--dump-dom",
           driven.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    found = re.search(r'<pre id="pc-bench">(.*?)</pre>', proc.stdout, re.S)
    if not found:
        raise RuntimeError(f"the page wrote no timings; Chromium said: {proc.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--sites", type=Path, help="GeoPackage with a 'sites' layer")
    group.add_argument("--page", type=Path, help="an existing weights page")
    parser.add_argument("--criteria", type=Path, help="criteria TOML (with --sites)")
    parser.add_argument("--data-dir", type=Path,
                        help="data folder whose OSM file gives the base map (with --sites)")
    parser.add_argument("--updates", type=int, default=60, help="slider moves timed")
    parser.add_argument("--keep", type=Path, help="also write the page built here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        page = args.page
        if page is None:
            page = build_page(args.sites, args.criteria, args.keep or workdir / "weights.html",
                              args.data_dir)
        logger.info("page %s: %.1f MB", page, page.stat().st_size / 1e6)
        t = measure(page, args.updates, workdir)
    slider, excl = t["slider"], t["exclusion"] or [float("nan")]
    logger.info("slider updates (%d): median %.1f ms, max %.1f ms", len(slider),
                statistics.median(slider), max(slider))
    logger.info("exclusion switches (%d): median %.1f ms, max %.1f ms", len(t["exclusion"]),
                statistics.median(excl), max(excl))
    logger.info("RESULT sites=%d slider_median_ms=%.1f slider_max_ms=%.1f "
                "exclusion_median_ms=%.1f exclusion_max_ms=%.1f", t["sites"],
                statistics.median(slider), max(slider), statistics.median(excl), max(excl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
