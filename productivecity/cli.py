"""The ``productivecity`` command line.

Each sub-command has ``--help``. Errors in the input end the command with a
one-line message on standard error and exit status 2 (no traceback; ``-vv``
shows it); an unexpected failure exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

from productivecity import __version__
from productivecity._errors import AreaError, ProductiveCityError

logger = logging.getLogger("productivecity")

DEFAULT_OUT_DIR = Path("data") / "processed"


def _add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output and logging")
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-v info, -vv debug with tracebacks)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress bars")
    g.add_argument(
        "--offline",
        action="store_true",
        help="never use the network (only local files and the cache)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--area",
        default=None,
        help="study area: a preset (brussels-vilvoorde, sample), a polygon file, "
        "'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>' (online). "
        "Default: 'sample' (the synthetic sample shipped with the package) when "
        "no --data-dir is given",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder of raw inputs (osm/, boundaries/, stats/, labour/, transit/); "
        "default: the area preset's own data",
    )
    p.add_argument(
        "--online",
        action="store_true",
        help="download what the data directory lacks (osmnx / HTTP, cached)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``productivecity`` command."""
    parser = argparse.ArgumentParser(
        prog="productivecity",
        description="Find sites for maker-learning hubs in the productive city: layers, "
        "accessibility, indicators, ranking and maps from open geodata.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "layers",
        help="load every layer of a study area into one GeoPackage",
        description="Load the study area, industrial zones, canal and canal zone, hubs, transit "
        "stops, municipalities, neighbourhoods and points of interest into one "
        "GeoPackage (EPSG:31370) and print a summary table.",
    )
    _add_source_args(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output GeoPackage (default: data/processed/<area>_layers.gpkg)",
    )
    p.add_argument(
        "--canal-buffer-m",
        type=float,
        default=500.0,
        help="width of the canal zone in metres (default 500)",
    )
    p.add_argument(
        "--hubs",
        type=Path,
        default=None,
        help="your own hubs file (CSV with lon/lat, GeoJSON, GeoPackage), added to "
        "the catalogue shipped with the package",
    )
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="leave out layers whose source is missing instead of stopping",
    )
    _add_common(p)
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser(
        "indicators", help="compute vacancy, labour-market and accessibility indicators per site",
        description="Build candidate sites (a grid, the industrial zones, or your own file) and "
                    "compute every indicator per site; writes a GeoPackage layer 'sites'.",
    )
    _add_source_args(p)
    p.add_argument("--sites", default="grid",
                   help="'grid' (hexagonal grid), 'zones' (industrial and brownfield zones, "
                        "large ones split into parcels) or a vector file of your own sites")
    p.add_argument("--cell-m", type=float, default=250.0,
                   help="grid cell size in metres (default 250)")
    p.add_argument("--within", choices=["industrial", "canal_zone", "none"], default="none",
                   help="restrict grid cells to industrial/brownfield land or the canal zone")
    p.add_argument("--parcel-ha", type=float, default=5.0,
                   help="target parcel size when splitting large zones (default 5 ha)")
    p.add_argument("--site-id-column", default=None,
                   help="id column of your sites file (default: row numbers)")
    p.add_argument("--year", type=int, default=2024,
                   help="year of the job-seeker table (default 2024)")
    p.add_argument("--out", type=Path, default=None,
                   help="output GeoPackage (default: data/processed/<area>_sites.gpkg)")
    _add_common(p)
    p.set_defaults(func=_cmd_indicators)

    p = sub.add_parser(
        "rank", help="score and rank candidate sites by a criteria file, with sensitivity",
        description="Score the sites of a GeoPackage (from 'productivecity indicators') by the "
                    "criteria of a TOML file: weighted sum or OWA, exclusions, the contribution "
                    "of each criterion, Monte-Carlo and one-at-a-time weight sensitivity.",
    )
    p.add_argument("sites", type=Path, help="GeoPackage with a 'sites' layer of indicators")
    p.add_argument("--criteria", type=Path, required=True, help="criteria TOML file")
    p.add_argument("--layer", default="sites", help="layer of the sites (default 'sites')")
    p.add_argument("--out", type=Path, required=True, help="output GeoPackage")
    p.add_argument("--show", type=int, default=10, help="sites to print (default 10)")
    _add_common(p)
    p.set_defaults(func=_cmd_rank)

    p = sub.add_parser(
        "allocate", help="choose k new hubs that cover the most job seekers (maximal covering)",
        description="Choose k new hubs among the eligible ranked sites that together, with the "
                    "existing hubs fixed open, cover the most demand within a travel time on "
                    "the street network; solves k = 1..K and prints the coverage curve.",
    )
    p.add_argument("ranked", type=Path, help="GeoPackage from 'productivecity rank'")
    _add_source_args(p)
    p.add_argument("--layer", default="ranked_sites", help="layer of the ranked sites")
    p.add_argument("--k", type=int, default=10, help="largest number of new hubs (default 10)")
    p.add_argument("--time-min", type=float, default=20.0,
                   help="coverage travel time in minutes (default 20)")
    p.add_argument("--mode", choices=["walk", "bike"], default="bike",
                   help="travel mode (default bike)")
    p.add_argument("--demand", default="jobseekers_low_edu_n",
                   choices=["jobseekers_low_edu_n", "jobseekers_n", "population_n"],
                   help="demand to cover (default low-educated job seekers)")
    p.add_argument("--units", choices=["neighbourhoods", "cells"], default="neighbourhoods",
                   help="demand units (default neighbourhoods)")
    p.add_argument("--candidates", default="eligible",
                   help="'eligible' (all non-excluded sites, default) or 'top:N' (the N best)")
    p.add_argument("--objective", choices=["coverage", "pmedian"], default="coverage",
                   help="maximal covering (default) or p-median (mean travel time) at k")
    p.add_argument("--year", type=int, default=2024, help="year of the job-seeker table")
    p.add_argument("--out", type=Path, required=True, help="output GeoPackage")
    _add_common(p)
    p.set_defaults(func=_cmd_allocate)

    p = sub.add_parser(
        "run", help="run every step of a scenario config and write every output",
        description="Layers, candidate sites, indicators, ranking with sensitivity, allocation "
                    "and every output (atlas PDF, PNG maps, web map, GeoPackage, GeoParquet, "
                    "GeoTIFF, CSV, HTML report, manifest.json) from one TOML config, e.g. "
                    "scripts/scenarios/sample.toml. Steps are cached: a rerun with other "
                    "weights only redoes the ranking and what follows.",
    )
    p.add_argument("config", type=Path, help="scenario config (TOML)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder of raw inputs (overrides [area] data_dir of the config)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: [run] out_dir, else data/processed/<name>)")
    _add_common(p)
    p.set_defaults(func=_cmd_run)
    return parser


