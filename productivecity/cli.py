"""The ``productivecity`` command line.

A thin layer over :mod:`productivecity.workflow`: every command builds one
scenario configuration (the schema of :mod:`productivecity.workflow.config`:
its defaults, then an optional ``--config`` file, then the command's options,
then ``--set section.key=value``) and runs the same step functions as
``productivecity run``. Each sub-command has ``--help``.

Errors a user can cause end the command with one line on standard error and
exit status 2; an unexpected internal error prints one line and exits with
status 1 (``-v`` shows the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

import pandas as pd

from productivecity import __version__
from productivecity._errors import ProductiveCityError

logger = logging.getLogger("productivecity")

DEFAULT_OUT_DIR = Path("data") / "processed"

#: argparse destination -> configuration key, for the options that override a key.
_KEYS: dict[str, tuple[str, str]] = {
    "data_dir": ("area", "data_dir"),
    "online": ("area", "online"),
    "hubs": ("area", "hubs"),
    "skip_missing": ("area", "skip_missing"),
    "canal_buffer_m": ("area", "canal_buffer_m"),
    "crs": ("area", "crs"),
    "cell_m": ("sites", "cell_m"),
    "within": ("sites", "within"),
    "parcel_ha": ("sites", "parcel_ha"),
    "site_id_column": ("sites", "id_column"),
    "year": ("indicators", "year"),
    "k": ("allocation", "k"),
    "limit_min": ("allocation", "limit_min"),
    "mode": ("allocation", "mode"),
    "demand": ("allocation", "demand"),
    "units": ("allocation", "units"),
    "candidates": ("allocation", "candidates"),
    "objective": ("allocation", "objective"),
    "criteria": ("criteria", "file"),
}
_PATH_KEYS = {"data_dir", "hubs", "criteria"}


def _schema_option(p, flag: str, section: str, key: str, **kw) -> None:
    """Add ``flag`` as an override of ``[section] key``, typed and documented by the schema."""
    from productivecity.workflow.config import SCHEMA

    opt = SCHEMA[section][key]
    if opt.kind == "bool":
        p.add_argument(flag, action="store_const", const=True, default=None,
                       help=f"{opt.help} ([{section}] {key})")
        return
    types = {"number": float, "int": int, "path": Path}
    default = f"; default {opt.default}" if opt.default is not None else ""
    p.add_argument(flag, type=types.get(opt.kind, str), default=None,
                   choices=list(opt.choices) if opt.choices else None,
                   help=f"{kw.pop('help', opt.help)} ([{section}] {key}{default})", **kw)


def _add_common(p: argparse.ArgumentParser, *, config: bool = True) -> None:
    if config:
        p.add_argument("--config", type=Path, default=None,
                       help="scenario TOML whose values these options override")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   dest="overrides",
                   help="set any configuration key, e.g. --set allocation.k=5 (TOML values; "
                        "repeatable; wins over the other options)")
    _add_logging(p)


def _add_logging(p: argparse.ArgumentParser, *, offline: bool = True,
                 overwrite: bool = True) -> None:
    g = p.add_argument_group("output and logging")
    g.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log output (-v info, -vv debug); -v shows tracebacks")
    g.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress bars")
    if offline:
        g.add_argument("--offline", action="store_true",
                       help="never use the network (only local files and the cache)")
    if overwrite:
        g.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _preset_names() -> list[str]:
    from productivecity.area import preset_names

    return preset_names()


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--area", default=None,
        help=f"study area: a preset ({', '.join(_preset_names())}), a polygon file, "
             "'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>' (online) ([area] preset or "
             "file; default: 'sample', the synthetic sample shipped with the package)")
    _schema_option(p, "--data-dir", "area", "data_dir",
                   help="folder of raw inputs (osm/, boundaries/, stats/, labour/, transit/); "
                        "default: the area preset's own data")
    _schema_option(p, "--online", "area", "online")
    _schema_option(p, "--crs", "area", "crs")
    _schema_option(p, "--hubs", "area", "hubs",
                   help="your own hubs file (CSV with lon/lat, GeoJSON, GeoPackage), added to "
                        "the catalogue shipped with the package")
    _schema_option(p, "--skip-missing", "area", "skip_missing")
    _schema_option(p, "--canal-buffer-m", "area", "canal_buffer_m")


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
        "layers", help="load every layer of a study area into one GeoPackage",
        description="Load the study area, industrial zones, canal and canal zone, hubs, transit "
                    "stops, municipalities, neighbourhoods and points of interest into one "
                    "GeoPackage and print a summary table (step 'layers' of a run).")
    _add_source_args(p)
    p.add_argument("--out", type=Path, default=None,
                   help="output GeoPackage (default: data/processed/<area>_layers.gpkg)")
    _add_common(p)
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser(
        "indicators", help="compute vacancy, labour-market and accessibility indicators per site",
        description="Build candidate sites (a grid, the industrial zones, or your own file) and "
                    "compute every indicator per site (steps 'layers', 'sites', 'demand' and "
                    "'indicators' of a run); writes a GeoPackage layer 'sites'.")
    _add_source_args(p)
    p.add_argument("--sites", default=None,
                   help="'grid' (hexagonal grid), 'zones' (industrial and brownfield zones, "
                        "large ones split into parcels) or a vector file of your own sites "
                        "([sites] kind / path; default grid)")
    _schema_option(p, "--cell-m", "sites", "cell_m")
    _schema_option(p, "--within", "sites", "within")
    _schema_option(p, "--parcel-ha", "sites", "parcel_ha")
    _schema_option(p, "--site-id-column", "sites", "id_column")
    _schema_option(p, "--year", "indicators", "year")
    p.add_argument("--out", type=Path, default=None,
                   help="output GeoPackage (default: data/processed/<area>_sites.gpkg)")
    _add_common(p)
    p.set_defaults(func=_cmd_indicators)

    p = sub.add_parser(
        "rank", help="score and rank candidate sites by a criteria file, with sensitivity",
        description="Score the sites of a GeoPackage (from 'productivecity indicators') by the "
                    "criteria of a TOML file: weighted sum or OWA, exclusions, the contribution "
                    "of each criterion, Monte-Carlo and one-at-a-time weight sensitivity "
                    "(step 'ranking' of a run).")
    p.add_argument("sites", type=Path, help="GeoPackage with a 'sites' layer of indicators")
    p.add_argument("--criteria", type=Path, default=None,
                   help="criteria TOML file ([criteria] file; required unless --config gives "
                        "criteria)")
    p.add_argument("--layer", default="sites", help="layer of the sites (default 'sites')")
    p.add_argument("--out", type=Path, required=True, help="output GeoPackage")
    p.add_argument("--show", type=int, default=10, help="sites to print (default 10)")
    _add_common(p)
    p.set_defaults(func=_cmd_rank)

    p = sub.add_parser(
        "allocate", help="choose k new hubs that cover the most job seekers (maximal covering)",
        description="Choose k new hubs among the eligible ranked sites that together, with the "
                    "existing hubs fixed open, cover the most demand within a travel time on "
                    "the street network; solves k = 0..K and prints the coverage curve (step "
                    "'allocation' of a run).")
    p.add_argument("ranked", type=Path, help="GeoPackage from 'productivecity rank'")
    _add_source_args(p)
    p.add_argument("--layer", default="ranked_sites", help="layer of the ranked sites")
    _schema_option(p, "--k", "allocation", "k")
    _schema_option(p, "--limit-min", "allocation", "limit_min")
    _schema_option(p, "--mode", "allocation", "mode")
    _schema_option(p, "--demand", "allocation", "demand")
    _schema_option(p, "--units", "allocation", "units")
    _schema_option(p, "--candidates", "allocation", "candidates")
    _schema_option(p, "--objective", "allocation", "objective")
    _schema_option(p, "--year", "indicators", "year")
    p.add_argument("--out", type=Path, required=True, help="output GeoPackage")
    _add_common(p)
    p.set_defaults(func=_cmd_allocate)

    p = sub.add_parser(
        "run", help="run every step of a scenario config and write every output",
        description="Layers, candidate sites, demand, indicators, ranking with sensitivity, "
                    "allocation and every output (atlas PDF, PNG maps, web map, GeoPackage, "
                    "GeoParquet, GeoTIFF, CSV, HTML report, manifest.json) from one TOML "
                    "config. Steps are cached: a rerun with other weights only redoes the "
                    "ranking and what follows.")
    p.add_argument("config", help="scenario config (TOML file, or the name of a scenario "
                                  "shipped with the package, e.g. 'sample')")
    _add_source_args(p)
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: [run] out_dir, else data/processed/<name>)")
    _add_common(p, config=False)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "init", help="write an editable scenario and criteria file to start from",
        description="Write a documented scenario TOML and its criteria TOML (copies of a "
                    "scenario shipped with the package) into a folder, to edit and run with "
                    "'productivecity run'.")
    p.add_argument("dir", type=Path, help="folder to write into (created if needed)")
    p.add_argument("--scenario", default="sample", help="shipped scenario to copy (default "
                                                         "'sample')")
    _add_logging(p, offline=False)
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser(
        "cache", help="show or clear the step and network cache",
        description="'info' lists the cached step results (entries and size per step); "
                    "'clear' removes them (all, or one step's with --step).")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--step", default=None, help="only this step's entries (clear)")
    _add_logging(p, offline=False, overwrite=False)
    p.set_defaults(func=_cmd_cache)
    return parser


class _ConsoleFormatter(logging.Formatter):
    """Step lines as they are; other records with their level (and logger with -v)."""

    def __init__(self, verbose: int) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s" if verbose
                         else "%(levelname)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        from productivecity._console import step_logger

        if record.name == step_logger.name and record.levelno == logging.INFO:
            return record.getMessage()
        return super().format(record)


class _BarSafeHandler(logging.StreamHandler):
    """Write log lines above any progress bar on screen (through ``tqdm.write``)."""

    def emit(self, record: logging.LogRecord) -> None:
        from productivecity._console import bar_on_screen

        if not bar_on_screen():  # tqdm.write would show a bar before its delay
            super().emit(record)
            return
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - as logging.StreamHandler.emit
            self.handleError(record)


def _setup_logging(args) -> None:
    """Log to standard error: one line per step, each warning once (-q: errors only)."""
    from productivecity._console import OnceFilter, step_logger

    level = logging.WARNING
    if args.verbose == 1:
        level = logging.INFO
    elif args.verbose >= 2:
        level = logging.DEBUG
    if args.quiet:
        level = logging.ERROR
    handler = _BarSafeHandler(sys.stderr)
    handler.setFormatter(_ConsoleFormatter(args.verbose))
    handler.addFilter(OnceFilter())  # a warning repeated by another step is shown once
    root = logging.getLogger("productivecity")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    # the step lines, unless -q
    step_logger.setLevel(logging.ERROR if args.quiet else min(level, logging.INFO))


def _settings(args):
    from productivecity.settings import get_settings

    return get_settings(offline=True) if getattr(args, "offline", False) else get_settings()


def _overrides(args) -> list[tuple[str, str, object]]:
    """Return the configuration overrides of the command's options, then of ``--set``."""
    from productivecity.workflow.config import parse_override

    out = []
    area = getattr(args, "area", None)
    if area is not None:
        as_path = Path(area).expanduser()
        if ":" not in area and (as_path.exists() or as_path.suffix):
            out.append(("area", "file", str(as_path.resolve())))
        else:
            out.append(("area", "preset", area))
    sites = getattr(args, "sites", None)
    if isinstance(sites, str):
        if sites in ("grid", "zones"):
            out.append(("sites", "kind", sites))
        else:
            out += [("sites", "kind", "file"), ("sites", "path", str(Path(sites).resolve()))]
    for dest, (section, key) in _KEYS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if dest in _PATH_KEYS:
            value = str(Path(value).expanduser().resolve())
        out.append((section, key, value))
    out += [parse_override(text) for text in args.overrides]
    return out


