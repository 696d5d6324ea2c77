"""The scenario configuration: one schema for TOML files, the command line and Python."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from productivecity._errors import (
    ConfigError,
    CriteriaError,
    DataSourceError,
)
from productivecity.indicators.options import (
    DEFAULT_SURFACE_CELL_M,
    DEFAULT_YEAR,
    IndicatorOptions,
    indicator_definitions,
)

logger = logging.getLogger(__name__)


#: Output formats a run can write (``[outputs] formats``); the manifest is always written.
FORMATS = ("atlas", "png", "webmap", "weights", "gpkg", "geoparquet", "geotiff", "csv", "xlsx",
           "report", "qgis")


#: The formats whose outputs draw the base map (streets, water, green; the QGIS project
#: carries it as layers).
BASEMAP_FORMATS = frozenset({"atlas", "png", "report", "webmap", "weights", "qgis"})


#: The computing steps, in order (``outputs`` follows them).
STEPS = ("layers", "sites", "indicators", "ranking", "allocation", "isochrones")


#: Output file names in the output folder.
OUTPUT_FILES = {
    "atlas": "atlas.pdf",
    "png": "maps",  # a folder of <page>.png
    "webmap": "webmap.html",
    "weights": "weights.html",  # the live weights page (sliders, exclusions, save weights)
    "gpkg": "results.gpkg",
    "geoparquet": "ranked_sites.parquet",
    "geotiff": "suitability.tif",
    "csv": "ranked_sites.csv",
    "xlsx": "ranked_places.xlsx",
    "report": "report.html",
    "qgis": "project.qgz",  # a QGIS project over results.gpkg (needs "gpkg")
}


@dataclasses.dataclass(frozen=True)
class Option:
    """One configuration key: its type, default and allowed values.

    Attributes
    ----------
    kind : str
        ``"str"``, ``"path"`` (a string; relative paths resolve against the
        configuration's folder), ``"number"`` (int or float), ``"int"``,
        ``"bool"``, ``"date"`` (TOML date or ``"YYYY-MM-DD"``), ``"numbers"``
        (list of numbers), ``"strs"`` (list of strings), ``"str|strs"`` or
        ``"table"`` (a TOML table of names to a string or a list of strings;
        ``choices`` are then the allowed names) or ``"mapping"`` (any TOML
        table, checked by its consumer).
    default : object
        Value when the key is absent.
    choices : tuple, optional
        Allowed values (for lists: allowed items).
    gt, ge : float, optional
        Exclusive / inclusive lower bound for numbers.
    help : str
        What the key means (shown in error messages).
    """

    kind: str
    default: Any = None
    choices: tuple | None = None
    gt: float | None = None
    ge: float | None = None
    help: str = ""

    def expected(self) -> str:
        """Describe the expected type and values, for error messages."""
        names = {"str": "a string", "path": "a path (string)", "number": "a number",
                 "int": "an integer", "bool": "true or false",
                 "date": "a date (YYYY-MM-DD)", "numbers": "a list of numbers",
                 "strs": "a list of strings", "str|strs": "a string or a list of strings",
                 "table": "a table of names to a string or a list of strings",
                 "mapping": "a table"}
        text = names[self.kind]
        if self.gt is not None:
            text += f" > {self.gt:g}"
        if self.ge is not None:
            text += f" >= {self.ge:g}"
        if self.choices:
            text += " (" + " | ".join(map(str, self.choices)) + ")"
        return text


_DEMAND = ("jobseekers_low_edu_n", "jobseekers_n", "population_n")
_IND = IndicatorOptions()


#: The sections and keys of a run configuration (``[criteria]`` is checked separately).
SCHEMA: dict[str, dict[str, Option]] = {
    "area": {
        "preset": Option("str", help="study-area preset (sample, brussels-vilvoorde), "
                                     "'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>'"),
        "file": Option("path", help="polygon file of the study area (instead of preset)"),
        "name": Option("str", help="name of the area on maps and in the report"),
        "data_dir": Option("path", help="folder of raw inputs (overridden by --data-dir)"),
        "canal_buffer_m": Option("number", 500.0, gt=0, help="width of the canal zone (m)"),
        "canal_names": Option("strs", help="the waterways that make the canal, by name "
                                           "(OSM name, name:nl or name:fr, any case), e.g. "
                                           "[\"Grand Union Canal\"]; default: the "
                                           "navigable canal found from the OSM tags"),
        "hubs": Option("path", help="your own hubs file, added to the package catalogue"),
        "online": Option("bool", False, help="download what the data directory lacks"),
        "skip_missing": Option("bool", False, help="leave out layers whose source is there but "
                                                   "cannot be read (named in the summary and "
                                                   "the manifest; exit code 1 unless [run] "
                                                   "allow_failed lists them); absent sources "
                                                   "are always left out and reported"),
        "crs": Option("str", help="metric CRS of the run, e.g. 'EPSG:3067' (default: the "
                                  "preset's, else the area file's when true to scale, else "
                                  "the UTM zone of the area)"),
    },
    "sites": {
        "kind": Option("str", "grid", choices=("grid", "zones", "file")),
        "cell_m": Option("number", 250.0, gt=0, help="grid cell size (m)"),
        "shape": Option("str", "hex", choices=("hex", "square")),
        "within": Option("str", "none", choices=("none", "industrial", "canal_zone")),
        "min_share_pct": Option("number", 25.0, ge=0,
                                help="least share of a cell inside 'within' (%)"),
        "parcel_ha": Option("number", 5.0, gt=0, help="target parcel size of split zones (ha)"),
        "min_parcel_ha": Option("number", 0.5, gt=0, help="smallest parcel (ha)"),
        "path": Option("path", help="your own sites file (kind = 'file')"),
        "id_column": Option("str", help="id column of the sites file"),
        "layer": Option("str", help="layer of the sites file"),
    },
    "indicators": {
        "year": Option("int", DEFAULT_YEAR, ge=1900, help="year of the job-seeker table"),
        "cell_m": Option("number", DEFAULT_SURFACE_CELL_M, gt=0,
                         help="cell size of the dasymetric demand surface (m)"),
        "walk_limits_min": Option("numbers", list(_IND.walk_limits_min), gt=0,
                                  help="walk catchments of the job-seeker counts (min)"),
        "bike_limits_min": Option("numbers", list(_IND.bike_limits_min), gt=0,
                                  help="bike catchments of the job-seeker counts (min)"),
        "stops_walk_limit_min": Option("number", _IND.stops_walk_limit_min, gt=0,
                                       help="walk time of the transit-stop count (min)"),
        "residents_bike_limit_min": Option("number", _IND.residents_bike_limit_min, gt=0,
                                           help="bike time of the resident count (min)"),
        "hub_access_bike_limit_min": Option("number", _IND.hub_access_bike_limit_min, gt=0,
                                            help="bike catchment of the hub access 2SFCA (min)"),
        "station_limit_min": Option("number", _IND.station_limit_min, gt=0,
                                    help="largest walk to a station whose stops count (min)"),
        # the engine: same results either way (not in the cache key of the indicators)
        "engine": Option("str", "local", choices=("local", "dask"),
                         help="'local' (one process) or 'dask' (one task per tile of sites)"),
        "scheduler": Option("str", help="address of a Dask scheduler, e.g. "
                                        "'tcp://host:8786' (engine = 'dask'; default: a "
                                        "local cluster on this machine's cores)"),
        "tile_m": Option("number", gt=0,
                         help="side of the square tiles of sites (m; engine = 'dask'); "
                              "default: the tile buffer / 2.5, at least 2000"),
        "tile_buffer_m": Option("number", gt=0,
                                help="buffer of each tile's slice of the inputs (m); default "
                                     "and smallest allowed: the longest trip of the "
                                     "indicators plus the snapping distance"),
    },
    "allocation": {
        "enabled": Option("bool", True, help="solve the coverage curve"),
        "k": Option("int", 10, ge=1, help="largest number of new hubs"),
        "limit_min": Option("number", 20.0, gt=0,
                            help="travel time within which demand is covered (min)"),
        "objective": Option("str", "coverage", choices=("coverage", "pmedian"),
                            help="maximal covering, or p-median (mean travel time) at k"),
        "mode": Option("str", "bike", choices=("walk", "bike")),
        "demand": Option("str", "jobseekers_low_edu_n", choices=_DEMAND),
        "units": Option("str", "neighbourhoods", choices=("neighbourhoods", "cells")),
        "unit_cell_m": Option("number", 250.0, gt=0, help="demand cell size (m), units='cells'"),
        "candidates": Option("str", "eligible", help="'eligible' or 'top:N'"),
        "tiers": Option("mapping", help="two kinds of new hubs, each covering its own "
                                        "catchment: {neighbourhood = {k, mode, limit_min}, "
                                        "'city-wide' = {k, mode, limit_min}}; mode 'walk', "
                                        "'bike' or 'transit' (with [transit])"),
    },
    "outputs": {
        "formats": Option("strs", [f for f in FORMATS if f != "png"], choices=FORMATS,
                          help="outputs to write; 'png' (a PNG per atlas page at dpi) on "
                               "request"),
        "paper": Option("str", "A3", choices=("A3", "A4", "A1", "A0")),
        "lang": Option("str", "en", choices=("en", "nl", "fr"),
                       help="language of maps and report (default: the preset's, else en)"),
        "csv_style": Option("str", "auto", choices=("auto", "comma", "semicolon"),
                            help="CSV tables: 'comma' (',' and decimal points, UTF-8), "
                                 "'semicolon' (';' and decimal commas, UTF-8 with BOM for "
                                 "Excel) or 'auto' (semicolon for nl and fr, else comma)"),
        "dpi": Option("int", 300, ge=50, help="resolution of PNG maps"),
        "top_k": Option("int", 10, ge=1, help="top sites labelled and listed"),
        "indicator_maps": Option("str|strs", "criteria",
                                 help="'criteria' (the criteria columns), 'all' or a list "
                                      "of indicator columns: one atlas page each"),
        "place_radius_m": Option("number", 500.0, gt=0,
                                 help="radius of a candidate place around its best site (m): "
                                      "the best sites of two places are at least this far "
                                      "apart"),
        "isochrone_top_k": Option("int", 5, ge=0, help="top sites with isochrones (0: none)"),
        "isochrone_mode": Option("str", "walk", choices=("walk", "bike")),
        "isochrone_times_min": Option("numbers", [10.0, 20.0], gt=0),
        "transit_isochrone_times_min": Option(
            "numbers", [15.0, 30.0], gt=0,
            help="times of the public-transport isochrone page (with [transit])"),
        "raster_resolution_m": Option("number", 25.0, gt=0, help="GeoTIFF cell size (m)"),
        "date": Option("date", help="'made' date in the map footers, report and web map "
                                    "(default: none; each source's data date is shown)"),
        "title": Option("str", help="title of the report and web map"),
        "attribution": Option("str|strs", help="credit line(s) shown on every output instead "
                                               "of the sources read (a key such as 'osm' "
                                               "stands for its standard line)"),
        "attribution_extra": Option("str|strs", help="credit line(s) added to the sources "
                                                     "read on every output"),
    },
    "demand": {
        "table": Option("path", help="your table of persons per unit (CSV or XLSX), used "
                                     "instead of the region's labour tables"),
        "sheet": Option("str", help="sheet of an XLSX table (default: the first)"),
        "code_column": Option("str", help="column of the table with the unit code"),
        "columns": Option("table", choices=_DEMAND,
                          help="measure = column (or list of columns added up), e.g. "
                               "{jobseekers_n = \"unemployed\", population_n = \"pop\"}"),
        "category_column": Option("str", help="column telling the group a row counts (e.g. "
                                              "the education level); a unit's rows add up"),
        "low_edu_categories": Option("strs", help="values of category_column whose rows add "
                                                  "up to jobseekers_low_edu_n, e.g. "
                                                  "[\"low\", \"none\"]"),
        "na_values": Option("strs", [], help="cell texts meaning 'no value' (e.g. "
                                             "[\"..\", \"x\"]); empty cells always are"),
        "units": Option("str", "municipalities", choices=("municipalities", "neighbourhoods"),
                        help="unit layer of the study area the table's codes refer to"),
        "units_file": Option("path", help="polygon file of the units instead of a layer "
                                          "(with units_code_column)"),
        "units_code_column": Option("str", help="code column of units_file"),
        "raster": Option("path", help="GeoTIFF of persons per cell (e.g. a 100 m or 1 km "
                                      "population grid): residents, and the weights that "
                                      "spread the table's counts (alone: the demand itself)"),
        "raster_measure": Option("str", "population_n", choices=("population_n",
                                                                  "jobseekers_n"),
                                 help="what the raster counts"),
        "raster_band": Option("int", 1, ge=1, help="band of the raster"),
        "building_completeness_min": Option(
            "number", 0.5, ge=0, help="least share of a municipality's reference buildings "
                                      "(the region's building stock) that the map must have "
                                      "for footprints to weight its demand; below it the "
                                      "demand falls back to neighbourhood population, "
                                      "then residential land, then area"),
        "target_group": Option("table", help="the job seekers the demand counts "
                                             "(jobseekers_low_edu_n), by category of the "
                                             "region's job-seeker table: education = [low, "
                                             "medium, high, foreign_unrecognised, unknown], "
                                             "sex = [men, women], age = [the table's bands]; "
                                             "default {education = [\"low\"]}"),
    },
    "transit": {
        "source": Option("str", "auto", choices=("auto", "gtfs", "topology", "none"),
                         help="public-transport travel times: 'gtfs' (a feed with "
                              "stop_times), 'topology' (estimated from line topology), "
                              "'auto' (the GTFS named by gtfs or found under transit/ in the "
                              "data folder, else the line-topology model when a region reader "
                              "knows the data, else none, with a note) or 'none'"),
        "gtfs": Option("path", help="a GTFS feed (folder or zip with stop_times.txt) to use"),
        "date": Option("date", help="service date (default: the first Tuesday of the feed's "
                                    "service period without calendar_dates exceptions)"),
        "window": Option("strs", ["07:00", "09:00"],
                         help="departure window [\"HH:MM\", \"HH:MM\"] (end excluded)"),
        "step_min": Option("number", 1.0, gt=0, help="minutes between departures"),
        "percentiles": Option("numbers", [50.0], gt=0,
                              help="percentiles of the travel time over the window; the "
                                   "first is counted (50: the median)"),
        "max_transfers": Option("int", 4, ge=0, help="most transfers of a journey"),
        "limits_min": Option("numbers", [30.0, 45.0], gt=0,
                             help="public-transport catchments of the job-seeker counts "
                                  "(min; they name the columns, jobseekers_transit_30min_n)"),
        "access_walk_min": Option("number", 10.0, gt=0,
                                  help="longest walk to the first and from the last stop "
                                       "(min)"),
        "assumptions": Option("mapping", help="overrides of the line-topology model's "
                                              "speeds, dwell times, headways by mode and "
                                              "band ([transit.assumptions])"),
    },
    "run": {
        "name": Option("str", help="scenario name (default: the config file name)"),
        "description": Option("str", "", help="free text"),
        "out_dir": Option("path", help="output folder (overridden by --out)"),
        "cache": Option("bool", True, help="reuse and store step results"),
        "strict": Option("bool", False, help="refuse to drop criteria whose indicator no site "
                                             "has (missing inputs); default: drop them with "
                                             "a warning"),
        "allow_failed": Option("strs", [], help="layers whose failed source (under "
                                                "skip_missing) does not make the exit code "
                                                "non-zero, e.g. ['poi']"),
        "cache_dir": Option("path", help="step cache folder (default: <cache>/pipeline)"),
    },
}


_SECTIONS = (*SCHEMA, "criteria")


#: Columns a site table has before the indicators (per site kind), for the criteria check.
_SITE_COLUMNS = {"grid": {"kind", "cell_m", "area_ha", "within_share_pct"},
                 "zones": {"kind", "zone_id", "zone_kind", "name", "area_ha"}}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A validated run configuration; values resolved, defaults filled in.

    Attributes
    ----------
    sections : dict of str to dict
        Every section of :data:`SCHEMA` with every key (paths absolute, dates
        as ``YYYY-MM-DD`` strings, absent optional keys None).
    criteria : CriteriaSpec
        The criteria.
    criteria_data : dict
        The criteria as parsed from TOML (for the cache key and manifest).
    criteria_file : Path or None
        The criteria file, when given by ``[criteria] file``.
    path : Path or None
        The configuration file.
    raw : dict
        The configuration as parsed.
    """

    sections: dict[str, dict[str, Any]]
    criteria: Any
    criteria_data: dict
    criteria_file: Path | None
    path: Path | None
    raw: dict

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.sections[section]

    @property
    def name(self) -> str:
        """The scenario name."""
        return self.sections["run"]["name"]

    @property
    def indicator_options(self) -> IndicatorOptions:
        """The catchment times of the indicators (``[indicators]``)."""
        return IndicatorOptions.from_config(self.sections["indicators"])

    @property
    def transit_options(self):
        """The public-transport indicators' options (``[transit]``), a TransitOptions."""
        from productivecity.indicators.transit import TransitOptions

        return TransitOptions.from_config(self.sections["transit"])

    def require_criteria(self, what: str = "the ranking"):
        """Return the criteria, or raise ConfigError saying how to give them."""
        if self.criteria is None:
            where = self.path or "the configuration"
            raise ConfigError(f"{what} needs criteria: add [criteria] file = \"<criteria.toml>\" "
                              f"to {where} or pass --criteria FILE")
        return self.criteria


def _type_ok(value: Any, opt: Option) -> bool:
    def number(v):
        return (isinstance(v, int | float) and not isinstance(v, bool)
                and math.isfinite(float(v)))

    kind = opt.kind
    if kind in ("str", "path"):
        ok = isinstance(value, str) and (kind != "path" or value.strip() != "")
    elif kind == "number":
        ok = number(value)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "date":
        ok = (isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)) or (
            isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
            and _parse_date(value) is not None)
    elif kind == "numbers":
        ok = isinstance(value, list) and len(value) > 0 and all(number(v) for v in value)
    elif kind == "strs":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == "str|strs":
        ok = isinstance(value, str) or (isinstance(value, list)
                                        and all(isinstance(v, str) for v in value))
    elif kind == "mapping":
        return isinstance(value, Mapping)
    elif kind == "table":
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and (opt.choices is None or k in opt.choices)
            and ((isinstance(v, str) and v != "") or (
                isinstance(v, list) and len(v) > 0
                and all(isinstance(x, str) and x != "" for x in v)))
            for k, v in value.items())
    else:  # pragma: no cover - schema error
        raise AssertionError(kind)
    if not ok:
        return False
    items = value if isinstance(value, list) else [value]
    if opt.choices is not None and any(v not in opt.choices for v in items):
        return False
    if opt.gt is not None and any(float(v) <= opt.gt for v in items):
        return False
    return not (opt.ge is not None and any(float(v) < opt.ge for v in items))


