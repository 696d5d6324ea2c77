"""Public-transport stops: GTFS feeds, the STIB-MIVB JSON export and SNCB stations.

Every reader returns a GeoDataFrame of points in EPSG:31370 with one schema,
and a :class:`~productivecity.sources.load_report.LayerReport`:

========================  ===================================================================
index ``stop_id``         source-prefixed id, unique across sources (``stib:0089``,
                          ``sncb:008814001``, ``delijn:301234``)
``name``                  stop name (str)
``mode``                  ``rail``, ``metro``, ``tram``, ``bus`` or ``unknown``: the
                          highest-capacity mode among the lines serving the stop
                          (rail > metro > tram > bus), from GTFS ``route_type``
``operator``              operator name (str)
``source``                file or folder the stop came from (str)
``routes_n``              number of distinct lines serving the stop (Int64, <NA> where the
                          data do not link stops to lines)
``lines``                 the serving lines' short names, ``;``-separated (str, "" if unknown)
``daily_stops_n``         average number of vehicles stopping per day (Float64; SNCB
                          ``avg_stop_times``; <NA> where unknown, never 0 by default)
``geometry``              Point, EPSG:31370
========================  ===================================================================

What the data allow
-------------------
* A full GTFS feed (``stops.txt`` + ``routes.txt`` + ``trips.txt`` +
  ``stop_times.txt``) links stops to lines, so ``mode`` and ``routes_n`` are
  derived. Departures per day are not computed (``daily_stops_n`` <NA>).
* The STIB 2023 partial GTFS of the test bed has no trips or stop times;
  its ``stops_by_line.csv`` (line short name → ordered stop ids, ids without
  leading zeros) links stops to lines instead.
* The STIB 2026 JSON export: ``stop_shape_index.json`` (line short name →
  stops) links stops to the 90 lines of ``routes.json``, whose ``type`` is
  the GTFS route type. ``stop_sequences.json`` holds sequences without line
  ids and is not needed. Without ``trips.json`` no frequency is derivable.
* SNCB (iRail ``stations.csv``): ``avg_stop_times`` is the average number of
  trains stopping per day; iRail writes 0 for stations without stops in its
  timetable (foreign or closed stations): read as <NA> and counted.

Boarding stops only (``boarding_only=True``): GTFS stations
(``location_type`` 1), entrances (2), generic nodes (3) and boarding areas
(4) are left out and counted; in the STIB JSON, which has no
``location_type``, a stop served by no line is such a station or entrance
(2026: 313, the same number as stations + entrances in the 2023 GTFS).

When two sources hold the same operator (the test bed's STIB 2023 GTFS and
2026 JSON), :func:`transit_stops` keeps the one with the newest feed date
and reports the other as not used: their stop ids overlap and mixing
editions would duplicate stops.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import DataSourceError, EmptyLayerError, SchemaError
from productivecity._validate import require_columns
from productivecity.settings import PROJECT_CRS
from productivecity.sources.catalog import DataDir, missing_message
from productivecity.sources.load_report import LayerReport
from productivecity.sources.units import _area_geometry

logger = logging.getLogger(__name__)

#: Column order of every transit-stop layer (index ``stop_id``).
STOP_COLUMNS = ("name", "mode", "operator", "source", "routes_n", "lines", "daily_stops_n")
#: Modes from highest to lowest capacity; a stop takes the first mode among its lines.
MODE_RANK = ("rail", "metro", "tram", "bus", "unknown")
#: Source kinds :func:`transit_stops` can read (see ``sources.catalog.SOURCES``).
TRANSIT_KINDS = ("gtfs", "stib_json", "sncb_stations")


def route_type_mode(route_type) -> str:
    """Map a GTFS ``route_type`` (basic or extended) to a mode name.

    0 and 900-999 → tram; 1 and 400-499 → metro; 2 and 100-199 → rail;
    3, 11 and 700-799 → bus (trolleybus counted as bus); anything else →
    unknown.
    """
    try:
        t = int(route_type)
    except (TypeError, ValueError):
        return "unknown"
    if t == 0 or 900 <= t <= 999:
        return "tram"
    if t == 1 or 400 <= t <= 499:
        return "metro"
    if t == 2 or 100 <= t <= 199:
        return "rail"
    if t in (3, 11) or 700 <= t <= 799 or 200 <= t <= 299:
        return "bus"
    return "unknown"


def _best_mode(modes: Iterable[str]) -> str:
    ranks = [MODE_RANK.index(m) for m in modes if m in MODE_RANK]
    return MODE_RANK[min(ranks)] if ranks else "unknown"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).strip().lower()).strip("-") or "gtfs"


def _empty_layer() -> gpd.GeoDataFrame:
    return _frame([], [], [], [], [], [], [], [], [], [])


def _frame(ids, names, modes, operators, sources, routes_n, lines, daily, lon, lat):
    """Build a stop layer from lon/lat (WGS84) arrays."""
    geom = gpd.points_from_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float),
                              crs="EPSG:4326")
    gdf = gpd.GeoDataFrame(
        {
            "name": pd.array(names, dtype=object),
            "mode": pd.array(modes, dtype=object),
            "operator": pd.array(operators, dtype=object),
            "source": pd.array(sources, dtype=object),
            "routes_n": pd.array(routes_n, dtype="Int64"),
            "lines": pd.array(lines, dtype=object),
            "daily_stops_n": pd.array(daily, dtype="Float64"),
        },
        geometry=geom,
        index=pd.Index(list(ids), name="stop_id", dtype=object),
    )
    return gdf.to_crs(PROJECT_CRS)


def _coords(df: pd.DataFrame, lon_col: str, lat_col: str, report: LayerReport):
    """Numeric lon/lat; rows without usable WGS84 coordinates are counted and flagged."""
    lon = pd.to_numeric(df[lon_col], errors="coerce")
    lat = pd.to_numeric(df[lat_col], errors="coerce")
    ok = lon.between(-180, 180) & lat.between(-90, 90) & ~((lon == 0) & (lat == 0))
    report.skip("no coordinates", int((~ok).sum()))
    return lon, lat, ok.to_numpy()


def _dedupe(ids: pd.Series, report: LayerReport) -> np.ndarray:
    dup = ids.duplicated(keep="first").to_numpy()
    report.skip("duplicate stop id (first kept)", int(dup.sum()))
    return ~dup


# ------------------------------------------------------------------------------------------
# GTFS
# ------------------------------------------------------------------------------------------


def _read_txt(path: Path, *, usecols=None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", usecols=usecols,
                         skipinitialspace=True)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataSourceError(f"could not read {path} as a GTFS table: {exc}") from exc
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip() if s.dtype == object else s)


def gtfs_feed_dates(folder: str | os.PathLike) -> tuple[date | None, date | None]:
    """Return the (start, end) dates of a GTFS feed from feed_info.txt or calendar(_dates).txt."""
    folder = Path(folder)
    starts, ends = [], []
    fi = folder / "feed_info.txt"
    if fi.is_file():
        df = _read_txt(fi)
        starts += df.get("feed_start_date", pd.Series(dtype=str)).dropna().tolist()
        ends += df.get("feed_end_date", pd.Series(dtype=str)).dropna().tolist()
    if not (starts or ends):
        cal = folder / "calendar.txt"
        if cal.is_file():
            df = _read_txt(cal)
            starts += df.get("start_date", pd.Series(dtype=str)).dropna().tolist()
            ends += df.get("end_date", pd.Series(dtype=str)).dropna().tolist()
        cd = folder / "calendar_dates.txt"
        if cd.is_file():
            d = _read_txt(cd).get("date", pd.Series(dtype=str)).dropna().tolist()
            starts += d
            ends += d
    parse = [pd.to_datetime(pd.Series(v, dtype=str), format="%Y%m%d", errors="coerce")
             for v in (starts, ends)]
    lo = parse[0].min() if len(parse[0]) else pd.NaT
    hi = parse[1].max() if len(parse[1]) else pd.NaT
    return (None if pd.isna(lo) else lo.date(), None if pd.isna(hi) else hi.date())


def read_gtfs_stops(
    folder_or_stops_txt: str | os.PathLike,
    *,
    prefix: str | None = None,
    operator: str | None = None,
    boarding_only: bool = True,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the stops of a GTFS feed (unzipped folder, or its ``stops.txt``).

    Parameters
    ----------
    folder_or_stops_txt : path-like
        The feed folder or its ``stops.txt``. ``routes.txt`` with
        ``trips.txt`` + ``stop_times.txt`` (or a STIB ``stops_by_line.csv``)
        beside it give ``mode``, ``routes_n`` and ``lines``.
    prefix : str, optional
        Prefix of the returned ``stop_id`` (default: the agency name of
        ``agency.txt`` in lower case, else the folder name).
    operator : str, optional
        Operator name (default: ``agency.txt`` agency_name, else the folder name).
    boarding_only : bool, default True
        Leave out stations, entrances, nodes and boarding areas
        (``location_type`` 1-4), counted in the report.

    Returns
    -------
    GeoDataFrame
        The stop schema of this module (index ``stop_id``), EPSG:31370.
    LayerReport
        Layer ``transit_stops``.
    """
    path = Path(folder_or_stops_txt)
    stops_txt = path / "stops.txt" if path.is_dir() else path
    if not stops_txt.is_file():
        raise DataSourceError(f"GTFS stops file {stops_txt} does not exist")
    folder = stops_txt.parent
    stops = _read_txt(stops_txt)
    require_columns(stops, ["stop_id", "stop_name", "stop_lat", "stop_lon"], what=str(stops_txt))
    report = LayerReport("transit_stops", sources=[str(stops_txt)], read_n=len(stops))
    agency = folder / "agency.txt"
    agency_name = None
    if agency.is_file():
        names = _read_txt(agency).get("agency_name", pd.Series(dtype=str)).dropna()
        agency_name = "/".join(names.unique()) if len(names) else None
    operator = operator or agency_name or folder.name
    prefix = prefix or _slug(agency_name.split("/")[0] if agency_name else folder.name)

    keep = np.ones(len(stops), dtype=bool)
    if boarding_only and "location_type" in stops.columns:
        lt = stops["location_type"].fillna("0").replace("", "0")
        labels = {"1": "station (location_type 1)", "2": "entrance/exit (location_type 2)",
                  "3": "generic node (location_type 3)", "4": "boarding area (location_type 4)"}
        for code, label in labels.items():
            report.skip(f"not a boarding stop: {label}", int((lt == code).sum()))
        keep &= ~lt.isin(list(labels)).to_numpy()
    lon, lat, ok = _coords(stops, "stop_lon", "stop_lat", report)
    keep &= ok
    stops, lon, lat = stops[keep], lon[keep], lat[keep]
    first = _dedupe(stops["stop_id"], report)
    stops, lon, lat = stops[first], lon[first], lat[first]

    lines_by_stop, mode_by_line, how = _gtfs_stop_lines(folder, stops["stop_id"])
    if how:
        report.notes.append(f"stops linked to lines through {how}")
    else:
        report.notes.append("no trips/stop_times or stops_by_line.csv: mode unknown, routes_n <NA>")
    ids = stops["stop_id"].tolist()
    # trips/stop_times are complete (a stop on no trip is served by no line: 0); a
    # stops_by_line table may be partial (a stop missing from it: unknown, <NA>)
    modes, routes_n, lines = _line_columns(ids, lines_by_stop, mode_by_line,
                                           known=how.startswith("trips"))
    gdf = _frame(
        [f"{prefix}:{i}" for i in ids], stops["stop_name"].tolist(), modes,
        [operator] * len(ids), [str(folder)] * len(ids), routes_n, lines,
        [pd.NA] * len(ids), lon.to_numpy(), lat.to_numpy(),
    )
    report.features_n = len(gdf)
    return gdf, report


