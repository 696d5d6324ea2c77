"""The site indicators by spatial tiles, in one process or on a Dask cluster.

:func:`tiled_indicators` splits the candidate sites into square tiles of ``tile_m``
metres by their centroids (every site in exactly one tile) and computes each tile's
indicators with :func:`~productivecity.indicators.table.site_indicators` on the
tile's sites and a *slice* of the inputs: the street networks, layers, demand cells,
buildings and open land within the tile's sites' bounds buffered by ``buffer_m`` (the
layers read at the sites only, for vacancy and land cover, by their search radius).
The tiles' tables are put back together in the order of the input sites.
:func:`engine_indicators` chooses the engine from the ``[indicators]`` keys
``engine`` (``"local"``: one :func:`site_indicators` call, the default; ``"dask"``:
one task per tile), ``scheduler``, ``tile_m`` and ``tile_buffer_m``.

Why the results are exact
-------------------------
Every network time is walked or ridden at most at ``v_max`` (the network's speed, or
the walking speed on the connectors to the network when that is faster), so a place
reached within ``t`` minutes lies within ``t * v_max`` of one of the site's access
points, and it snaps to an edge within ``max_snap_m`` of it. The buffer is therefore::

    buffer_m = max over the catchments (t_min * v_max_m_per_min of its mode) + max_snap_m

over the walk catchments (``walk_limits_min``, ``stops_walk_limit_min``,
``station_limit_min``) and the bike catchments (``bike_limits_min``,
``residents_bike_limit_min`` and *twice* ``hub_access_bike_limit_min``: the two-step
floating catchment reaches the demand around hubs that are themselves one catchment
away). With the defaults (2 x 30 min by bike at 15 km/h, 250 m snapping) that is
15,250 m. A shortest path longer than the buffer cannot be within a limit, so each
tile's catchments are those of the whole area; a buffer smaller than this
(``tile_buffer_m``) is refused. Each sub-network keeps the full network's edge order
and component labels, so items snap to the same edges.

The *nearest-facility* times (rail station, tram or metro stop, canal bank, existing
hub) have no limit. A tile's value ``t`` is exact when ``t * v_max + max_snap_m <=
buffer_m`` (the best path and its facility then lie inside the slice); the few sites
with a larger or missing value are computed again on the full networks within the same
task. A tile whose slice cannot be snapped at all (e.g. no transit stop near it) is
computed on the full inputs, and a tile whose sites all lie off the street data (which
snapping refuses as a whole) is joined to the nearest tile with sites on it. Each tile's
output therefore equals the single-process run's rows for its sites (the tests compare
them to 1e-9).

Running on a cluster
--------------------
Install the extra (``pip install "productivecity[dask]"``) on the client and on every
worker: each worker needs the package (same version) and its dependencies. The client
reads the inputs and scatters them once to every worker (``client.scatter(...,
broadcast=True)``): workers need no access to the data files, but each holds one copy
of the networks, layers and demand cells in memory. Point the run at a running scheduler
with ``[indicators] engine = "dask"`` and ``scheduler = "tcp://host:8786"``; how the
scheduler and workers are started (``dask scheduler`` / ``dask worker`` by hand,
dask-jobqueue on a batch system, dask-kubernetes on Kubernetes) is the user's choice.
Without ``scheduler`` a :class:`distributed.LocalCluster` of single-threaded worker
processes (one per core, numba limited to one thread each) is started and closed.
A scheduler that does not answer within :data:`CONNECT_TIMEOUT_S` seconds is an error
naming its address. Tasks have keys derived from their inputs (``pure=True``) and are
retried (``retries``) when a worker fails; the result is checked to hold every input
site exactly once. The public-transport indicators of ``[transit]`` (timetables) are
not tiled: the indicators step computes them afterwards in the client process.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import logging
import math
import os
import re
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity import accessibility as acc
from productivecity._errors import ConfigError, EmptyLayerError, NetworkError, ProductiveCityError
from productivecity.crs import to_crs
from productivecity.indicators import access as _access
from productivecity.indicators import vacancy as _vacancy
from productivecity.indicators.options import IndicatorOptions, indicator_definitions
from productivecity.indicators.table import (
    IndicatorInputs,
    IndicatorReport,
    site_indicators,
    water_barriers,
)
from productivecity.layers import LayerSet
from productivecity.network import streets as _streets
from productivecity.network.streets import BIKE_SPEED_KMH, WALK_SPEED_KMH, Network

logger = logging.getLogger(__name__)

#: The ``[indicators]`` keys of the engine: they do not change the results (not in the
#: cache key of the indicators step).
ENGINE_KEYS = ("engine", "scheduler", "tile_m", "tile_buffer_m")
#: Engines of :func:`engine_indicators`.
ENGINES = ("local", "dask")
#: The smallest side of an automatic tile (m; see :func:`auto_tile_m`).
MIN_AUTO_TILE_M = 2000.0
#: Automatic tiles are the buffer over this: a tile's slice of the inputs reaches one buffer
#: beyond it on every side, so smaller tiles repeat that slice's fixed work (sub-network,
#: snapping the demand in reach) for fewer sites. On a city of 23,109 sites (100 m grid,
#: 15.25 km buffer) tiles of 2 km took 3.8 times the one-process time on one worker and
#: 35 s on two; tiles of 6 km 2.1 times and 22 s.
AUTO_TILE_BUFFER_RATIO = 2.5
#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT_S = 5.0
#: Largest distance from an item to the network it is snapped to (m; the snapping default).
SNAP_M = float(inspect.signature(acc.snap).parameters["max_snap_m"].default)

#: Nearest-facility times without a limit, and their mode.
UNBOUNDED_COLUMNS = {
    "rail_station_walk_time_min": "walk",
    "tram_metro_stop_walk_time_min": "walk",
    "canal_quay_walk_time_min": "walk",
    "nearest_hub_walk_time_min": "walk",
    "nearest_hub_bike_time_min": "bike",
}


def trip_horizons_min(options: IndicatorOptions | None = None) -> dict[str, float]:
    """Return the longest trip of the indicators per mode (minutes).

    The hub access (two-step floating catchment) counts twice its catchment.
    """
    o = options or IndicatorOptions()
    return {"walk": max(*o.walk_limits_min, o.stops_walk_limit_min, o.station_limit_min),
            "bike": max(*o.bike_limits_min, o.residents_bike_limit_min,
                        2 * o.hub_access_bike_limit_min)}


def _v_max_m_per_min(speed_kmh: float) -> float:
    """Fastest travel of a mode: its network speed or the walk on the connectors (m/min)."""
    return max(float(speed_kmh), WALK_SPEED_KMH) * 1000.0 / 60.0


def required_buffer_m(options: IndicatorOptions | None = None, *,
                      walk_kmh: float = WALK_SPEED_KMH, bike_kmh: float = BIKE_SPEED_KMH,
                      snap_m: float = SNAP_M) -> float:
    """Return the smallest exact tile buffer (m): the longest trip plus the snapping distance.

    Examples
    --------
    >>> required_buffer_m()
    15250.0
    """
    h = trip_horizons_min(options)
    return max(h["walk"] * _v_max_m_per_min(walk_kmh),
               h["bike"] * _v_max_m_per_min(bike_kmh)) + snap_m


def auto_tile_m(buffer_m: float) -> float:
    """Return the automatic tile side (m) for a buffer: ``buffer_m / 2.5``, at least 2 km.

    Examples
    --------
    >>> auto_tile_m(15250.0)
    6100.0
    """
    return max(MIN_AUTO_TILE_M, round(float(buffer_m) / AUTO_TILE_BUFFER_RATIO, -2))


def check_buffer(buffer_m: float | None, required_m: float) -> float:
    """Return the buffer to use; refuse one smaller than ``required_m`` (ConfigError)."""
    if buffer_m is None:
        return float(required_m)
    if not (isinstance(buffer_m, int | float) and math.isfinite(buffer_m)):
        raise ConfigError(f"[indicators] tile_buffer_m must be a number of metres, got "
                          f"{buffer_m!r}")
    if buffer_m < required_m:
        raise ConfigError(
            f"[indicators] tile_buffer_m = {buffer_m:g} m is smaller than the longest trip of "
            f"the indicators ({required_m:g} m: the largest catchment times the mode's speed, "
            f"plus the snapping distance); the indicators near the tile edges would be "
            f"wrong. Leave tile_buffer_m out or set it to at least {required_m:g}")
    return float(buffer_m)


def tile_of_sites(sites: gpd.GeoDataFrame, tile_m: float) -> np.ndarray:
    """Return each site's tile: ``(column, row)`` of the ``tile_m`` grid, by its centroid."""
    if not (isinstance(tile_m, int | float) and math.isfinite(tile_m) and tile_m > 0):
        raise ConfigError(f"[indicators] tile_m must be a positive number of metres, got "
                          f"{tile_m!r}")
    c = sites.geometry.centroid
    return np.column_stack([np.floor(c.x.to_numpy() / tile_m),
                            np.floor(c.y.to_numpy() / tile_m)]).astype(np.int64)


