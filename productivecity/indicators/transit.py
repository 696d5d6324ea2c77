"""Public-transport indicators per site: job seekers within reach, time from the canal districts.

A journey from a site is: a walk on the street network to a stop (at most
``access_walk_min``), public transport over the departure window (exact
range RAPTOR, :mod:`productivecity.accessibility.raptor`), with transfers on
foot between stops on the street network, and a walk from the last stop to
the job seekers' cell of the demand surface (at most ``access_walk_min``
too); or a walk alone (up to the longest limit). The travel time of a
departure is arrival − departure, initial waiting included; per site and
cell the median (or the first of ``percentiles``) over the departures of the
window is kept, as r5py and Conveyal report it.

Direction: from the site outwards over the window (a *service area*). Trips
*to* a hub are the reverse journeys; an arrive-by search would be exact for
them, a depart-from search is a close, documented approximation (the
timetable is not symmetric in time).

Timetables come from a GTFS feed with ``stop_times`` (``source =
"timetable"``), or are *estimated from line topology*
(:mod:`productivecity.network.line_topology`); the source is carried in every
definition, report and caption, never mixed silently.

The same snapping and reporting as walk and bike: sites and stops off the
walk network, and job seekers in cells too far from it, are counted and
reported, never dropped silently. This module imports nothing heavy at import
time (the configuration reads its definitions).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from productivecity._errors import ConfigError

logger = logging.getLogger(__name__)

#: Values of ``[transit] source``.
TRANSIT_SOURCES = ("auto", "gtfs", "topology", "none")
#: Demand groups counted (column prefix -> text), as the walk and bike counts.
TRANSIT_GROUPS = {"jobseekers": "job seekers", "jobseekers_low_edu": "low-educated job seekers"}
#: The travel-time indicator from the canal districts.
CANAL_COLUMN = "transit_time_canal_districts_min"
#: Longest transit journey considered for the canal-district time (min; at least the
#: longest limit): cells not reached within it count at it (the mean is then a lower bound).
CANAL_CAP_MIN = 90.0
#: Walks between stops on the street network up to this time (min; 400 m at 4.8 km/h).
FOOTPATH_WALK_MIN = 5.0
#: Straight-line transfers for stops off the walk network (m).
FOOTPATH_RADIUS_M = 400.0
#: Origins per RAPTOR batch (bounds the memory of the dense origin x cell times).
_BATCH_SITES = 256


@dataclasses.dataclass(frozen=True)
class TransitOptions:
    """The ``[transit]`` section of a scenario.

    Attributes
    ----------
    source : {"auto", "gtfs", "topology", "none"}
        ``auto``: the GTFS feed named by ``gtfs`` or found in the data folder
        (``transit/**/stop_times.txt``, or a zip holding it), else the
        line-topology model when a region reader knows the data, else none
        (a note says why).
    gtfs : path, optional
        A GTFS feed (folder or zip) to use.
    date : str, optional
        Service date ``YYYY-MM-DD``; default :func:`default_service_date`.
    window : (str, str)
        Departure window ``HH:MM`` (end excluded).
    step_min : float
        Minutes between departures in the window.
    percentiles : tuple of float
        Percentiles of the travel time over the window; the first is counted
        (default the median).
    max_transfers : int
    limits_min : tuple of float
        Catchment times of the job-seeker counts (min).
    access_walk_min : float
        Longest walk to the first stop and from the last stop (min).
    assumptions : mapping, optional
        Overrides of the line-topology model
        (:meth:`~productivecity.network.line_topology.TopologyAssumptions.from_mapping`).
    """

    source: str = "auto"
    gtfs: Path | None = None
    date: str | None = None
    window: tuple[str, str] = ("07:00", "09:00")
    step_min: float = 1.0
    percentiles: tuple[float, ...] = (50.0,)
    max_transfers: int = 4
    limits_min: tuple[float, ...] = (30.0, 45.0)
    access_walk_min: float = 10.0
    assumptions: Mapping | None = None

    @classmethod
    def from_config(cls, section: Mapping) -> TransitOptions:
        """Build from a resolved ``[transit]`` section (raises ConfigError listing problems)."""
        problems = check_section(section)
        if problems:
            raise ConfigError("[transit] " + "; ".join(problems))
        s = dict(section)
        return cls(source=s["source"], gtfs=Path(s["gtfs"]) if s.get("gtfs") else None,
                   date=s.get("date"), window=tuple(s["window"]),
                   step_min=float(s["step_min"]),
                   percentiles=tuple(float(p) for p in s["percentiles"]),
                   max_transfers=int(s["max_transfers"]),
                   limits_min=tuple(sorted(float(t) for t in s["limits_min"])),
                   access_walk_min=float(s["access_walk_min"]),
                   assumptions=s.get("assumptions"))

    @property
    def enabled(self) -> bool:
        """False for ``source = "none"``."""
        return self.source != "none"

    @property
    def canal_cap_min(self) -> float:
        """Longest journey of the canal-district time (min)."""
        return max(CANAL_CAP_MIN, *self.limits_min)

    @property
    def percentile(self) -> float:
        """The percentile counted (the first of ``percentiles``)."""
        return self.percentiles[0]


def check_section(section: Mapping) -> list[str]:
    """Return the problems of a resolved ``[transit]`` section (types are checked already)."""
    from productivecity._clock import parse_clock_s

    out = []
    window = list(section.get("window") or [])
    if len(window) != 2:
        out.append(f"window must be two times [\"HH:MM\", \"HH:MM\"], got {window!r}")
    else:
        try:
            a, b = (parse_clock_s(w) for w in window)
        except Exception:  # noqa: BLE001 - the parser's message is in the problem
            out.append(f"window must be two times [\"HH:MM\", \"HH:MM\"], got {window!r}")
        else:
            if b <= a:
                out.append(f"window {window!r}: the end must be after the start")
    pct = list(section.get("percentiles") or [])
    if not pct or any(not 0 < float(p) <= 100 for p in pct):
        out.append(f"percentiles must be numbers in (0, 100], got {pct!r}")
    limits = [float(t) for t in section.get("limits_min") or []]
    if len(set(limits)) != len(limits):
        out.append(f"limits_min lists a time twice: {limits!r}")
    if section.get("assumptions") is not None:
        try:
            from productivecity.network.line_topology import TopologyAssumptions

            TopologyAssumptions.from_mapping(section["assumptions"])
        except ImportError:  # pragma: no cover - the model ships with the package
            out.append("assumptions: the line-topology model is not available")
        except Exception as exc:  # noqa: BLE001 - its message lists every problem
            out.append(f"assumptions: {exc}")
    return out


def transit_column(group: str, limit_min: float) -> str:
    """Return the column of a transit catchment count, e.g. ``jobseekers_transit_30min_n``."""
    return f"{group}_transit_{limit_min:g}min_n"


def transit_definitions(options: TransitOptions | None = None, *,
                        source: str | None = None) -> dict[str, str]:
    """Return the transit indicator columns and their definitions.

    Parameters
    ----------
    options : TransitOptions, optional
        Default :class:`TransitOptions` ().
    source : str, optional
        The timetable's source label (``"timetable"`` or ``"estimated from line
        topology"``), put at the start of each definition; None: not known yet.

    Returns
    -------
    dict of str to str
        Empty when ``options.source == "none"``.
    """
    o = options or TransitOptions()
    if not o.enabled:
        return {}
    pct = "median" if o.percentile == 50 else f"{o.percentile:g}th percentile"
    how = (f"walk up to {o.access_walk_min:g} min to a stop and from the last stop, at most "
           f"{o.max_transfers} transfers on foot; {pct} over departures {o.window[0]}-"
           f"{o.window[1]} every {o.step_min:g} min, waiting included; from the site "
           f"outwards (a service area: trips to the hub would need an arrive-by search)")
    label = f"[{source}] " if source else ""
    defs = {}
    for group, text in TRANSIT_GROUPS.items():
        for t in o.limits_min:
            unit = "persons, annual average" if group == "jobseekers" else "persons"
            defs[transit_column(group, t)] = (
                f"{label}{text} within {t:g} min by public transport or on foot ({unit}; "
                f"{how})")
    defs[CANAL_COLUMN] = (
        f"{label}travel time by public transport from the site to the job seekers of the "
        f"districts along the canal (neighbourhoods, else municipalities, touching the canal "
        f"zone): mean of the {pct} travel time to each demand cell there, weighted by its job "
        f"seekers; cells not reached within {o.canal_cap_min:g} min count at "
        f"{o.canal_cap_min:g} (min; {how})")
    return defs


# ------------------------------------------------------------------------------------------
# the timetable
# ------------------------------------------------------------------------------------------


def find_gtfs(data_dir: str | os.PathLike) -> list[Path]:
    """Return the GTFS feeds with ``stop_times.txt`` under ``<data_dir>/transit`` (dirs, zips)."""
    root = Path(data_dir) / "transit"
    if not root.is_dir():
        return []
    found = {p.parent for p in root.glob("**/stop_times.txt")}
    for z in root.glob("**/*.zip"):
        try:
            with zipfile.ZipFile(z) as zf:
                if any(Path(n).name == "stop_times.txt" for n in zf.namelist()):
                    found.add(z)
        except (OSError, zipfile.BadZipFile):
            continue
    return sorted(found)


def default_service_date(feed):
    """Return the service date used when ``[transit] date`` is not given.

    Rule: the first Tuesday of the feed's service period that no
    ``calendar_dates`` row names (no added or removed service: an ordinary
    weekday) and on which some trip runs; else the first day of the period on
    which some trip runs.

    Raises
    ------
    ParameterError
        No day of the service period has a trip.
    """
    import datetime as _dt

    from productivecity._errors import ParameterError

    lo, hi = feed.service_period()
    special = set()
    if feed.calendar_dates is not None and len(feed.calendar_dates):
        special = set(feed.calendar_dates["date"])
    first_any = None
    day = lo
    while day <= hi:
        if len(feed.trips_on(day)):
            if day.weekday() == 1 and day not in special:
                return day
            if first_any is None:
                first_any = day
        day += _dt.timedelta(days=1)
        if first_any is not None and (day - lo).days > 400:
            break
    if first_any is None:
        raise ParameterError(f"GTFS feed {feed.path}: no trip runs on any day of its service "
                             f"period {lo.isoformat()} to {hi.isoformat()}")
    return first_any


def _network_footpaths(walk, stops_gdf, snapped):
    """Return footpaths between stops on the walk network, straight lines for unsnapped stops."""
    import numpy as np
    import pandas as pd

    from productivecity import accessibility as acc
    from productivecity.accessibility.raptor import straight_line_legs

    tt = acc.travel_times(walk, snapped, snapped, limit_min=FOOTPATH_WALK_MIN)
    fp = pd.DataFrame({"from_stop_id": tt.index.get_level_values(0).astype(str),
                       "to_stop_id": tt.index.get_level_values(1).astype(str),
                       "time_s": np.ceil(tt.to_numpy() * 60).astype(np.int64)})
    fp = fp[fp["from_stop_id"] != fp["to_stop_id"]]
    off = snapped.snapped.reindex(stops_gdf.index).fillna(False).to_numpy(dtype=bool)
    if (~off).any():  # stops off the network: straight lines to and from them
        xy = np.c_[stops_gdf.geometry.x, stops_gdf.geometry.y]
        ids = stops_gdf.index.astype(str).to_numpy()
        lines = straight_line_legs(ids[~off], xy[~off], ids, xy, radius_m=FOOTPATH_RADIUS_M,
                                   columns=("from_stop_id", "to_stop_id"))
        back = lines.rename(columns={"from_stop_id": "to_stop_id",
                                     "to_stop_id": "from_stop_id"})
        extra = pd.concat([lines, back], ignore_index=True)
        extra = extra[extra["from_stop_id"] != extra["to_stop_id"]]
        fp = pd.concat([fp, extra], ignore_index=True).drop_duplicates(
            ["from_stop_id", "to_stop_id"], keep="first")
    return fp.reset_index(drop=True)


def load_timetable(options: TransitOptions, data_dir, *, crs, walk=None, stops=None,
                   area=None):
    """Build the run's timetable as ``[transit]`` says.

    Parameters
    ----------
    options : TransitOptions
    data_dir : path-like or None
        The run's data folder (searched for a GTFS feed and line topology).
    crs : CRS-like
        The run's metric CRS (stops are projected to it).
    walk : Network, optional
        The walk network: transfers between stops are walked on it (GTFS).
    stops : GeoDataFrame, optional
        The run's transit stop layer (the line-topology model uses its stops).
    area : GeoDataFrame, optional
        The study area (the line-topology model keeps the stops inside).

    Returns
    -------
    timetable : Timetable or None
        None when there is no public-transport data (``info["note"]`` says why).
    info : dict
        ``source`` (``"timetable"``, ``"estimated from line topology"`` or None),
        ``feed``, ``date``, ``window``, ``note`` and ``notes``.

    Raises
    ------
    DataSourceError
        ``source = "gtfs"`` without a feed, ``source = "topology"`` without line
        topology, or a feed named by ``gtfs`` that does not exist.
    """
    from productivecity._errors import DataSourceError, SourceNotFoundError

    info: dict = {"source": None, "feed": None, "date": None,
                  "window": list(options.window), "note": "", "notes": []}
    if not options.enabled:
        info["note"] = "[transit] source = 'none'"
        return None, info
    feeds = []
    if options.gtfs is not None:
        if not Path(options.gtfs).exists():
            raise DataSourceError(f"[transit] gtfs: {options.gtfs} does not exist (a GTFS "
                                  f"folder or zip with stop_times.txt)")
        feeds = [Path(options.gtfs)]
    elif data_dir is not None and options.source in ("auto", "gtfs"):
        feeds = find_gtfs(data_dir)
    if options.source == "gtfs" and not feeds:
        raise DataSourceError(f"[transit] source = 'gtfs' but no GTFS feed with stop_times.txt "
                              f"was found under {data_dir}/transit; name one with [transit] "
                              f"gtfs = \"path\"")
    if feeds and options.source in ("auto", "gtfs"):
        if len(feeds) > 1:
            info["notes"].append(f"{len(feeds)} GTFS feeds with stop_times found; "
                                 f"{feeds[0].name} used (name another with [transit] gtfs)")
        return _gtfs_timetable(options, feeds[0], crs=crs, walk=walk, info=info), info
    # the line-topology model
    if data_dir is None:
        info["note"] = "no public-transport data: no data folder"
        return None, info
    from productivecity.network import line_topology as _lt

    try:
        topologies = _lt.read_line_topologies(data_dir)
    except SourceNotFoundError as exc:
        if options.source == "topology":
            raise DataSourceError(f"[transit] source = 'topology': {exc}") from exc
        info["note"] = (f"no public-transport indicators: no GTFS feed with stop_times.txt "
                        f"under {Path(data_dir) / 'transit'} and no line topology a region "
                        f"reader knows ({exc})")
        logger.info("transit: %s", info["note"])
        return None, info
    tt, report = _lt.timetable_from_line_topology(
        topologies=topologies, stops=stops, area=area if stops is None else None,
        assumptions=options.assumptions, window=options.window,
        max_travel_time_min=options.canal_cap_min, crs=crs)
    info.update(source=tt.source, feed="line topology")
    info["notes"] += list(tt.notes) + list(getattr(report, "notes", []))
    return tt, info


def _gtfs_timetable(options, path, *, crs, walk, info):
    import geopandas as gpd

    from productivecity import accessibility as acc
    from productivecity.network.timetable import timetable_from_gtfs
    from productivecity.sources.gtfs import read_gtfs

    feed = read_gtfs(path)
    day = options.date or default_service_date(feed)
    kw = {}
    if walk is not None:
        used = feed.stops[feed.stops["stop_id"].isin(feed.stop_times["stop_id"].unique())
                          & feed.stops["lon"].notna() & feed.stops["lat"].notna()]
        pts = gpd.GeoDataFrame(index=used["stop_id"].astype(str).rename("stop_id"),
                               geometry=gpd.points_from_xy(used["lon"], used["lat"]),
                               crs="EPSG:4326").to_crs(crs)
        snapped = acc.snap(walk, pts, what="transit stops", warn=False)
        kw = {"footpaths": _network_footpaths(walk, pts, snapped), "walk_radius_m": 0.0}
        info["notes"].append(
            f"transfers walked on the street network (up to {FOOTPATH_WALK_MIN:g} min); "
            f"{int((~snapped.snapped).sum())} stop(s) off the network by straight lines "
            f"(up to {FOOTPATH_RADIUS_M:g} m)")
    tt = timetable_from_gtfs(feed, day, window=options.window,
                             max_travel_time_min=options.canal_cap_min, crs=crs, **kw)
    info.update(source=tt.source, feed=Path(path).name, agency=feed.agency_name,
                date=tt.service_date.isoformat() if tt.service_date else str(day))
    info["notes"] += list(feed.notes) + list(tt.notes)
    if options.date is None:
        info["notes"].append(f"service date {info['date']}: the first Tuesday of the feed's "
                             f"service period without calendar exceptions ([transit] date)")
    info["stops_n"], info["trips_n"] = int(tt.stops_n), int(tt.trips_n)
    return tt


# ------------------------------------------------------------------------------------------
# the indicators
# ------------------------------------------------------------------------------------------


def _legs(series, names):
    import numpy as np
    import pandas as pd

    return pd.DataFrame({names[0]: series.index.get_level_values(0).astype(str),
                         names[1]: series.index.get_level_values(1).astype(str),
                         "time_s": np.ceil(series.to_numpy() * 60 - 1e-9).astype(np.int64)})


def _walk_legs(walk, origins, stops, destinations=None, *, access_min: float,
               direct_min: float | None = None):
    """Return the walks of a public-transport trip on the street network, in seconds.

    ``access``: origin to stop and, with ``destinations``, ``egress``: stop to
    destination (each within ``access_min``) and ``direct``: origin to destination on
    foot (within ``direct_min``); None for those without destinations. Arguments
    are :class:`~productivecity.accessibility.snapping.Snapping` of the walk network.
    """
    from productivecity import accessibility as acc

    access = _legs(acc.travel_times(walk, origins, stops, limit_min=access_min),
                   ("origin_id", "stop_id"))
    if destinations is None:
        return access, None, None
    egress = _legs(acc.travel_times(walk, stops, destinations, limit_min=access_min),
                   ("stop_id", "destination_id"))
    direct = _legs(acc.travel_times(walk, origins, destinations, limit_min=direct_min),
                   ("origin_id", "destination_id"))
    return access, egress, direct


def timetable_stops(timetable):
    """Return the timetable's stops as points (index ``stop_id``) in its CRS."""
    import geopandas as gpd

    return gpd.GeoDataFrame({"name": timetable.stop_names},
                            index=gpd.pd.Index(timetable.stop_ids.astype(str), name="stop_id"),
                            geometry=gpd.points_from_xy(timetable.stop_x_m, timetable.stop_y_m),
                            crs=timetable.crs)


