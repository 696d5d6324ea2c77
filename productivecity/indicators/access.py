"""Accessibility and canal indicators per site, on the walk and bike networks.

All times are network travel times in minutes from the site's access points
(boundary points of a site polygon, snapped to the street network, the
connector walked) to the facility's snapped location, computed by
:mod:`productivecity.accessibility`. NaN means not computable: the site is not
snapped to the network (outside its extent, too far, cut off) or no facility
lies within the search limit; it never means zero.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity import accessibility as acc
from productivecity._errors import EmptyLayerError
from productivecity.crs import metric_crs_of, to_crs
from productivecity.indicators.options import IndicatorOptions
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)

RAIL_MODES = ("rail",)
TRAM_METRO_MODES = ("tram", "metro")


def _nearest(network, sites, facilities) -> pd.Series:
    """Nearest facility time without a search limit; NaN (not inf) where none is reachable."""
    t = acc.nearest_time_min(network, sites, facilities, limit_min=np.inf)
    return t.where(np.isfinite(t))


def quay_points(canal: gpd.GeoDataFrame, *, spacing_m: float = 100.0) -> gpd.GeoDataFrame:
    """Points every ``spacing_m`` along the canal's banks (water polygon outlines).

    Where the canal layer has no water polygon, points along the centre lines
    are used instead. Index ``quay_id``; column ``name``.
    """
    canal = to_crs(canal, metric_crs_of(canal, what="canal"), what="canal")
    if canal.empty:
        raise EmptyLayerError("the canal layer is empty: no quay points")
    polys = canal.loc[canal.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(polys):
        lines = shapely.boundary(np.asarray(polys.geometry.values))
        names = polys["name"].to_numpy() if "name" in polys else np.full(len(polys), None)
    else:
        lines = np.asarray(canal.geometry.values)
        names = canal["name"].to_numpy() if "name" in canal else np.full(len(canal), None)
    pts, owner = [], []
    for k, line in enumerate(lines):
        for part in shapely.get_parts(line):
            n = max(1, int(np.ceil(part.length / spacing_m)))
            pts.extend(shapely.line_interpolate_point(part, np.linspace(0, 1, n + 1)[:-1],
                                                      normalized=True))
            owner.extend([k] * n)
    return gpd.GeoDataFrame(
        {"name": names[np.asarray(owner)]}, geometry=pts, crs=canal.crs,
        index=pd.Index([f"quay-{i}" for i in range(len(pts))], name="quay_id"),
    )


def nearest_with_attribute(
    network: Network,
    sites,
    facilities,
    *,
    column: str,
    limit_min: float,
) -> pd.DataFrame:
    """Time to the nearest facility and a column of that facility.

    ``facilities`` is a GeoDataFrame with ``column``, or its :class:`Snapping`.

    Returns
    -------
    DataFrame
        Aligned to the sites: ``time_min`` and ``column`` of the nearest facility
        within ``limit_min`` (NaN beyond it or for unsnapped sites).
    """
    tt = acc.travel_times(network, sites, facilities, limit_min=limit_min)
    index = sites.index
    if tt.empty:
        return pd.DataFrame({"time_min": np.nan, column: np.nan}, index=index)
    best = tt.groupby(level="origin").idxmin()
    dest = pd.Series([d for _o, d in best.to_numpy()], index=best.index)
    out = pd.DataFrame(index=index)
    out["time_min"] = tt.groupby(level="origin").min().reindex(index)
    frame = facilities.frame if isinstance(facilities, acc.Snapping) else facilities
    values = frame[column].reindex(dest.to_numpy()).to_numpy()
    out[column] = pd.Series(values, index=dest.index).reindex(index)
    return out


def access_indicators(
    sites: gpd.GeoDataFrame,
    *,
    walk: Network,
    bike: Network,
    transit_stops: gpd.GeoDataFrame | None,
    hubs: gpd.GeoDataFrame | None,
    canal: gpd.GeoDataFrame | None,
    residents=None,
    walk_sites=None,
    bike_sites=None,
    options: IndicatorOptions | None = None,
) -> pd.DataFrame:
    """Compute the accessibility and canal indicators per site.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index ``site_id``).
    walk, bike : Network
        Walk and bike networks.
    transit_stops : GeoDataFrame or None
        With ``mode`` (rail, metro, tram, bus) and ``daily_stops_n``; None: missing.
    hubs : GeoDataFrame or None
        Existing hubs; None or empty: missing.
    canal : GeoDataFrame or None
        Canal lines and water polygons; None: missing.
    residents : Snapping, optional
        Residents' demand points snapped to the bike network, with a
        ``population_n`` column (see :mod:`productivecity.indicators.labour`).
    walk_sites, bike_sites : Snapping, optional
        The sites snapped to each network (snapped here if not given).
    options : IndicatorOptions, optional
        ``station_limit_min`` (walk time within which the nearest rail station's
        daily stops are looked up), ``stops_walk_limit_min`` (walk time for
        counting stops) and ``residents_bike_limit_min`` (bike time for counting
        residents); default :class:`IndicatorOptions` ().

    Returns
    -------
    DataFrame
        Aligned to the sites, columns:

        - ``rail_station_walk_time_min``: walk to the nearest rail station (no limit);
        - ``rail_station_daily_stops_n``: average daily train stops at that station
          (iRail), if it is within ``station_limit_min``;
        - ``tram_metro_stop_walk_time_min``: walk to the nearest tram or metro stop;
        - ``stops_walk_10min_n``: transit stops of any mode within 10 min walk;
        - ``canal_quay_walk_time_min``: walk to the nearest point of the canal bank;
        - ``nearest_hub_walk_time_min`` / ``nearest_hub_bike_time_min``: to the nearest
          existing hub (large values mark the gaps a new hub would fill);
        - ``residents_bike_15min_n``: residents within 15 min by bike (if ``residents``).

        Columns whose input is missing are NaN; ``frame.attrs["missing_inputs"]``
        maps them to the reason (the missing input named).
    """
    options = options or IndicatorOptions()
    ws = walk_sites if walk_sites is not None else acc.snap(walk, sites, what="sites")
    bs = bike_sites if bike_sites is not None else acc.snap(bike, sites, what="sites")
    out = pd.DataFrame(index=sites.index)
    reasons: dict[str, str] = {}

    def missing(columns, reason: str) -> None:
        for col in columns:
            out[col] = np.nan
            reasons[col] = reason

    stop_walk_min = options.stops_walk_limit_min
    stops_col = f"stops_walk_{stop_walk_min:g}min_n"
    if transit_stops is None or not len(transit_stops):
        missing(["rail_station_walk_time_min", "rail_station_daily_stops_n",
                 "tram_metro_stop_walk_time_min", stops_col],
                "input missing: no transit_stops layer (no GTFS, operator or OSM stops)")
    else:
        stops = to_crs(transit_stops, walk.crs, what="transit stops")
        rail = stops.loc[stops["mode"].isin(RAIL_MODES)]
        if len(rail):
            rail_snap = acc.snap(walk, rail, what="rail stations")  # once for both queries
            out["rail_station_walk_time_min"] = _nearest(walk, ws, rail_snap)
            near = nearest_with_attribute(walk, ws, rail_snap, column="daily_stops_n",
                                          limit_min=options.station_limit_min)
            out["rail_station_daily_stops_n"] = pd.to_numeric(near["daily_stops_n"],
                                                              errors="coerce").astype(float)
        else:
            logger.info("no rail stations among the transit stops: rail indicators are NaN")
            missing(["rail_station_walk_time_min", "rail_station_daily_stops_n"],
                    "no rail station among the transit stops")
        tm = stops.loc[stops["mode"].isin(TRAM_METRO_MODES)]
        if len(tm):
            out["tram_metro_stop_walk_time_min"] = _nearest(
                walk, ws, acc.snap(walk, tm, what="tram and metro stops"))
        else:
            missing(["tram_metro_stop_walk_time_min"],
                    "no tram or metro stop among the transit stops")
        count = acc.count_within(walk, ws, acc.snap(walk, stops, what="transit stops"),
                                 limit_min=stop_walk_min)
        out[stops_col] = count.astype("Int64")
    if canal is None or not len(canal):
        missing(["canal_quay_walk_time_min"], "input missing: no canal layer")
    else:
        out["canal_quay_walk_time_min"] = _nearest(
            walk, ws, acc.snap(walk, quay_points(canal), what="canal bank points"))
    if hubs is not None and len(hubs):
        out["nearest_hub_walk_time_min"] = _nearest(walk, ws, acc.snap(walk, hubs, what="hubs"))
        out["nearest_hub_bike_time_min"] = _nearest(bike, bs, acc.snap(bike, hubs, what="hubs"))
    else:
        missing(["nearest_hub_walk_time_min", "nearest_hub_bike_time_min"],
                "input missing: no hubs layer (no existing hub in the area)")
    residents_col = f"residents_bike_{options.residents_bike_limit_min:g}min_n"
    if residents is not None:
        out[residents_col] = acc.cumulative_opportunities(
            bike, bs, residents, weights="population_n",
            limit_min=options.residents_bike_limit_min).astype(float)
    else:
        missing([residents_col], "input missing: no residents (population) data")
    out.attrs["missing_inputs"] = reasons
    return out