def subnetwork(network: Network, bounds: tuple[float, float, float, float]) -> Network:
    """Return the network's edges whose bounding box meets ``bounds`` (with their nodes).

    Nodes and edges keep their order and the component labels of the full network (the
    main component stays 0), so items snap to the same edges as on the full network.
    """
    xy = network.geom_xy
    start = network.geom_offsets[:-1]
    exmin = np.minimum.reduceat(xy[:, 0], start)
    eymin = np.minimum.reduceat(xy[:, 1], start)
    exmax = np.maximum.reduceat(xy[:, 0], start)
    eymax = np.maximum.reduceat(xy[:, 1], start)
    xmin, ymin, xmax, ymax = bounds
    keep_edge = (exmax >= xmin) & (exmin <= xmax) & (eymax >= ymin) & (eymin <= ymax)
    keep_node = np.zeros(network.n_nodes, bool)
    keep_node[network.edge_u[keep_edge]] = True
    keep_node[network.edge_v[keep_edge]] = True
    new_index = np.cumsum(keep_node) - 1
    counts = np.diff(network.geom_offsets)[keep_edge]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    sub = _streets._layout(
        mode=network.mode, speed_kmh=network.speed_kmh, node_id=network.node_id[keep_node],
        x=network.x[keep_node], y=network.y[keep_node],
        edge_u=new_index[network.edge_u[keep_edge]].astype(np.int32),
        edge_v=new_index[network.edge_v[keep_edge]].astype(np.int32),
        edge_length_m=network.edge_length_m[keep_edge],
        edge_forward=network.edge_forward[keep_edge],
        edge_backward=network.edge_backward[keep_edge], geom_offsets=offsets,
        geom_xy=xy[np.repeat(keep_edge, np.diff(network.geom_offsets))],
        component=network.component[keep_node], report=network.report)
    return dataclasses.replace(sub, crs=network.crs)