#: The layers :func:`canal_district_cells` (and so :func:`transit_indicators`) reads.
CANAL_DISTRICT_LAYERS = ("canal_zone", "units_neighbourhoods", "units_municipalities")


def canal_district_cells(cells, layers) -> tuple:
    """Return the cells of the demand surface in the districts along the canal.

    The districts are the units of ``units_neighbourhoods`` (else
    ``units_municipalities``) that touch the ``canal_zone`` layer; a cell
    belongs to the district holding its point.

    Returns
    -------
    mask : ndarray of bool or None
        Per cell; None without a canal zone or units (the reason in ``why``).
    why : str
    """
    import numpy as np
    import shapely

    from productivecity.crs import to_crs

    get = layers.layers.get if hasattr(layers, "layers") else layers.get
    zone_name, *unit_names = CANAL_DISTRICT_LAYERS
    zone = get(zone_name)
    if zone is None or not len(zone):
        return None, "input missing: no canal_zone layer (no canal in the study area)"
    units = next((get(n) for n in unit_names if get(n) is not None and len(get(n))), None)
    if units is None:
        return None, "input missing: no units_neighbourhoods or units_municipalities layer"
    units = to_crs(units, cells.crs, what="units")
    zone_geom = shapely.union_all(np.asarray(to_crs(zone, cells.crs,
                                                    what="canal zone").geometry.values))
    touching = np.asarray(units.geometry.values)[
        shapely.intersects(np.asarray(units.geometry.values), zone_geom)]
    if not len(touching):
        return np.zeros(len(cells), bool), ""
    ci, _ = shapely.STRtree(touching).query(np.asarray(cells.geometry.values),
                                            predicate="intersects")
    mask = np.zeros(len(cells), bool)
    mask[ci] = True
    return mask, ""