def _setup_logging(args) -> None:
    level = logging.WARNING
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    if args.quiet:
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("productivecity")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)]
    root.addHandler(handler)
    root.setLevel(level)


def _settings(args):
    from productivecity.settings import get_settings

    return get_settings(offline=True) if args.offline else get_settings()


def _resolve_area(args) -> str:
    if args.area is not None:
        return args.area
    if args.data_dir is not None:
        raise AreaError(
            "--data-dir was given without --area; say which study area to load, e.g. "
            "--area brussels-vilvoorde"
        )
    return "sample"


def _area_slug(area: str) -> str:
    stem = Path(area).stem if ("/" in area or "." in area) else area
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem).strip("_") or "area"


def _cmd_layers(args) -> int:
    from productivecity.io import check_output_path
    from productivecity.layers import load_layers

    area = _resolve_area(args)
    out = args.out or DEFAULT_OUT_DIR / f"{_area_slug(area)}_layers.gpkg"
    check_output_path(out, overwrite=args.overwrite)  # fail before the work, not after
    layerset = load_layers(
        area,
        data_dir=args.data_dir,
        online=args.online,
        canal_buffer_m=args.canal_buffer_m,
        hubs_path=args.hubs,
        skip_missing=args.skip_missing,
        progress=not args.quiet,
        settings=_settings(args),
    )
    layerset.to_gpkg(out, overwrite=args.overwrite)
    if not args.quiet:
        _print_summary(layerset.summary())
        print(f"\nwrote {len(layerset.layers)} layers (EPSG:31370) to {out}")
    return 0