def _line_columns(ids, lines_by_stop: dict, mode_by_line: dict, *, known: bool):
    """Mode, line count and line names per stop; ``known``: a stop without lines has 0 lines."""
    modes, routes_n, lines = [], [], []
    for i in ids:
        ls = sorted(lines_by_stop.get(i, ()), key=_natural_key)
        modes.append(_best_mode(mode_by_line.get(x, "unknown") for x in ls) if ls else "unknown")
        routes_n.append(len(ls) if (ls or known) else pd.NA)
        lines.append(";".join(ls))
    return modes, routes_n, lines


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(s))]


def _gtfs_stop_lines(folder: Path, stop_ids: pd.Series):
    """Return ({stop_id: set(line names)}, {line name: mode}, description or "")."""
    routes_txt = folder / "routes.txt"
    if not routes_txt.is_file():
        return {}, {}, ""
    routes = _read_txt(routes_txt)
    require_columns(routes, ["route_id", "route_type"], what=str(routes_txt))
    short = routes.get("route_short_name", pd.Series(index=routes.index, dtype=str))
    label = short.where(short.notna() & (short != ""), routes["route_id"])
    line_of_route = dict(zip(routes["route_id"], label, strict=True))
    mode_by_line = {}
    for lab, rt in zip(label, routes["route_type"], strict=True):
        mode_by_line[lab] = _best_mode([mode_by_line.get(lab, "unknown"), route_type_mode(rt)])
    trips_txt, st_txt = folder / "trips.txt", folder / "stop_times.txt"
    lines_by_stop: dict[str, set] = {}
    if trips_txt.is_file() and st_txt.is_file():
        trips = _read_txt(trips_txt, usecols=["trip_id", "route_id"])
        st = _read_txt(st_txt, usecols=["trip_id", "stop_id"]).drop_duplicates()
        st = st.merge(trips, on="trip_id", how="inner")
        st["line"] = st["route_id"].map(line_of_route)
        for sid, grp in st.dropna(subset=["line"]).groupby("stop_id")["line"]:
            lines_by_stop[sid] = set(grp)
        return lines_by_stop, mode_by_line, "trips.txt + stop_times.txt"
    sbl = folder / "stops_by_line.csv"
    if sbl.is_file():
        table = pd.read_csv(sbl, sep=";", dtype=str, encoding="utf-8-sig")
        require_columns(table, ["lineId", "points"], what=str(sbl))
        by_stripped: dict[str, list[str]] = {}
        for sid in stop_ids:
            by_stripped.setdefault(sid.lstrip("0"), []).append(sid)
        for line, points in zip(table["lineId"], table["points"], strict=True):
            try:
                pts = json.loads(points)
            except (TypeError, json.JSONDecodeError) as exc:
                raise DataSourceError(f"{sbl}: line {line!r} has unreadable points: {exc}") from exc
            for p in pts:
                for sid in by_stripped.get(str(p.get("id", "")).lstrip("0"), ()):
                    lines_by_stop.setdefault(sid, set()).add(str(line).strip())
        return lines_by_stop, mode_by_line, "stops_by_line.csv (STIB line → stops)"
    return {}, mode_by_line, ""


