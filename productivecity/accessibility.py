"""Accessibility on a street network: snapping, travel times, catchment measures.

Sites, facilities and statistical units are *snapped* to the nearest network
edge (found in the network's segment grid, :meth:`Network.nearest_edges`;
polygons get several access points along their boundary); the
straight-line distance to the edge is walked at ``access_speed_kmh`` and
counted in every travel time, never set to zero. Items farther than
``max_snap_m``, or near only a piece of network cut off from the rest, or
separated from the network by a barrier (the canal: only bridges cross it),
are not snapped and are reported with their ids and distances.

Queries run a bounded Dijkstra from every origin, or from every destination on
the reversed network when there are fewer of them (compiled with numba, see
:mod:`productivecity._dijkstra`), and keep results sparse: only the
(origin, destination) pairs within the limit. Counts and nearest times
(:func:`count_within`, :func:`nearest_and_count`) are aggregated in the
compiled searches, which skip nodes from which no target lies within the limit.
Travel times equal networkx's Dijkstra on the same graph with the snapped
points inserted as nodes.

Every query takes ``origins`` as a GeoDataFrame/GeoSeries (snapped with
:func:`snap`'s defaults), a :class:`Snapping`, ``None`` (every network node;
results indexed by ``node_id``), or a :class:`Reach` computed before (then its
limit must cover the query's). Results are pandas objects aligned to the
origins' index with the unit in their name; unsnapped origins get NaN/<NA>.

Examples
--------
>>> from productivecity import accessibility as acc, network
>>> net = network.walk_network("brussels.osm.pbf")  # doctest: +SKIP
>>> sites = acc.snap(net, sites_gdf, max_snap_m=250)  # doctest: +SKIP
>>> acc.nearest_time_min(net, sites, stations, limit_min=30)  # doctest: +SKIP
>>> acc.nearest_and_count(net, sites, stops, limit_min=15)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from shapely import ops
from tqdm.auto import tqdm

from productivecity import _dijkstra
from productivecity._errors import EmptyLayerError, NetworkError, SchemaError
from productivecity._validate import check_projected, to_project_crs
from productivecity.network import WALK_SPEED_KMH, Network

logger = logging.getLogger(__name__)

#: Buffer budget (entries) for one chunk of origins in the compiled kernels.
_CHUNK_ENTRIES = 4_000_000
#: Entries per origin row before an origin is re-run alone with a full-width row.
_ROW_ENTRIES = 4096
#: Rows (searches) per block handed to a thread in :func:`_count_min`: at most, and the
#: least number of rows per thread worth starting a thread for.
_MAX_BLOCK_ROWS = 256
_MIN_BLOCK_ROWS = 16

# reasons an item is not snapped
EMPTY = "empty geometry"
OUTSIDE = "outside the network extent"
TOO_FAR = "farther than max_snap_m from the network"
CUT_OFF = "only a cut-off network component within max_snap_m"
BARRIER = "every edge within max_snap_m lies across a barrier"


# --------------------------------------------------------------------------- snapping


@dataclasses.dataclass(frozen=True, eq=False)
class Snapping:
    """Items (points, lines, polygons) tied to a network through access points.

    Attributes
    ----------
    network : Network
        The network snapped to.
    index : pandas.Index
        Index of the input items (all of them, snapped or not).
    item : ndarray of int64, shape (n_access,)
        Position in ``index`` of each access point's item.
    edge : ndarray of int64
        Edge of each access point, or -1 for points placed on a node.
    node : ndarray of int64
        Node of each access point placed on a node, else -1.
    frac : ndarray of float64
        Position along the edge from ``u`` (0) to ``v`` (1).
    connector_m : ndarray of float64
        Straight distance from the item's point to the network (m).
    x, y : ndarray of float64
        Snapped location on the network (EPSG:31370, m).
    access_speed_kmh : float
        Speed at which ``connector_m`` is walked (km/h).
    unsnapped : pandas.DataFrame
        Items not snapped, indexed like the input: ``reason`` (str) and ``dist_m``
        (distance to the nearest edge of the main component, m).
    frame : GeoDataFrame or None
        The input items (to look up weight columns).
    """

    network: Network
    index: pd.Index
    item: np.ndarray
    edge: np.ndarray
    node: np.ndarray
    frac: np.ndarray
    connector_m: np.ndarray
    x: np.ndarray
    y: np.ndarray
    access_speed_kmh: float
    unsnapped: pd.DataFrame
    frame: gpd.GeoDataFrame | None = None

    @property
    def n_items(self) -> int:
        """Number of input items."""
        return len(self.index)

    @property
    def snapped(self) -> pd.Series:
        """Boolean Series aligned to the input: True where at least one access point exists."""
        ok = np.zeros(self.n_items, bool)
        ok[self.item] = True
        return pd.Series(ok, index=self.index, name="snapped")

    def access_points(self) -> gpd.GeoDataFrame:
        """Return the access points: ``item`` (input label), ``edge``, ``frac``, ``connector_m``.

        Geometry: the snapped location on the network (EPSG:31370).
        """
        return gpd.GeoDataFrame(
            {"item": self.index[self.item], "edge": self.edge, "frac": self.frac,
             "connector_m": self.connector_m},
            geometry=shapely.points(self.x, self.y), crs=self.network.crs,
        )

    @classmethod
    def at_nodes(cls, network: Network, nodes, *, index=None) -> Snapping:
        """Place items exactly on network nodes (no connector), as pandana does.

        Parameters
        ----------
        network : Network
        nodes : array-like of int
            Node *positions* (``0..n_nodes-1``), one per item.
        index : pandas.Index, optional
            Labels of the items (default ``RangeIndex``).
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        if nodes.size and (nodes.min() < 0 or nodes.max() >= network.n_nodes):
            raise NetworkError(f"node positions must lie in 0..{network.n_nodes - 1}")
        index = pd.RangeIndex(len(nodes)) if index is None else pd.Index(index)
        if len(index) != len(nodes):
            raise SchemaError("index and nodes must have the same length")
        n = len(nodes)
        return cls(network=network, index=index, item=np.arange(n), edge=np.full(n, -1),
                   node=nodes, frac=np.zeros(n), connector_m=np.zeros(n),
                   x=network.x[nodes], y=network.y[nodes], access_speed_kmh=WALK_SPEED_KMH,
                   unsnapped=_empty_report(index))


def _empty_report(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"reason": pd.Series([], dtype=object),
                         "dist_m": pd.Series([], dtype=float)},
                        index=index[:0])


