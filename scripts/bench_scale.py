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

``per_site_ms_10k``, ``per_site_ms_1m``, ``region_1m_s``, ``region_1m_peak_mb``: the
test bed's 100 m grid, demand surface, walk and bike networks, stops, hubs and canal
tiled into a region of ``--sizes`` sites (default 10,000, 100,000 and 1,000,000;
:mod:`region_tiles`, the tiles linked at their borders), and the labour and access
indicators computed on those sites in blocks of 100,000, one child process per size
(its own wall and peak memory, ``ru_maxrss``). The cost per site includes snapping the
demand to the networks; the wall includes loading the test bed and building the region.
``--only region`` runs these alone; ``--region-max-blocks K`` computes only the first
``K`` blocks of each size (the wall is then projected and ``region_1m_s`` is nan).
Figures not computed print ``nan``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
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
    t, cpu = time.perf_counter(), time.process_time()
    table, report = site_indicators(sites, layers, inputs, options=run.config.indicator_options,
                                    progress=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    parts = " ".join(f"{k}={v:.1f}" for k, v in report.timings_s.items())
    logging.getLogger(__name__).warning(
        "grid %g m: %d sites, site_indicators %.1f s wall, %.1f s CPU (all threads) (%s); "
        "load average %.2f before, %.2f after", cell_m, len(sites), wall, cpu, parts, load,
        os.getloadavg()[0])
    if save is not None:
        table.drop(columns=table.geometry.name).to_parquet(save)
    return {"grid100_s": wall}


def dask2_speedup(data_dir: Path, *, cell_m: float = 100.0, tile_m: float | None = None) -> dict:
    """Speed-up of the tiled indicators on a LocalCluster of 2 workers over 1 worker.

    Each worker is one process with one thread, numba on one thread; the same tiles
    (``tile_m``, default the engine's automatic size) of the test-bed grid (``cell_m``) run on each cluster, the inputs
    scattered first (included in the times). Also logs the overhead of the tiles: the
    1-worker time over the single-process :func:`site_indicators`.
    """
    from distributed import Client

    from productivecity.indicators.table import site_indicators
    from productivecity.indicators.tiled import (
        auto_tile_m,
        local_cluster,
        required_buffer_m,
        tiled_indicators,
    )

    run, layers, sites, inputs = _load(data_dir, cell_m)
    options = run.config.indicator_options
    if tile_m is None:
        tile_m = auto_tile_m(required_buffer_m(options, walk_kmh=inputs.walk.speed_kmh,
                                               bike_kmh=inputs.bike.speed_kmh))
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
        log.warning("grid %g m: %d sites in %d tiles of %g m, %d worker(s) %.1f s (inputs "
                    "scattered in %.1f s; load average %.2f before)", cell_m, len(sites),
                    report.timings_s["tiles_n"], tile_m, n, wall[n],
                    report.timings_s["scatter"], load)
    log.warning("one process (site_indicators) %.1f s; tiles on 1 worker: overhead x%.2f",
                local_s, wall[1] / local_s)
    return {"dask2_speedup": wall[1] / wall[2]}


def region_run(data_dir: Path, n_sites: int, *, cell_m: float = 100.0,
               block_n: int = 100_000, gap_m: float = 1000.0,
               max_blocks: int | None = None) -> dict:
    """Labour and access indicators of ``n_sites`` sites of the tiled test bed (one size).

    The test bed (its ``cell_m`` grid, demand surface, networks, stops, hubs, canal) is
    tiled ``nx`` x ``ny`` times (:mod:`region_tiles`, the fewest near-square tiles holding
    ``n_sites``); the first ``n_sites`` sites are computed in blocks of ``block_n``, each
    block's sites built just before it. Meant to run alone in a process (its peak memory,
    ``ru_maxrss``, is this size's). Returns the seconds of each part, ``per_site_ms``
    (snapping the demand once + every block, over the sites computed), ``wall_s``
    (everything, the test bed's loading included) and ``peak_mb``. With ``max_blocks``
    only the first blocks are computed (the region is still built in full): ``done_n``
    sites, ``wall_s`` is then NaN and ``projected_s`` extrapolates the blocks' time.
    """
    import region_tiles as rt

    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    run, layers, sites, inputs = _load(data_dir, cell_m)
    base = rt.Base.from_inputs(sites, layers, inputs, run.config.indicator_options)
    del layers, inputs, sites
    t1 = time.perf_counter()
    nx, ny = rt.layout(n_sites, len(base.sites))
    region = rt.build_region(base, nx, ny, gap_m=gap_m)
    t2 = time.perf_counter()
    snapped = rt.snap_inputs(region.walk, region.bike, region.demand, region.canal)
    t3 = time.perf_counter()
    log = logging.getLogger(__name__)
    checksum = 0.0
    parts: dict[str, float] = {}
    starts = list(range(0, n_sites, block_n))
    done_n = snapped_n = 0
    for start in starts[:max_blocks]:
        block = region.sites(start, min(start + block_n, n_sites))
        out = rt.region_indicators(block, walk=region.walk, bike=region.bike, snapped=snapped,
                                   transit_stops=region.transit_stops, hubs=region.hubs,
                                   canal=region.canal, options=base.options,
                                   timings_s=parts)
        checksum += float(out["jobseekers_walk_20min_n"].sum())
        done_n += len(block)
        snapped_n += int(out["jobseekers_walk_20min_n"].notna().sum())
        log.info("sites %d-%d: %.1f s", start, start + len(block), time.perf_counter() - t3)
    t4 = time.perf_counter()
    return {"n_sites": n_sites, "tiles": f"{nx}x{ny}", "region_sites_n": region.n_sites,
            "walk_nodes_n": region.walk.n_nodes, "demand_n": len(region.demand),
            "load_s": t1 - t0, "build_s": t2 - t1, "snap_demand_s": t3 - t2,
            "sites_s": t4 - t3, "parts_s": parts, "done_n": done_n,
            "snapped_pct": 100 * snapped_n / done_n,
            "per_site_ms": ((t3 - t2) * done_n / n_sites + t4 - t3) / done_n * 1e3,
            "wall_s": t4 - t0 if done_n == n_sites else float("nan"),
            "projected_s": t3 - t0 + (t4 - t3) * n_sites / done_n,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "jobseekers_walk_20min_sum": checksum, "load_before": load0,
            "load_after": os.getloadavg()[0]}


def region_costs(data_dir: Path, sizes, *, cell_m: float = 100.0,
                 timeout_s: float = 2700.0, max_blocks: int | None = None) -> dict:
    """Per-site cost for each size of the tiled region, one child process per size.

    Each size runs in its own process (``--region-child``), so each peak memory is
    measured alone. A size that fails or exceeds ``timeout_s`` gives NaN figures and a
    projection from the largest size measured. ``max_blocks`` (blocks of 100,000 sites)
    limits the sizes above it to their first blocks: the per-site cost and peak are
    measured on the full region, the wall is projected (``region_1m_s`` NaN). Returns
    ``per_site_ms_10k``, ``per_site_ms_1m``, ``region_1m_s`` and ``region_1m_peak_mb``
    (NaN where not run).
    """
    log = logging.getLogger(__name__)
    rows = {}
    for n in sizes:
        cmd = [sys.executable, str(Path(__file__).resolve()), str(data_dir),
               "--cell-m", str(cell_m), "--region-child", str(n)]
        if max_blocks is not None:
            cmd += ["--region-max-blocks", str(max_blocks)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  check=False)
        except subprocess.TimeoutExpired:
            log.warning("region %d sites: not done within %.0f s, stopped", n, timeout_s)
            continue
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("REGION ")), None)
        if done.returncode or line is None:
            log.warning("region %d sites failed (exit %d): %s", n, done.returncode,
                        done.stderr.strip().splitlines()[-3:])
            continue
        r = rows[n] = json.loads(line[len("REGION "):])
        log.warning("region %d sites (%s tiles of the test bed, %d sites, %d walk nodes, %d "
                    "demand cells): %.3f ms per site (%.1f%% of the sites on the walk "
                    "network); wall %.1f s (load test bed %.1f, tile "
                    "%.1f, snap demand %.1f, sites %.1f); peak %.0f MB; load average %.2f "
                    "before, %.2f after; sites by part (s): %s", n, r["tiles"],
                    r["region_sites_n"], r["walk_nodes_n"],
                    r["demand_n"], r["per_site_ms"], r["snapped_pct"], r["wall_s"], r["load_s"], r["build_s"],
                    r["snap_demand_s"], r["sites_s"], r["peak_mb"], r["load_before"],
                    r["load_after"], " ".join(f"{k} {v:.1f}" for k, v in r["parts_s"].items()))
        if r["done_n"] < n:
            log.warning("region %d sites: only the first %d sites computed (--region-max-blocks);"
                        " projected wall %.0f s", n, r["done_n"], r["projected_s"])
    largest = max(rows, default=None)
    for n in sizes:
        if n not in rows and largest is not None:
            r = rows[largest]
            log.warning("region %d sites: projected from %d sites at %.3f ms per site: "
                        "~%.0f s for the indicators", n, largest, r["per_site_ms"],
                        r["per_site_ms"] * n / 1e3)

    def get(n, key):
        return float(rows[n][key]) if n in rows else float("nan")

    return {"per_site_ms_10k": get(10_000, "per_site_ms"),
            "per_site_ms_1m": get(1_000_000, "per_site_ms"),
            "region_1m_s": get(1_000_000, "wall_s"),
            "region_1m_peak_mb": get(1_000_000, "peak_mb")}


