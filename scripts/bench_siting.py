"""Benchmark the siting steps on the Brussels test bed (issue 5 performance figures).

Builds a 250 m hexagonal grid over the brussels-vilvoorde study area, computes its
indicators (not timed as part of the figures, but reported), ranks the sites with
``productivecity/data/criteria/brussels-canal.toml`` and then times:

- 1,000 Monte-Carlo runs of the weights (Dirichlet around the given weights);
- maximal covering for k = 1..10 (existing hubs fixed open), with the low-educated
  job seekers of the neighbourhoods as demand, within 20 min by bike, on the
  eligible sites and on every grid site (the figure in the RESULT line); solved by
  HiGHS, optimality status and gap printed per k.

Usage::

    python scripts/bench_siting.py ../shared/data/brussels-vilvoorde

Ends with one line ``RESULT sites=<n> montecarlo_1000_s=<s> mclp_k1_10_s=<s>``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from productivecity import siting as suit
from productivecity.indicators.table import site_indicators
from productivecity.layers import load_layers
from productivecity.sites import grid_sites
from productivecity.siting import allocation as alloc
from productivecity.siting.demand import demand_units
from productivecity.siting.travel_times import network_travel_times
from productivecity.sources.catalog import DataDir
from productivecity.workflow.examples import example_path
from productivecity.workflow.inputs import load_indicator_inputs

CRITERIA = example_path("brussels-canal", kind="criteria")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--cell-m", type=float, default=250.0)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--time-min", type=float, default=20.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    dd = DataDir(args.data_dir)

    t = time.perf_counter()
    layers = load_layers("brussels-vilvoorde", data_dir=dd.root, progress=False)
    sites, _ = grid_sites(layers["study_area"], cell_m=args.cell_m)
    inputs = load_indicator_inputs(layers, dd)  # networks, buildings, the demand surface
    table, _report = site_indicators(sites, layers, inputs, progress=False)
    prep_s = time.perf_counter() - t
    print(f"preparation (layers, {len(sites)} sites of {args.cell_m:g} m, indicators): "
          f"{prep_s:.1f} s")

    spec = suit.load_criteria(CRITERIA)
    t = time.perf_counter()
    result = suit.score_sites(table, spec)
    score_s = time.perf_counter() - t
    eligible = result.table.index[~result.table["excluded"]]
    print(f"scoring: {score_s:.3f} s; {len(eligible)} eligible, "
          f"{int(result.table['excluded'].sum())} excluded")

    t = time.perf_counter()
    mc = suit.monte_carlo_weights(result, runs=1000, spread=0.1, seed=1, top_k=10)
    mc_s = time.perf_counter() - t
    stable = (mc.table["topk_share"] >= 0.9).sum()
    print(f"Monte-Carlo 1000 runs: {mc_s:.2f} s; {stable} sites stay in the top 10 in >= 90% "
          f"of runs")

    t = time.perf_counter()
    oat = suit.one_at_a_time(result)
    print(f"one-at-a-time sweeps: {time.perf_counter() - t:.2f} s "
          f"({len(oat.summary)} criterion x weight steps)")

    t = time.perf_counter()
    bike = inputs.bike  # in the preset's CRS, as the layers
    demand = demand_units(layers, inputs.demand, units="neighbourhoods")
    tt = network_travel_times(bike, table.loc[eligible], demand,
                              demand_column="jobseekers_low_edu_n", limit_min=args.time_min,
                              existing=layers["hubs"])
    tt_s = time.perf_counter() - t
    print(f"travel times ({len(eligible)} sites + {len(layers['hubs'])} hubs -> "
          f"{len(demand)} neighbourhoods, bike {args.time_min:g} min): {tt_s:.2f} s")

    cols = ["covered_demand_n", "covered_share_pct", "marginal_gain_n", "status", "mip_gap",
            "solve_time_s"]
    t = time.perf_counter()
    curve = alloc.coverage_curve(tt, args.k)
    eligible_s = time.perf_counter() - t
    print(curve.table[cols].to_string(float_format=lambda v: f"{v:,.3f}"))
    print(f"maximal covering k = 0..{args.k} on the {len(eligible)} eligible sites: "
          f"{eligible_s:.2f} s; chosen at k={args.k}: {'; '.join(curve.results[args.k].selected)}")

    # the same problem with every grid site as a candidate (the size the issue names)
    t = time.perf_counter()
    tt_all = network_travel_times(bike, table, demand, demand_column="jobseekers_low_edu_n",
                                  limit_min=args.time_min, existing=layers["hubs"])
    print(f"travel times, all {len(table)} sites: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    curve_all = alloc.coverage_curve(tt_all, args.k)
    mclp_s = time.perf_counter() - t
    print(curve_all.table[cols].to_string(float_format=lambda v: f"{v:,.3f}"))
    print(f"maximal covering k = 0..{args.k} on all {len(table)} sites: {mclp_s:.2f} s")
    print(f"RESULT sites={len(sites)} montecarlo_1000_s={mc_s:.3f} mclp_k1_10_s={mclp_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