def _parse_date(text: str) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        return None


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


#: The tiers of ``[allocation] tiers`` (the hub profiles of the criteria files).
TIER_NAMES = ("neighbourhood", "city-wide")


def _check_tiers(tiers) -> list[str]:
    """Problems of ``[allocation] tiers``: each a profile with k, mode and limit_min."""
    if tiers is None:
        return []
    if not isinstance(tiers, Mapping) or not tiers:
        return [f"[allocation] tiers must be a table of tiers, e.g. {{neighbourhood = {{k = 5, "
                f"mode = 'walk', limit_min = 15}}}}, got {_show(tiers)}"]
    out = []
    for name, tier in tiers.items():
        where = f"[allocation] tiers.{name}"
        if name not in TIER_NAMES:
            out.append(f"{where}: unknown tier (known: {', '.join(TIER_NAMES)})")
            continue
        if not isinstance(tier, Mapping):
            out.append(f"{where} must be a table {{k, mode, limit_min}}, got {_show(tier)}")
            continue
        extra = sorted(set(tier) - {"k", "mode", "limit_min"})
        if extra:
            out.append(f"{where}: unknown key(s) {extra} (known: k, mode, limit_min)")
        k = tier.get("k")
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            out.append(f"{where}.k must be an integer >= 0, got {_show(k)}")
        if tier.get("mode") not in ("walk", "bike", "transit"):
            out.append(f"{where}.mode must be 'walk', 'bike' or 'transit', "
                       f"got {_show(tier.get('mode'))}")
        lim = tier.get("limit_min")
        if isinstance(lim, bool) or not isinstance(lim, int | float) or not lim > 0:
            out.append(f"{where}.limit_min must be a number > 0 (minutes), got {_show(lim)}")
    return out