def _clip(gdf, box, *, by: str | None = None):
    """Return the rows of ``gdf`` meeting ``box`` (whole geometries, input order).

    A layer (or, with ``by``, a group of rows with the same value of that column, e.g.
    the rail stations among the transit stops) with no row there is kept whole, so that
    no input goes missing in the slice.
    """
    if gdf is None or not len(gdf):
        return gdf
    keep = np.zeros(len(gdf), bool)
    keep[gdf.sindex.query(box, predicate="intersects")] = True
    groups = gdf[by].to_numpy() if by is not None and by in gdf.columns else np.zeros(len(gdf))
    for value in pd.unique(groups):
        group = groups == value
        if not keep[group].any():
            keep |= group
    return gdf.iloc[np.flatnonzero(keep)]


#: Columns whose groups are kept apart when a layer is cut (see :func:`_clip`).
_GROUPS = {"transit_stops": "mode"}
#: Layers and inputs read at the sites only (vacancy and land cover): cut to the sites'
#: bounds grown by the vacancy search radius (+1 m), not by the trip buffer.
_LOCAL = ("poi", "industrial_zones", "buildings", "open_land")
_LOCAL_M = float(inspect.signature(_vacancy.vacancy_indicators)
                 .parameters["radius_m"].default) + 1.0


