"""Public-transport stops: GTFS feeds and the transit formats of the region plug-ins.

Every reader returns a GeoDataFrame of points with one schema (in longitude/latitude;
:func:`read_osm_stops` in a metric CRS, as it merges stops by distance),
and a :class:`~productivecity.sources.load_report.LayerReport`:

========================  ===================================================================
index ``stop_id``         source-prefixed id, unique across sources (``<operator>:<id>``,
                          e.g. ``mini-bus:a``)
``name``                  stop name (str)
``mode``                  ``rail``, ``metro``, ``tram``, ``bus``, ``ferry`` (OSM only) or
                          ``unknown``: the highest-capacity mode among the lines serving
                          the stop (rail > metro > tram > bus > ferry), from GTFS
                          ``route_type`` or the OSM tags
``operator``              operator name (str)
``source``                file or folder the stop came from (str)
``routes_n``              number of distinct lines serving the stop (Int64, <NA> where the
                          data do not link stops to lines)
``lines``                 the serving lines' short names, ``;``-separated (str, "" if unknown)
``daily_stops_n``         average number of vehicles stopping per day (Float64, where a
                          source gives it; <NA> where unknown, never 0 by default)
``geometry``              Point, longitude/latitude (EPSG:4326); :func:`transit_stops`
                          projects the layer to the study area's CRS
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
* Without any of these, the stops come from the data directory's OSM file
  (:func:`read_osm_stops`): locations, names, modes and, where tagged,
  ``route_ref`` lines; never departures (``daily_stops_n`` <NA>).

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
import shapely

from productivecity._errors import (
    DataSourceError,
    EmptyLayerError,
    ParameterError,
    SourceNotFoundError,
)
from productivecity._validate import require_columns
from productivecity.crs import metric_crs_of, to_crs
from productivecity.sources import regions
from productivecity.sources.catalog import DataDir, missing_message
from productivecity.sources.load_report import OSM_CREDIT, LayerReport, gtfs_credit
from productivecity.sources.units import _area_geometry

logger = logging.getLogger(__name__)

#: Column order of every transit-stop layer (index ``stop_id``).
STOP_COLUMNS = ("name", "mode", "operator", "source", "routes_n", "lines", "daily_stops_n")
#: Modes from highest to lowest capacity; a stop takes the first mode among its lines.
MODE_RANK = ("rail", "metro", "tram", "bus", "ferry", "unknown")


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
    return gdf


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
        The stop schema of this module (index ``stop_id``), in longitude/latitude.
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
    report.credit(gtfs_credit(agency_name, folder), source=stops_txt)
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
# OpenStreetMap public-transport tags
# ------------------------------------------------------------------------------------------

#: Source kind of :func:`transit_stops` for stops read from the data directory's OSM file.
OSM_KIND = "osm"
#: A stop position, platform or station area this close (metres) to its stop is merged into it.
OSM_MERGE_DISTANCE_M = 50.0
#: OSM tags read by :func:`read_osm_stops` (osmnx-style filter).
OSM_STOP_TAGS = {
    "public_transport": ["platform", "stop_position", "station"],
    "highway": ["bus_stop", "platform"],
    "railway": ["station", "halt", "tram_stop", "stop", "platform"],
    "amenity": ["bus_station", "ferry_terminal"],
}
# mode keys of public-transport features (``bus=yes``, ...) → mode
_OSM_MODE_KEYS = {"train": "rail", "subway": "metro", "monorail": "metro", "light_rail": "tram",
                  "tram": "tram", "bus": "bus", "trolleybus": "bus", "share_taxi": "bus",
                  "coach": "bus", "ferry": "ferry"}
_OSM_LETTER = {"node": "n", "way": "w", "relation": "r"}


def _osm_col(df: pd.DataFrame, key: str) -> pd.Series:
    return df[key] if key in df.columns else pd.Series(None, index=df.index, dtype=object)


def _osm_role(df: pd.DataFrame) -> pd.Series:
    """``station``, ``platform`` or ``stop_position`` per feature (public_transport wins)."""
    pt, hw = _osm_col(df, "public_transport"), _osm_col(df, "highway")
    rw, am = _osm_col(df, "railway"), _osm_col(df, "amenity")
    role = pt.where(pt.isin(["platform", "stop_position", "station"]))
    station = rw.isin(["station", "halt"]) | am.isin(["bus_station", "ferry_terminal"])
    platform = hw.isin(["bus_stop", "platform"]) | rw.eq("platform")
    stop_position = rw.isin(["tram_stop", "stop"])
    for mask, value in ((station, "station"), (platform, "platform"),
                        (stop_position, "stop_position")):
        role = role.where(role.notna() | ~mask, value)
    return role


def _osm_mode(df: pd.DataFrame) -> pd.Series:
    """Mode per feature: from ``bus=yes``-style keys, else from the feature's own tags."""
    modes = []
    keys = {k: _osm_col(df, k).isin(["yes", "designated"]).to_numpy()
            for k in _OSM_MODE_KEYS}
    rw, st = _osm_col(df, "railway").to_numpy(), _osm_col(df, "station").to_numpy()
    hw, am = _osm_col(df, "highway").to_numpy(), _osm_col(df, "amenity").to_numpy()
    for i in range(len(df)):
        named = [m for k, m in _OSM_MODE_KEYS.items() if keys[k][i]]
        if named:
            modes.append(_best_mode(named))
        elif rw[i] == "tram_stop" or st[i] == "light_rail":
            modes.append("tram")
        elif st[i] == "subway":
            modes.append("metro")
        elif rw[i] in ("station", "halt"):
            modes.append("rail")
        elif hw[i] in ("bus_stop", "platform") or am[i] == "bus_station":
            modes.append("bus")
        elif am[i] == "ferry_terminal":
            modes.append("ferry")
        else:  # e.g. a stop_position or railway=platform without mode keys
            modes.append("unknown")
    return pd.Series(modes, index=df.index, dtype=object)


