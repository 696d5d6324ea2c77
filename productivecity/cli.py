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
    from productivecity import sites as _sites

    if args.sites == "grid":
        within = {"industrial": "industrial_zones", "canal_zone": "canal_zone",
                  "none": None}[args.within]
        gdf, rep = _sites.grid_sites(
            layerset["study_area"], cell_m=args.cell_m,
            within=layerset[within] if within else None)
    elif args.sites == "zones":
        gdf, rep = _sites.zone_sites(layerset["industrial_zones"], target_ha=args.parcel_ha)
    else:
        gdf, rep = _sites.read_sites(args.sites, id_column=args.site_id_column)
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
