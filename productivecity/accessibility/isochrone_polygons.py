"""Isochrones: the area reached from an origin within travel-time limits."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import ops

from productivecity._errors import NetworkError
from productivecity.accessibility.search import _as_snapping, _connector_cost, reach
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)


def isochrones(network: Network, origins, *, times_min: Sequence[float],
               buffer_m: float = 25.0, fill_holes_m2: float = 20_000.0) -> gpd.GeoDataFrame:
    """Isochrone polygons: the area within ``buffer_m`` of the network reached in time.

    Reached parts of edges (partial edges included, and the connector from the origin)
    are buffered by ``buffer_m`` and merged; holes smaller than ``fill_holes_m2`` (the
    inside of street blocks enclosed by reached streets) are filled.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries or Snapping
    times_min : sequence of float
        Travel times (min), each > 0.
    buffer_m : float, default 25
        Buffer around reached streets (m).
    fill_holes_m2 : float, default 20,000
        Holes up to this area (m²) are filled (0 keeps every hole).

    Returns
    -------
    GeoDataFrame
        Indexed by ``(origin, time_min)``; geometry in the network's CRS (None for origins
        not snapped).

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> iso = pc.isochrones(walk, layers["hubs"], times_min=[5, 10])
    >>> len(iso), list(iso.index[:2])  # (hub, minutes)
    (6, [('atelier-groot-eiland', 5.0), ('atelier-groot-eiland', 10.0)])
    >>> (iso.area / 10_000).round().tolist()  # hectares
    [26.0, 114.0, 28.0, 106.0, 16.0, 94.0]
    """
    times = [float(t) for t in times_min]
    if not times or any(not (math.isfinite(t) and t > 0) for t in times):
        raise NetworkError(f"times_min must be positive finite minutes, got {times_min!r}")
    if not (math.isfinite(buffer_m) and buffer_m > 0):
        raise NetworkError(f"buffer_m must be positive (m), got {buffer_m!r}")
    s = _as_snapping(network, origins, what="origins", allow_none=False)
    r = reach(network, s, limit_min=max(times))
    ew = network.edge_time_min
    egeo = network.edge_geometries
    conn_t = _connector_cost(s, "time")
    rows, geoms = [], []
    for i, label in enumerate(s.index):
        nodes = r.node[r.indptr[i]:r.indptr[i + 1]]
        cost = r.cost[r.indptr[i]:r.indptr[i + 1]]
        node_cost = dict(zip(nodes.tolist(), cost.tolist(), strict=True))
        aps = np.flatnonzero(s.item == i)
        # candidate edges: arcs leaving reached nodes
        arcs = np.concatenate([np.arange(network.indptr[u], network.indptr[u + 1])
                               for u in nodes]) if len(nodes) else np.empty(0, np.int64)
        cand_edges = np.unique(np.concatenate([network.arc_edge[arcs], s.edge[aps][s.edge[aps]
                                                                                   >= 0]]))
        # the times in increasing order: an area reached in a shorter time is part of the
        # longer one's, which adds the streets (and longer parts of streets) reached since
        done: dict[float, object] = {}
        union = None  # the last time's merged buffers (before its holes are filled)
        whole: set = set()  # the streets wholly reached by then
        walked: set = set()  # the connectors walked wholly by then
        for t in sorted(set(times)):
            if not len(aps):
                done[t] = None
                continue
            pieces = []
            for e in cand_edges:
                u, v = network.edge_u[e], network.edge_v[e]
                intervals = []
                cu, cv = node_cost.get(u, np.inf), node_cost.get(v, np.inf)
                if network.edge_forward[e] and cu <= t:
                    intervals.append((0.0, min(1.0, (t - cu) / ew[e]) if ew[e] > 0 else 1.0))
                if network.edge_backward[e] and cv <= t:
                    intervals.append((max(0.0, 1.0 - (t - cv) / ew[e]) if ew[e] > 0 else 0.0,
                                      1.0))
                for a in aps[s.edge[aps] == e]:
                    left = t - conn_t[a]
                    if left < 0:
                        continue
                    span = left / ew[e] if ew[e] > 0 else 1.0
                    lo = s.frac[a] - span if network.edge_backward[e] else s.frac[a]
                    hi = s.frac[a] + span if network.edge_forward[e] else s.frac[a]
                    intervals.append((max(0.0, lo), min(1.0, hi)))
                for lo, hi in _merge_intervals(intervals):
                    if lo <= 0.0 and hi >= 1.0:
                        if e not in whole:  # in the last union already otherwise
                            whole.add(e)
                            pieces.append(egeo[e])
                    elif hi > lo:
                        pieces.append(ops.substring(egeo[e], lo, hi, normalized=True))
            # connectors walked (partially) from each access point
            src = s.frame.geometry.iloc[i] if s.frame is not None else None
            for a in aps:
                if conn_t[a] > t or a in walked:
                    continue
                walked.add(a)
                end = shapely.Point(s.x[a], s.y[a])
                pieces.append(end if src is None else shapely.shortest_line(src, end))
            parts = list(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m))
            if union is not None:
                parts.append(union)
            union = shapely.union_all(np.asarray(parts, dtype=object)) if parts else None
            geom = union if union is not None else shapely.Polygon()
            if fill_holes_m2 > 0 and not geom.is_empty:
                geom = _fill_small_holes(geom, fill_holes_m2)
            done[t] = geom
        for t in times:
            rows.append((label, t))
            geoms.append(done[t])
    idx = pd.MultiIndex.from_tuples(rows, names=[s.index.name or "origin", "time_min"])
    return gpd.GeoDataFrame(geometry=geoms, index=idx, crs=network.crs)


def _fill_small_holes(geom, max_area_m2: float):
    """Return ``geom`` with interior rings smaller than ``max_area_m2`` removed."""
    polys = []
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            continue
        keep = [r for r in part.interiors if shapely.Polygon(r).area > max_area_m2]
        polys.append(shapely.Polygon(part.exterior, keep))
    return shapely.union_all(polys) if polys else geom


def _merge_intervals(intervals):
    out = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out