def _cmd_indicators(args) -> int:
    import time

    from productivecity.indicators.table import INDICATORS, site_indicators
    from productivecity.io import check_output_path, write_geopackage
    from productivecity.layers import load_layers

    t0 = time.perf_counter()
    area = _resolve_area(args)
    out = args.out or DEFAULT_OUT_DIR / f"{_area_slug(area)}_sites.gpkg"
    check_output_path(out, overwrite=args.overwrite)
    layerset = load_layers(area, data_dir=args.data_dir, online=args.online,
                           progress=not args.quiet, settings=_settings(args))
    sites = _make_sites(args, layerset)
    table, report = site_indicators(sites, layerset, data_dir=args.data_dir or layerset.data_dir,
                                    year=args.year, progress=not args.quiet)
    defs = pd.DataFrame({"indicator": list(INDICATORS), "definition": list(INDICATORS.values())})
    write_geopackage({"sites": table.reset_index(), "study_area": layerset["study_area"],
                      "indicator_definitions": defs}, out, overwrite=args.overwrite)
    if not args.quiet:
        _print_indicator_summary(table, report)
        print(f"\n{len(table)} sites, {len(INDICATORS)} indicators, "
              f"{time.perf_counter() - t0:.0f} s; wrote {out}")
    return 0


def _make_sites(args, layerset):
    from productivecity.sites import candidate_sites

    kind = args.sites if args.sites in ("grid", "zones") else "file"
    gdf, rep = candidate_sites(layerset, kind, cell_m=args.cell_m, within=args.within,
                               parcel_ha=args.parcel_ha,
                               path=args.sites if kind == "file" else None,
                               id_column=args.site_id_column)
    rep.log()
    return gdf


def _print_indicator_summary(table, report) -> None:
    from productivecity.indicators.table import INDICATORS

    rows = []
    for col in INDICATORS:
        if col not in table.columns:
            continue
        v = pd.to_numeric(table[col].astype("Float64"), errors="coerce")
        rows.append({"indicator": col, "sites_n": int(v.notna().sum()), "min": v.min(),
                     "median": v.median(), "max": v.max(),
                     "missing": report.missing.loc[col, "reason"] if col in report.missing.index
                     else ""})
    frame = pd.DataFrame(rows).set_index("indicator")
    print(frame.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
    for note in report.notes:
        print(f"  note: {note}")
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in report.timings_s.items())
    print(f"  time: {steps}")
    if len(report.unsnapped_sites):
        reasons = report.unsnapped_sites["reason"].value_counts()
        for reason, n in reasons.items():
            print(f"  {n} site(s) not on the street network: {reason}")


def _read_layer(path: Path, layer: str):
    from productivecity.sources._read import read_vector

    gdf = read_vector(path, layer=layer)
    for idx in ("site_id", "hub_id"):
        if idx in gdf.columns:
            if gdf[idx].duplicated().any():
                from productivecity._errors import SchemaError

                dup = gdf.loc[gdf[idx].duplicated(), idx].head(5).tolist()
                raise SchemaError(f"{path} (layer {layer!r}): duplicate {idx} values {dup}")
            return gdf.set_index(idx)
    return gdf