def tile_slice(sites: gpd.GeoDataFrame, layers: LayerSet, inputs: IndicatorInputs,
               buffer_m: float) -> tuple[LayerSet, IndicatorInputs]:
    """Return the layers and inputs within ``buffer_m`` of the sites' bounds.

    The layers read at the sites only (POIs, industrial zones, buildings, open land) are
    cut to the sites' bounds grown by the vacancy search radius.

    Layers are cut to the features that meet the buffered bounds (whole features;
    a layer with none there is kept whole, so that no input goes missing).
    """
    xmin, ymin, xmax, ymax = sites.total_bounds
    bounds = (xmin - buffer_m, ymin - buffer_m, xmax + buffer_m, ymax + buffer_m)
    box = shapely.box(*bounds)
    near = shapely.box(xmin - _LOCAL_M, ymin - _LOCAL_M, xmax + _LOCAL_M, ymax + _LOCAL_M)
    sub_layers = dataclasses.replace(layers, layers={
        name: gdf if name == "study_area" else
        _clip(gdf, near if name in _LOCAL else box, by=_GROUPS.get(name))
        for name, gdf in layers.layers.items()})
    sub_inputs = dataclasses.replace(
        inputs, walk=subnetwork(inputs.walk, bounds), bike=subnetwork(inputs.bike, bounds),
        demand=_clip(inputs.demand, box), buildings=_clip(inputs.buildings, near),
        open_land=_clip(inputs.open_land, near), notes=list(inputs.notes))
    return sub_layers, sub_inputs


def _unbounded_present(layers: LayerSet) -> list[str]:
    """Return the nearest-facility columns whose facilities are in the layers."""
    stops, hubs = layers.optional("transit_stops"), layers.optional("hubs")
    modes = set(stops["mode"]) if stops is not None and "mode" in stops.columns else set()
    have = {"rail_station_walk_time_min": bool(modes & set(_access.RAIL_MODES)),
            "tram_metro_stop_walk_time_min": bool(modes & set(_access.TRAM_METRO_MODES)),
            "canal_quay_walk_time_min": layers.optional("canal") is not None,
            "nearest_hub_walk_time_min": hubs is not None,
            "nearest_hub_bike_time_min": hubs is not None}
    return [c for c, ok in have.items() if ok]


