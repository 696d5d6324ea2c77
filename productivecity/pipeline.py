"""One pipeline, one command: from a run configuration to every output.

:func:`run_pipeline` (command line: ``productivecity run CONFIG.toml``) chains
the steps of the package on one study area:

=============  =====================================================================
``layers``     :func:`productivecity.layers.load_layers`
``sites``      :func:`~productivecity.sites.grid_sites`, :func:`~productivecity.sites.
               zone_sites` or :func:`~productivecity.sites.read_sites`
``indicators`` :func:`productivecity.indicators.table.site_indicators`
``ranking``    :func:`productivecity.siting.rank_sites` (score, Monte-Carlo and
               one-at-a-time weight sensitivity)
``allocation`` :func:`productivecity.allocation.coverage_curve` for k = 0..K on the
               street network (:func:`~productivecity.siting.network_travel_times`)
``isochrones`` :func:`productivecity.accessibility.isochrones` of the top sites
``outputs``    atlas PDF, PNG maps, HTML web map, GeoPackage, GeoParquet, GeoTIFF,
               CSV, HTML report (writers of :mod:`~productivecity.export`,
               :mod:`~productivecity.maps`, :mod:`~productivecity.webmap`) and
               ``manifest.json``
=============  =====================================================================

Configuration
-------------
A TOML file (see ``scripts/scenarios/sample.toml``) with the sections of
:data:`SCHEMA` plus ``[criteria]`` (either ``file = "criteria.toml"`` or the
criteria tables inline, as :func:`~productivecity.suitability.criteria_from_dict`
takes them). Relative paths resolve against the folder of the configuration
file. :func:`load_config` checks everything at once: unknown sections or keys,
wrong types and bad values are reported together in one :class:`ConfigError`.

Caching
-------
Every computing step stores its result in ``<root>/<step>/<key>/``, where ``root``
is ``[run] cache_dir`` or else ``<Settings.cache_dir>/pipeline``
(``PRODUCTIVECITY_CACHE_DIR``) and ``key`` hashes exactly what the step depends
on: the package's code, the input files it reads (sha256 of each), the
configuration keys it uses and the key of the step before it. A rerun with
other weights reuses the layers, sites and indicators and redoes the ranking;
the allocation is keyed by the set of eligible candidates, not their scores, so
it is only redone when the exclusions change. Entries are written to a
temporary folder and renamed when complete, so an interrupted run leaves no
half entry and the next run resumes from the last finished step. Street
networks are cached on their own by :mod:`productivecity.network`.

Outputs
-------
Everything is written into a temporary sibling of the output folder, which is
renamed into place at the end: an interrupted run leaves no output folder. An
output folder that exists and is not empty is refused unless
``overwrite=True``; even then only a folder holding a ``manifest.json`` of an
earlier run is replaced. The outputs are deterministic: the same inputs and
configuration give the same image bytes and attribute tables; only the
``run`` section of the manifest (timings, cached steps) varies.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from productivecity import __version__
from productivecity._errors import (
    ConfigError,
    CriteriaError,
    DataSourceError,
    OutputExistsError,
)
from productivecity.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: Output formats a run can write (``[outputs] formats``); the manifest is always written.
FORMATS = ("atlas", "png", "webmap", "gpkg", "geoparquet", "geotiff", "csv", "report")

#: The computing steps, in order (``outputs`` follows them).
STEPS = ("layers", "sites", "indicators", "ranking", "allocation", "isochrones")

#: Output file names in the output folder.
OUTPUT_FILES = {
    "atlas": "atlas.pdf",
    "png": "maps",  # a folder of <page>.png
    "webmap": "webmap.html",
    "gpkg": "results.gpkg",
    "geoparquet": "ranked_sites.parquet",
    "geotiff": "suitability.tif",
    "csv": "ranked_sites.csv",
    "report": "report.html",
}

_CACHE_VERSION = 1


# --------------------------------------------------------------------------- configuration


@dataclasses.dataclass(frozen=True)
class Option:
    """One configuration key: its type, default and allowed values.

    Attributes
    ----------
    kind : str
        ``"str"``, ``"path"`` (a string; relative paths resolve against the
        configuration's folder), ``"number"`` (int or float), ``"int"``,
        ``"bool"``, ``"date"`` (TOML date or ``"YYYY-MM-DD"``), ``"numbers"``
        (list of numbers), ``"strs"`` (list of strings) or ``"str|strs"``.
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
                 "strs": "a list of strings", "str|strs": "a string or a list of strings"}
        text = names[self.kind]
        if self.gt is not None:
            text += f" > {self.gt:g}"
        if self.ge is not None:
            text += f" >= {self.ge:g}"
        if self.choices:
            text += " (" + " | ".join(map(str, self.choices)) + ")"
        return text


_DEMAND = ("jobseekers_low_edu_n", "jobseekers_n", "population_n")