def _config(args, path=None, *, require_criteria: bool = False):
    from productivecity.workflow.config import build_config

    return build_config(path if path is not None else getattr(args, "config", None),
                        _overrides(args), require_criteria=require_criteria)


def _run(args, config):
    from productivecity.workflow.steps import _Run

    return _Run(config, data_dir=None, settings=_settings(args), progress=not args.quiet)


def _area_slug(config) -> str:
    area = config["area"]
    name = Path(area["file"]).stem if area["file"] is not None else area["preset"]
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "area"


def _file_key(path: Path, layer: str) -> str:
    from productivecity.io import file_sha256

    return f"{file_sha256(path)[:24]}:{layer}"


@contextlib.contextmanager
def _naming(path: Path, layer: str):
    """Prefix schema errors about a table read from ``path`` with the file and layer."""
    from productivecity._errors import SchemaError

    try:
        yield
    except SchemaError as exc:
        if str(path) in str(exc):
            raise
        raise SchemaError(f"{path} (layer {layer!r}): {exc}") from exc


@contextlib.contextmanager
def _warnings_to_log():
    """Show warnings as log lines of the command (one line each, hidden by -q)."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        logger.warning("%s: %s", category.__name__, " ".join(str(message).split()))

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _read_layer(path: Path, layer: str):
    from productivecity._errors import SchemaError
    from productivecity.sources._read import read_vector

    gdf = read_vector(path, layer=layer)
    for idx in ("site_id", "hub_id"):
        if idx in gdf.columns:
            if gdf[idx].duplicated().any():
                dup = gdf.loc[gdf[idx].duplicated(), idx].head(5).tolist()
                raise SchemaError(f"{path} (layer {layer!r}): duplicate {idx} values {dup}")
            return gdf.set_index(idx)
    return gdf


# --------------------------------------------------------------------------- commands


def _cmd_layers(args) -> int:
    from productivecity.workflow.steps import layers_step

    config = _config(args)
    out = args.out or DEFAULT_OUT_DIR / f"{_area_slug(config)}_layers.gpkg"
    _check_gpkg_out(out, overwrite=args.overwrite)  # fail before the work, not after
    layerset = layers_step(_run(args, config))
    layerset.to_gpkg(out, overwrite=args.overwrite)
    missing = layerset.missing_inputs()
    if not args.quiet:
        _print_summary(layerset.summary())
        crs = layerset["study_area"].crs
        _print_missing(missing)
        print(f"\nwrote {len(layerset.layers)} layers ({crs.to_string() if crs else 'no CRS'}) "
              f"to {out}")
    return _failed_exit("layers", missing, config)


def _check_gpkg_out(out, *, overwrite: bool) -> None:
    """Refuse an output that is not a GeoPackage or exists (before any work is done)."""
    from productivecity._errors import ParameterError
    from productivecity.io import check_output_path

    if Path(out).suffix.lower() != ".gpkg":
        raise ParameterError(f"--out must be a GeoPackage file (.gpkg), got {out}")
    check_output_path(out, overwrite=overwrite)


def _print_missing(missing) -> None:
    """List the inputs a command went without (status, name, the reason shortened)."""
    if not len(missing):
        return
    print(f"\ninputs the run went without ({len(missing)}; details in the report and "
          f"manifest.json):")
    for name, row in missing.iterrows():
        reason = str(row["reason"])
        print(f"  {row['status']:<8} {name}: "
              f"{reason if len(reason) <= 160 else reason[:157] + '...'}")


def _failed_exit(command: str, missing, config) -> int:
    """Exit status 1 when a source failed (under --skip-missing) and is not allowed to."""
    failed = [str(n) for n, row in missing.iterrows() if row["status"] == "failed"
              and str(n) not in config["run"]["allow_failed"]]
    if failed:
        print(f"productivecity {command}: {len(failed)} source(s) failed and were left out: "
              f"{', '.join(failed)} (list them in [run] allow_failed to accept this)",
              file=sys.stderr)
        return 1
    return 0


def _cmd_indicators(args) -> int:
    from productivecity.indicators.options import indicator_definitions
    from productivecity.io import write_geopackage
    from productivecity.workflow.steps import (
        definitions_table,
        demand_step,
        indicators_step,
        layers_step,
        sites_step,
    )

    config = _config(args)
    out = args.out or DEFAULT_OUT_DIR / f"{_area_slug(config)}_sites.gpkg"
    _check_gpkg_out(out, overwrite=args.overwrite)
    run = _run(args, config)
    try:
        run.prefetch_networks(["walk", "bike"])  # built on the second core while layers load
        layers = layers_step(run)
        run.request_timetable(layers)
        sites, _ = sites_step(run, layers)
        demand = demand_step(run, layers)
        run.request_transit(sites, layers, demand)
        table, report = indicators_step(run, sites, layers, demand)
    finally:
        run.close_helper()
    definitions = indicator_definitions(config.indicator_options)
    write_geopackage({"sites": table.reset_index(), "study_area": layers["study_area"],
                      "indicator_definitions": definitions_table(definitions)},
                     out, overwrite=args.overwrite)
    if not args.quiet:
        _print_indicator_summary(table, report, definitions)
        steps = ", ".join(f"{r['step']} {r['status']} {r['time_s']:.0f} s" for r in run.records)
        print(f"  steps: {steps}")
        print(f"\n{len(table)} sites, {len(definitions)} indicators; wrote {out}")
    return 0


def _cmd_rank(args) -> int:
    from productivecity.io import write_geopackage
    from productivecity.workflow.steps import ranking_step

    _check_gpkg_out(args.out, overwrite=args.overwrite)
    config = _config(args)
    spec = config.require_criteria("productivecity rank")
    sites = _read_layer(args.sites, args.layer)
    with _naming(args.sites, args.layer):
        frames, meta = ranking_step(_run(args, config), sites,
                                    key=_file_key(args.sites, args.layer))
    ranked = frames["ranked"]
    places = {"places": frames["places"].reset_index()} if "places" in frames else {}
    write_geopackage({"ranked_sites": ranked.reset_index(), **places,
                      "criteria": frames["weights"],
                      "sensitivity_one_at_a_time": frames["one_at_a_time"]},
                     args.out, overwrite=args.overwrite)
    if not args.quiet:
        _print_ranking(ranked, spec, meta["monte_carlo"], show=args.show)
        print(f"wrote {args.out}")
    return 0


def _cmd_allocate(args) -> int:
    from productivecity.io import write_geopackage
    from productivecity.workflow.steps import allocation_step, demand_step, layers_step

    _check_gpkg_out(args.out, overwrite=args.overwrite)
    config = _config(args)
    ranked = _read_layer(args.ranked, args.layer)
    run = _run(args, config)
    try:
        run.prefetch_networks([config["allocation"]["mode"]])
        layers = layers_step(run)
        demand = demand_step(run, layers)
        with _naming(args.ranked, args.layer):
            frames, meta = allocation_step(run, ranked, layers, demand,
                                           key=_file_key(args.ranked, args.layer))
    finally:
        run.close_helper()
    write_geopackage({"chosen_sites": frames["new_hubs"].reset_index(),
                      "demand_units": frames["demand_units"].reset_index(),
                      "coverage_curve": frames["curve"]}, args.out, overwrite=args.overwrite)
    if not args.quiet:
        cfg = config["allocation"]
        s = meta["summary"]
        curve = frames["curve"].set_index("k")
        print(curve[["covered_demand_n", "covered_share_pct", "marginal_gain_n", "status",
                     "mip_gap", "solve_time_s"]].to_string(float_format=lambda v: f"{v:,.2f}"))
        name = "maximal covering" if s["objective"] == "coverage" else "p-median"
        print(f"\n{name} with k={s['k']}: status {s['status']}, gap {s['mip_gap']:.2g}; "
              f"{cfg['demand']} within {cfg['limit_min']:g} min by {cfg['mode']}: "
              f"{s['covered_demand_n']:,.0f} of {s['total_demand_n']:,.0f} "
              f"(existing hubs alone: {s['baseline_covered_demand_n']:,.0f})")
        print("chosen sites: " + ", ".join(s["selected"]))
        print(f"wrote {args.out}")
    return 0


def _cmd_run(args) -> int:
    from productivecity.workflow import run as run_module
    from productivecity.workflow.examples import resolve_config_path
    from productivecity.workflow.run import run_pipeline

    if _ENDS_PROCESS and run_module._KEEP_UNTIL_EXIT is None:
        run_module._KEEP_UNTIL_EXIT = []  # the process ends after: nothing freed one by one

    config = _config(args, path=resolve_config_path(args.config), require_criteria=True)
    result = run_pipeline(config, out_dir=args.out, overwrite=args.overwrite,
                          settings=_settings(args), progress=not args.quiet)
    if not args.quiet:  # the steps and their times were logged on standard error
        res = result.manifest["results"]
        print(f"\n{res['sites_n']} sites: {res['eligible_n']} eligible (ranked), "
              f"{res['excluded_n']} excluded, {res.get('not_assessable_n', 0)} not assessable "
              f"(no data); top:")
        if res.get("top_places"):  # the shortlist is of places, not of cells
            for p in res["top_places"][:_SUMMARY_TOP_N]:
                share = ("" if p["topk_share"] is None else
                         f", top {res['monte_carlo']['top_k']} in "
                         f"{100 * p['topk_share']:.0f} % of runs")
                print(f"  {p['rank']:>2}. {p['name']}  (score {p['score']:.3f}{share})")
        else:
            for s in res["top_sites"][:_SUMMARY_TOP_N]:
                print(f"  {s['rank']:>2}. {s.get('name', s['site_id'])}  ({s['site_id']}, "
                      f"score {s['score']:.3f})")
        alloc = res.get("allocation")
        if alloc:
            share = (100 * alloc["covered_demand_n"] / alloc["total_demand_n"]
                     if alloc["total_demand_n"] else float("nan"))
            print(f"k={alloc['k']} new hubs cover {share:.1f}% of the demand "
                  f"(existing hubs alone: {alloc['baseline_covered_demand_n']:,.0f} of "
                  f"{alloc['total_demand_n']:,.0f})")
        if res.get("demand_definition"):
            total = res.get("demand_total_n")
            print(f"demand: {res['demand_definition']}"
                  + (f": {total:,.0f} persons" if total is not None else ""))
        _print_missing(result.missing_inputs)
        print(f"\nwrote {len(result.manifest['files']) + 1} files to {result.out_dir} in "
              f"{result.manifest['run']['total_s']:.0f} s")
        main_files = _main_files(result.manifest["files"])
        if main_files:
            print("  " + ", ".join(main_files))
    return _failed_exit("run", result.missing_inputs, config)


#: Places listed in the summary of a run (the report and the CSV list them all).
_SUMMARY_TOP_N = 5


def _main_files(files: list[str]) -> list[str]:
    """Return the main outputs among the files of a run (report first), folders as ``name/``."""
    from productivecity.workflow.config import OUTPUT_FILES
    from productivecity.workflow.outputs import PLACES_CSV

    tops = {f.split("/", 1)[0] + ("/" if "/" in f else "") for f in files}
    order = [OUTPUT_FILES[k] for k in ("report", "atlas", "webmap", "gpkg", "xlsx")]
    order += [PLACES_CSV, OUTPUT_FILES["csv"], OUTPUT_FILES["png"] + "/"]
    return [f for f in order if f in tops]


def _cmd_init(args) -> int:
    from productivecity.workflow.examples import write_examples

    written = write_examples(args.dir, scenario=args.scenario, overwrite=args.overwrite)
    if not args.quiet:
        for path in written:
            print(f"wrote {path}")
        print(f"edit them, then: productivecity run {written[0]}")
    return 0


def _cmd_cache(args) -> int:
    from productivecity.workflow.cache import cache_info, clear_cache

    if args.action == "info":
        info = cache_info()
        if not args.quiet:
            print(info.to_string(float_format=lambda v: f"{v:,.1f}") if len(info)
                  else "the cache is empty")
    else:
        n = clear_cache(step=args.step)
        if not args.quiet:
            print(f"removed {n} cache entr{'y' if n == 1 else 'ies'}")
    return 0


# --------------------------------------------------------------------------- printing


def _print_summary(summary: pd.DataFrame) -> None:
    table = summary[["features_n", "area_ha", "length_km", "read_n", "merged_fragments_n",
                     "repaired_n", "outside_area_n"]]
    table = table.rename(columns={"merged_fragments_n": "merged_n", "outside_area_n": "outside_n"})
    print(table.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
    for column, label in (("skipped", "skipped"), ("notes", "note")):
        for layer, text in summary[column].items():
            if text:
                print(f"  {layer} {label}: {text}")


def _print_indicator_summary(table, report: dict, definitions) -> None:
    reasons = {r["indicator"]: r["reason"] for r in report.get("missing", [])}
    rows = []
    for col in definitions:
        if col not in table.columns:
            continue
        v = pd.to_numeric(table[col].astype("Float64"), errors="coerce")
        rows.append({"indicator": col, "sites_n": int(v.notna().sum()), "min": v.min(),
                     "median": v.median(), "max": v.max(), "missing": reasons.get(col, "")})
    frame = pd.DataFrame(rows).set_index("indicator")
    print(frame.to_string(float_format=lambda v: f"{v:,.1f}", na_rep="-"))
    for note in report.get("notes", []):
        print(f"  note: {note}")
    for reason, n in (report.get("unsnapped_reasons") or {}).items():
        print(f"  {n} site(s) not on the street network: {reason}")


def _print_ranking(ranked, spec, mc: dict, *, show: int) -> None:
    from productivecity.siting.scoring import site_statuses

    status = site_statuses(ranked)
    top = ranked.loc[status.eq("eligible")].sort_values(["rank", "score"], ascending=[True, False],
                                                      kind="stable")
    contrib = [c for c in ranked.columns if c.startswith("contrib_")]
    rows = []
    for site_id, row in top.head(show).iterrows():
        best = row[contrib].astype(float).sort_values(ascending=False).head(3)
        rows.append({"site_id": site_id, "rank": row["rank"], "score": row["score"],
                     "topk_share": row.get("topk_share"),
                     "rank_p05_p95": f"{row.get('rank_p05', float('nan')):.0f}-"
                                     f"{row.get('rank_p95', float('nan')):.0f}",
                     "why": ", ".join(f"{k.removeprefix('contrib_')} {v:.2f}"
                                      for k, v in best.items())})
    print(pd.DataFrame(rows).set_index("site_id").to_string(float_format=lambda v: f"{v:.3f}"))
    parts = ranked.loc[status.eq("excluded"), "excluded_reason"].str.split("; ").explode()
    reasons = parts.str.replace(r"^(\S+) [\d.e+-]+ ", r"\1 ", regex=True).value_counts()
    print(f"\n{int(status.eq('eligible').sum())} sites ranked, "
          f"{int(status.eq('excluded').sum())} excluded (a site may have several reasons):")
    for reason, n in reasons.items():
        print(f"  {n:5d}  {reason}")
    if "missing_inputs" in ranked.columns and status.eq("not assessable").any():
        gaps = ranked.loc[status.eq("not assessable"), "missing_inputs"].str.split("; ").explode()
        print(f"{int(status.eq('not assessable').sum())} not assessable (no value there; "
              f"a site may lack several):")
        for column, n in gaps.value_counts().items():
            print(f"  {n:5d}  no value for {column}")
    print("weights: " + ", ".join(f"{k} {v:.2f}" for k, v in spec.weights.items()))
    print(f"Monte-Carlo: {mc['runs']} runs, top-{mc['top_k']} stability in 'topk_share'")


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Errors a user can cause (:class:`~productivecity.ProductiveCityError`, and files
    that cannot be read or written) print one line and return 2; any other error
    prints one line and returns 1; ``-v`` adds the traceback to the log.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        with _warnings_to_log():
            return int(args.func(args) or 0)
    except (ProductiveCityError, OSError) as exc:
        if args.verbose:
            logger.error("traceback", exc_info=exc)
        message = " ".join(str(exc).split())
        print(f"productivecity {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"productivecity {args.command}: interrupted; no partial output was kept",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line, traceback with -v
        if args.verbose:
            logger.error("traceback", exc_info=exc)
        message = " ".join(str(exc).split())
        print(f"productivecity {args.command}: internal error: {type(exc).__name__}: "
              f"{message} (run with -v to see the traceback)", file=sys.stderr)
        return 1


#: Whether this process ends when the command is done (:func:`command`).
_ENDS_PROCESS = False


def command() -> None:
    """Run :func:`main` as the ``productivecity`` console command, then exit at once.

    When the command is done (every output written and closed, the exit handlers
    run, the standard streams flushed), the process ends without the interpreter
    first freeing each object of the run one by one: 0.6 s after a run of the
    sample, which has no use for a process about to end (a run keeps its objects
    until then: :data:`productivecity.workflow.run._KEEP_UNTIL_EXIT`). With another thread still
    running that the interpreter would wait for (not a daemon thread, such as tqdm's
    monitor), it exits the ordinary way.
    """
    import atexit
    import threading

    global _ENDS_PROCESS
    _ENDS_PROCESS = True
    code = main()
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive()
           for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging, multiprocessing, temporary folders
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    command()
