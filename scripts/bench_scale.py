"""Benchmark the indicators at scale (issue 15).

    python scripts/bench_scale.py DATA_DIR [--cell-m 100] [--save PATH]

``DATA_DIR`` is the Brussels-Vilvoorde test bed (its README). One function per
figure; each returns a dict of named figures, and the script ends with one line::

    RESULT grid100_s=...

``grid100_s``: wall seconds of :func:`productivecity.indicators.table.site_indicators`
(the indicators step without the transit indicators, its cache bypassed) on the
100 m hexagonal grid of the test bed (23,109 sites); the layers, sites, demand
surface and networks are loaded (and cached) first and not timed. The parts
(vacancy, dasymetric, labour, accessibility) are printed too, with the load average,
since the machine may be shared. ``--save`` writes the indicator table (parquet) to
compare runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path


def _load(data_dir: Path, cell_m: float):
    """Layers, sites, demand and indicator inputs of the test-bed grid (not timed)."""
    from productivecity.settings import get_settings
    from productivecity.workflow.config import build_config
    from productivecity.workflow.steps import (
        _Run,
        demand_step,
        indicator_inputs,
        layers_step,
        sites_step,
    )

    overrides = [("area", "preset", "brussels-vilvoorde"),
                 ("area", "data_dir", str(data_dir.resolve())),
                 ("sites", "kind", "grid"), ("sites", "cell_m", float(cell_m))]
    config = build_config(None, overrides)
    run = _Run(config, data_dir=None, settings=get_settings(), progress=False)
    layers = layers_step(run)
    sites, _ = sites_step(run, layers)
    demand = demand_step(run, layers)
    inputs = indicator_inputs(run, layers, demand)
    return run, layers, sites, inputs


def grid100_s(data_dir: Path, *, cell_m: float = 100.0, save: Path | None = None) -> dict:
    """Wall seconds of the site indicators on the test-bed grid (default 100 m)."""
    from productivecity.indicators.table import site_indicators

    run, layers, sites, inputs = _load(data_dir, cell_m)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    table, report = site_indicators(sites, layers, inputs, options=run.config.indicator_options,
                                    progress=False)
    wall = time.perf_counter() - t
    parts = " ".join(f"{k}={v:.1f}" for k, v in report.timings_s.items())
    logging.getLogger(__name__).warning(
        "grid %g m: %d sites, site_indicators %.1f s (%s); load average %.2f before, %.2f after",
        cell_m, len(sites), wall, parts, load, os.getloadavg()[0])
    if save is not None:
        table.drop(columns=table.geometry.name).to_parquet(save)
    return {"grid100_s": wall}


def dask2_speedup(data_dir: Path, *, cell_m: float = 100.0, tile_m: float = 2000.0) -> dict:
    """Speed-up of the tiled indicators on a LocalCluster of 2 workers over 1 worker.

    Each worker is one process with one thread, numba on one thread; the same tiles
    (``tile_m``) of the test-bed grid (``cell_m``) run on each cluster, the inputs
    scattered first (included in the times). Also logs the overhead of the tiles: the
    1-worker time over the single-process :func:`site_indicators`.
    """
    from distributed import Client

    from productivecity.indicators.table import site_indicators
    from productivecity.indicators.tiled import local_cluster, tiled_indicators

    run, layers, sites, inputs = _load(data_dir, cell_m)
    options = run.config.indicator_options
    log = logging.getLogger(__name__)
    t = time.perf_counter()
    site_indicators(sites, layers, inputs, options=options, progress=False)
    local_s = time.perf_counter() - t
    wall = {}
    for n in (1, 2):
        with local_cluster(n) as cluster, Client(cluster, set_as_default=False) as client:
            load = os.getloadavg()[0]
            t = time.perf_counter()
            _table, report = tiled_indicators(sites, layers, inputs, options=options,
                                              tile_m=tile_m, client=client)
            wall[n] = time.perf_counter() - t
        log.warning("grid %g m: %d sites in %d tiles of %g m, %d worker(s) %.1f s "
                    "(load average %.2f before)", cell_m, len(sites),
                    report.timings_s["tiles_n"], tile_m, n, wall[n], load)
    log.warning("one process (site_indicators) %.1f s; tiles on 1 worker: overhead x%.2f",
                local_s, wall[1] / local_s)
    return {"dask2_speedup": wall[1] / wall[2]}


def main(argv=None) -> int:
    """Run every figure and print the RESULT line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--cell-m", type=float, default=100.0)
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--dask-cell-m", type=float, default=100.0,
                    help="grid of the dask2_speedup figure (m)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    figures: dict[str, float] = {}
    figures.update(grid100_s(args.data_dir, cell_m=args.cell_m, save=args.save))
    figures.update(dask2_speedup(args.data_dir, cell_m=args.dask_cell_m))
    print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in figures.items()))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
