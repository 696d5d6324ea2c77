"""Public-transport stops: GTFS feeds and the transit formats of the region plug-ins.

Every reader returns a GeoDataFrame of points in EPSG:31370 with one schema,
and a :class:`~productivecity.sources.load_report.LayerReport`:

========================  ===================================================================
index ``stop_id``         source-prefixed id, unique across sources (``<operator>:<id>``,
                          e.g. ``mini-bus:a``)
``name``                  stop name (str)
``mode``                  ``rail``, ``metro``, ``tram``, ``bus`` or ``unknown``: the
                          highest-capacity mode among the lines serving the stop
                          (rail > metro > tram > bus), from GTFS ``route_type``
``operator``              operator name (str)
``source``                file or folder the stop came from (str)
``routes_n``              number of distinct lines serving the stop (Int64, <NA> where the
                          data do not link stops to lines)
``lines``                 the serving lines' short names, ``;``-separated (str, "" if unknown)
``daily_stops_n``         average number of vehicles stopping per day (Float64, where a
                          source gives it; <NA> where unknown, never 0 by default)
``geometry``              Point, EPSG:31370
========================  ===================================================================

What the data allow
-------------------
* A full GTFS feed (``stops.txt`` + ``routes.txt`` + ``trips.txt`` +
  ``stop_times.txt``) links stops to lines, so ``mode`` and ``routes_n`` are
  derived. Departures per day are not computed (``daily_stops_n`` <NA>).
* A partial feed without trips may come with an operator's own line table
  (a :class:`~productivecity.sources.regions.GtfsLineTable` of a region
  plug-in), which links stops to lines instead.
* Operators' own formats (JSON exports, station lists) are read by the region
  plug-ins' :class:`~productivecity.sources.regions.TransitFormat` kinds;
  :func:`transit_kinds` lists every kind.

Boarding stops only (``boarding_only=True``): GTFS stations
(``location_type`` 1), entrances (2), generic nodes (3) and boarding areas
(4) are left out and counted.

When two sources hold the same operator (e.g. an older GTFS and a newer
export), :func:`transit_stops` keeps the one with the newest feed date and
reports the other as not used: their stop ids overlap and mixing editions
would duplicate stops.
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

from productivecity._errors import DataSourceError, EmptyLayerError, ParameterError
from productivecity._validate import require_columns
from productivecity.settings import PROJECT_CRS
from productivecity.sources import regions
from productivecity.sources.catalog import DataDir, missing_message
from productivecity.sources.load_report import LayerReport
from productivecity.sources.units import _area_geometry

logger = logging.getLogger(__name__)

#: Column order of every transit-stop layer (index ``stop_id``).
STOP_COLUMNS = ("name", "mode", "operator", "source", "routes_n", "lines", "daily_stops_n")
#: Modes from highest to lowest capacity; a stop takes the first mode among its lines.
MODE_RANK = ("rail", "metro", "tram", "bus", "unknown")


def transit_kinds() -> tuple[str, ...]:
    """Source kinds :func:`transit_stops` can read: ``gtfs`` and the regions' transit kinds.

    Each is a kind of the data-directory catalogue (``sources.catalog.SOURCES``).
    """
    return ("gtfs", *(f.kind for f in regions.transit_formats()))


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
        ``trips.txt`` + ``stop_times.txt`` (or an operator's line table of a
        region plug-in) beside it give ``mode``, ``routes_n`` and ``lines``.
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
        tables = "".join(f" or {t.file}" for t in regions.gtfs_line_tables())
        report.notes.append(f"no trips/stop_times{tables}: mode unknown, routes_n <NA>")
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
    for table in regions.gtfs_line_tables():
        linked = table.read(folder, stop_ids)
        if linked is not None:
            return linked, mode_by_line, table.how
    return {}, mode_by_line, ""


# ------------------------------------------------------------------------------------------
# JSON helper
# ------------------------------------------------------------------------------------------


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataSourceError(f"could not read {path} as JSON: {exc}") from exc


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
        ``transit/**/stops.txt``) and the region plug-ins' transit kinds.
    sources : sequence of str, optional
        Source kinds to use, a subset of :func:`transit_kinds` (default all).
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
    kinds = transit_kinds()
    wanted = tuple(sources) if sources is not None else kinds
    unknown = sorted(set(wanted) - set(kinds))
    if unknown:
        raise ParameterError(f"unknown transit source kind(s) {unknown} in sources=; "
                             f"expected some of {list(kinds)}")
    report = LayerReport("transit_stops")
    parts: list[tuple[gpd.GeoDataFrame, LayerReport, date | None]] = []
    for kind in wanted:
        if kind == "gtfs":
            folders = [p.parent for p in dd.find_all("gtfs")]
            found = [(read_gtfs_stops(f), gtfs_feed_dates(f)[1]) for f in folders]
        else:
            fmt = next(f for f in regions.transit_formats() if f.kind == kind)
            found = [((g, r), d) for g, r, d in fmt.read(dd)]
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
    """Normalise operator names so that 'ABC', 'ABC-XYZ' and 'ABC/XYZ' match."""
    first = re.split(r"[-/ ]", str(name).strip().lower())[0]
    return first or str(name)


def __getattr__(name: str):
    if name == "TRANSIT_KINDS":
        return transit_kinds()
    # readers that moved to a region plug-in stay importable from here
    return regions.compat_attribute(__name__, name)