def compute_tile(tile: tuple[int, int], positions: np.ndarray, sites: gpd.GeoDataFrame,
                 layers: LayerSet, inputs: IndicatorInputs, options: IndicatorOptions,
                 buffer_m: float) -> tuple[np.ndarray, gpd.GeoDataFrame, IndicatorReport]:
    """Compute the indicators of one tile's sites exactly (see the module docstring).

    Parameters
    ----------
    tile : tuple of int
        The tile (column, row), for messages.
    positions : ndarray of int
        Positions of the tile's sites in ``sites``.
    sites, layers, inputs : the full inputs (in one CRS, as :func:`site_indicators`)
    options : IndicatorOptions
    buffer_m : float
        Buffer of the slice (m), at least :func:`required_buffer_m`.

    Returns
    -------
    positions : ndarray of int
        As given (the rows' positions in the input sites).
    table : GeoDataFrame
        The tile's rows of :func:`site_indicators`.
    report : IndicatorReport
        The tile's report.
    """
    part = sites.iloc[positions]
    sub_layers, sub_inputs = tile_slice(part, layers, inputs, buffer_m)
    try:
        table, report = site_indicators(part, sub_layers, sub_inputs, options=options,
                                        progress=False)
    except (NetworkError, EmptyLayerError) as exc:
        logger.info("tile %s: the slice cannot be used (%s); computed on the full inputs",
                    tile, exc)
        table, report = site_indicators(part, layers, inputs, options=options, progress=False)
        return positions, table, report
    cols = [c for c in _unbounded_present(layers) if c in table.columns]
    if cols:
        unsure = np.zeros(len(table), bool)
        for col in cols:
            net = inputs.walk if UNBOUNDED_COLUMNS[col] == "walk" else inputs.bike
            reach_min = (buffer_m - SNAP_M) / _v_max_m_per_min(net.speed_kmh)
            unsure |= ~(table[col].to_numpy(dtype=float) <= reach_min)
        if inputs.osm_coverage is not None:  # NaN outside the street data either way
            unsure &= _vacancy.covered_sites(part, inputs.osm_coverage).to_numpy()
        if unsure.any():
            table = _nearest_on_full(table, part.iloc[np.flatnonzero(unsure)], layers, inputs,
                                     options, cols)
            _recount(report, table, cols)
    return positions, table, report


_NOT_ON = re.compile(r"^(\d+) site\(s\) not on the (\w+) network")


def _recount(report: IndicatorReport, table, cols: list[str]) -> None:
    """Count the sites still without a value in ``cols`` after :func:`_nearest_on_full`.

    The sites off the network stay so on the full network (the slice snaps as it does);
    the others are those with no facility at all. Same texts as ``site_indicators``.
    """
    missing = report.missing.copy()
    for col in cols:
        n = int(table[col].isna().sum())
        m = _NOT_ON.match(str(missing.loc[col, "reason"]))
        unsn = int(m.group(1)) if m else 0
        parts = [f"{unsn} site(s) not on the {m.group(2)} network (see unsnapped sites)"] \
            if unsn else []
        if n - unsn:
            parts.append(f"{n - unsn} site(s) without the input data (e.g. no facility in "
                         f"reach, no value for the unit)")
        missing.loc[col, "missing_n"] = n
        missing.loc[col, "reason"] = "; ".join(parts)
    report.missing = missing


def _nearest_on_full(table, part, layers, inputs, options, cols):
    """Recompute the nearest-facility columns of ``part`` on the full networks."""
    barriers = water_barriers(layers)
    ws = acc.snap(inputs.walk, part, barriers=barriers, what="sites", warn=False)
    bs = acc.snap(inputs.bike, part, barriers=barriers, what="sites", warn=False)
    res = _access.access_indicators(
        part, walk=inputs.walk, bike=inputs.bike,
        transit_stops=layers.optional("transit_stops"), hubs=layers.optional("hubs"),
        canal=layers.optional("canal"), residents=None, walk_sites=ws, bike_sites=bs,
        options=options)
    table = table.copy()
    for col in cols:
        table.loc[part.index, col] = res[col].to_numpy()
    return table


def _bare(network: Network) -> Network:
    """Return the network without its cached search structures (smaller to send)."""
    return dataclasses.replace(network)