def snap(
    network: Network,
    items: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    max_snap_m: float = 250.0,
    barriers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    spacing_m: float = 50.0,
    max_points_per_item: int = 20,
    access_speed_kmh: float = WALK_SPEED_KMH,
) -> Snapping:
    """Snap items to the nearest edge of the network's main component.

    Points get one access point; lines and polygons get access points every
    ``spacing_m`` along their boundary (at most ``max_points_per_item``, at least one),
    each snapped on its own. The distance to the edge is walked at
    ``access_speed_kmh`` and added to travel times.

    Parameters
    ----------
    network : Network
    items : GeoDataFrame or GeoSeries
        Sites, facilities or units in a projected CRS (converted to EPSG:31370).
    max_snap_m : float, default 250
        Largest allowed distance from an access point to the network (m).
    barriers : GeoDataFrame or GeoSeries, optional
        Lines or polygons (e.g. the canal) that a connector may not cross; the
        nearest edge that can be reached without crossing is used.
    spacing_m : float, default 50
        Distance between access points along line and polygon boundaries (m).
    max_points_per_item : int, default 20
        Cap on access points per line or polygon (spacing grows to respect it).
    access_speed_kmh : float, default 4.8
        Walking speed on the connector (km/h).

    Returns
    -------
    Snapping
        With ``unsnapped`` listing every item left out, its reason and distance (m).

    Raises
    ------
    CRSError
        ``items`` or ``barriers`` have no CRS or a geographic one.
    EmptyLayerError
        ``items`` is empty.
    NetworkError
        Bad parameters, or every item lies outside the network's extent.
    """
    what = "items to snap"
    if isinstance(items, gpd.GeoSeries):
        items = gpd.GeoDataFrame(geometry=items)
    if not isinstance(items, gpd.GeoDataFrame):
        raise SchemaError(f"{what} must be a GeoDataFrame or GeoSeries, got {type(items).__name__}")
    for name, val in (("max_snap_m", max_snap_m), ("spacing_m", spacing_m),
                      ("access_speed_kmh", access_speed_kmh)):
        if not (isinstance(val, int | float) and math.isfinite(val) and val > 0):
            raise NetworkError(f"{name} must be a positive number, got {val!r}")
    if not (isinstance(max_points_per_item, int) and max_points_per_item >= 1):
        raise NetworkError(f"max_points_per_item must be an integer >= 1, got "
                           f"{max_points_per_item!r}")
    if len(items) == 0:
        raise EmptyLayerError(f"{what}: the layer is empty; nothing to snap")
    check_projected(items, what=what)
    items = to_project_crs(items, what=what)
    geoms = np.asarray(items.geometry.values)
    index = items.index
    n = len(geoms)

    # access candidates: (item position, point)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    type_id = shapely.get_type_id(geoms)
    pt_item, pts = [], []
    is_point = (type_id == 0) & ~empty
    pt_item.append(np.flatnonzero(is_point))
    pts.append(geoms[is_point])
    is_multi = (type_id == 4) & ~empty
    if is_multi.any():
        parts, idx = shapely.get_parts(geoms[is_multi], return_index=True)
        pt_item.append(np.flatnonzero(is_multi)[idx])
        pts.append(parts)
    other = ~empty & ~is_point & ~is_multi
    if other.any():
        opos = np.flatnonzero(other)
        og = geoms[other]
        lines = np.where(np.isin(shapely.get_type_id(og), (3, 6)), shapely.boundary(og), og)
        length = shapely.length(lines)
        k = np.clip(np.ceil(length / spacing_m), 1, max_points_per_item).astype(np.int64)
        rep = np.repeat(np.arange(len(og)), k)
        start = np.repeat(np.cumsum(k) - k, k)
        j = np.arange(len(rep)) - start
        dist = (j + 0.5) * length[rep] / k[rep]
        sampled = shapely.line_interpolate_point(lines[rep], dist)
        pt_item.append(opos[rep])
        pts.append(sampled)
    pt_item = np.concatenate(pt_item).astype(np.int64)
    pts = np.concatenate(pts) if pts else np.empty(0, object)

    reason = np.full(n, None, dtype=object)
    reason[empty] = EMPTY
    dist_report = np.full(n, np.nan)

    xmin, ymin, xmax, ymax = network.bounds
    px, py = shapely.get_x(pts), shapely.get_y(pts)
    inside = ((px >= xmin - max_snap_m) & (px <= xmax + max_snap_m)
              & (py >= ymin - max_snap_m) & (py <= ymax + max_snap_m))
    if not inside.any():
        raise NetworkError(
            f"{what}: all {n} items lie outside the network's extent "
            f"({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f} in EPSG:31370, +{max_snap_m:g} m); "
            "are they in the same area and CRS as the network?"
        )

    edge_geoms = network.edge_geometries
    cand = np.flatnonzero(inside)
    # nearest edge of the main component (grid search; distances as shapely's)
    ce, _cd = network.nearest_edges(px[cand], py[cand], max_dist_m=max_snap_m)
    hit = ce >= 0
    pick_pt = cand[hit]
    pick_edge = ce[hit]
    if barriers is not None:
        pick_pt, pick_edge = _avoid_barriers(network, pts, pick_pt, pick_edge, barriers,
                                             max_snap_m)
    # classify unsnapped items
    ok_item = np.zeros(n, bool)
    ok_item[pt_item[pick_pt]] = True
    lost = ~ok_item & ~empty
    if lost.any():
        inside_item = np.zeros(n, bool)
        inside_item[pt_item[inside]] = True
        reason[lost & ~inside_item] = OUTSIDE
        # distance to the main component: from the item's points within the extent, or
        # (items wholly outside it) from all of them
        lp = np.flatnonzero(((lost & inside_item)[pt_item] & inside)
                            | (lost & ~inside_item)[pt_item])
        _le, d = network.nearest_edges(px[lp], py[lp])
        np.fmin.at(dist_report, pt_item[lp], d)
        lost_in = np.flatnonzero(lost & inside_item)
        if len(lost_in):
            lp = np.flatnonzero(np.isin(pt_item, lost_in) & inside)
            ae, _ad = network.nearest_edges(px[lp], py[lp], max_dist_m=max_snap_m,
                                            main_only=False)
            near_any = np.zeros(n, bool)
            near_any[pt_item[lp[ae >= 0]]] = True
            for it in lost_in:
                if dist_report[it] <= max_snap_m:
                    reason[it] = BARRIER
                elif near_any[it]:
                    reason[it] = CUT_OFF
                else:
                    reason[it] = TOO_FAR

    # snapped locations
    sp = pts[pick_pt]
    eg = edge_geoms[pick_edge]
    frac = shapely.line_locate_point(eg, sp, normalized=True)
    frac = np.nan_to_num(np.clip(frac, 0.0, 1.0))
    on_edge = shapely.line_interpolate_point(eg, frac, normalized=True)
    connector = shapely.distance(sp, on_edge)
    item = pt_item[pick_pt]
    # of access points of one item that meet the same edge within 1 m, keep the closest
    order = np.lexsort((connector, item))
    item, pick_edge, frac, connector, on_edge = (a[order] for a in
                                                (item, pick_edge, frac, connector, on_edge))
    if len(item) > 1 and (item[1:] == item[:-1]).any():
        keep = _first_of_each(item, pick_edge, np.round(frac * network.edge_length_m[pick_edge]))
        item, pick_edge, frac, connector, on_edge = (a[keep] for a in
                                                    (item, pick_edge, frac, connector, on_edge))
    node = np.full(len(item), -1, dtype=np.int64)
    edge = pick_edge.astype(np.int64)
    at_u, at_v = frac <= 0.0, frac >= 1.0
    node[at_u] = network.edge_u[edge[at_u]]
    node[at_v] = network.edge_v[edge[at_v]]
    edge[at_u | at_v] = -1

    bad = np.flatnonzero(reason != None)  # noqa: E711 (element-wise)
    unsnapped = pd.DataFrame({"reason": reason[bad], "dist_m": dist_report[bad]},
                             index=index[bad])
    if len(unsnapped):
        counts = unsnapped["reason"].value_counts().to_dict()
        logger.warning("%d of %d items not snapped: %s", len(unsnapped), n, counts)
    if logger.isEnabledFor(logging.INFO):
        logger.info("snapped %d of %d items (%d access points), median connector %.1f m",
                    n - len(unsnapped), n, len(item),
                    float(np.median(connector)) if len(connector) else float("nan"))
    return Snapping(network=network, index=index, item=item, edge=edge, node=node, frac=frac,
                    connector_m=connector, x=shapely.get_x(on_edge), y=shapely.get_y(on_edge),
                    access_speed_kmh=float(access_speed_kmh), unsnapped=unsnapped, frame=items)