# ------------------------------------------------------------------------------------------
# STIB-MIVB JSON export
# ------------------------------------------------------------------------------------------


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"could not read {path} as JSON: {exc}") from exc


def stib_json_feed_dates(folder: str | os.PathLike) -> tuple[date | None, date | None]:
    """Return the (start, end) dates recorded in the export's ``meta.json`` (None if absent)."""
    meta = Path(folder) / "meta.json"
    if not meta.is_file():
        return None, None
    m = _load_json(meta)
    out = []
    for key in ("feed_start_date", "feed_end_date"):
        v = pd.to_datetime(str(m.get(key, "")), format="%Y%m%d", errors="coerce")
        out.append(None if pd.isna(v) else v.date())
    return out[0], out[1]


def read_stib_json(
    folder: str | os.PathLike,
    *,
    boarding_only: bool = True,
    prefix: str = "stib",
    operator: str = "STIB-MIVB",
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read STIB-MIVB stops from the JSON export (``stops.json`` and friends).

    Parameters
    ----------
    folder : path-like
        Folder with ``stops.json`` (``{stop_id: {name, lat, lon}}``), and
        optionally ``routes.json`` (``{route_id: {short_name, type, ...}}``)
        and ``stop_shape_index.json`` (``{line short name: {stop_id: ...}}``)
        that link stops to lines.
    boarding_only : bool, default True
        Leave out stops served by no line (stations and entrances), counted.
        Only applied when the line index is present.
    prefix, operator : str
        ``stop_id`` prefix and operator name.

    Returns
    -------
    GeoDataFrame
        The stop schema of this module (index ``stop_id``), EPSG:31370.
    LayerReport
        Layer ``transit_stops``.
    """
    folder = Path(folder)
    stops_json = folder / "stops.json" if folder.is_dir() else folder
    folder = stops_json.parent
    if not stops_json.is_file():
        raise DataSourceError(f"STIB stops file {stops_json} does not exist")
    raw = _load_json(stops_json)
    if not isinstance(raw, dict):
        raise SchemaError(f"{stops_json}: expected an object {{stop_id: {{name, lat, lon}}}}, "
                          f"got {type(raw).__name__}")
    stops = pd.DataFrame.from_dict(raw, orient="index")
    stops.index = stops.index.astype(str)
    if len(stops):
        require_columns(stops, ["name", "lat", "lon"], what=str(stops_json))
    else:
        stops = pd.DataFrame(columns=["name", "lat", "lon"])
    report = LayerReport("transit_stops", sources=[str(stops_json)], read_n=len(stops))

    lines_by_stop: dict[str, set] = {}
    mode_by_line: dict[str, str] = {}
    index_json, routes_json = folder / "stop_shape_index.json", folder / "routes.json"
    known = index_json.is_file()
    if routes_json.is_file():
        for rid, r in _load_json(routes_json).items():
            lab = str(r.get("short_name") or rid)
            mode_by_line[lab] = _best_mode([mode_by_line.get(lab, "unknown"),
                                            route_type_mode(r.get("type"))])
    if known:
        for line, members in _load_json(index_json).items():
            for sid in members:
                lines_by_stop.setdefault(str(sid), set()).add(str(line))
        report.notes.append("stops linked to lines through stop_shape_index.json; no trips, "
                            "so no frequencies")
        unknown_lines = sorted(set().union(*lines_by_stop.values()) - set(mode_by_line),
                               key=_natural_key) if lines_by_stop else []
        if unknown_lines:
            report.notes.append(f"lines without route type (mode unknown): {unknown_lines}")
    else:
        report.notes.append("no stop_shape_index.json: mode unknown, routes_n <NA>")

    keep = np.ones(len(stops), dtype=bool)
    if boarding_only and known:
        served = stops.index.isin(list(lines_by_stop))
        report.skip("served by no line (station or entrance)", int((~served).sum()))
        keep &= served
    lon, lat, ok = _coords(stops, "lon", "lat", report)
    keep &= ok
    stops, lon, lat = stops[keep], lon[keep], lat[keep]
    ids = stops.index.tolist()
    modes, routes_n, lines = _line_columns(ids, lines_by_stop, mode_by_line, known=known)
    gdf = _frame(
        [f"{prefix}:{i}" for i in ids], stops["name"].astype(str).tolist(), modes,
        [operator] * len(ids), [str(folder)] * len(ids), routes_n, lines, [pd.NA] * len(ids),
        lon.to_numpy(), lat.to_numpy(),
    )
    report.features_n = len(gdf)
    return gdf, report


# ------------------------------------------------------------------------------------------
# SNCB stations (iRail)
# ------------------------------------------------------------------------------------------


def read_sncb_stations(
    path: str | os.PathLike,
    *,
    prefix: str = "sncb",
    operator: str = "SNCB/NMBS",
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read SNCB/NMBS stations from iRail's ``stations.csv``.

    Parameters
    ----------
    path : path-like
        CSV with columns ``URI`` (``http://irail.be/stations/NMBS/008814001``),
        ``name``, ``longitude``, ``latitude`` and optionally
        ``avg_stop_times`` (average trains stopping per day).

    Returns
    -------
    GeoDataFrame
        The stop schema of this module; ``stop_id`` is ``sncb:`` + the
        9-digit station code; ``mode`` ``rail``; ``routes_n`` <NA>;
        ``daily_stops_n`` = ``avg_stop_times`` (a 0 is read as <NA>: iRail
        writes 0 for stations without stops in its timetable).
    LayerReport
        Layer ``transit_stops``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"SNCB stations file {path} does not exist")
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
    require_columns(df, ["URI", "name", "longitude", "latitude"], what=str(path))
    report = LayerReport("transit_stops", sources=[str(path)], read_n=len(df))
    lon, lat, ok = _coords(df, "longitude", "latitude", report)
    codes = df["URI"].astype(str).str.rstrip("/").str.rsplit("/", n=1).str[-1]
    keep = ok & _dedupe(codes, report)
    df, lon, lat, codes = df[keep], lon[keep], lat[keep], codes[keep]
    if "avg_stop_times" in df.columns:
        daily = pd.to_numeric(df["avg_stop_times"], errors="coerce")
        zero = daily == 0
        if zero.any():
            report.notes.append(f"{int(zero.sum())} stations with avg_stop_times 0 (no stops in "
                                f"iRail's timetable): daily_stops_n <NA>")
        daily = daily.mask(zero)
    else:
        daily = pd.Series(np.nan, index=df.index)
        report.notes.append("no avg_stop_times column: daily_stops_n <NA>")
    n = len(df)
    gdf = _frame(
        [f"{prefix}:{c}" for c in codes], df["name"].tolist(), ["rail"] * n, [operator] * n,
        [str(path)] * n, [pd.NA] * n, [""] * n,
        pd.array(daily.to_numpy(), dtype="Float64"), lon.to_numpy(), lat.to_numpy(),
    )
    report.features_n = len(gdf)
    return gdf, report


# ------------------------------------------------------------------------------------------
# The layer
# ------------------------------------------------------------------------------------------


def transit_stops(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    sources: Sequence[str] | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the public-transport stops in the study area from every source found.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s), any CRS; None keeps all stops.
    data_dir : path-like
        Data directory searched for the source kinds ``gtfs`` (every
        ``transit/**/stops.txt``), ``stib_json`` and ``sncb_stations``.
    sources : sequence of str, optional
        Source kinds to use, a subset of :data:`TRANSIT_KINDS` (default all).
        A requested kind that is not found raises :class:`DataSourceError`;
        by default missing kinds are only noted in the report.

    Returns
    -------
    GeoDataFrame
        The stop schema of this module, index ``stop_id``, EPSG:31370.
    LayerReport
        Layer ``transit_stops``: ``read_n`` counts the records of the sources
        used; stops outside the area, skipped records and sources not used
        (an older edition of the same operator) are reported.
    """
    if data_dir is None:
        raise DataSourceError("transit_stops needs data_dir=... (a folder with transit/ inputs)")
    dd = DataDir(data_dir)
    wanted = tuple(sources) if sources is not None else TRANSIT_KINDS
    unknown = sorted(set(wanted) - set(TRANSIT_KINDS))
    if unknown:
        raise ValueError(f"unknown transit source kind(s) {unknown}; known: {list(TRANSIT_KINDS)}")
    report = LayerReport("transit_stops")
    parts: list[tuple[gpd.GeoDataFrame, LayerReport, date | None]] = []
    for kind in wanted:
        if kind == "gtfs":
            folders = [p.parent for p in dd.find_all("gtfs")]
            found = [(read_gtfs_stops(f), gtfs_feed_dates(f)[1]) for f in folders]
        elif kind == "stib_json":
            p = dd.find("stib_json")
            found = [(read_stib_json(p.parent), stib_json_feed_dates(p.parent)[1])] if p else []
        else:
            p = dd.find("sncb_stations")
            found = [(read_sncb_stations(p), None)] if p else []
        if not found:
            if sources is not None:
                raise DataSourceError(missing_message(kind, dd.root))
            report.notes.append(f"no {kind} source in {dd.root}")
        parts += [(g, r, d) for (g, r), d in found]
    if not parts:
        raise DataSourceError(
            "no transit source found: " + "; ".join(missing_message(k, dd.root) for k in wanted)
        )
    parts = _newest_per_operator(parts, report)
    frames = []
    for gdf, rep, _ in parts:
        report.sources += rep.sources
        report.read_n += rep.read_n
        for reason, n in rep.skipped.items():
            report.skip(reason, n)
        report.notes += [f"{Path(rep.sources[0]).parent.name}: {note}" for note in rep.notes]
        frames.append(gdf)
    stops = pd.concat(frames)
    dup = stops.index.duplicated(keep="first")
    report.skip("stop id repeated across sources (first kept)", int(dup.sum()))
    stops = stops.loc[~dup]
    if area is not None:
        poly = _area_geometry(area)
        inside = stops.geometry.intersects(poly).to_numpy()
        report.outside_area_n = int((~inside).sum())
        stops = stops.loc[inside]
        if stops.empty:
            raise EmptyLayerError(
                f"no transit stop lies in the study area ({report.outside_area_n} read from "
                f"{', '.join(report.sources)} all outside)"
            )
    stops = gpd.GeoDataFrame(stops[list(STOP_COLUMNS) + ["geometry"]], crs=PROJECT_CRS)
    report.features_n = len(stops)
    report.log()
    return stops, report


def _newest_per_operator(parts, report: LayerReport):
    """Keep, per operator, the source with the newest feed end date; report the others."""
    by_op: dict[str, list] = {}
    for part in parts:
        gdf, rep, _ = part
        op = _operator_key(gdf["operator"].iloc[0] if len(gdf) else rep.sources[0])
        by_op.setdefault(op, []).append(part)
    kept = []
    for group in by_op.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        ordered = sorted(group, key=lambda p: p[2] or date.min, reverse=True)
        kept.append(ordered[0])
        for _, rep, d in ordered[1:]:
            report.notes.append(
                f"not used: {rep.sources[0]} ({rep.read_n} records, feed until {d or 'unknown'}); "
                f"an edition of the same operator until {ordered[0][2] or 'unknown'} is used"
            )
            logger.info("transit_stops: %s not used (older edition of the same operator)",
                        rep.sources[0])
    return kept


def _operator_key(name: str) -> str:
    """Normalise operator names so that 'STIB', 'STIB-MIVB' and 'STIB/MIVB' match."""
    first = re.split(r"[-/ ]", str(name).strip().lower())[0]
    return first or str(name)