def tiled_indicators(
    sites: gpd.GeoDataFrame,
    layers: LayerSet,
    inputs: IndicatorInputs,
    *,
    options: IndicatorOptions | None = None,
    tile_m: float | None = None,
    buffer_m: float | None = None,
    client=None,
    retries: int = 2,
    task: Callable = compute_tile,
) -> tuple[gpd.GeoDataFrame, IndicatorReport]:
    """Compute the site indicators tile by tile (equal to :func:`site_indicators`).

    Parameters
    ----------
    sites, layers, inputs, options
        As :func:`~productivecity.indicators.table.site_indicators`.
    tile_m : float, optional
        Side of the square tiles (m); a site belongs to the tile of its centroid.
        Default: :func:`auto_tile_m` of the buffer (6.1 km for the default catchments):
        large enough that each tile's slice of the inputs is not mostly buffer, small
        enough to give the workers several tiles each on a city.
    buffer_m : float, optional
        Buffer of each tile's slice of the inputs (m); default and smallest allowed:
        :func:`required_buffer_m` for the options and the networks' speeds.
    client : distributed.Client, optional
        Run one task per tile on this Dask client (inputs scattered to every worker
        once); None: the tiles one after the other in this process.
    retries : int, default 2
        Retries of a failed task (Dask).
    task : callable
        The tile function (:func:`compute_tile`; replaceable in tests).

    Returns
    -------
    sites : GeoDataFrame
        As :func:`site_indicators`, rows in the input order.
    report : IndicatorReport
        The tiles' reports merged (counts summed; ``demand_not_snapped`` is not
        collected; ``timings_s`` sums the tiles' seconds, ``total`` is the wall time).

    Raises
    ------
    ConfigError
        ``buffer_m`` smaller than the longest trip, or a bad ``tile_m``.
    ProductiveCityError
        The tiles' rows do not hold every site exactly once.
    """
    t0 = time.perf_counter()
    options = options or IndicatorOptions()
    sites = to_crs(sites, layers["study_area"].crs, what="sites")
    need_m = required_buffer_m(options, walk_kmh=inputs.walk.speed_kmh,
                               bike_kmh=inputs.bike.speed_kmh)
    buffer_m = check_buffer(buffer_m, need_m)
    if tile_m is None:
        tile_m = auto_tile_m(buffer_m)
    keys = tile_of_sites(sites, tile_m)
    tiles, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.cumsum(np.bincount(inverse, minlength=len(tiles)))[:-1])
    tiles, groups = _join_outside(tiles, groups, _on_networks(sites, inputs))
    logger.info("indicators: %d sites in %d tiles of %g m, buffer %g m", len(sites),
                len(tiles), tile_m, buffer_m)
    inputs = dataclasses.replace(inputs, walk=_bare(inputs.walk), bike=_bare(inputs.bike))
    args = [(tuple(int(v) for v in tile), pos) for tile, pos in zip(tiles, groups, strict=True)]
    if client is None:
        results = [task(tile, pos, sites, layers, inputs, options, buffer_m)
                   for tile, pos in args]
    else:
        t = time.perf_counter()
        shared = client.scatter([sites, layers, inputs], broadcast=True)
        scatter_s = time.perf_counter() - t
        futures = [client.submit(task, tile, pos, *shared, options, buffer_m, pure=True,
                                 retries=retries) for tile, pos in args]
        results = client.gather(futures)
    out, report = _assemble(sites, results, options)
    report.timings_s["total"] = time.perf_counter() - t0
    report.timings_s["tiles_n"] = float(len(tiles))
    if client is not None:
        report.timings_s["scatter"] = scatter_s
    return out, report


def _on_networks(sites: gpd.GeoDataFrame, inputs: IndicatorInputs) -> np.ndarray:
    """Whether each site lies wholly within both networks' extents (+ the snapping distance)."""
    b = sites.geometry.bounds.to_numpy()
    ok = np.ones(len(sites), bool)
    for net in (inputs.walk, inputs.bike):
        xmin, ymin, xmax, ymax = net.bounds
        ok &= ((b[:, 0] >= xmin - SNAP_M) & (b[:, 1] >= ymin - SNAP_M)
               & (b[:, 2] <= xmax + SNAP_M) & (b[:, 3] <= ymax + SNAP_M))
    return ok