def config_from_dict(data: Mapping[str, Any], *, base_dir: str | os.PathLike = ".",
                     source: str = "<config>", path: Path | None = None,
                     require_criteria: bool = True) -> PipelineConfig:
    """Check a parsed configuration and resolve it.

    Parameters
    ----------
    data : mapping
        The parsed TOML (sections of :data:`SCHEMA` and ``criteria``).
    base_dir : path-like, default "."
        Folder against which relative paths resolve.
    source : str
        Name of the configuration in messages.
    path : Path, optional
        The configuration file, kept in :attr:`PipelineConfig.path`.
    require_criteria : bool, default True
        A run needs criteria: without a ``[criteria]`` section that is one of the
        problems listed. Commands that do not rank (``layers``, ``indicators``,
        ``allocate``) build their configuration without.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ConfigError
        One error listing every problem (unknown sections or keys with the
        known ones, wrong types or values with the expected ones, an invalid
        ``[criteria]``).
    """
    from productivecity import siting as suit

    base = Path(base_dir).expanduser().resolve()
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: a configuration must be a table of sections, got "
                          f"{type(data).__name__}")
    for section in data:
        if section not in _SECTIONS:
            problems.append(f"unknown section [{section}] (known sections: "
                            f"{', '.join(_SECTIONS)})")
    sections: dict[str, dict[str, Any]] = {}
    for section, options in SCHEMA.items():
        table = data.get(section, {})
        if not isinstance(table, Mapping):
            problems.append(f"[{section}] must be a table, got {_show(table)}")
            table = {}
        for key in table:
            if key not in options:
                known = ", ".join(f"{k} = {o.expected()}" for k, o in options.items())
                problems.append(f"[{section}] unknown key {key!r} (known keys: {known})")
        resolved: dict[str, Any] = {}
        for key, opt in options.items():
            if key not in table:
                value = opt.default
                resolved[key] = list(value) if isinstance(value, list) else value
                continue
            value = table[key]
            if not _type_ok(value, opt):
                problems.append(f"[{section}] {key} must be {opt.expected()}, got {_show(value)}")
                resolved[key] = opt.default
                continue
            if opt.kind == "path":
                value = (base / Path(value).expanduser()).resolve()
            elif opt.kind == "date":
                value = value.isoformat() if isinstance(value, _dt.date) else value
            elif opt.kind == "number":
                value = float(value)
            elif opt.kind == "numbers":
                value = [float(v) for v in value]
            resolved[key] = value
        sections[section] = resolved

    # cross-key checks
    area, sites, alloc, outputs = (sections[s] for s in ("area", "sites", "allocation",
                                                           "outputs"))
    if area["preset"] is not None and area["file"] is not None:
        problems.append("[area] give either preset or file, not both")
    if area["preset"] is None and area["file"] is None:
        if area["data_dir"] is not None:
            problems.append("[area] data_dir (--data-dir) is given without --area ([area] "
                            "preset or file); say which study area to load, e.g. --area "
                            "brussels-vilvoorde")
        area["preset"] = "sample"
    if (area["preset"] is not None and "lang" not in (data.get("outputs") or {})
            and isinstance(data.get("outputs", {}), Mapping)):
        from productivecity.area import PRESETS

        preset = PRESETS.get(area["preset"]) if area["preset"] in PRESETS else None
        if preset is not None and preset.lang:  # the preset's language unless one is given
            outputs["lang"] = preset.lang
    if sites["kind"] == "file" and sites["path"] is None:
        problems.append("[sites] kind = 'file' needs path = \"<your sites file>\"")
    if sites["kind"] != "file":
        extra = [k for k in ("path", "id_column", "layer") if sites[k] is not None]
        if extra:
            problems.append(f"[sites] {', '.join(extra)} only apply to kind = 'file', "
                            f"got kind = {sites['kind']!r}")
    demand = sections["demand"]
    if demand["target_group"] is not None:
        from productivecity._errors import ParameterError
        from productivecity.sources.labour import check_target_group

        try:
            demand["target_group"] = check_target_group(demand["target_group"],
                                                        what="[demand] target_group")
        except ParameterError as exc:
            problems.append(str(exc))
        if demand["table"] is not None or demand["raster"] is not None:
            problems.append("[demand] target_group chooses categories of the region's "
                            "job-seeker table; with your own table or raster use "
                            "category_column and low_edu_categories instead")
    cand = alloc["candidates"]
    if not (cand == "eligible" or re.fullmatch(r"top:[1-9]\d*", cand)):
        problems.append(f"[allocation] candidates must be 'eligible' or 'top:N' (N >= 1), "
                        f"got {cand!r}")
    elif cand.startswith("top:") and int(cand[4:]) < alloc["k"]:
        problems.append(f"[allocation] candidates {cand!r} gives only {int(cand[4:])} "
                        f"candidate sites, fewer than k = {alloc['k']}")
    maps = outputs["indicator_maps"]
    if isinstance(maps, str) and maps not in ("criteria", "all"):
        problems.append(f"[outputs] indicator_maps must be 'criteria', 'all' or a list of "
                        f"columns, got {maps!r}")
    if len(set(outputs["formats"])) != len(outputs["formats"]):
        problems.append(f"[outputs] formats lists a format twice: {outputs['formats']}")
    if "qgis" in outputs["formats"] and "gpkg" not in outputs["formats"]:
        problems.append(f"[outputs] formats: 'qgis' (the QGIS project) shows the layers of "
                        f"results.gpkg; add 'gpkg' to formats, got {outputs['formats']}")
    run = sections["run"]
    if run["name"] is None:
        run["name"] = path.stem if path is not None else "run"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run["name"]):
        problems.append(f"[run] name must be letters, digits, '.', '_' or '-' (it names "
                        f"folders), got {run['name']!r}")

    # criteria
    spec, crit_data, crit_file = None, {}, None
    crit = data.get("criteria")
    if crit is None:
        if require_criteria:
            problems.append("missing section [criteria]: give file = \"<criteria.toml>\" or "
                            "the [[criteria.criterion]] tables inline")
    elif not isinstance(crit, Mapping):
        problems.append(f"[criteria] must be a table, got {_show(crit)}")
    elif "file" in crit:
        if len(crit) > 1:
            problems.append(f"[criteria] give either file = ... or inline criteria, not both "
                            f"(other keys: {[k for k in crit if k != 'file']})")
        if not isinstance(crit["file"], str):
            problems.append(f"[criteria] file must be a path (string), got {_show(crit['file'])}")
        else:
            crit_file = (base / Path(crit["file"]).expanduser()).resolve()
            if not crit_file.exists() and Path(crit["file"]).suffix == "" \
                    and "/" not in crit["file"]:
                from productivecity.workflow.examples import criteria_names, example_path

                if crit["file"] in criteria_names():  # a criteria file shipped with the package
                    crit_file = example_path(crit["file"], kind="criteria")
            try:
                spec = suit.load_criteria(crit_file)
                crit_data = tomllib.loads(crit_file.read_text(encoding="utf-8"))
            except (CriteriaError, DataSourceError) as exc:
                problems.append(f"[criteria] {exc}")
    else:
        crit_data = dict(crit)
        try:
            spec = suit.criteria_from_dict(crit_data, source=f"{source} [criteria]")
        except CriteriaError as exc:
            problems.append(str(exc))
    options = None
    try:
        options = IndicatorOptions.from_config(sections["indicators"])
    except ConfigError as exc:
        problems.append(str(exc))
    if options is not None and sections["indicators"].get("tile_buffer_m") is not None:
        from productivecity.indicators.tiled import check_buffer, required_buffer_m

        try:
            check_buffer(sections["indicators"]["tile_buffer_m"], required_buffer_m(options))
        except ConfigError as exc:
            problems.append(str(exc))
    from productivecity.indicators.transit import (
        TransitOptions,
        check_section,
        transit_definitions,
    )

    problems += [f"[transit] {p}" for p in check_section(sections["transit"])]
    problems += _check_tiers(sections["allocation"].get("tiers"))
    if spec is not None and options is not None and sites["kind"] in _SITE_COLUMNS:
        known = set(indicator_definitions(options)) | _SITE_COLUMNS[sites["kind"]]
        if not any(p.startswith("[transit]") for p in problems):
            known |= set(transit_definitions(TransitOptions.from_config(sections["transit"])))
        # an optional criterion may name an indicator this run does not compute (dropped
        # with a note when ranking, see usable_criteria)
        used = [(f"criterion {c.name!r}", c.column) for c in spec.criteria if not c.optional]
        used += [("a constraint", c.column) for c in spec.constraints]
        for what, col in used:
            if col not in known:
                problems.append(f"[criteria] {what} uses column {col!r}, which the indicators "
                                f"do not produce (known: {', '.join(sorted(known))})")

    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s): " + "; ".join(problems))
    return PipelineConfig(sections=sections, criteria=spec, criteria_data=_jsonable(crit_data),
                          criteria_file=crit_file, path=path, raw=_jsonable(dict(data)))