def _first_of_each(*keys: np.ndarray) -> np.ndarray:
    """Boolean mask: True at the first occurrence of each distinct row of ``keys``."""
    order = np.lexsort(keys[::-1])  # stable: equal rows keep their order
    sorted_keys = [k[order] for k in keys]
    same = np.ones(len(order) - 1, bool)
    for k in sorted_keys:
        same &= k[1:] == k[:-1]
    keep = np.ones(len(order), bool)
    keep[order[1:][same]] = False
    return keep


def _avoid_barriers(network, pts, pick_pt, pick_edge, barriers, max_snap_m):
    """Replace snaps whose connector crosses a barrier by the nearest edge that does not."""
    edge_geoms = network.edge_geometries
    if isinstance(barriers, gpd.GeoSeries):
        barriers = gpd.GeoDataFrame(geometry=barriers)
    check_projected(barriers, what="barriers")
    bgeoms = np.asarray(to_project_crs(barriers, what="barriers").geometry.values)
    bgeoms = bgeoms[~(shapely.is_missing(bgeoms) | shapely.is_empty(bgeoms))]
    if not len(bgeoms):
        return pick_pt, pick_edge
    btree = shapely.STRtree(bgeoms)

    def crossing(p_idx, e_idx):
        conn = shapely.shortest_line(pts[p_idx], edge_geoms[e_idx])
        ci, _ = btree.query(conn, predicate="intersects")
        bad = np.zeros(len(p_idx), bool)
        bad[ci] = True
        return bad

    bad = crossing(pick_pt, pick_edge)
    if not bad.any():
        return pick_pt, pick_edge
    redo = pick_pt[bad]
    main_edges, tree = network.main_edge_tree
    qi, qe = tree.query(pts[redo], predicate="dwithin", distance=max_snap_m)
    p_idx, e_idx = redo[qi], main_edges[qe]
    d = shapely.distance(pts[p_idx], edge_geoms[e_idx])
    ok = ~crossing(p_idx, e_idx)
    frame = pd.DataFrame({"p": p_idx[ok], "e": e_idx[ok], "d": d[ok]}).sort_values(["p", "d"])
    first = frame.drop_duplicates("p")
    return (np.concatenate([pick_pt[~bad], first["p"].to_numpy()]),
            np.concatenate([pick_edge[~bad], first["e"].to_numpy()]))


# --------------------------------------------------------------------------- seeds