def _cmd_rank(args) -> int:
    from productivecity import siting as suit
    from productivecity.io import check_output_path, write_geopackage
    from productivecity.siting.ranking import rank_sites

    check_output_path(args.out, overwrite=args.overwrite)
    spec = suit.load_criteria(args.criteria)
    sites = _read_layer(args.sites, args.layer)
    ranked, result, mc, oat = rank_sites(sites, spec)
    weights = suit.criteria_table(spec)
    write_geopackage({"ranked_sites": ranked.reset_index(), "criteria": weights,
                      "sensitivity_one_at_a_time": oat.summary.reset_index()},
                     args.out, overwrite=args.overwrite)
    if not args.quiet:
        top = ranked.loc[~ranked["excluded"]].sort_values(["rank", "score"],
                                                           ascending=[True, False])
        contrib = [c for c in ranked.columns if c.startswith("contrib_")]
        rows = []
        for site_id, row in top.head(args.show).iterrows():
            best = row[contrib].astype(float).sort_values(ascending=False).head(3)
            rows.append({"site_id": site_id, "rank": row["rank"], "score": row["score"],
                         "topk_share": row.get("topk_share"),
                         "rank_p05_p95": f"{row.get('rank_p05', float('nan')):.0f}-"
                                         f"{row.get('rank_p95', float('nan')):.0f}",
                         "why": ", ".join(f"{k.removeprefix('contrib_')} {v:.2f}"
                                          for k, v in best.items())})
        print(pd.DataFrame(rows).set_index("site_id").to_string(
            float_format=lambda v: f"{v:.3f}"))
        parts = ranked.loc[ranked["excluded"], "excluded_reason"].str.split("; ").explode()
        reasons = parts.str.replace(r"^(\S+) [\d.e+-]+ ", r"\1 ", regex=True).value_counts()
        print(f"\n{int((~ranked['excluded']).sum())} sites ranked, "
              f"{int(ranked['excluded'].sum())} excluded (a site may have several reasons):")
        for reason, n in reasons.items():
            print(f"  {n:5d}  {reason}")
        print("weights: " + ", ".join(f"{k} {v:.2f}" for k, v in spec.weights.items()))
        print(f"Monte-Carlo: {mc.runs} runs, top-{mc.top_k} stability in 'topk_share'; "
              f"wrote {args.out}")
    return 0