def _osm_point(geom):
    """Return the stop point of an OSM geometry.

    Points as they are, areas at their centroid (a point inside them where the
    centroid falls outside), lines at their midpoint (closed rings, e.g. a
    station drawn as a way, as areas).
    """
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("LineString", "LinearRing") and geom.is_ring and len(geom.coords) >= 4:
        geom = shapely.Polygon(geom.coords)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        c = geom.centroid
        return c if geom.contains(c) else geom.representative_point()
    return shapely.line_interpolate_point(geom, 0.5, normalized=True) \
        if geom.geom_type == "LineString" else geom.representative_point()


def _name_key(name) -> str:
    return re.sub(r"\W+", "", str(name or "").casefold())


def read_osm_stops(
    path: str | os.PathLike,
    *,
    merge_distance_m: float = OSM_MERGE_DISTANCE_M,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the public-transport stops of an OSM PBF or XML file.

    What OSM allows: where the stops are, their name, mode and the lines
    they carry in ``route_ref``; not how often vehicles stop. Read are
    features tagged ``public_transport=platform|stop_position|station``,
    ``highway=bus_stop|platform``, ``railway=station|halt|tram_stop|stop|platform``,
    ``amenity=bus_station|ferry_terminal``. Subway entrances are not stops
    (as GTFS entrances are left out) and are not read.

    One stop is mapped in OSM by up to three features, merged into one
    (each merge counted in the report):

    1. a stop position joins the nearest platform node within
       ``merge_distance_m`` with the same name (an unnamed stop position: any
       name) and a compatible mode;
    2. a platform or stop position left joins the nearest station with the
       same name (an unnamed one: a station area it lies in) within
       ``merge_distance_m`` of the station, and a station drawn as an area
       joins a station node of the same name;
    3. a platform drawn as a way or area joins the nearest stop or station of
       a compatible mode within ``merge_distance_m``; otherwise it is a stop
       of its own at its midpoint.

    Modes are compatible when equal or one is unknown. Stations drawn as
    areas stand at their centroid (a point inside them if the centroid is
    outside). Platforms of the same name on both sides of a street stay two
    stops, as in GTFS.

    Parameters
    ----------
    path : path-like
        The OSM file (``.osm.pbf`` or ``.osm``).
    merge_distance_m : float, default :data:`OSM_MERGE_DISTANCE_M`
        Distance (metres) within which features of one stop are merged.

    Returns
    -------
    GeoDataFrame
        The stop schema of this module, index ``stop_id`` = ``osm:<n|w|r><id>``
        (the feature kept), in a metric CRS (the file's, or its UTM zone).
        ``mode`` from the mode keys (``train=yes`` → rail, ``subway=yes`` →
        metro, ``tram=yes``/``light_rail=yes`` → tram, ``bus=yes`` → bus,
        ``ferry=yes`` → ferry), else from the tags (``railway=station`` →
        rail, ``station=subway`` → metro, ``railway=tram_stop`` → tram,
        ``highway=bus_stop`` → bus), else ``unknown``; the best mode of the
        merged features. ``operator`` from ``operator`` (else ``network``,
        else ""); ``lines`` from ``route_ref`` and ``routes_n`` their number
        where tagged (<NA> elsewhere, never 0); ``daily_stops_n`` <NA>.
    LayerReport
        Layer ``transit_stops``, source the file.
    """
    from productivecity.sources.osm import read_osm_file

    path = Path(path)
    if not merge_distance_m >= 0:
        raise ParameterError(f"merge_distance_m must be a distance in metres >= 0, got "
                             f"{merge_distance_m!r}")
    report = LayerReport("transit_stops", sources=[str(path)])
    report.credit(OSM_CREDIT, source=path)
    parts = [read_osm_file(path, geometry=g, tags=OSM_STOP_TAGS)
             for g in ("points", "lines", "multipolygons")]
    parts = [p for p in parts if len(p)]
    report.read_n = sum(len(p) for p in parts)
    if not parts:
        report.notes.append(f"no public-transport tags in {path.name}")
        return _empty_layer(), report
    crs = metric_crs_of(parts[0], what=str(path))
    feats = gpd.GeoDataFrame(pd.concat([to_crs(p, crs, what=str(path)) for p in parts],
                                       ignore_index=True), crs=crs)
    empty = (feats.geometry.isna() | feats.geometry.is_empty).to_numpy()
    report.skip("no geometry", int(empty.sum()))
    feats = feats.loc[~empty].reset_index(drop=True)
    feats["role"] = _osm_role(feats)
    feats["mode"] = _osm_mode(feats)
    feats["key"] = _osm_col(feats, "name").map(_name_key)
    feats["is_node"] = feats["osm_element"].eq("node").to_numpy()
    feats["point"] = [_osm_point(g) for g in feats.geometry]
    owner = np.arange(len(feats))  # index of the feature each one is merged into

    def compatible(a: str, b: str) -> bool:
        return a == b or "unknown" in (a, b)

    def merge(members, targets, *, same_name, member_geom: str, target_geom: str) -> int:
        """Merge each member not yet merged into the nearest matching target; count merges.

        Within ``merge_distance_m``; ``*_geom``: "point" or "geometry" (the feature's own).
        """
        n = 0
        if not len(targets):
            return n
        tgeom = np.asarray(feats[target_geom].values, dtype=object)
        for i in members:
            if owner[i] != i:
                continue
            cand = [j for j in targets if j != i
                    and compatible(mode[i], mode[j]) and same_name(i, j)]
            if not cand:
                continue
            d = shapely.distance(feats[member_geom].iat[i], tgeom[cand])
            k = int(np.argmin(d))
            if d[k] <= merge_distance_m:
                owner[i] = cand[k]
                n += 1
        return n

    role, key, mode = (feats[c].to_numpy() for c in ("role", "key", "mode"))
    node = feats["is_node"].to_numpy()
    is_area = np.array([g.geom_type != "Point" for g in feats.geometry])
    idx = np.arange(len(feats))
    # 1. stop positions into their platform node
    n1 = merge(idx[node & (role == "stop_position")], idx[node & (role == "platform")],
               same_name=lambda i, j: key[i] == "" or key[i] == key[j],
               member_geom="point", target_geom="point")
    # 2. station areas into the station node of the same name; platform / stop position
    #    nodes left into their station (an unnamed one: a station area it lies in)
    n2 = merge(idx[~node & (role == "station")], idx[node & (role == "station")],
               same_name=lambda i, j: key[i] != "" and key[i] == key[j],
               member_geom="geometry", target_geom="point")
    n2 += merge(idx[node & (role != "station")], idx[role == "station"],
                same_name=lambda i, j: (key[i] != "" and key[i] == key[j])
                or (key[i] == "" and is_area[j]),
                member_geom="point", target_geom="geometry")
    # 3. platform ways / areas into the nearest stop or station of a compatible mode
    n3 = merge(idx[~node & (role != "station")], idx[node | (role == "station")],
               same_name=lambda i, j: True, member_geom="geometry", target_geom="geometry")
    report.skip(f"stop position merged into its platform of the same name within "
                f"{merge_distance_m:g} m", n1)
    report.skip(f"platform or stop position merged into its station of the same name within "
                f"{merge_distance_m:g} m", n2)
    report.skip(f"platform way or area merged into the stop within {merge_distance_m:g} m", n3)
    while True:  # follow chains (a stop position → platform → station)
        nxt = owner[owner]
        if np.array_equal(nxt, owner):
            break
        owner = nxt
    feats["owner"] = owner
    rows = []
    for o, grp in feats.groupby("owner", sort=True):
        head = feats.loc[o]
        names = [n for n in [head.get("name"), *grp.get("name", pd.Series(dtype=object))]
                 if isinstance(n, str) and n.strip()]
        ops = [v for k in ("operator", "network") for v in [head.get(k), *grp.get(
            k, pd.Series(dtype=object))] if isinstance(v, str) and v.strip()]
        refs = sorted({r.strip() for v in grp.get("route_ref", pd.Series(dtype=object))
                       if isinstance(v, str) for r in re.split(r"[;,]", v) if r.strip()},
                      key=_natural_key)
        rows.append({
            "stop_id": f"osm:{_OSM_LETTER.get(head['osm_element'], '?')}{head['osm_id']}",
            "name": names[0] if names else "",
            "mode": _best_mode(grp["mode"]),
            "operator": ops[0] if ops else "",
            "source": str(path),
            "routes_n": len(refs) if refs else pd.NA,
            "lines": ";".join(refs),
            "daily_stops_n": pd.NA,
            "geometry": head["point"],
        })
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=crs)
    out = out.set_index("stop_id")
    dup = out.index.duplicated(keep="first")
    report.skip("duplicate stop id (first kept)", int(dup.sum()))
    out = out.loc[~dup]
    out = gpd.GeoDataFrame(
        {"name": pd.array(out["name"], dtype=object), "mode": pd.array(out["mode"], dtype=object),
         "operator": pd.array(out["operator"], dtype=object),
         "source": pd.array(out["source"], dtype=object),
         "routes_n": pd.array(out["routes_n"], dtype="Int64"),
         "lines": pd.array(out["lines"], dtype=object),
         "daily_stops_n": pd.array(out["daily_stops_n"], dtype="Float64")},
        geometry=out.geometry.values, crs=crs, index=out.index)
    tagged = int(out["routes_n"].notna().sum())
    report.notes.append(f"stops from OpenStreetMap public-transport tags ({path.name}): "
                        f"departures per day unknown (daily_stops_n <NA>); lines from route_ref "
                        f"for {tagged} of {len(out)} stops (routes_n <NA> elsewhere)")
    report.features_n = len(out)
    return out, report


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
        ``transit/**/stops.txt``) and the region plug-ins' transit kinds;
        when none of them gives stops, its OSM file (``osm_pbf``, else
        ``osm_xml``) is read instead (:func:`read_osm_stops`, kind
        :data:`OSM_KIND`).
    sources : sequence of str, optional
        Source kinds to use, a subset of :func:`transit_kinds` plus
        ``"osm"`` (default all). A requested kind that is not found raises
        :class:`DataSourceError`; by default missing kinds are only noted in
        the report. OSM is a fallback in either case: it is read only when
        the other kinds give no stop (``sources=["osm"]``: OSM only).

    Returns
    -------
    GeoDataFrame
        The stop schema of this module, index ``stop_id``, in the area's CRS.
    LayerReport
        Layer ``transit_stops``: ``read_n`` counts the records of the sources
        used; stops outside the area, skipped records and sources not used
        (an older edition of the same operator) are reported; a note says
        when every stop comes from OpenStreetMap.
    """
    if data_dir is None:
        raise DataSourceError("transit_stops needs data_dir=... (a folder with transit/ inputs)")
    dd = DataDir(data_dir)
    kinds = transit_kinds()
    wanted = tuple(sources) if sources is not None else kinds
    unknown = sorted(set(wanted) - set(kinds) - {OSM_KIND})
    if unknown:
        raise ParameterError(f"unknown transit source kind(s) {unknown} in sources=; "
                             f"expected some of {[*kinds, OSM_KIND]}")
    use_osm = sources is None or OSM_KIND in wanted
    wanted = tuple(k for k in wanted if k != OSM_KIND)
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
                raise SourceNotFoundError(missing_message(kind, dd.root))
            report.notes.append(f"no {kind} source in {dd.root}")
        parts += [(g, r, d) for (g, r), d in found]
    missing = [missing_message(k, dd.root) for k in wanted]
    if not parts and use_osm:
        osm_file = dd.find("osm_pbf") or dd.find("osm_xml")
        if osm_file is None:
            missing.append(missing_message("osm_pbf", dd.root) + " (OSM public-transport tags)")
        else:
            gdf, rep = read_osm_stops(osm_file)
            if len(gdf):
                parts.append((gdf, rep, None))
                what = " or ".join(wanted) if wanted else "other source"
                report.notes.append(f"no {what} stops in {dd.root}: every stop comes from "
                                    f"OpenStreetMap ({osm_file.name})")
            else:
                missing.append(f"no public-transport tags (bus stops, platforms, stations) "
                               f"in {osm_file}")
    if not parts:
        raise SourceNotFoundError("no transit source found: " + "; ".join(missing))
    parts = _newest_per_operator(parts, report)
    frames = []
    for gdf, rep, _ in parts:
        report.absorb(rep, note_prefix=f"{Path(rep.sources[0]).parent.name}: ")
        frames.append(to_crs(gdf, "EPSG:4326", what="transit stops"))
    stops = gpd.GeoDataFrame(pd.concat(frames), crs="EPSG:4326")
    dup = stops.index.duplicated(keep="first")
    report.skip("stop id repeated across sources (first kept)", int(dup.sum()))
    stops = stops.loc[~dup]
    crs = metric_crs_of(area if area is not None else stops, what="area")
    stops = to_crs(stops, crs, what="transit stops")
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
    stops = gpd.GeoDataFrame(stops[list(STOP_COLUMNS) + ["geometry"]], crs=crs)
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