def parse_override(text: str) -> tuple[str, str, Any]:
    """Parse ``section.key=value`` (the value in TOML syntax, else a plain string).

    Examples
    --------
    >>> parse_override("allocation.k=5")
    ('allocation', 'k', 5)
    >>> parse_override("area.preset=sample")
    ('area', 'preset', 'sample')
    >>> parse_override("indicators.walk_limits_min=[15, 30]")
    ('indicators', 'walk_limits_min', [15, 30])
    """
    key, sep, value = text.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. allocation.k=5 "
                          f"(sections: {', '.join(_SECTIONS)})")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return section, name, parsed


def merge_overrides(data: Mapping[str, Any], overrides) -> dict:
    """Return ``data`` with ``overrides`` applied.

    Parameters
    ----------
    data : mapping
        A parsed configuration (sections of :data:`SCHEMA` and ``criteria``).
    overrides : iterable of (section, key, value)
        Values that win over the file's, e.g. from command-line options and ``--set``
        (paths in them should be absolute: relative paths resolve against the
        configuration's folder).

    Returns
    -------
    dict
        A new configuration; ``data`` is not modified.
    """
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    for section, key, value in overrides:
        table = out.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table, got {table!r}")
        if section == "criteria" and key == "file":
            table.clear()  # a criteria file given on the command line replaces inline criteria
        if section == "area" and key in ("file", "preset"):
            # the study area given on the command line replaces the file's, whichever kind
            table.pop("preset" if key == "file" else "file", None)
        table[key] = value
    return out