def transit_indicators(sites, walk, timetable, demand, options: TransitOptions, *,
                       layers=None, site_snapping=None, progress: bool = False):
    """Compute the public-transport indicators of each site (see the module doc).

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index ``site_id``) in the walk network's CRS.
    walk : Network
        The run's walk network.
    timetable : Timetable
        In the same CRS (:func:`load_timetable`).
    demand : GeoDataFrame or None
        The dasymetric demand surface (``jobseekers_n``, ``jobseekers_low_edu_n``,
        ``population_n``, ``no_data``).
    options : TransitOptions
    layers : LayerSet or mapping, optional
        For ``canal_zone`` and the units (the canal-district time).
    site_snapping : Snapping, optional
        The sites on ``walk`` (default: snapped here, as the walk indicators do).
    progress : bool

    Returns
    -------
    table : DataFrame
        Aligned to ``sites``: the columns of :func:`transit_definitions` (NaN for
        sites off the walk network, unknown demand, or missing inputs).
    report : dict
        ``source``, counts of unsnapped sites, stops and demand, ``missing`` (column
        → reason), ``notes`` and ``timings_s``.
    """
    import numpy as np
    import pandas as pd

    from productivecity import accessibility as acc
    from productivecity.accessibility.raptor import departure_times_s, travel_times_s
    from productivecity.indicators.table import MIN_KNOWN_RESIDENTS_PCT

    t0 = time.perf_counter()
    o = options
    cols = list(transit_definitions(o))
    out = pd.DataFrame(np.nan, index=sites.index, columns=cols)
    rep: dict = {"source": timetable.source, "missing": {}, "notes": [], "timings_s": {}}
    groups = [] if demand is None else [
        g for g in TRANSIT_GROUPS if f"{g}_n" in demand.columns
        and demand[f"{g}_n"].notna().any()]
    if demand is None or not groups:
        for c in cols:
            rep["missing"][c] = "input missing: no job-seeker data"
        return out, rep
    ws = site_snapping if site_snapping is not None else acc.snap(walk, sites, what="sites",
                                                                  warn=False)
    stops = timetable_stops(timetable)
    ss = acc.snap(walk, stops, what="transit stops", warn=False)
    rep["stops_n"] = int(len(stops))
    rep["unsnapped_stops_n"] = int(len(ss.unsnapped))
    rep["unsnapped_sites_n"] = int(len(ws.unsnapped))
    if len(ss.unsnapped):
        from productivecity.accessibility.snapping import unsnapped_reasons

        msg = (f"{len(ss.unsnapped)} of {len(stops)} transit stops not on the walk network "
               f"({unsnapped_reasons(ss.unsnapped, max_snap_m=250.0)}): not boarded or left")
        rep["notes"].append(msg)
        # in the report; the console has it once already, from the snapping of the
        # transit_stops layer (the same stops: the timetable's source gives both)
        logger.info("transit: %s", msg)
    values = ["population_n", *(f"{g}_n" for g in groups)]
    values = [v for v in values if v in demand.columns]
    cells = demand.loc[demand[values].fillna(0).sum(axis=1) > 0]
    cells = cells.set_axis(cells.index.astype(str))
    ds = acc.snap(walk, cells, what="demand cells", warn=False)
    ok = ds.snapped.reindex(cells.index).to_numpy(dtype=bool)
    rep["demand_not_snapped"] = {v: float(cells.loc[~ok, v].sum()) for v in values}
    t = time.perf_counter()
    access, egress, direct = _walk_legs(walk, ws, ss, ds, access_min=o.access_walk_min,
                                        direct_min=max(o.limits_min))
    rep["timings_s"]["walk_legs"] = time.perf_counter() - t
    origins = ws.index[ws.snapped.to_numpy()].astype(str)
    dests = cells.index[ok]
    w = {v: cells.loc[dests, v].to_numpy(dtype=float) for v in values}
    no_data = (cells.loc[dests, "no_data"].to_numpy(dtype=bool) if "no_data" in cells.columns
               else np.zeros(len(dests), bool))
    pop_nd = np.where(no_data, w.get("population_n", np.zeros(len(dests))), 0.0)
    canal, why_canal = (canal_district_cells(cells.loc[dests], layers) if layers is not None
                        else (None, "input missing: no layers"))
    canal_w = None
    if canal is not None and "jobseekers_n" in w:
        canal_w = np.where(canal, w["jobseekers_n"], 0.0)
        if canal_w.sum() <= 0:
            why_canal, canal_w = "no job seekers in the districts along the canal", None
    deps = departure_times_s(*o.window, step_min=o.step_min)
    cap_s = int(round(o.canal_cap_min * 60))
    counts = {(g, lim): np.full(len(origins), np.nan) for g in groups for lim in o.limits_min}
    known = {lim: np.full(len(origins), np.nan) for lim in o.limits_min}
    canal_t = np.full(len(origins), np.nan)
    t = time.perf_counter()
    for a in range(0, len(origins), _BATCH_SITES):
        batch = origins[a:a + _BATCH_SITES]
        sub = access[access["origin_id"].isin(batch)]
        dsub = direct[direct["origin_id"].isin(batch)]
        arr, _, _ = travel_times_s(timetable, sub, egress, departures_s=deps, direct=dsub,
                                   origins=batch, destinations=dests,
                                   percentiles=o.percentiles[:1],
                                   max_transfers=o.max_transfers,
                                   max_travel_time_min=o.canal_cap_min)
        tt_s = arr[:, :, 0]
        reached = tt_s >= 0
        for lim in o.limits_min:
            within = (reached & (tt_s <= int(round(lim * 60)))).astype(float)
            for g in groups:
                counts[(g, lim)][a:a + len(batch)] = within @ w[f"{g}_n"]
            if "population_n" in w and no_data.any():
                pop = within @ w["population_n"]
                nd = within @ pop_nd
                known[lim][a:a + len(batch)] = np.where(pop > 0, 100 * (1 - nd / np.where(
                    pop > 0, pop, 1)), 100.0)
        if canal_w is not None:
            capped = np.where(reached, np.minimum(tt_s, cap_s), cap_s).astype(float)
            canal_t[a:a + len(batch)] = capped @ canal_w / canal_w.sum() / 60.0
    rep["timings_s"]["raptor"] = time.perf_counter() - t
    pos = sites.index.astype(str).get_indexer(origins)
    blanked = {}
    for (g, lim), v in counts.items():
        col = transit_column(g, lim)
        vals = v.copy()
        bad = known[lim] < MIN_KNOWN_RESIDENTS_PCT
        if bad.any():
            vals[bad] = np.nan
            blanked[col] = int(bad.sum())
        out.iloc[pos, out.columns.get_loc(col)] = vals
    if blanked:
        rep["notes"].append(f"job-seeker counts kept where >= {MIN_KNOWN_RESIDENTS_PCT:g}% of "
                            f"the catchment's residents have job-seeker data, else NaN: "
                            f"{blanked}")
    for g in TRANSIT_GROUPS:
        if g not in groups:
            for lim in o.limits_min:
                rep["missing"][transit_column(g, lim)] = \
                    f"input missing: the demand data have no {g}_n"
    if canal_w is not None:
        out.iloc[pos, out.columns.get_loc(CANAL_COLUMN)] = canal_t
        rep["canal_district_jobseekers_n"] = float(canal_w.sum())
    else:
        rep["missing"][CANAL_COLUMN] = why_canal or "input missing: no job-seeker data"
    rep["departures_n"] = int(len(deps))
    rep["timings_s"]["total"] = time.perf_counter() - t0
    rep["timings_s"] = {k: round(v, 3) for k, v in rep["timings_s"].items()}
    logger.info("transit (%s): %d sites x %d cells x %d departures in %.1f s",
                timetable.source, len(origins), len(dests), len(deps),
                rep["timings_s"]["total"])
    return out, rep