def _join_outside(tiles: np.ndarray, groups: list[np.ndarray], inside: np.ndarray):
    """Join each tile with no site within the networks' extents to the nearest tile with one.

    Snapping refuses a set of sites that all lie outside the network; in the whole set
    they are merely not snapped (NaN), so such a tile is computed with a neighbour.
    """
    has = np.array([inside[g].any() for g in groups])
    if has.all() or not has.any():
        return tiles, groups
    keep = np.flatnonzero(has)
    joined = {int(k): [groups[k]] for k in keep}
    for k in np.flatnonzero(~has):
        d = np.abs(tiles[keep] - tiles[k]).sum(axis=1)
        joined[int(keep[np.argmin(d)])].append(groups[k])
    return tiles[keep], [np.sort(np.concatenate(joined[int(k)])) for k in keep]


def _assemble(sites, results, options) -> tuple[gpd.GeoDataFrame, IndicatorReport]:
    """Concatenate the tiles' rows in the input order; check each site is there once."""
    positions = np.concatenate([r[0] for r in results]) if results else np.zeros(0, int)
    counts = np.bincount(positions, minlength=len(sites)) if len(positions) else \
        np.zeros(len(sites), int)
    lost, twice = int((counts == 0).sum()), int((counts > 1).sum())
    if lost or twice or len(counts) != len(sites):
        raise ProductiveCityError(
            f"indicators by tiles: {lost} site(s) missing and {twice} site(s) more than once "
            f"in the tiles' results (expected each of the {len(sites)} sites exactly once)")
    table = pd.concat([r[1] for r in results])
    table = table.iloc[np.argsort(positions, kind="stable")]
    if not table.index.equals(sites.index):
        raise ProductiveCityError("indicators by tiles: the tiles' rows do not match the "
                                  "input sites' index")
    table = gpd.GeoDataFrame(table, geometry=sites.geometry.name, crs=sites.crs)
    reports = [r[2] for r in results]
    return table, _merge_reports(reports, table, options)


_COUNTED = re.compile(r"^\d+ (of \d+ )?(point )?site")
_NUMBER = re.compile(r"\d+")
_BLANKED = re.compile(r"^(.*sites set to NaN: )(\{.*\})$", re.S)
_OUTSIDE = re.compile(r"^(\d+)( site\(s\) outside the street data's coverage.*)$", re.S)


def _merge_reason(reasons: list[str], n_sites: int) -> str:
    """Merge the tiles' reasons of one column: counts summed, texts kept once, in order.

    A reason is parts joined by "; "; a part starting with a count ("12 site(s) ...",
    "3 of 40 sites ...") has its counts summed over the tiles ("of N sites": all sites).
    """
    order: list[str] = []
    sums: dict[str, list[int]] = {}
    for reason in reasons:
        prev = -1
        for part in (p for p in reason.split("; ") if p):
            counted = bool(_COUNTED.match(part))
            key = _NUMBER.sub("{}", part) if counted else part
            if key not in sums:
                order.insert(prev + 1, key)
                sums[key] = [0] * key.count("{}") if counted else []
            prev = order.index(key)
            for k, v in enumerate(_NUMBER.findall(part) if counted else []):
                sums[key][k] += int(v)
    out = []
    for key in order:
        values = sums[key]
        if " of {} sites" in key:
            values = [values[0], n_sites]
        out.append(key.replace("{}", "%d") % tuple(values) if values else key)
    return "; ".join(out)