def read_config_file(path: str | os.PathLike) -> dict:
    """Read a TOML configuration file (no checks beyond TOML syntax)."""
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"cannot read configuration {path}: {exc.strerror or exc}") \
            from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def build_config(path: str | os.PathLike | None = None, overrides=(), *,
                 require_criteria: bool = False) -> PipelineConfig:
    """Build a checked configuration from a file (optional) and overrides.

    The one way a configuration is made: defaults of :data:`SCHEMA`, then the
    file's values, then ``overrides`` (command-line options, ``--set``).

    Parameters
    ----------
    path : path-like, optional
        A scenario TOML file; relative paths in it resolve against its folder.
    overrides : iterable of (section, key, value)
    require_criteria : bool, default False
        Count a missing ``[criteria]`` among the problems (as a run does).

    Returns
    -------
    PipelineConfig

    Examples
    --------
    >>> cfg = build_config(overrides=[("allocation", "k", 3)])
    >>> cfg["allocation"]["k"], cfg["allocation"]["limit_min"]
    (3, 20.0)
    """
    if path is None:
        return config_from_dict(merge_overrides({}, overrides), base_dir=Path.cwd(),
                                source="the command line", require_criteria=require_criteria)
    path = Path(path).expanduser()
    overrides = list(overrides)
    data = merge_overrides(read_config_file(path), overrides)
    source = f"{path} with the command-line options" if overrides else str(path)
    return config_from_dict(data, base_dir=path.resolve().parent, source=source,
                            path=path.resolve(), require_criteria=require_criteria)


def load_config(path: str | os.PathLike) -> PipelineConfig:
    """Read and check a run configuration (TOML).

    Parameters
    ----------
    path : path-like
        The configuration file; relative paths in it resolve against its folder.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    DataSourceError
        The file is missing or unreadable.
    ConfigError
        Invalid TOML, or every problem of the configuration in one message.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.workflow.examples import example_path
    >>> cfg = pc.load_config(example_path("sample"))  # or your copy: productivecity init DIR
    >>> cfg.name, cfg["sites"]["cell_m"], cfg["allocation"]["k"]
    ('sample', 250.0, 5)
    >>> len(cfg.criteria.criteria)
    11
    """
    return build_config(path, require_criteria=True)