def transit_travel_pairs(walk, timetable, origins, destinations, options: TransitOptions, *,
                         limit_min: float):
    """Return the public-transport travel times from origins to destinations within a limit.

    Walk to a stop on the street network (at most ``options.access_walk_min``),
    ride (the RAPTOR median — or the percentile counted — over the departure
    window), walk from the last stop; a walk alone counts too. Trips go from
    the origins (e.g. where the job seekers live) to the destinations (e.g.
    candidate sites and existing hubs).

    Returns
    -------
    DataFrame
        ``origin_id``, ``destination_id``, ``time_min`` for the pairs within
        ``limit_min``; ``attrs["source"]`` the timetable's source label and
        ``attrs["unsnapped"]`` the origins and destinations off the walk network.
    """
    from productivecity import accessibility as acc
    from productivecity.accessibility.raptor import departure_times_s, travel_time_matrix

    os_ = acc.snap(walk, origins, what="origins", warn=False)
    ds = acc.snap(walk, destinations, what="destinations", warn=False)
    ss = acc.snap(walk, timetable_stops(timetable), what="transit stops", warn=False)
    access, egress, direct = _walk_legs(walk, os_, ss, ds, access_min=options.access_walk_min,
                                        direct_min=limit_min)
    p = options.percentile
    m = travel_time_matrix(
        timetable, access, egress,
        departures_s=departure_times_s(*options.window, step_min=options.step_min),
        direct=direct, origins=os_.index[os_.snapped.to_numpy()].astype(str),
        destinations=ds.index[ds.snapped.to_numpy()].astype(str), percentiles=[p],
        max_transfers=options.max_transfers, max_travel_time_min=limit_min)
    col = "travel_time_min" if p == 50 else f"travel_time_p{p:g}_min"
    out = m.loc[m[col].notna() & (m[col] <= limit_min), ["origin_id", "destination_id", col]]
    out = out.rename(columns={col: "time_min"}).reset_index(drop=True)
    out.attrs["source"] = timetable.source
    out.attrs["unsnapped"] = {"origins_n": int(len(os_.unsnapped)),
                              "destinations_n": int(len(ds.unsnapped))}
    return out