def main(argv=None) -> int:
    """Run every figure and print the RESULT line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--cell-m", type=float, default=100.0)
    ap.add_argument("--save", type=Path, default=None)
    ap.add_argument("--dask-cell-m", type=float, default=100.0,
                    help="grid of the dask2_speedup figure (m)")
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="site counts of the tiled region, comma-separated ('' : none)")
    ap.add_argument("--region-timeout-s", type=float, default=2700.0,
                    help="stop a region size after this many seconds (then projected)")
    ap.add_argument("--only", default="grid100,region,dask2",
                    help="figures to compute, comma-separated (others print nan)")
    ap.add_argument("--region-max-blocks", type=int, default=None,
                    help="compute only the first blocks (100,000 sites) of each size; the "
                         "wall of larger sizes is then projected")
    ap.add_argument("--region-child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.region_child is not None:  # one region size, alone in this process
        r = region_run(args.data_dir, args.region_child, cell_m=args.cell_m,
                       max_blocks=args.region_max_blocks)
        print("REGION " + json.dumps(r))  # noqa: T201
        return 0
    only = set(args.only.split(","))
    figures: dict[str, float] = dict.fromkeys(
        ("grid100_s", "per_site_ms_10k", "per_site_ms_1m", "region_1m_s", "region_1m_peak_mb",
         "dask2_speedup"), float("nan"))
    if "grid100" in only:
        figures.update(grid100_s(args.data_dir, cell_m=args.cell_m, save=args.save))
    if "region" in only and args.sizes:
        figures.update(region_costs(args.data_dir, [int(n) for n in args.sizes.split(",")],
                                    cell_m=args.cell_m, timeout_s=args.region_timeout_s,
                                    max_blocks=args.region_max_blocks))
    if "dask2" in only:
        figures.update(dask2_speedup(args.data_dir, cell_m=args.dask_cell_m))
    print("RESULT " + " ".join(f"{k}={v:.2f}" for k, v in figures.items()))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