#: The sections and keys of a run configuration (``[criteria]`` is checked separately).
SCHEMA: dict[str, dict[str, Option]] = {
    "area": {
        "preset": Option("str", help="study-area preset (sample, brussels-vilvoorde), "
                                     "'bbox:minlon,minlat,maxlon,maxlat' or 'place:<name>'"),
        "file": Option("path", help="polygon file of the study area (instead of preset)"),
        "name": Option("str", help="name of the area on maps and in the report"),
        "data_dir": Option("path", help="folder of raw inputs (overridden by --data-dir)"),
        "canal_buffer_m": Option("number", 500.0, gt=0, help="width of the canal zone (m)"),
        "hubs": Option("path", help="your own hubs file, added to the package catalogue"),
        "online": Option("bool", False, help="download what the data directory lacks"),
        "skip_missing": Option("bool", False, help="leave out layers whose source is missing"),
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
        "year": Option("int", 2024, ge=1900, help="year of the job-seeker table"),
        "cell_m": Option("number", 100.0, gt=0, help="cell size of the dasymetric surface (m)"),
    },
    "allocation": {
        "enabled": Option("bool", True, help="solve the coverage curve"),
        "k": Option("int", 10, ge=1, help="largest number of new hubs"),
        "time_min": Option("number", 20.0, gt=0, help="coverage travel time (min)"),
        "mode": Option("str", "bike", choices=("walk", "bike")),
        "demand": Option("str", "jobseekers_low_edu_n", choices=_DEMAND),
        "units": Option("str", "neighbourhoods", choices=("neighbourhoods", "cells")),
        "unit_cell_m": Option("number", 250.0, gt=0, help="demand cell size (m), units='cells'"),
        "candidates": Option("str", "eligible", help="'eligible' or 'top:N'"),
    },
    "outputs": {
        "formats": Option("strs", list(FORMATS), choices=FORMATS),
        "paper": Option("str", "A3", choices=("A3", "A4", "A1")),
        "lang": Option("str", "en", choices=("en", "nl", "fr")),
        "dpi": Option("int", 300, ge=50, help="resolution of PNG maps"),
        "top_k": Option("int", 10, ge=1, help="top sites labelled and listed"),
        "indicator_maps": Option("str|strs", "criteria",
                                 help="'criteria' (the criteria columns), 'all' or a list "
                                      "of indicator columns: one atlas page each"),
        "isochrone_top_k": Option("int", 5, ge=0, help="top sites with isochrones (0: none)"),
        "isochrone_mode": Option("str", "walk", choices=("walk", "bike")),
        "isochrone_times_min": Option("numbers", [10.0, 20.0], gt=0),
        "raster_resolution_m": Option("number", 25.0, gt=0, help="GeoTIFF cell size (m)"),
        "date": Option("date", help="date in the map footers (default: the newest input "
                                    "file's modification date)"),
        "title": Option("str", help="title of the report and web map"),
    },
    "run": {
        "name": Option("str", help="scenario name (default: the config file name)"),
        "description": Option("str", "", help="free text"),
        "out_dir": Option("path", help="output folder (overridden by --out)"),
        "cache": Option("bool", True, help="reuse and store step results"),
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


def config_from_dict(data: Mapping[str, Any], *, base_dir: str | os.PathLike = ".",
                     source: str = "<config>", path: Path | None = None) -> PipelineConfig:
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
    from productivecity import suitability as suit
    from productivecity.indicators.table import INDICATORS

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
            problems.append("[area] data_dir is given without preset or file; say which "
                            "study area to load, e.g. preset = \"brussels-vilvoorde\"")
        area["preset"] = "sample"
    if sites["kind"] == "file" and sites["path"] is None:
        problems.append("[sites] kind = 'file' needs path = \"<your sites file>\"")
    if sites["kind"] != "file":
        extra = [k for k in ("path", "id_column", "layer") if sites[k] is not None]
        if extra:
            problems.append(f"[sites] {', '.join(extra)} only apply to kind = 'file', "
                            f"got kind = {sites['kind']!r}")
    cand = alloc["candidates"]
    if not (cand == "eligible" or re.fullmatch(r"top:[1-9]\d*", cand)):
        problems.append(f"[allocation] candidates must be 'eligible' or 'top:N' (N >= 1), "
                        f"got {cand!r}")
    elif cand.startswith("top:") and int(cand[4:]) < alloc["k"]:
        problems.append(f"[allocation] candidates {cand!r} has fewer sites than k = "
                        f"{alloc['k']}")
    maps = outputs["indicator_maps"]
    if isinstance(maps, str) and maps not in ("criteria", "all"):
        problems.append(f"[outputs] indicator_maps must be 'criteria', 'all' or a list of "
                        f"columns, got {maps!r}")
    if len(set(outputs["formats"])) != len(outputs["formats"]):
        problems.append(f"[outputs] formats lists a format twice: {outputs['formats']}")
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
        problems.append("missing section [criteria]: give file = \"<criteria.toml>\" or the "
                        "[[criteria.criterion]] tables inline")
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
    if spec is not None and sites["kind"] in _SITE_COLUMNS:
        known = set(INDICATORS) | _SITE_COLUMNS[sites["kind"]]
        used = [(f"criterion {c.name!r}", c.column) for c in spec.criteria]
        used += [("a constraint", c.column) for c in spec.constraints]
        for what, col in used:
            if col not in known:
                problems.append(f"[criteria] {what} uses column {col!r}, which the indicators "
                                f"do not produce (known: {', '.join(sorted(known))})")

    if problems:
        raise ConfigError(f"{source}: {len(problems)} problem(s): " + "; ".join(problems))
    return PipelineConfig(sections=sections, criteria=spec, criteria_data=_jsonable(crit_data),
                          criteria_file=crit_file, path=path, raw=_jsonable(dict(data)))


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
    >>> from productivecity.pipeline import load_config
    >>> cfg = load_config("scripts/scenarios/sample.toml")  # doctest: +SKIP
    >>> cfg["sites"]["cell_m"]  # doctest: +SKIP
    250.0
    """
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"cannot read configuration {path}: {exc.strerror or exc}") \
            from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return config_from_dict(data, base_dir=path.resolve().parent, source=str(path),
                            path=path.resolve())


# --------------------------------------------------------------------------- inputs


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_record(path: Path, *, role: str, root: Path | None = None,
                 kinds: list[str] | None = None) -> dict:
    st = path.stat()
    rec = {
        "path": path.relative_to(root).as_posix() if root is not None else str(path),
        "role": role,
        "sha256": _sha256(path),
        "size_bytes": st.st_size,
        "modified": _dt.datetime.fromtimestamp(st.st_mtime, tz=_dt.UTC)
        .replace(microsecond=0).isoformat(),
    }
    if kinds is not None:
        rec["kinds"] = kinds
    return rec


def data_files(data_dir: str | os.PathLike) -> dict[Path, list[str]]:
    """Return the files of a data directory that the package reads, with their kinds.

    Every file the catalogue (:data:`productivecity.sources.catalog.SOURCES`)
    finds, plus the side files of a shapefile (``.dbf``, ``.shx``, ``.prj``,
    ...) and the other files of a GTFS or STIB folder.

    Parameters
    ----------
    data_dir : path-like

    Returns
    -------
    dict of Path to list of str
        File (sorted by path) to the source kinds it serves.
    """
    from productivecity.sources.catalog import SOURCES, DataDir

    dd = DataDir(data_dir)
    files: dict[Path, list[str]] = {}
    for kind in SOURCES:
        for p in dd.find_all(kind):
            group = [p]
            if p.suffix.lower() == ".shp":
                group += sorted(q for q in p.parent.iterdir() if q.is_file()
                                and q.stem == p.stem and q != p)
            if kind in ("gtfs", "stib_json"):
                group += sorted(q for q in p.parent.iterdir() if q.is_file() and q != p)
            for q in group:
                kinds = files.setdefault(q, [])
                if kind not in kinds:
                    kinds.append(kind)
    return dict(sorted(files.items()))


@functools.cache
def _code_sha256() -> str:
    """Hash of the package's Python sources: a code change invalidates cached steps."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _versions() -> dict:
    """Versions of Python, the package, its dependencies and the C libraries."""
    pkgs: dict[str, str] = {"productivecity": __version__}
    try:
        reqs = importlib.metadata.requires("productivecity") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        reqs = []
    for req in reqs:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]
        try:
            pkgs[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pkgs[name] = None
    libs = {}
    try:
        import pyogrio
        import pyproj
        import rasterio
        import shapely

        libs = {"gdal": pyogrio.__gdal_version_string__, "gdal_rasterio": rasterio.__gdal_version__,
                "proj": pyproj.proj_version_str, "geos": shapely.geos_version_string}
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": dict(sorted(pkgs.items())), "libraries": libs}


# --------------------------------------------------------------------------- step cache


def _hash(parts: Mapping[str, Any]) -> str:
    text = json.dumps(_jsonable(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path)


def _read_frame(path: Path) -> pd.DataFrame:
    meta = pq.read_schema(path).metadata or {}
    return gpd.read_parquet(path) if b"geo" in meta else pd.read_parquet(path)


class _StepCache:
    """Folders ``<root>/<step>/<key>/`` holding a step's frames and ``meta.json``."""

    def __init__(self, root: Path | None):
        self.root = root

    def entry(self, step: str, key: str) -> Path | None:
        if self.root is None:
            return None
        folder = self.root / step / key
        return folder if (folder / "meta.json").is_file() else None

    def store(self, step: str, key: str, frames: Mapping[str, pd.DataFrame], meta: dict) -> None:
        if self.root is None:
            return
        final = self.root / step / key
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-{os.getpid()}-", dir=final.parent))
        try:
            for name, df in frames.items():
                _write_frame(df, tmp / f"{name}.parquet")
            (tmp / "meta.json").write_text(json.dumps(_jsonable(
                {**meta, "frames": list(frames), "step": step, "key": key,
                 "cache_version": _CACHE_VERSION}), indent=1, sort_keys=True), encoding="utf-8")
            if final.exists() and not (final / "meta.json").is_file():
                shutil.rmtree(final)  # not a complete entry (never renamed into place whole)
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / "meta.json").is_file():
                    raise
                logger.debug("%s: entry %s stored meanwhile by another run", step, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def load(folder: Path) -> tuple[dict[str, pd.DataFrame], dict]:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        frames = {name: _read_frame(folder / f"{name}.parquet") for name in meta["frames"]}
        return frames, meta


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass
class RunResult:
    """What a pipeline run produced.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    manifest : dict
        The content of ``manifest.json``.
    steps : DataFrame
        One row per step (index ``step``): ``status`` (``computed`` /
        ``cached`` / ``skipped`` / ``written``), ``time_s`` (seconds), ``key``
        (cache key).
    ranked : GeoDataFrame
        The ranked sites (index ``site_id``) as exported.
    """

    out_dir: Path
    manifest: dict
    steps: pd.DataFrame
    ranked: gpd.GeoDataFrame


class _Run:
    """State of one run: configuration, inputs, cache and step records."""

    def __init__(self, config: PipelineConfig, *, data_dir, settings: Settings, progress: bool):
        self.config = config
        self.settings = settings
        self.progress = progress
        self.records: list[dict] = []
        self.data_dir = self._resolve_data_dir(data_dir)
        run = config["run"]
        if not run["cache"]:
            root = None
        elif run["cache_dir"] is not None:
            root = Path(run["cache_dir"])
        else:
            root = settings.cache_dir / "pipeline"
        self.cache = _StepCache(root)
        self.inputs = self._inputs()
        self.keys: dict[str, str] = {}
        self.details: dict[str, dict] = {}

    # ---- inputs
    def _resolve_data_dir(self, override) -> Path | None:
        from productivecity.area import PRESETS

        area = self.config["area"]
        if override is not None:
            path = Path(override).expanduser().resolve()
        elif area["data_dir"] is not None:
            path = Path(area["data_dir"])
        elif area["preset"] in PRESETS and PRESETS[area["preset"]].data_dir is not None:
            path = Path(PRESETS[area["preset"]].data_dir).resolve()
        else:
            if not area["online"]:
                raise DataSourceError(
                    f"no data directory for study area {area['preset'] or area['file']}: give "
                    f"--data-dir DIR or [area] data_dir in {self.config.path or 'the config'}")
            return None
        if not path.is_dir():
            raise DataSourceError(f"data directory {path} does not exist or is not a folder")
        return path

    def _inputs(self) -> list[dict]:
        from productivecity.sources import hubs as _hubs

        recs = []
        if self.config.path is not None:
            recs.append(_file_record(self.config.path, role="config"))
        if self.config.criteria_file is not None:
            recs.append(_file_record(self.config.criteria_file, role="criteria"))
        catalogue = Path(_hubs.__file__).resolve().parent.parent / "data" / "hubs.csv"
        if catalogue.is_file():
            recs.append(_file_record(catalogue, role="hubs_catalogue"))
        for role, path in (("area", self.config["area"]["file"]),
                           ("hubs", self.config["area"]["hubs"]),
                           ("sites", self.config["sites"]["path"])):
            if path is not None:
                if not Path(path).is_file():
                    where = self.config.path or "the configuration"
                    raise DataSourceError(f"{role} file {path} (from {where}) does not exist")
                recs.append(_file_record(Path(path), role=role))
        if self.data_dir is not None:
            for p, kinds in data_files(self.data_dir).items():
                recs.append(_file_record(p, role="data", root=self.data_dir, kinds=kinds))
        return recs

    def input_hashes(self, *roles: str) -> list[tuple[str, str]]:
        return [(r["path"], r["sha256"]) for r in self.inputs if r["role"] in roles]

    def sources(self, layers) -> list[str]:
        """Attribution keys of every data source used: the layers' and the data files'."""
        from productivecity.maps import ATTRIBUTIONS, _source_keys, attribution_keys

        keys = set(attribution_keys(layers))
        if self.data_dir is not None:
            for rec in self.inputs:
                if rec["role"] == "data":
                    keys |= _source_keys(str(self.data_dir / rec["path"]))
        return [k for k in ATTRIBUTIONS if k in keys]

    def data_date(self) -> str:
        dates = [r["modified"][:10] for r in self.inputs if r["role"] in
                 ("data", "area", "hubs", "sites", "hubs_catalogue")]
        return max(dates) if dates else "unknown"

    # ---- steps
    def step(self, name: str, parts: Mapping[str, Any], compute: Callable[[], tuple[dict, dict]]):
        """Return ``(frames, meta)`` of a step from the cache or by computing (and storing) it."""
        t0 = time.perf_counter()
        key = _hash({"step": name, "code": _code_sha256(), "cache_version": _CACHE_VERSION,
                     **parts})
        self.keys[name] = key
        folder = self.cache.entry(name, key)
        if folder is not None:
            try:
                frames, meta = _StepCache.load(folder)
            except Exception as exc:  # noqa: BLE001 - any unreadable entry is recomputed
                logger.warning("%s: cache entry %s is unreadable (%s); recomputing", name,
                               folder, exc)
            else:
                dt = time.perf_counter() - t0
                logger.info("%s: cached (%s), %.1f s", name, folder, dt)
                self.records.append({"step": name, "status": "cached", "time_s": dt,
                                     "key": key})
                return frames, meta
        frames, meta = compute()
        self.cache.store(name, key, frames, meta)
        dt = time.perf_counter() - t0
        logger.info("%s: computed in %.1f s", name, dt)
        rec = {"step": name, "status": "computed", "time_s": dt, "key": key}
        if name in self.details:
            rec["parts_s"] = self.details.pop(name)
        self.records.append(rec)
        return frames, meta

    def skipped(self, name: str, reason: str) -> None:
        logger.info("%s: skipped (%s)", name, reason)
        self.records.append({"step": name, "status": "skipped", "time_s": 0.0, "key": None,
                             "reason": reason})


def _layers_step(run: _Run):
    from productivecity.layers import LayerSet, load_layers
    from productivecity.report import LayerReport

    area = run.config["area"]
    parts = {"area": {k: area[k] for k in ("preset", "canal_buffer_m", "online",
                                           "skip_missing")},
             "inputs": run.input_hashes("data", "area", "hubs", "hubs_catalogue")}

    def compute():
        ls = load_layers(str(area["file"]) if area["file"] is not None else area["preset"],
                         data_dir=run.data_dir, online=area["online"],
                         canal_buffer_m=area["canal_buffer_m"], hubs_path=area["hubs"],
                         skip_missing=area["skip_missing"], progress=run.progress,
                         settings=run.settings)
        meta = {"reports": [dataclasses.asdict(r) for r in ls.reports]}
        return dict(ls.layers), meta

    frames, meta = run.step("layers", parts, compute)
    return LayerSet(layers=frames, reports=[LayerReport(**r) for r in meta["reports"]],
                    data_dir=run.data_dir)


def _sites_step(run: _Run, layers):
    from productivecity import sites as _sites

    cfg = run.config["sites"]
    parts = {"layers": run.keys["layers"], "sites": cfg, "inputs": run.input_hashes("sites")}

    def compute():
        gdf, rep = _sites.candidate_sites(
            layers, cfg["kind"], cell_m=cfg["cell_m"], shape=cfg["shape"],
            within=cfg["within"], min_share_pct=cfg["min_share_pct"],
            parcel_ha=cfg["parcel_ha"], min_parcel_ha=cfg["min_parcel_ha"], path=cfg["path"],
            id_column=cfg["id_column"], layer=cfg["layer"])
        rep.log()
        return {"sites": gdf}, {"report": dataclasses.asdict(rep)}

    frames, meta = run.step("sites", parts, compute)
    return frames["sites"], meta["report"]


def _indicators_step(run: _Run, sites, layers):
    from productivecity.indicators.table import site_indicators

    cfg = run.config["indicators"]
    parts = {"sites": run.keys["sites"], "indicators": cfg,
             "inputs": run.input_hashes("data")}

    def compute():
        if run.data_dir is None:
            raise DataSourceError("the indicators need a data directory (street network and "
                                  "labour tables): give --data-dir DIR")
        table, rep = site_indicators(sites, layers, data_dir=run.data_dir, year=cfg["year"],
                                     cell_m=cfg["cell_m"], progress=run.progress)
        missing = rep.missing.reset_index(names="indicator")
        summary = {"missing": missing.astype({"missing_n": int}).to_dict("records"),
                   "unsnapped_sites_n": int(len(rep.unsnapped_sites)),
                   "notes": list(rep.notes)}
        run.details["indicators"] = {k: round(v, 3) for k, v in rep.timings_s.items()}
        return {"table": table}, {"report": summary}

    frames, meta = run.step("indicators", parts, compute)
    return frames["table"], meta["report"]


def _ranking_step(run: _Run, table):
    from productivecity.siting import rank_sites
    from productivecity.suitability import criteria_table

    spec = run.config.criteria
    parts = {"indicators": run.keys["indicators"], "criteria": run.config.criteria_data}

    def compute():
        ranked, _result, mc, oat = rank_sites(table, spec, progress=run.progress)
        weights = criteria_table(spec)
        oat_summary = oat.summary.reset_index()
        oat_summary["top1_site_id"] = oat_summary["top1_site_id"].astype(str)
        meta = {"monte_carlo": {"runs": mc.runs, "spread": mc.spread, "seed": mc.seed,
                                "top_k": mc.top_k}}
        return {"ranked": ranked, "stability": mc.table, "weights": weights,
                "one_at_a_time": oat_summary}, meta

    return run.step("ranking", parts, compute)


def _osm_file(run: _Run) -> Path:
    from productivecity.sources.catalog import DataDir

    if run.data_dir is None:
        raise DataSourceError("no data directory with OSM street data for the network")
    dd = DataDir(run.data_dir)
    osm = dd.find("osm_pbf") or dd.find("osm_xml")
    if osm is None:
        raise DataSourceError(f"no OSM street data (osm/*.osm.pbf or osm/*.osm) in {dd.root} "
                              f"to build the street network")
    return osm


def _network(run: _Run, mode: str):
    from productivecity.network import bike_network, walk_network

    return (walk_network if mode == "walk" else bike_network)(_osm_file(run),
                                                                settings=run.settings)


def _allocation_step(run: _Run, ranked, layers):
    from productivecity import allocation as alloc
    from productivecity._errors import AllocationError
    from productivecity.siting import demand_units, network_travel_times

    cfg = run.config["allocation"]
    eligible = ranked.loc[~ranked["excluded"].astype(bool)]
    if cfg["candidates"].startswith("top:"):
        eligible = eligible.sort_values("rank", kind="stable").head(int(cfg["candidates"][4:]))
    if len(eligible) < cfg["k"]:
        raise AllocationError(f"[allocation] k = {cfg['k']} but only {len(eligible)} sites are "
                              f"eligible (not excluded by the criteria); lower k")
    # the solution depends on the candidate set and, among equally covering sets, on the
    # order of their scores (ties are broken towards the better scored sites)
    parts = {"indicators": run.keys["indicators"], "allocation": cfg,
             "candidates": sorted(map(str, eligible.index)),
             "score_order": list(map(str, eligible["score"].sort_values(kind="stable").index)),
             "layers": run.keys["layers"], "year": run.config["indicators"]["year"]}

    def compute():
        demand = demand_units(layers, run.data_dir, units=cfg["units"],
                              year=run.config["indicators"]["year"],
                              unit_cell_m=cfg["unit_cell_m"])
        net = _network(run, cfg["mode"])
        tt = network_travel_times(net, eligible[["geometry"]], demand,
                                  demand_column=cfg["demand"], cutoff_min=cfg["time_min"],
                                  existing=layers.layers.get("hubs"), progress=run.progress)
        curve = alloc.coverage_curve(tt, cfg["k"], progress=run.progress,
                                     prefer=eligible["score"])
        final = curve.results[cfg["k"]]
        chosen = eligible.loc[list(final.selected), ["rank", "score", "geometry"]].copy()
        chosen["chosen_for_k"] = cfg["k"]
        first = {}
        for k, res in sorted(curve.results.items()):
            for sid in res.selected:
                first.setdefault(sid, k)
        chosen["first_chosen_k"] = [first.get(s) for s in chosen.index]
        dem = demand.copy()
        for col in ("facility_id", "time_min", "covered_share"):
            dem[col] = final.assignment[col].reindex(dem.index)
        dem["facility_id"] = dem["facility_id"].astype("string")
        table = curve.table.reset_index()
        table["objective"] = "maximal covering"
        summary = {"k": cfg["k"], "status": final.status, "mip_gap": final.mip_gap,
                   "total_demand_n": final.total_demand_n,
                   "covered_demand_n": final.covered_demand_n,
                   "baseline_covered_demand_n": final.baseline_covered_demand_n,
                   "selected": [str(s) for s in final.selected]}
        return {"curve": table, "new_hubs": chosen, "demand_units": dem}, {"summary": summary}

    return run.step("allocation", parts, compute)


def _isochrones_step(run: _Run, ranked):
    from productivecity.accessibility import isochrones

    cfg = run.config["outputs"]
    ok = ranked.loc[~ranked["excluded"].astype(bool)]
    top = ok.loc[pd.to_numeric(ok["rank"], errors="coerce") <= cfg["isochrone_top_k"]]
    top = top.sort_values("rank", kind="stable")
    parts = {"indicators": run.keys["indicators"], "origins": [str(s) for s in top.index],
             "mode": cfg["isochrone_mode"], "times_min": cfg["isochrone_times_min"]}

    def compute():
        net = _network(run, cfg["isochrone_mode"])
        iso = isochrones(net, top[["geometry"]], times_min=cfg["isochrone_times_min"])
        return {"isochrones": iso}, {}

    frames, _ = run.step("isochrones", parts, compute)
    return frames["isochrones"]


# --------------------------------------------------------------------------- output folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _clean_stale(out_dir: Path) -> None:
    """Remove temporary siblings left by runs that were killed (their process is gone)."""
    if not out_dir.parent.is_dir():
        return
    for p in out_dir.parent.glob(f".{out_dir.name}.*-*-*"):
        m = re.fullmatch(rf"\.{re.escape(out_dir.name)}\.(tmp|old)-(\d+)-.*", p.name)
        if m and p.is_dir() and not _pid_alive(int(m.group(2))):
            logger.info("removing %s left by an interrupted run", p)
            shutil.rmtree(p, ignore_errors=True)


def check_output_dir(out_dir: str | os.PathLike, *, overwrite: bool = False,
                     protected: tuple = ()) -> Path:
    """Return the output folder as an absolute Path, refusing unsafe targets.

    Parameters
    ----------
    out_dir : path-like
    overwrite : bool, default False
        Allow replacing a non-empty folder, which must then hold the
        ``manifest.json`` of an earlier run.
    protected : tuple of path-like
        Paths the output folder must not be or contain (config, data, cache).

    Raises
    ------
    OutputExistsError
        The folder exists and is not empty (without ``overwrite``), is a file,
        is not an earlier run's folder, or would contain a protected path.
    """
    out = Path(out_dir).expanduser().resolve()
    for p in (*protected, Path.cwd()):
        p = Path(p).resolve()
        if out == p or out in p.parents:
            raise OutputExistsError(f"output folder {out} is or contains {p}; choose another "
                                    f"--out")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is a file; expected a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"output folder {out} exists and is not empty; pass "
                                    f"--overwrite (overwrite=True) to replace it")
        if not (out / "manifest.json").is_file():
            raise OutputExistsError(f"output folder {out} holds no manifest.json of an earlier "
                                    f"productivecity run; refusing to replace it, choose "
                                    f"another --out")
    return out


def _swap_in(tmp: Path, out: Path) -> None:
    """Move the finished temporary folder onto ``out`` (replacing an earlier run)."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{tmp.name.rsplit('-', 1)[-1]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- outputs


def _indicator_maps(config: PipelineConfig, ranked) -> list[str]:
    from productivecity.maps import indicator_columns

    choice = config["outputs"]["indicator_maps"]
    if choice == "criteria":
        cols = [c.column for c in config.criteria.criteria]
    elif choice == "all":
        cols = indicator_columns(ranked)
    else:
        cols = list(choice)
    seen: dict[str, None] = {}
    for c in cols:
        seen.setdefault(c, None)
    missing = [c for c in seen if c not in ranked.columns]
    if missing:
        raise ConfigError(f"[outputs] indicator_maps: no column(s) {missing} in the site table")
    return list(seen)


def _write_outputs(run: _Run, tmp: Path, *, ranked, stability, layers, spec, mc_top_k,
                   isochrones, allocation, tables, date) -> list[str]:
    from productivecity import export, maps, webmap

    cfg = run.config["outputs"]
    formats = cfg["formats"]
    common = dict(lang=cfg["lang"], date=date, sources=run.sources(layers))

    def timed(name, fn):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        logger.info("outputs: %s %.1f s", name, dt)
        run.records.append({"step": f"outputs:{name}", "status": "written", "time_s": dt,
                            "key": None})

    indicators = _indicator_maps(run.config, ranked)
    pages: dict = {}
    if {"atlas", "png", "report"} & set(formats):
        def build():
            pages.update(maps.atlas_figures(
                ranked, layers, isochrones=isochrones, indicators=indicators,
                top_k=cfg["top_k"], isochrone_top_k=cfg["isochrone_top_k"],
                paper=cfg["paper"], **common))
        timed("figures", build)
    if "atlas" in formats:
        timed("atlas", lambda: maps.save_atlas(pages, tmp / OUTPUT_FILES["atlas"],
                                               dpi=cfg["dpi"]))
    png_paths = {}
    if "png" in formats:
        def pngs():
            (tmp / OUTPUT_FILES["png"]).mkdir()
            for name, fig in pages.items():
                path = tmp / OUTPUT_FILES["png"] / f"{name}.png"
                maps.save_figure(fig, path, dpi=cfg["dpi"])
                png_paths[name] = path
        timed("png", pngs)
    if "report" in formats:
        figures = ({name: png_paths[name] for name in pages} if png_paths else pages)
        timed("report", lambda: export.write_report(
            ranked, tmp / OUTPUT_FILES["report"], stability=stability, figures=figures,
            layers=layers, spec=spec, indicators=indicators, top_k=cfg["top_k"],
            stability_top_k=mc_top_k, title=cfg["title"], **common))
    pages.clear()
    if "webmap" in formats:
        timed("webmap", lambda: webmap.write_web_map(
            ranked, layers, tmp / OUTPUT_FILES["webmap"], top_k=cfg["top_k"],
            indicators=indicators, title=cfg["title"], stability_top_k=mc_top_k, **common))
    if "gpkg" in formats:
        def gpkg():
            path = tmp / OUTPUT_FILES["gpkg"]
            context = dict(layers.layers)
            if allocation is not None:
                context["new_hubs"] = allocation["new_hubs"]
                context["demand_units"] = allocation["demand_units"]
            export.write_gpkg(ranked, context, path, stability=stability, isochrones=isochrones)
            extra = {name: df for name, df in tables.items() if df is not None}
            if extra:  # attribute tables appended to the same file
                import pyogrio

                for name, df in extra.items():
                    pyogrio.write_dataframe(df, path, layer=name, driver="GPKG")
        timed("gpkg", gpkg)
    if "geoparquet" in formats:
        timed("geoparquet", lambda: export.write_geoparquet(
            ranked, tmp / OUTPUT_FILES["geoparquet"], stability=stability))
    if "geotiff" in formats:
        timed("geotiff", lambda: export.write_suitability_raster(
            ranked, tmp / OUTPUT_FILES["geotiff"], resolution_m=cfg["raster_resolution_m"]))
    if "csv" in formats:
        timed("csv", lambda: export.write_sites_csv(ranked, tmp / OUTPUT_FILES["csv"],
                                                    stability=stability))
    return sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- main entry


def run_pipeline(
    config: PipelineConfig | str | os.PathLike,
    *,
    out_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    settings: Settings | None = None,
    progress: bool = True,
) -> RunResult:
    """Run every step of a configuration and write every output into one folder.

    Parameters
    ----------
    config : PipelineConfig or path-like
        A checked configuration, or the TOML file (read with :func:`load_config`).
    out_dir : path-like, optional
        Output folder (default: ``[run] out_dir``, else
        ``data/processed/<run name>`` under the current folder).
    data_dir : path-like, optional
        Data directory; overrides ``[area] data_dir`` and the preset's own data.
    overwrite : bool, default False
        Replace an existing, non-empty output folder of an earlier run.
    settings : Settings, optional
        Cache folder and offline flag (default :func:`get_settings`).
    progress : bool, default True
        Show progress bars.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        The configuration is invalid (all problems listed).
    OutputExistsError
        The output folder exists and is not empty (without ``overwrite``).
    DataSourceError, SchemaError, AllocationError, ...
        From the steps; nothing is written to the output folder then.
    """
    t_start = time.perf_counter()
    started = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    if not isinstance(config, PipelineConfig):
        config = load_config(config)
    settings = settings or get_settings()
    run = _Run(config, data_dir=data_dir, settings=settings, progress=progress)
    if out_dir is None:
        out_dir = config["run"]["out_dir"] or Path("data") / "processed" / config.name
    protected = tuple(p for p in (config.path, config.criteria_file, run.data_dir,
                                  run.cache.root) if p is not None)
    out = check_output_dir(out_dir, overwrite=overwrite, protected=protected)
    _clean_stale(out)
    logger.info("run %s: data %s, output %s, cache %s", config.name, run.data_dir, out,
                run.cache.root)

    layers = _layers_step(run)
    sites, sites_report = _sites_step(run, layers)
    table, ind_report = _indicators_step(run, sites, layers)
    rank_frames, rank_meta = _ranking_step(run, table)
    ranked = rank_frames["ranked"]
    stability = rank_frames["stability"]
    allocation = alloc_meta = None
    if config["allocation"]["enabled"]:
        allocation, alloc_meta = _allocation_step(run, ranked, layers)
    else:
        run.skipped("allocation", "[allocation] enabled = false")
    isochrones = None
    if config["outputs"]["isochrone_top_k"] > 0:
        isochrones = _isochrones_step(run, ranked)
        if isochrones.geometry.isna().all():
            logger.warning("none of the top sites is on the %s network: no isochrone map",
                           config["outputs"]["isochrone_mode"])
            isochrones = None
    else:
        run.skipped("isochrones", "[outputs] isochrone_top_k = 0")

    # outputs
    from productivecity import export
    from productivecity.indicators.table import INDICATORS

    if config["area"]["name"]:
        area_layer = layers["study_area"].copy()
        area_layer["name"] = config["area"]["name"]
        layers = dataclasses.replace(layers, layers={**layers.layers, "study_area": area_layer})
    date = config["outputs"]["date"] or run.data_date()
    ranked_out = export.ranked_sites(ranked, stability=stability)
    tables = {
        "criteria": rank_frames["weights"],
        "sensitivity_one_at_a_time": rank_frames["one_at_a_time"],
        "indicator_definitions": pd.DataFrame({"indicator": list(INDICATORS),
                                               "definition": list(INDICATORS.values())}),
        "coverage_curve": (allocation["curve"].drop(columns=["solve_time_s"])
                           if allocation is not None else None),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the output folder is an ordinary one
    try:
        t0 = time.perf_counter()
        files = _write_outputs(run, tmp, ranked=ranked_out, stability=None, layers=layers,
                               spec=config.criteria, mc_top_k=rank_meta["monte_carlo"]["top_k"],
                               isochrones=isochrones, allocation=allocation, tables=tables,
                               date=date)
        run.records.append({"step": "outputs", "status": "written",
                            "time_s": time.perf_counter() - t0, "key": None})
        manifest = _manifest(run, ranked_out, files=files, date=date, started=started,
                             t_start=t_start, sites_report=sites_report, ind_report=ind_report,
                             rank_meta=rank_meta, alloc_meta=alloc_meta, out=out,
                             sources=run.sources(layers))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                           + "\n", encoding="utf-8")
        _swap_in(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("run %s done in %.1f s: %s", config.name, time.perf_counter() - t_start, out)
    steps = pd.DataFrame(run.records).set_index("step")
    return RunResult(out_dir=out, manifest=manifest, steps=steps, ranked=ranked_out)


def _manifest(run: _Run, ranked, *, files, date, started, t_start, sites_report, ind_report,
              rank_meta, alloc_meta, out, sources) -> dict:
    from productivecity.maps import attribution

    config = run.config
    excluded = ranked["excluded"].fillna(True).astype(bool)
    top = ranked.loc[~excluded].head(config["outputs"]["top_k"])
    top_sites = [{"site_id": str(sid), "rank": int(row["rank"]), "score": float(row["score"]),
                  "topk_share": (float(row["topk_share"]) if "topk_share" in row
                                 and pd.notna(row["topk_share"]) else None)}
                 for sid, row in top.iterrows()]
    results = {"sites_n": int(len(ranked)), "eligible_n": int((~excluded).sum()),
               "excluded_n": int(excluded.sum()), "top_sites": top_sites,
               "monte_carlo": rank_meta["monte_carlo"],
               "allocation": alloc_meta["summary"] if alloc_meta else None,
               "sites_report": sites_report, "indicators_report": ind_report}
    total = time.perf_counter() - t_start
    return _jsonable({
        "productivecity": __version__,
        "name": config.name,
        "description": config["run"]["description"],
        "date": date,
        "attribution": attribution(sources) if sources else "",
        "config": {"path": str(config.path) if config.path else None,
                   "as_given": config.raw,
                   "resolved": config.sections,
                   "criteria": config.criteria_data},
        "data_dir": str(run.data_dir) if run.data_dir else None,
        "inputs": run.inputs,
        "environment": _versions(),
        "code_sha256": _code_sha256(),
        "files": files,
        "results": results,
        "run": {"started_utc": started, "total_s": round(total, 3),
                "out_dir": str(out),
                "cache_dir": str(run.cache.root) if run.cache.root else None,
                "steps": [{**r, "time_s": round(r["time_s"], 3)} for r in run.records]},
    })


__all__ = [
    "FORMATS",
    "OUTPUT_FILES",
    "SCHEMA",
    "STEPS",
    "ConfigError",
    "PipelineConfig",
    "RunResult",
    "check_output_dir",
    "config_from_dict",
    "data_files",
    "load_config",
    "run_pipeline",
]