def transit_isochrones(walk, timetable, origins, options: TransitOptions, *, times_min,
                       buffer_m: float = 25.0):
    """Return isochrone polygons by public transport and on foot from each origin.

    The stops reached from each origin within the largest time (the percentile
    counted, :attr:`TransitOptions.percentile`, over the window;
    :func:`~productivecity.accessibility.raptor.travel_times_to_stops`) become
    extra starting points of one walk search on the street network, each with
    its travel time as initial cost (a multi-source search); the streets
    reached within each time are buffered as the walk isochrones are
    (:func:`~productivecity.accessibility.isochrone_polygons.isochrones`).

    Parameters
    ----------
    walk : Network
    timetable : Timetable
        In the network's CRS.
    origins : GeoDataFrame or Snapping
        The sites (e.g. the top places' best sites).
    options : TransitOptions
    times_min : sequence of float
    buffer_m : float, default 25

    Returns
    -------
    GeoDataFrame
        Indexed by ``(origin, time_min)``; None geometry for origins off the
        network; ``attrs["source"]`` the timetable's source label.
    """
    import numpy as np

    from productivecity import accessibility as acc
    from productivecity.accessibility import isochrone_polygons as _iso
    from productivecity.accessibility.raptor import departure_times_s, travel_times_to_stops
    from productivecity.accessibility.snapping import Snapping

    times = [float(t) for t in times_min]
    os_ = origins if isinstance(origins, Snapping) else acc.snap(walk, origins, what="sites",
                                                                 warn=False)
    ss = acc.snap(walk, timetable_stops(timetable), what="transit stops", warn=False)
    access, _, _ = _walk_legs(walk, os_, ss, access_min=options.access_walk_min)
    ids = os_.index.astype(str)
    p = options.percentile
    col = "travel_time_min" if p == 50 else f"travel_time_p{p:g}_min"
    reached = travel_times_to_stops(
        timetable, access, departures_s=departure_times_s(*options.window,
                                                           step_min=options.step_min),
        origins=ids[os_.snapped.to_numpy()], percentiles=[p],
        max_transfers=options.max_transfers, max_travel_time_min=max(times))
    reached = reached.dropna(subset=[col])
    ap_of = np.full(ss.n_items, -1)
    ap_of[ss.item] = np.arange(len(ss.item))
    k = ap_of[ss.index.astype(str).get_indexer(reached["stop_id"].astype(str))]
    keep = k >= 0  # stops off the network start nothing
    k = k[keep]
    org = ids.get_indexer(reached["origin_id"].astype(str))[keep]
    t_min = reached[col].to_numpy(float)[keep]
    speed_m_min = ss.access_speed_kmh * 1000.0 / 60.0
    seeded = dataclasses.replace(
        os_, item=np.r_[os_.item, org], edge=np.r_[os_.edge, ss.edge[k]],
        node=np.r_[os_.node, ss.node[k]], frac=np.r_[os_.frac, ss.frac[k]],
        # the time to the stop as a walk at the connector's speed: its initial cost
        connector_m=np.r_[os_.connector_m * speed_m_min / (os_.access_speed_kmh * 1000 / 60),
                          ss.connector_m[k] + t_min * speed_m_min],
        x=np.r_[os_.x, ss.x[k]], y=np.r_[os_.y, ss.y[k]],
        access_speed_kmh=ss.access_speed_kmh, frame=None)
    out = _iso.isochrones(walk, seeded, times_min=times, buffer_m=buffer_m)
    out.attrs["source"] = timetable.source
    return out


__all__ = [
    "CANAL_COLUMN",
    "TRANSIT_SOURCES",
    "TransitOptions",
    "canal_district_cells",
    "default_service_date",
    "find_gtfs",
    "load_timetable",
    "transit_column",
    "transit_definitions",
    "transit_indicators",
    "transit_isochrones",
    "transit_travel_pairs",
]