def _cmd_allocate(args) -> int:
    from productivecity.io import check_output_path, write_geopackage
    from productivecity.layers import load_layers
    from productivecity.network.streets import bike_network, walk_network
    from productivecity.siting import allocation as alloc
    from productivecity.siting.demand import demand_units
    from productivecity.siting.travel_times import network_travel_times
    from productivecity.sources.catalog import DataDir

    check_output_path(args.out, overwrite=args.overwrite)
    ranked = _read_layer(args.ranked, args.layer)
    if "excluded" not in ranked.columns or "rank" not in ranked.columns:
        from productivecity._errors import SchemaError

        raise SchemaError(f"{args.ranked} (layer {args.layer!r}) has no 'rank'/'excluded' "
                          f"columns: rank the sites first with 'productivecity rank'")
    eligible = ranked.loc[~ranked["excluded"].astype(bool)]
    if args.candidates.startswith("top:"):
        n = int(args.candidates[4:])
        eligible = eligible.sort_values("rank").head(n)
    elif args.candidates != "eligible":
        raise ValueError(f"--candidates must be 'eligible' or 'top:N', got {args.candidates!r}")
    area = _resolve_area(args)
    layerset = load_layers(area, data_dir=args.data_dir, online=args.online,
                           progress=not args.quiet, settings=_settings(args))
    dd = DataDir(args.data_dir or layerset.data_dir)
    osm = dd.find("osm_pbf") or dd.find("osm_xml")
    if osm is None:
        from productivecity._errors import DataSourceError

        raise DataSourceError(f"no OSM street data in {dd.root} to build the {args.mode} network")
    net = (walk_network if args.mode == "walk" else bike_network)(osm)
    demand = demand_units(layerset, dd, units=args.units, year=args.year)
    hubs = layerset["hubs"]
    tt = network_travel_times(net, eligible, demand, demand_column=args.demand,
                              cutoff_min=args.time_min, existing=hubs, progress=not args.quiet)
    # among sets that cover as much, prefer the better scored sites
    curve = alloc.coverage_curve(tt, args.k, progress=not args.quiet,
                                 prefer=eligible["score"])
    final = curve.results[args.k]
    layers_out = {}
    chosen = eligible.loc[list(final.selected)].copy()
    chosen["chosen_for_k"] = args.k
    if args.objective == "pmedian":
        pm = alloc.p_median(tt, args.k)
        chosen = eligible.loc[list(pm.selected)].copy()
        chosen["mean_time_min"] = pm.mean_time_min
        final = pm
    layers_out["chosen_sites"] = chosen.reset_index()
    dem = demand.copy()
    dem["facility_id"] = final.assignment["facility_id"].reindex(dem.index)
    dem["time_min"] = final.assignment["time_min"].reindex(dem.index)
    dem["covered_share"] = final.assignment["covered_share"].reindex(dem.index)
    layers_out["demand_units"] = dem.reset_index()
    table = curve.table.reset_index()
    table["objective"] = "maximal covering"
    layers_out["coverage_curve"] = table
    write_geopackage(layers_out, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(curve.table[["covered_demand_n", "covered_share_pct", "marginal_gain_n",
                           "status", "mip_gap", "solve_time_s"]].to_string(
            float_format=lambda v: f"{v:,.2f}"))
        print(f"\n{args.objective} with k={args.k}: status {final.status}, gap "
              f"{final.mip_gap:.2g}; {args.demand} within {args.time_min:g} min by {args.mode}: "
              f"{final.covered_demand_n:,.0f} of {final.total_demand_n:,.0f} "
              f"(existing hubs alone: {final.baseline_covered_demand_n:,.0f})")
        print("chosen sites: " + ", ".join(map(str, final.selected)))
        print(f"wrote {args.out}")
    return 0


def _cmd_run(args) -> int:
    from productivecity.workflow.config import load_config
    from productivecity.workflow.run import run_pipeline

    config = load_config(args.config)
    result = run_pipeline(config, out_dir=args.out, data_dir=args.data_dir,
                          overwrite=args.overwrite, settings=_settings(args),
                          progress=not args.quiet)
    if not args.quiet:
        steps = result.steps.loc[~result.steps.index.str.startswith("outputs:"),
                                 ["status", "time_s"]]
        print(steps.to_string(float_format=lambda v: f"{v:.1f}"))
        res = result.manifest["results"]
        print(f"\n{res['sites_n']} sites, {res['eligible_n']} ranked, "
              f"{res['excluded_n']} excluded; top: "
              + ", ".join(f"{s['rank']}. {s['site_id']}" for s in res["top_sites"][:5]))
        alloc = res.get("allocation")
        if alloc:
            share = (100 * alloc["covered_demand_n"] / alloc["total_demand_n"]
                     if alloc["total_demand_n"] else float("nan"))
            print(f"k={alloc['k']} new hubs cover {share:.1f}% of the demand "
                  f"(existing hubs alone: {alloc['baseline_covered_demand_n']:,.0f} of "
                  f"{alloc['total_demand_n']:,.0f})")
        print(f"wrote {len(result.manifest['files']) + 1} files to {result.out_dir} in "
              f"{result.manifest['run']['total_s']:.0f} s")
    return 0


def _print_summary(summary: pd.DataFrame) -> None:
    table = summary[
        [
            "features_n",
            "area_ha",
            "length_km",
            "read_n",
            "merged_fragments_n",
            "repaired_n",
            "outside_area_n",
        ]
    ]
    table = table.rename(columns={"merged_fragments_n": "merged_n", "outside_area_n": "outside_n"})
    print(table.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
    for column, label in (("skipped", "skipped"), ("notes", "note")):
        for layer, text in summary[column].items():
            if text:
                print(f"  {layer} {label}: {text}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        return int(args.func(args) or 0)
    except ProductiveCityError as exc:
        if args.verbose >= 2:
            logger.exception("failed")
        print(f"productivecity {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # files the user named: unreadable, no permission, disk full
        if args.verbose >= 2:
            logger.exception("failed")
        print(f"productivecity {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"productivecity {args.command}: interrupted; no partial output was kept",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
