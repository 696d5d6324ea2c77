"""Snap points, lines and polygons to a street network.

:func:`snap` ties every item to the network by a walked connector (never zero);
items that cannot be tied are kept and reported with a reason.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import EmptyLayerError, NetworkError, SchemaError
from productivecity._validate import check_projected
from productivecity.crs import to_crs
from productivecity.network.streets import WALK_SPEED_KMH, Network

logger = logging.getLogger(__name__)


# reasons an item is not snapped
EMPTY = "empty geometry"


OUTSIDE = "outside the network extent"


TOO_FAR = "farther than max_snap_m from the network"


CUT_OFF = "only a cut-off network component within max_snap_m"


BARRIER = "every edge within max_snap_m lies across a barrier"


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
        Snapped location on the network (the network's CRS, m).
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

        Geometry: the snapped location on the network (its CRS).
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
    what: str = "items to snap",
    warn: bool = True,
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
        Sites, facilities or units in a projected CRS (converted to the network's CRS).
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
    what : str, default "items to snap"
        What the items are (e.g. ``"transit stops"``), in messages and the warning.
    warn : bool, default True
        Log a warning naming ``what`` and counting the items not snapped by reason
        (False: the caller reports them; they are in ``unsnapped`` either way).

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

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> stops = pc.snap(walk, layers["transit_stops"], max_snap_m=250)
    >>> stops.n_items, int(stops.snapped.sum()), len(stops.unsnapped)
    (23, 23, 0)
    """
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
    check_projected(items, what=what, suggest=network.crs)
    if network.crs is not None:  # else a hand-made network: items in its coordinates
        items = to_crs(items, network.crs, what=what)
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
            f"({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f} in {network.crs}, "
            f"+{max_snap_m:g} m); "
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
    if len(unsnapped) and warn:
        logger.warning("%s: %d of %d items not snapped to the %s network, left out of its "
                       "travel times (%s)", what, len(unsnapped), n, network.mode,
                       unsnapped_reasons(unsnapped, max_snap_m=max_snap_m))
    if logger.isEnabledFor(logging.INFO):
        logger.info("snapped %d of %d items (%d access points), median connector %.1f m",
                    n - len(unsnapped), n, len(item),
                    float(np.median(connector)) if len(connector) else float("nan"))
    return Snapping(network=network, index=index, item=item, edge=edge, node=node, frac=frac,
                    connector_m=connector, x=shapely.get_x(on_edge), y=shapely.get_y(on_edge),
                    access_speed_kmh=float(access_speed_kmh), unsnapped=unsnapped, frame=items)


def unsnapped_reasons(unsnapped: pd.DataFrame, *, max_snap_m: float) -> str:
    """Return the items not snapped counted by reason, for people (``"3 outside ..., 1 ..."``)."""
    counts = unsnapped["reason"].value_counts()
    return ", ".join(f"{n} {str(r).replace('max_snap_m', f'{max_snap_m:g} m')}"
                     for r, n in counts.items())


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
    check_projected(barriers, what="barriers", suggest=network.crs)
    if network.crs is not None:
        barriers = to_crs(barriers, network.crs, what="barriers")
    bgeoms = np.asarray(barriers.geometry.values)
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