def _weights_of(network: Network, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Arc and edge weights for ``kind`` ("time": minutes, "length": metres)."""
    if kind == "time":
        return network.arc_time_min, network.edge_time_min
    return network.arc_length_m, network.edge_length_m


def _connector_cost(s: Snapping, kind: str) -> np.ndarray:
    if kind == "time":
        return s.connector_m / (s.access_speed_kmh * 1000.0 / 60.0)
    return s.connector_m


def _seeds(network: Network, s: Snapping | None, kind: str):
    """CSR over origin items of (node, start cost)."""
    if s is None:
        n = network.n_nodes
        return (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32), np.zeros(n))
    _, ew = _weights_of(network, kind)
    c = _connector_cost(s, kind)
    on_edge = s.edge >= 0
    e = np.where(on_edge, s.edge, 0)
    rows = [
        # to u: travel v->u direction along the edge
        (on_edge & network.edge_backward[e], network.edge_u[e], c + s.frac * ew[e]),
        (on_edge & network.edge_forward[e], network.edge_v[e], c + (1.0 - s.frac) * ew[e]),
        (~on_edge, s.node, c),
    ]
    item = np.concatenate([s.item[m] for m, _, _ in rows])
    node = np.concatenate([nd[m] for m, nd, _ in rows]).astype(np.int32)
    cost = np.concatenate([cc[m] for m, _, cc in rows])
    order = np.argsort(item, kind="stable")
    ptr = np.zeros(s.n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(item, minlength=s.n_items), out=ptr[1:])
    return ptr, node[order], cost[order]


def _attachments(network: Network, s: Snapping, kind: str):
    """CSR over nodes of (destination item, offset)."""
    _, ew = _weights_of(network, kind)
    c = _connector_cost(s, kind)
    on_edge = s.edge >= 0
    e = np.where(on_edge, s.edge, 0)
    rows = [
        (on_edge & network.edge_forward[e], network.edge_u[e], c + s.frac * ew[e]),
        (on_edge & network.edge_backward[e], network.edge_v[e], c + (1.0 - s.frac) * ew[e]),
        (~on_edge, s.node, c),
    ]
    node = np.concatenate([nd[m] for m, nd, _ in rows]).astype(np.int64)
    dest = np.concatenate([s.item[m] for m, _, _ in rows]).astype(np.int32)
    off = np.concatenate([cc[m] for m, _, cc in rows])
    order = np.argsort(node, kind="stable")
    ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=network.n_nodes), out=ptr[1:])
    return ptr, dest[order], off[order]


def _direct(network: Network, o: Snapping | None, d: Snapping, kind: str):
    """CSR over origin items of same-edge (destination item, cost) candidates."""
    n_o = network.n_nodes if o is None else o.n_items
    empty = (np.zeros(n_o + 1, dtype=np.int64), np.empty(0, np.int32), np.empty(0))
    if o is None:
        return empty
    oe, de = np.flatnonzero(o.edge >= 0), np.flatnonzero(d.edge >= 0)
    # join origin and destination access points on their edge (sort + searchsorted)
    de = de[np.argsort(d.edge[de], kind="stable")]
    d_edges = d.edge[de]
    lo = np.searchsorted(d_edges, o.edge[oe], side="left")
    hi = np.searchsorted(d_edges, o.edge[oe], side="right")
    k = hi - lo
    if not k.sum():
        return empty
    oa = np.repeat(oe, k)
    da = de[np.repeat(lo, k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))]
    _, ew = _weights_of(network, kind)
    e = o.edge[oa]
    df_, of_ = d.frac[da], o.frac[oa]
    oc, dc = _connector_cost(o, kind)[oa], _connector_cost(d, kind)[da]
    cost = np.full(len(oa), np.inf)
    fwd = (df_ >= of_) & network.edge_forward[e]
    bwd = (df_ <= of_) & network.edge_backward[e]
    cost[fwd] = (oc + (df_ - of_) * ew[e] + dc)[fwd]
    alt = oc + (of_ - df_) * ew[e] + dc
    cost[bwd] = np.minimum(cost[bwd], alt[bwd])
    oi, di = o.item[oa], d.item[da]
    ok = np.isfinite(cost)
    oi, di, cost = oi[ok], di[ok], cost[ok]
    order = np.argsort(oi, kind="stable")
    ptr = np.zeros(n_o + 1, dtype=np.int64)
    np.cumsum(np.bincount(oi, minlength=n_o), out=ptr[1:])
    return ptr, di[order].astype(np.int32), cost[order]


# --------------------------------------------------------------------------- reach


@dataclasses.dataclass(frozen=True, eq=False)
class Reach:
    """Nodes reached from each origin within a limit, stored sparse (CSR over origins).

    Attributes
    ----------
    network : Network
    origins : Snapping or None
        The origins (None: every node, in node order).
    index : pandas.Index
        Labels of the origins (``node_id`` for all-node reach).
    kind : str
        ``"time"`` (costs in minutes) or ``"length"`` (metres).
    limit : float
        The limit of the search, in the unit of ``kind``.
    indptr : ndarray of int64, shape (n_origins + 1,)
        Origin ``i``'s entries are ``indptr[i]:indptr[i+1]``.
    node : ndarray of int32
        Node positions reached, by increasing cost per origin.
    cost : ndarray of float64
        Their travel cost (min or m).
    """

    network: Network
    origins: Snapping | None
    index: pd.Index
    kind: str
    limit: float
    indptr: np.ndarray
    node: np.ndarray
    cost: np.ndarray

    @property
    def unit(self) -> str:
        """``"min"`` or ``"m"``."""
        return "min" if self.kind == "time" else "m"

    def to_frame(self) -> pd.DataFrame:
        """Long table: index ``origin``; columns ``node_id`` and ``time_min`` or ``dist_m``."""
        counts = np.diff(self.indptr)
        col = "time_min" if self.kind == "time" else "dist_m"
        return pd.DataFrame(
            {"node_id": self.network.node_id[self.node], col: self.cost},
            index=pd.Index(np.repeat(self.index.to_numpy(), counts), name="origin"),
        )


def _limit(limit_min, limit_m, *, required=True) -> tuple[str, float]:
    given = [(k, v) for k, v in (("time", limit_min), ("length", limit_m)) if v is not None]
    if len(given) != 1:
        raise NetworkError("give exactly one of limit_min (minutes) or limit_m (metres)")
    kind, val = given[0]
    if isinstance(val, bool) or not isinstance(val, int | float | np.number) or math.isnan(val) \
            or val <= 0:
        name = "limit_min" if kind == "time" else "limit_m"
        raise NetworkError(f"{name} must be a positive number (inf allowed), got {val!r}")
    return kind, float(val)


def _label(kind: str, limit: float) -> str:
    if math.isinf(limit):
        return "any"
    return f"{limit:g}min" if kind == "time" else f"{limit:g}m"


def _as_snapping(network: Network, x, *, what: str, allow_none: bool) -> Snapping | None:
    if x is None:
        if not allow_none:
            raise EmptyLayerError(f"{what}: none given")
        return None
    if isinstance(x, Snapping):
        if x.network is not network:
            raise NetworkError(f"{what} were snapped to another network; snap them to this one")
        if x.n_items == 0:
            raise EmptyLayerError(f"{what}: the set is empty")
        return x
    if isinstance(x, gpd.GeoDataFrame | gpd.GeoSeries):
        if len(x) == 0:
            raise EmptyLayerError(f"{what}: the set is empty")
        s = snap(network, x)
        if len(s.unsnapped):
            logger.warning("%s: %d items not snapped (snap them first with snap() to see the "
                           "report)", what, len(s.unsnapped))
        return s
    raise SchemaError(f"{what} must be a GeoDataFrame, GeoSeries or Snapping, "
                      f"got {type(x).__name__}")


def _nthreads() -> int:
    return max(1, int(numba.get_num_threads()))


def reach(network: Network, origins, *, limit_min: float | None = None,
          limit_m: float | None = None, progress: bool = False) -> Reach:
    """Nodes reachable from each origin within a time or distance limit (sparse).

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping or None
        ``None``: every node is an origin.
    limit_min, limit_m : float
        Give exactly one: a travel-time limit (min) or a distance limit (m).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Reach
    """
    kind, limit = _limit(limit_min, limit_m)
    s = _as_snapping(network, origins, what="origins", allow_none=True)
    w, _ = _weights_of(network, kind)
    seed_ptr, seed_node, seed_cost = _seeds(network, s, kind)
    n_o = len(seed_ptr) - 1
    n = network.n_nodes
    cap = min(n, _ROW_ENTRIES)
    chunk = int(np.clip(_CHUNK_ENTRIES // cap, 1, 8192))
    nthreads = _nthreads()
    counts = np.zeros(n_o, np.int64)
    parts_node: list = []
    parts_cost: list = []
    redo: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for start in tqdm(range(0, n_o, chunk), disable=not progress, desc="reach"):
        end = min(start + chunk, n_o)
        out_node = np.empty((end - start, cap), np.int32)
        out_cost = np.empty((end - start, cap), np.float64)
        out_n = np.zeros(end - start, np.int64)
        _dijkstra.reach_chunk(network.indptr, network.indices, w, seed_ptr, seed_node,
                              seed_cost, limit, start, end, nthreads, out_node, out_cost, out_n)
        counts[start:end] = out_n
        over = np.flatnonzero(out_n > cap)
        for k in over:  # rare: more nodes reached than the row holds; run alone, full room
            o = start + int(k)
            big_node = np.empty((1, n), np.int32)
            big_cost = np.empty((1, n), np.float64)
            big_n = np.zeros(1, np.int64)
            _dijkstra.reach_chunk(network.indptr, network.indices, w, seed_ptr, seed_node,
                                  seed_cost, limit, o, o + 1, 1, big_node, big_cost, big_n)
            redo[o] = (big_node[0, :big_n[0]].copy(), big_cost[0, :big_n[0]].copy())
        if len(over):
            out_n = out_n.copy()
            out_n[over] = 0
        parts_node.append((start, _dijkstra.compact(out_node, out_n, cap)))
        parts_cost.append(_dijkstra.compact(out_cost, out_n, cap))
    nodes, costs = [], []
    for (start, pn), pc in zip(parts_node, parts_cost, strict=True):
        if not redo:
            nodes.append(pn)
            costs.append(pc)
            continue
        # splice the re-run origins back in order
        end = min(start + chunk, n_o)
        local = counts[start:end].copy()
        for o in redo:
            if start <= o < end:
                local[o - start] = 0
        bounds = np.concatenate([[0], np.cumsum(local)])
        for k in range(end - start):
            if start + k in redo:
                nodes.append(redo[start + k][0])
                costs.append(redo[start + k][1])
            else:
                nodes.append(pn[bounds[k]:bounds[k + 1]])
                costs.append(pc[bounds[k]:bounds[k + 1]])
    indptr = np.zeros(n_o + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    index = _origin_index(network, s)
    return Reach(network=network, origins=s, index=index, kind=kind, limit=limit,
                 indptr=indptr, node=np.concatenate(nodes) if nodes else np.empty(0, np.int32),
                 cost=np.concatenate(costs) if costs else np.empty(0))


def _origin_index(network: Network, s: Snapping | None) -> pd.Index:
    if s is None:
        return pd.Index(network.node_id, name="node_id")
    return s.index


# --------------------------------------------------------------------------- OD core


@dataclasses.dataclass
class _OD:
    """Sparse origin × destination costs (positions), each pair once at its least cost.

    ``chunks`` yields ``(origin, dest, cost)`` arrays chunk by chunk, so aggregations
    never hold all pairs at once; :meth:`collect` concatenates them.
    """

    chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]
    n_origins: int
    index: pd.Index
    valid: np.ndarray  # origins that could be evaluated (snapped)

    def collect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = list(self.chunks)
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0)
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    def bincount(self, values=None) -> np.ndarray:
        """Per origin: number of pairs, or the sum of ``values(dest, cost)``."""
        total = np.zeros(self.n_origins)
        for o, d, c in self.chunks:
            w = None if values is None else values(d, c)
            total += np.bincount(o, weights=w, minlength=self.n_origins)
        return total


def _group(key: np.ndarray, n_groups: int, *cols: np.ndarray):
    """CSR pointer over ``key`` (0..n_groups-1) and ``cols`` sorted by key."""
    order = np.argsort(key, kind="stable")
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n_groups), out=ptr[1:])
    return (ptr, *(c[order] for c in cols))


@dataclasses.dataclass
class _Plan:
    """How to run the searches between origins and destinations.

    ``reverse``: the searches start at the destinations and run on the reversed arcs
    (rows are destinations, columns origins); otherwise rows are origins.
    """

    reverse: bool
    indptr: np.ndarray
    indices: np.ndarray
    w: np.ndarray
    args: tuple  # seeds, attachments and direct candidates of the rows, for the kernels
    n_rows: int
    n_cols: int
    n_origins: int


def _plan(network: Network, s: Snapping | None, dests: Snapping, kind: str) -> _Plan:
    """Plan the searches from whichever side has fewer items.

    From the origins on the network, or from the destinations on the reversed network
    (same costs).
    """
    w, _ = _weights_of(network, kind)
    seed_ptr, seed_node, seed_cost = _seeds(network, s, kind)
    att_ptr, att_dest, att_off = _attachments(network, dests, kind)
    dir_ptr, dir_dest, dir_cost = _direct(network, s, dests, kind)
    n_o = len(seed_ptr) - 1
    n_d = dests.n_items
    if n_d < n_o:
        indptr, indices, arc = network.reverse_arcs
        # searches start at the destinations' attachment nodes ...
        att_node = np.repeat(np.arange(network.n_nodes), np.diff(att_ptr))
        src_ptr, src_node, src_cost = _group(att_dest.astype(np.int64), n_d,
                                             att_node.astype(np.int32), att_off)
        # ... and find the origins where their searches would have started
        seed_item = np.repeat(np.arange(n_o), np.diff(seed_ptr))
        tgt_ptr, tgt_item, tgt_off = _group(seed_node.astype(np.int64), network.n_nodes,
                                            seed_item.astype(np.int32), seed_cost)
        dir_item = np.repeat(np.arange(n_o), np.diff(dir_ptr))
        rdir_ptr, rdir_item, rdir_cost = _group(dir_dest.astype(np.int64), n_d,
                                                dir_item.astype(np.int32), dir_cost)
        return _Plan(reverse=True, indptr=indptr, indices=indices, w=w[arc],
                     args=(src_ptr, src_node, src_cost, tgt_ptr, tgt_item, tgt_off,
                           rdir_ptr, rdir_item, rdir_cost),
                     n_rows=n_d, n_cols=n_o, n_origins=n_o)
    return _Plan(reverse=False, indptr=network.indptr, indices=network.indices, w=w,
                 args=(seed_ptr, seed_node, seed_cost, att_ptr, att_dest, att_off,
                       dir_ptr, dir_dest, dir_cost),
                 n_rows=n_o, n_cols=n_d, n_origins=n_o)


def _valid(network: Network, s: Snapping | None) -> np.ndarray:
    """Origins that can be evaluated (snapped), as a boolean array."""
    if s is None:
        return np.ones(network.n_nodes, bool)
    ok = np.zeros(s.n_items, bool)
    ok[s.item] = True
    return ok


def _od(network: Network, origins, dests: Snapping, kind: str, limit: float,
        progress: bool = False) -> _OD:
    """All (origin, destination) pairs within ``limit``, computed chunk by chunk.

    The searches run from whichever side has fewer items (see :func:`_plan`).
    """
    if isinstance(origins, Reach):
        return _od_from_reach(origins, dests, kind, limit)
    s = _as_snapping(network, origins, what="origins", allow_none=True)
    p = _plan(network, s, dests, kind)
    reverse, n_rows, n_cols = p.reverse, p.n_rows, p.n_cols
    cap = min(n_cols, _ROW_ENTRIES)
    chunk = int(np.clip(_CHUNK_ENTRIES // max(cap, 1), 1, 8192))
    nthreads = _nthreads()

    def run(start, end, width):
        out_item = np.empty((end - start, width), np.int32)
        out_cost = np.empty((end - start, width), np.float64)
        out_n = np.zeros(end - start, np.int64)
        _dijkstra.od_chunk(p.indptr, p.indices, p.w, *p.args, n_cols, limit, start, end,
                           nthreads, out_item, out_cost, out_n)
        return out_item, out_cost, out_n

    def chunks():
        for start in tqdm(range(0, n_rows, chunk), disable=not progress, desc="travel times"):
            end = min(start + chunk, n_rows)
            out_item, out_cost, out_n = run(start, end, cap)
            over = np.flatnonzero(out_n > cap)
            if len(over):  # rare: more destinations reached than a row holds
                out_n = out_n.copy()
                for k in over:
                    it, co, nn = run(start + int(k), start + int(k) + 1, n_cols)
                    yield _orient(reverse, np.full(nn[0], start + k), it[0, :nn[0]].astype(
                        np.int64), co[0, :nn[0]].copy())
                out_n[over] = 0
            rows = np.repeat(np.arange(start, end), out_n)
            items = _dijkstra.compact(out_item, out_n, cap).astype(np.int64)
            costs = _dijkstra.compact(out_cost, out_n, cap)
            yield _orient(reverse, rows, items, costs)

    return _OD(chunks=chunks(), n_origins=p.n_origins, index=_origin_index(network, s),
               valid=_valid(network, s))


def _count_min(network: Network, s: Snapping | None, dests: Snapping, kind: str,
               limit: float, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per origin: destinations within ``limit`` (count) and the least cost (inf if none).

    The same searches as :func:`_od`, aggregated in the compiled kernel: no pair lists.
    Blocks of rows go to up to :func:`_nthreads` Python threads as they come free (the
    kernel releases the GIL).
    """
    p = _plan(network, s, dests, kind)
    n_rows = p.n_rows
    h, h_limit = _target_bound(network, p, kind, limit)
    nthreads = max(1, min(_nthreads(), n_rows // _MIN_BLOCK_ROWS))
    block = max(1, min(_MAX_BLOCK_ROWS, -(-n_rows // (nthreads * 8))))
    blocks = iter(range(0, n_rows, block))  # next() on it is atomic under the GIL
    cap_heap = len(p.indices) + len(p.args[1]) + 1
    bar = tqdm(total=n_rows, disable=not progress, desc="travel times")

    def work() -> tuple[np.ndarray, np.ndarray]:
        acc_n = np.zeros(p.n_origins, np.int64)
        acc_min = np.full(p.n_origins, np.inf)
        arrays = (np.full(network.n_nodes, np.inf), np.empty(network.n_nodes, np.int32),
                  np.empty(cap_heap, np.float64), np.empty(cap_heap, np.int32),
                  np.full(p.n_cols, np.inf), np.empty(p.n_cols, np.int32))
        for start in blocks:
            end = min(start + block, n_rows)
            _dijkstra.count_min_rows(p.indptr, p.indices, p.w, *p.args, limit, start, end,
                                     p.reverse, h, h_limit, *arrays, acc_n, acc_min)
            bar.update(end - start)
        return acc_n, acc_min

    if nthreads == 1:
        results = [work()]
    else:  # this thread works too
        with ThreadPoolExecutor(max_workers=nthreads - 1) as pool:
            futures = [pool.submit(work) for _ in range(nthreads - 1)]
            results = [work()] + [f.result() for f in futures]
    bar.close()
    if len(results) == 1:
        return results[0]
    return (np.sum([r[0] for r in results], axis=0),
            np.min([r[1] for r in results], axis=0))


def _target_bound(network: Network, p: _Plan, kind: str,
                  limit: float) -> tuple[np.ndarray, float]:
    """Lower bound of the cost from each node to the nearest target of the searches.

    The targets are the attachment nodes of the columns (``p.args[3:6]``); one search
    from all of them on the opposite arcs gives, per node, the least cost to reach
    one (inf beyond ``limit``). A search then skips nodes whose cost plus this bound
    exceeds the limit (plus a relative 1e-9 against rounding): no pair within the
    limit runs through them, so results do not change. Returns zeros and inf (no
    pruning) when targets sit on at least half of the nodes.
    """
    tgt_ptr, tgt_off = p.args[3], p.args[5]
    if len(tgt_off) >= network.n_nodes // 2:
        return np.zeros(network.n_nodes), math.inf
    w, _ = _weights_of(network, kind)
    tgt_node = np.repeat(np.arange(network.n_nodes, dtype=np.int32), np.diff(tgt_ptr))
    if p.reverse:  # searches run on reversed arcs: the bound on the network's arcs
        indptr, indices = network.indptr, network.indices
    else:
        indptr, indices, arc = network.reverse_arcs
        w = w[arc]
    h = _dijkstra.multi_source(indptr, indices, w, tgt_node, tgt_off, limit)
    return h, limit + 1e-9 * max(1.0, limit)


def _orient(reverse: bool, rows, items, costs):
    """Return ``(origin, dest, cost)`` from a forward or reversed search's output."""
    return (items, rows, costs) if reverse else (rows, items, costs)


def _nearest_costs(network: Network, s: Snapping | None, dests: Snapping, kind: str,
                   limit: float) -> np.ndarray:
    """Cost from each origin to its nearest destination: one search from all of them."""
    w, _ = _weights_of(network, kind)
    indptr, indices, arc = network.reverse_arcs
    att_ptr, _att_dest, att_off = _attachments(network, dests, kind)
    att_node = np.repeat(np.arange(network.n_nodes), np.diff(att_ptr)).astype(np.int32)
    to_dest = _dijkstra.multi_source(indptr, indices, w[arc], att_node, att_off, limit)
    if s is None:
        best = to_dest
    else:
        seed_ptr, seed_node, seed_cost = _seeds(network, s, kind)
        seed_item = np.repeat(np.arange(s.n_items), np.diff(seed_ptr))
        best = np.full(s.n_items, np.inf)
        np.minimum.at(best, seed_item, seed_cost + to_dest[seed_node])
        dir_ptr, _dir_dest, dir_cost = _direct(network, s, dests, kind)
        np.minimum.at(best, np.repeat(np.arange(s.n_items), np.diff(dir_ptr)), dir_cost)
    best = np.where(best <= limit, best, np.nan)
    return best


def _od_from_reach(r: Reach, dests: Snapping, kind: str, limit: float) -> _OD:
    if dests.network is not r.network:
        raise NetworkError("destinations were snapped to another network than the reach")
    if kind != r.kind or limit > r.limit:
        raise NetworkError(
            f"the reach was computed with a limit of {r.limit:g} {r.unit}; this query needs "
            f"{limit:g} {'min' if kind == 'time' else 'm'}: compute a reach with a larger limit"
        )
    net = r.network
    att_ptr, att_dest, att_off = _attachments(net, dests, kind)
    k = att_ptr[r.node + 1] - att_ptr[r.node]
    entry = np.repeat(np.arange(len(r.node)), k)
    start = np.repeat(att_ptr[r.node], k)
    pos = start + (np.arange(len(entry)) - np.repeat(np.cumsum(k) - k, k))
    o = np.repeat(np.arange(len(r.indptr) - 1), np.diff(r.indptr))[entry]
    d = att_dest[pos]
    c = r.cost[entry] + att_off[pos]
    dir_ptr, dir_dest, dir_cost = _direct(net, r.origins, dests, kind)
    o = np.concatenate([o, np.repeat(np.arange(len(dir_ptr) - 1), np.diff(dir_ptr))])
    d = np.concatenate([d, dir_dest])
    c = np.concatenate([c, dir_cost])
    ok = c <= limit
    frame = pd.DataFrame({"o": o[ok], "d": d[ok], "c": c[ok]}).groupby(["o", "d"],
                                                                     sort=True)["c"].min()
    valid = (np.ones(len(r.indptr) - 1, bool) if r.origins is None
             else r.origins.snapped.to_numpy())
    pairs = (frame.index.get_level_values(0).to_numpy(),
             frame.index.get_level_values(1).to_numpy().astype(np.int32), frame.to_numpy())
    return _OD(chunks=iter([pairs]), n_origins=len(r.indptr) - 1, index=r.index, valid=valid)


def _network_of(network: Network, origins) -> None:
    if isinstance(origins, Reach) and origins.network is not network:
        raise NetworkError("the reach was computed on another network")


# --------------------------------------------------------------------------- queries


def travel_times(network: Network, origins, destinations, *, limit_min: float | None = None,
                 limit_m: float | None = None, progress: bool = False) -> pd.Series:
    """Travel time (or distance) of every origin–destination pair within the limit.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    destinations : GeoDataFrame, GeoSeries or Snapping
    limit_min, limit_m : float
        Give exactly one (minutes or metres; ``np.inf`` for no limit).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        Named ``time_min`` (or ``dist_m``), indexed by the MultiIndex
        ``(origin, destination)`` of input labels; only pairs within the limit, sorted.
    """
    kind, limit = _limit(limit_min, limit_m)
    _network_of(network, origins)
    d = _as_snapping(network, destinations, what="destinations", allow_none=False)
    od = _od(network, origins, d, kind, limit, progress)
    o, dd, c = od.collect()
    order = np.lexsort((dd, o))
    idx = pd.MultiIndex.from_arrays(
        [od.index[o[order]], d.index[dd[order]]], names=["origin", "destination"]
    )
    return pd.Series(c[order], index=idx, name="time_min" if kind == "time" else "dist_m")


def _nearest(network, origins, facilities, kind, limit, progress, name) -> pd.Series:
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        best = np.full(od.n_origins, np.inf)
        for o, _d, c in od.chunks:
            np.minimum.at(best, o, c)
        best[~np.isfinite(best)] = np.nan
        return pd.Series(best, index=od.index, name=name)
    s = _as_snapping(network, origins, what="origins", allow_none=True)
    best = _nearest_costs(network, s, f, kind, limit)
    return pd.Series(best, index=_origin_index(network, s), name=name)


def nearest_time_min(network: Network, origins, facilities, *, limit_min: float,
                     progress: bool = False) -> pd.Series:
    """Travel time to the nearest facility of a set.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    facilities : GeoDataFrame, GeoSeries or Snapping
        Stations, stops, hubs, quays...
    limit_min : float
        Search limit in minutes (``np.inf`` for none); farther facilities are not found.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``nearest_time_min`` (float, minutes) aligned to the origins; NaN when no
        facility lies within the limit or the origin is not snapped.
    """
    kind, limit = _limit(limit_min, None)
    return _nearest(network, origins, facilities, kind, limit, progress, "nearest_time_min")


def nearest_dist_m(network: Network, origins, facilities, *, limit_m: float,
                   progress: bool = False) -> pd.Series:
    """Network distance (m) to the nearest facility; see :func:`nearest_time_min`.

    Returns
    -------
    pandas.Series
        ``nearest_dist_m`` (float, metres, connectors included) aligned to the origins.
    """
    kind, limit = _limit(None, limit_m)
    return _nearest(network, origins, facilities, kind, limit, progress, "nearest_dist_m")


def count_within(network: Network, origins, facilities, *, limit_min: float | None = None,
                 limit_m: float | None = None, progress: bool = False) -> pd.Series:
    """Count the facilities reachable within a time or distance limit.

    Returns
    -------
    pandas.Series
        ``within_<limit>_n`` (nullable Int64, e.g. ``within_15min_n``) aligned to the
        origins; <NA> for origins not snapped. A polygon facility counts once.
    """
    kind, limit = _limit(limit_min, limit_m)
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        n, valid, index = od.bincount().astype(np.int64), od.valid, od.index
    else:
        s = _as_snapping(network, origins, what="origins", allow_none=True)
        n, _best = _count_min(network, s, f, kind, limit, progress)
        valid, index = _valid(network, s), _origin_index(network, s)
    return pd.Series(_counts_array(n, valid), index=index,
                     name=f"within_{_label(kind, limit)}_n")


def _counts_array(n: np.ndarray, valid: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable Int64 counts, <NA> where not ``valid``."""
    return pd.arrays.IntegerArray(n.astype(np.int64), ~valid)


def nearest_and_count(network: Network, origins, facilities, *, limit_min: float,
                      progress: bool = False) -> pd.DataFrame:
    """Time to the nearest facility and the number of facilities within a time limit.

    One bounded search per origin (or per facility, whichever set is smaller) gives
    both results; they equal :func:`nearest_time_min` and :func:`count_within` with
    the same limit.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    facilities : GeoDataFrame, GeoSeries or Snapping
    limit_min : float
        Time limit in minutes, for both the search and the count (``np.inf``: none).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        Aligned to the origins, with columns ``nearest_time_min`` (float, minutes; NaN
        when no facility lies within the limit or the origin is not snapped) and
        ``within_<limit>_n`` (nullable Int64, e.g. ``within_15min_n``; <NA> for origins
        not snapped). A polygon facility counts once.

    Examples
    --------
    >>> acc.nearest_and_count(net, sites, stops, limit_min=15)  # doctest: +SKIP
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, origins)
    f = _as_snapping(network, facilities, what="facilities", allow_none=False)
    if isinstance(origins, Reach):
        od = _od(network, origins, f, kind, limit, progress)
        n = np.zeros(od.n_origins, np.int64)
        best = np.full(od.n_origins, np.inf)
        for o, _d, c in od.chunks:
            n += np.bincount(o, minlength=od.n_origins)
            np.minimum.at(best, o, c)
        valid, index = od.valid, od.index
    else:
        s = _as_snapping(network, origins, what="origins", allow_none=True)
        n, best = _count_min(network, s, f, kind, limit, progress)
        valid, index = _valid(network, s), _origin_index(network, s)
    best = np.where(np.isfinite(best), best, np.nan)
    return pd.DataFrame({"nearest_time_min": best,
                         f"within_{_label(kind, limit)}_n": _counts_array(n, valid)},
                        index=index, copy=False)


def _weights(dest: Snapping, weights, *, what: str) -> tuple[np.ndarray, str]:
    """Return weights per destination item as floats, and a name for results."""
    if isinstance(weights, str):
        if dest.frame is None or weights not in dest.frame.columns:
            cols = [] if dest.frame is None else [c for c in dest.frame.columns
                                                  if c != dest.frame.geometry.name]
            raise SchemaError(f"{what} lack the weight column {weights!r}; columns: {cols}")
        values, name = dest.frame[weights], weights
    elif isinstance(weights, pd.Series):
        if not weights.index.equals(dest.index):
            try:
                values = weights.loc[dest.index]
            except KeyError as exc:
                raise SchemaError(f"the weights Series does not cover every item of {what}; "
                                  "align it to their index") from exc
        else:
            values = weights
        name = str(weights.name) if weights.name is not None else "weight"
    else:
        values = pd.Series(np.asarray(weights), index=None)
        if len(values) != dest.n_items:
            raise SchemaError(f"weights has {len(values)} values but {what} has "
                              f"{dest.n_items} items")
        name = "weight"
    num = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
    bad = num.isna().to_numpy()
    if bad.any():
        labels = list(dest.index[bad][:5])
        raise SchemaError(f"{what}: weight {name!r} has {int(bad.sum())} missing or "
                          f"non-numeric value(s) (NaN), e.g. at {labels}; fill or drop them")
    arr = num.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        raise SchemaError(f"{what}: weight {name!r} has infinite values")
    return arr, name


def cumulative_opportunities(network: Network, origins, destinations, *, weights,
                             limit_min: float | None = None, limit_m: float | None = None,
                             progress: bool = False) -> pd.Series:
    """Sum of destination weights (population, job seekers, ...) reachable within a limit.

    Parameters
    ----------
    network : Network
    origins : GeoDataFrame, GeoSeries, Snapping, Reach or None (every node)
    destinations : GeoDataFrame, GeoSeries or Snapping
    weights : str, pandas.Series or array-like
        Column of ``destinations``, or values aligned to them; NaN is refused.
    limit_min, limit_m : float
        Give exactly one.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``<weights>_within_<limit>`` (float, unit of the weights), e.g.
        ``jobseekers_n_within_15min``, aligned to the origins; NaN where not snapped.
    """
    kind, limit = _limit(limit_min, limit_m)
    _network_of(network, origins)
    d = _as_snapping(network, destinations, what="destinations", allow_none=False)
    w, name = _weights(d, weights, what="destinations")
    od = _od(network, origins, d, kind, limit, progress)
    total = od.bincount(lambda dest, _cost: w[dest])
    total[~od.valid] = np.nan
    return pd.Series(total, index=od.index, name=f"{name}_within_{_label(kind, limit)}")


def decay(time_min, *, kind: str, limit_min: float | None = None,
          beta_per_min: float | None = None,
          steps: Sequence[tuple[float, float]] | None = None) -> np.ndarray:
    """Distance-decay weights for travel times.

    Parameters
    ----------
    time_min : array-like of float
        Travel times (min).
    kind : {"exponential", "linear", "step"}
        ``exp(-beta_per_min * t)``; ``max(0, 1 - t / limit_min)``; or the weight of
        the first step ``(upper_min, weight)`` with ``t <= upper_min`` (0 beyond the last).
    limit_min : float, optional
        Needed for ``"linear"``.
    beta_per_min : float, optional
        Needed for ``"exponential"`` (per minute, > 0).
    steps : sequence of (upper_min, weight), optional
        Needed for ``"step"``; upper bounds increasing.

    Returns
    -------
    ndarray of float
    """
    t = np.asarray(time_min, dtype=float)
    if kind == "exponential":
        if beta_per_min is None or not (math.isfinite(beta_per_min) and beta_per_min > 0):
            raise NetworkError(f"exponential decay needs beta_per_min > 0, got {beta_per_min!r}")
        return np.exp(-beta_per_min * t)
    if kind == "linear":
        if limit_min is None or not (math.isfinite(limit_min) and limit_min > 0):
            raise NetworkError("linear decay needs a finite limit_min > 0")
        return np.clip(1.0 - t / limit_min, 0.0, 1.0)
    if kind == "step":
        bounds, ws = _check_steps(steps)
        pos = np.searchsorted(bounds, t, side="left")
        out = np.zeros_like(t)
        inside = pos < len(bounds)
        out[inside] = ws[pos[inside]]
        return out
    raise NetworkError(f"unknown decay {kind!r}; use 'exponential', 'linear' or 'step'")


def _check_steps(steps) -> tuple[np.ndarray, np.ndarray]:
    if not steps:
        raise NetworkError("step decay / zones need steps: a list of (upper_min, weight)")
    arr = np.asarray(steps, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise NetworkError(f"steps must be (upper_min, weight) pairs of numbers, got {steps!r}")
    if (arr[:, 0] <= 0).any() or (np.diff(arr[:, 0]) <= 0).any() or (arr[:, 1] < 0).any():
        raise NetworkError("step upper bounds must be positive and increasing, weights >= 0")
    return arr[:, 0], arr[:, 1]


def gravity(network: Network, origins, destinations, *, weights, limit_min: float,
            decay_kind: str = "exponential", beta_per_min: float | None = 0.1,
            steps: Sequence[tuple[float, float]] | None = None,
            progress: bool = False) -> pd.Series:
    """Gravity accessibility: sum of ``weight × decay(time)`` over destinations within a limit.

    Parameters
    ----------
    network, origins, destinations, weights, progress
        As in :func:`cumulative_opportunities`.
    limit_min : float
        Search limit (min); also the zero point of linear decay.
    decay_kind : {"exponential", "linear", "step"}
        See :func:`decay`.
    beta_per_min : float, default 0.1
        Exponential decay rate per minute.
    steps : sequence of (upper_min, weight), optional
        Step decay.

    Returns
    -------
    pandas.Series
        ``<weights>_gravity`` (float, weight units) aligned to the origins; NaN where
        not snapped.
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, origins)
    d = _as_snapping(network, destinations, what="destinations", allow_none=False)
    w, name = _weights(d, weights, what="destinations")
    if decay_kind == "step":
        limit = min(limit, float(_check_steps(steps)[0][-1]))
    decay(np.zeros(1), kind=decay_kind, limit_min=limit, beta_per_min=beta_per_min,
          steps=steps)  # check the decay parameters before the search
    od = _od(network, origins, d, kind, limit, progress)
    total = od.bincount(lambda dest, cost: w[dest] * decay(
        cost, kind=decay_kind, limit_min=limit, beta_per_min=beta_per_min, steps=steps))
    total[~od.valid] = np.nan
    return pd.Series(total, index=od.index, name=f"{name}_gravity")


def two_step_fca(network: Network, demand, supply, *, demand_weights, supply_weights,
                 limit_min: float, zones: Sequence[tuple[float, float]] | None = None,
                 progress: bool = False) -> pd.Series:
    """Two-step floating catchment area (2SFCA), or enhanced 2SFCA with decay zones.

    Step 1: each supply site ``j`` gets ``R_j = S_j / sum_k D_k f(t_kj)`` over demand
    units ``k`` within the limit. Step 2: each demand unit gets
    ``A_k = sum_j R_j f(t_kj)``. ``f`` is 1 within ``limit_min`` (2SFCA) or the zone
    weight (E2SFCA, e.g. ``[(10, 1.0), (20, 0.68), (30, 0.22)]``). Travel runs from
    the demand units to the sites.

    Parameters
    ----------
    network : Network
    demand : GeoDataFrame, GeoSeries, Snapping or Reach
        Demand units (e.g. neighbourhoods, polygons get several access points).
    supply : GeoDataFrame, GeoSeries or Snapping
        Supply sites (e.g. existing and candidate hubs).
    demand_weights, supply_weights : str, Series or array-like
        Demand ``D_k`` (e.g. job seekers) and supply ``S_j`` (e.g. places); NaN refused.
    limit_min : float
        Catchment (min); with ``zones`` the last zone bound is used if smaller.
    zones : sequence of (upper_min, weight), optional
        Decay zones for E2SFCA.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pandas.Series
        ``fca_supply_per_demand`` (supply units per demand unit) aligned to the demand
        units; NaN where not snapped.
    """
    kind, limit = _limit(limit_min, None)
    _network_of(network, demand)
    if isinstance(demand, Reach):
        dsnap = demand.origins
        if dsnap is None:
            raise NetworkError("a 2SFCA needs demand units, not an all-node reach")
    else:
        dsnap = _as_snapping(network, demand, what="demand units", allow_none=False)
    s = _as_snapping(network, supply, what="supply sites", allow_none=False)
    dw, _ = _weights(dsnap, demand_weights, what="demand units")
    sw, _ = _weights(s, supply_weights, what="supply sites")
    if zones is not None:
        limit = min(limit, float(_check_steps(zones)[0][-1]))
    od = _od(network, demand if isinstance(demand, Reach) else dsnap, s, kind, limit, progress)
    o, d, c = od.collect()
    f = np.ones(len(c)) if zones is None else decay(c, kind="step", steps=zones)
    demand_at_site = np.bincount(d, weights=dw[o] * f, minlength=s.n_items)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand_at_site > 0, sw / demand_at_site, 0.0)
    acc = np.bincount(o, weights=ratio[d] * f, minlength=od.n_origins)
    acc = acc.astype(float)
    acc[~od.valid] = np.nan
    return pd.Series(acc, index=od.index, name="fca_supply_per_demand")


# --------------------------------------------------------------------------- isochrones


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
        Indexed by ``(origin, time_min)``; geometry in EPSG:31370 (None for origins
        not snapped).
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
        for t in times:
            if not len(aps):
                rows.append((label, t))
                geoms.append(None)
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
                        pieces.append(egeo[e])
                    elif hi > lo:
                        pieces.append(ops.substring(egeo[e], lo, hi, normalized=True))
            # connectors walked (partially) from each access point
            src = s.frame.geometry.iloc[i] if s.frame is not None else None
            for a in aps:
                if conn_t[a] > t:
                    continue
                end = shapely.Point(s.x[a], s.y[a])
                pieces.append(end if src is None else shapely.shortest_line(src, end))
            geom = (shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m))
                    if pieces else shapely.Polygon())
            if fill_holes_m2 > 0 and not geom.is_empty:
                geom = _fill_small_holes(geom, fill_holes_m2)
            rows.append((label, t))
            geoms.append(geom)
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