def _merge_reports(reports: list[IndicatorReport], table, options) -> IndicatorReport:
    """Merge the tiles' reports as the single-process run would have written them."""
    missing = {}
    for col in indicator_definitions(options):
        n, reasons = 0, []
        for rep in reports:
            if col in rep.missing.index:
                row = rep.missing.loc[col]
                n += int(row["missing_n"])
                if int(row["missing_n"]):
                    reasons.append(str(row["reason"]))
        missing[col] = {"missing_n": n, "reason": _merge_reason(reasons, len(table))}
    notes: dict[str, None] = {}
    blanked: dict[str, int] = {}
    blank_text, outside_n, outside_text = "", 0, ""
    for rep in reports:
        for note in rep.notes:
            if m := _BLANKED.match(note):
                blank_text = m.group(1)
                for col, k in ast.literal_eval(m.group(2)).items():
                    blanked[col] = blanked.get(col, 0) + int(k)
            elif m := _OUTSIDE.match(note):
                outside_n += int(m.group(1))
                outside_text = m.group(2)
            else:
                notes.setdefault(note)
    merged = list(notes)
    if blank_text:
        merged.append(f"{blank_text}{blanked}")
    if outside_n:
        merged.append(f"{outside_n}{outside_text}")
    unsnapped = pd.concat([r.unsnapped_sites for r in reports])
    unsnapped = unsnapped.loc[[i for i in table.index if i in unsnapped.index]] \
        if len(unsnapped) else reports[0].unsnapped_sites
    timings: dict[str, float] = {}
    for rep in reports:
        for step, s in rep.timings_s.items():
            timings[step] = timings.get(step, 0.0) + s
    return IndicatorReport(missing=pd.DataFrame(missing).T, unsnapped_sites=unsnapped,
                           demand_not_snapped=pd.DataFrame(), notes=merged, timings_s=timings)


def connect(scheduler: str, *, timeout_s: float = CONNECT_TIMEOUT_S):
    """Return a Dask client of the scheduler at ``scheduler``; a clear error if it does not answer.

    Raises
    ------
    ConfigError
        No answer within ``timeout_s`` seconds, or a malformed address (named).
    """
    from distributed import Client

    try:
        return Client(scheduler, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"[indicators] scheduler {scheduler!r} did not answer within {timeout_s:g} s "
            f"({type(exc).__name__}: {exc}); is a Dask scheduler running at that address? "
            f"no indicators were computed and no output was written") from None


def local_cluster(n_workers: int | None = None):
    """Start a LocalCluster of single-threaded worker processes, numba on one thread each."""
    import dask
    from distributed import LocalCluster

    # set before the worker processes start (numba reads it once, when imported)
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}),
               "NUMBA_NUM_THREADS": "1"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                            processes=True, dashboard_address=":0")


def engine_indicators(
    sites: gpd.GeoDataFrame,
    layers: LayerSet,
    inputs: IndicatorInputs,
    *,
    options: IndicatorOptions | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    tile_m: float | None = None,
    tile_buffer_m: float | None = None,
    progress: bool = True,
) -> tuple[gpd.GeoDataFrame, IndicatorReport]:
    """Compute the site indicators with the engine of the ``[indicators]`` keys.

    ``engine = "local"``: :func:`site_indicators` in this process (``tile_m`` and
    ``scheduler`` unused); ``"dask"``: :func:`tiled_indicators` on the scheduler at
    ``scheduler``, or on a LocalCluster started (and closed) here when it is None.
    """
    if engine not in ENGINES:
        raise ConfigError(f"[indicators] engine must be one of {', '.join(ENGINES)}, "
                          f"got {engine!r}")
    options = options or IndicatorOptions()
    if engine == "local":
        check_buffer(tile_buffer_m, required_buffer_m(
            options, walk_kmh=inputs.walk.speed_kmh, bike_kmh=inputs.bike.speed_kmh))
        # looked up at call time: the pipeline's one site_indicators call
        from productivecity.indicators import table as _table

        return _table.site_indicators(sites, layers, inputs, options=options,
                                      progress=progress)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError("[indicators] engine = 'dask' needs dask.distributed: "
                          "pip install 'productivecity[dask]'") from None
    kw = {"options": options, "tile_m": tile_m, "buffer_m": tile_buffer_m}
    if scheduler:
        client = connect(scheduler)
        try:
            return tiled_indicators(sites, layers, inputs, client=client, **kw)
        finally:
            client.close()
    from distributed import Client

    with local_cluster() as cluster, Client(cluster, set_as_default=False) as client:
        return tiled_indicators(sites, layers, inputs, client=client, **kw)
