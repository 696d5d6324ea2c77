"""Walk and bike street networks in compact arrays.

A :class:`Network` is built from a local OSM file (PBF or XML, read with
pyosmium), from an osmnx graph, or downloaded through osmnx when online.
Ways are filtered per mode like osmnx's ``network_type="walk"`` / ``"bike"``
filters; bikes follow one-way rules (``oneway``, roundabouts) unless the way
allows contraflow cycling (``oneway:bicycle=no``, ``cycleway=opposite*``).
Degree-2 nodes are contracted (as ``osmnx.simplify_graph`` does) while edge
geometries and lengths stay exact. Arcs are stored in CSR form (``indptr``,
``indices``) with lengths in metres and travel times in minutes, node
coordinates in the study area's metric CRS. Builds from files and downloads are cached on
disk, named by a hash of the input bytes (or request) and the build
parameters.

Examples
--------
>>> from productivecity import network
>>> net = network.walk_network("brussels.osm.pbf")  # doctest: +SKIP
>>> net.n_nodes, net.n_edges  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from productivecity._errors import CRSError, DataSourceError, NetworkError
from productivecity.crs import as_crs, crs_label, is_metric, utm_crs
from productivecity.io import file_sha256
from productivecity.settings import Settings, get_settings

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

#: Default speeds (km/h).
WALK_SPEED_KMH = 4.8
BIKE_SPEED_KMH = 15.0

#: Bump when the build changes, so cached builds are not reused.
_BUILD_VERSION = "2"

# Way filters, as in osmnx 2.x ``_overpass._get_network_filter`` (Overpass "!~" is an
# unanchored regex match; a missing tag passes).
_EXCLUDE = {
    "walk": {
        "area": "yes",
        "access": "private",
        "highway": "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|"
        "proposed|raceway|razed|rest_area|services",
        "foot": "no",
        "service": "private",
        "sidewalk": "separate",
        "sidewalk:both": "separate",
        "sidewalk:left": "separate",
        "sidewalk:right": "separate",
    },
    "bike": {
        "area": "yes",
        "access": "private",
        "highway": "abandoned|bus_guideway|construction|corridor|elevator|escalator|footway|"
        "motor|no|planned|platform|proposed|raceway|razed|rest_area|services|steps",
        "bicycle": "no",
        "service": "private",
    },
}
_EXCLUDE_RE = {
    mode: {k: re.compile(v) for k, v in rules.items()} for mode, rules in _EXCLUDE.items()
}
_TAGS_USED = sorted(
    {k for rules in _EXCLUDE.values() for k in rules}
    | {"oneway", "oneway:bicycle", "junction", "cycleway", "cycleway:left", "cycleway:right",
       "cycleway:both"}
)
_ONEWAY_YES = {"yes", "true", "1"}
_ONEWAY_REVERSE = {"-1", "reverse"}
_MODES = ("walk", "bike")


def way_allowed(tags: dict, mode: str) -> bool:
    """Return True if a way with these OSM ``tags`` belongs to the ``mode`` network.

    Parameters
    ----------
    tags : dict of str to str
        OSM tags of the way.
    mode : {"walk", "bike"}
        Network mode; the rules are osmnx's ``walk`` / ``bike`` filters.
    """
    if "highway" not in tags:
        return False
    for key, rx in _EXCLUDE_RE[mode].items():
        value = tags.get(key)
        if value is not None and rx.search(value):
            return False
    return True


def way_directions(tags: dict, mode: str) -> tuple[bool, bool]:
    """Return ``(forward, backward)``: may the mode travel along / against the way's node order.

    Walking ignores one-way tags. Cycling follows ``oneway=yes|-1`` and roundabouts
    (``junction=roundabout|circular``), ``oneway:bicycle`` overrides them, and
    contraflow cycleways (``cycleway[:left|:right|:both]=opposite*``) make a one-way
    street two-way for bikes.
    """
    if mode == "walk":
        return True, True
    oneway = tags.get("oneway", "").strip().lower()
    if tags.get("junction") in ("roundabout", "circular") and oneway != "no":
        oneway = "yes"
    bike_rule = tags.get("oneway:bicycle", "").strip().lower()
    if bike_rule:
        oneway = bike_rule
    elif oneway and any(
        tags.get(k, "").startswith("opposite")
        for k in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")
    ):
        oneway = "no"
    if oneway in _ONEWAY_YES:
        return True, False
    if oneway in _ONEWAY_REVERSE:
        return False, True
    return True, True


@dataclasses.dataclass
class NetworkReport:
    """What the build did.

    Attributes
    ----------
    source : str
        File, graph or request the network came from.
    mode : str
        ``"walk"`` or ``"bike"``.
    ways_n : int
        OSM ways (or graph edges) read for the mode.
    raw_nodes_n : int
        Nodes before simplification.
    contracted_nodes_n : int
        Degree-2 nodes removed by simplification (kept as edge geometry).
    removed_components_n, removed_nodes_n : int
        Disconnected pieces left out (``retain_all=False``) and their nodes.
    components_n : int
        Weakly connected components kept.
    from_cache : bool
        True if the build was loaded from the disk cache.
    ways_cut_n : int
        Ways of an extract cut at its edge (nodes missing from the file) kept
        as their runs of consecutive nodes in the file (counted in ``ways_n``).
    ways_cut_off_n : int
        Such ways left out: fewer than 2 consecutive nodes in the file.
    missing_node_refs_n : int
        Node references of the mode's ways to nodes missing from the file.
    """

    source: str
    mode: str
    ways_n: int = 0
    raw_nodes_n: int = 0
    contracted_nodes_n: int = 0
    removed_components_n: int = 0
    removed_nodes_n: int = 0
    components_n: int = 0
    from_cache: bool = False
    ways_cut_n: int = 0
    ways_cut_off_n: int = 0
    missing_node_refs_n: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class Network:
    """A street network for one mode, in compact arrays (its metric CRS, metres, minutes).

    Nodes are numbered ``0..n_nodes-1``; edges (physical street segments after
    simplification) ``0..n_edges-1``; arcs are the allowed travel directions of
    edges, stored in CSR order by tail node.

    Attributes
    ----------
    mode : str
        ``"walk"`` or ``"bike"``.
    speed_kmh : float
        Travel speed on every edge (km/h).
    node_id : ndarray of int64, shape (n_nodes,)
        OSM node ids (or the osmnx graph's node labels when they are integers).
    x, y : ndarray of float64, shape (n_nodes,)
        Node coordinates in the network CRS (easting, northing; metres).
    edge_u, edge_v : ndarray of int32, shape (n_edges,)
        End nodes of each edge; the geometry runs from ``u`` to ``v``.
    edge_length_m : ndarray of float64, shape (n_edges,)
        Edge lengths in metres (length of the full geometry).
    edge_forward, edge_backward : ndarray of bool, shape (n_edges,)
        Travel allowed from ``u`` to ``v`` / from ``v`` to ``u``.
    geom_offsets : ndarray of int64, shape (n_edges + 1,)
        Edge ``e``'s vertices are ``geom_xy[geom_offsets[e]:geom_offsets[e+1]]``.
    geom_xy : ndarray of float64, shape (n_vertices, 2)
        Edge geometry vertices (x, y) in the network CRS.
    indptr : ndarray of int64, shape (n_nodes + 1,)
        CSR row pointer: arcs leaving node ``i`` are ``indptr[i]:indptr[i+1]``.
    indices : ndarray of int32, shape (n_arcs,)
        Head node of each arc.
    arc_edge : ndarray of int32, shape (n_arcs,)
        Edge of each arc.
    arc_length_m, arc_time_min : ndarray of float64, shape (n_arcs,)
        Arc length (m) and travel time (min).
    component : ndarray of int32, shape (n_nodes,)
        Weakly connected component; 0 is the largest.
    report : NetworkReport
        What the build did.
    crs : str or None
        The metric CRS of the coordinates (e.g. ``"EPSG:32635"``): the one the
        network was built in (the study area's); None for hand-made networks
        whose CRS was not given.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> osm = DataDir(sample_data_dir()).find("osm_xml")  # the sample's OSM extract
    >>> walk = pc.walk_network(osm)
    >>> walk.mode, walk.speed_kmh, walk.crs
    ('walk', 4.8, 'EPSG:32631')
    >>> walk.n_nodes, walk.n_edges
    (776, 1486)
    """

    mode: str
    speed_kmh: float
    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_forward: np.ndarray
    edge_backward: np.ndarray
    geom_offsets: np.ndarray
    geom_xy: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    arc_edge: np.ndarray
    arc_length_m: np.ndarray
    arc_time_min: np.ndarray
    component: np.ndarray
    report: NetworkReport
    crs: str | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Number of edges (street segments)."""
        return len(self.edge_u)

    @property
    def n_arcs(self) -> int:
        """Number of arcs (allowed edge directions)."""
        return len(self.indices)

    @property
    def edge_time_min(self) -> np.ndarray:
        """Edge travel times in minutes at :attr:`speed_kmh`."""
        return self.edge_length_m / (self.speed_kmh * 1000.0 / 60.0)

    @functools.cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the nodes and geometries, in the network CRS (metres)."""
        xy = self.geom_xy
        return (float(xy[:, 0].min()), float(xy[:, 1].min()),
                float(xy[:, 0].max()), float(xy[:, 1].max()))

    @functools.cached_property
    def edge_geometries(self) -> np.ndarray:
        """Edge geometries as an array of shapely LineStrings (network CRS)."""
        counts = np.diff(self.geom_offsets)
        idx = np.repeat(np.arange(self.n_edges), counts)
        return shapely.linestrings(self.geom_xy, indices=idx)

    @functools.cached_property
    def reverse_arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR of the reversed arcs: ``(indptr, indices, arc)``.

        Reversed arcs leaving node ``i`` are ``indptr[i]:indptr[i+1]``; ``indices`` are
        their heads (the forward arcs' tails) and ``arc`` the forward arc each one
        reverses (index into :attr:`indices`, :attr:`arc_time_min`, ...).
        """
        tails = np.repeat(np.arange(self.n_nodes, dtype=np.int32), np.diff(self.indptr))
        order = np.argsort(self.indices, kind="stable")
        indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.indices, minlength=self.n_nodes), out=indptr[1:])
        return indptr, tails[order], order.astype(np.int64)

    @functools.cached_property
    def main_edge_tree(self) -> tuple[np.ndarray, shapely.STRtree]:
        """Edges of the largest component and an STRtree of their geometries."""
        main = np.flatnonzero(self.component[self.edge_u] == 0)
        return main, shapely.STRtree(self.edge_geometries[main])

    @functools.cached_property
    def main_edge_mask(self) -> np.ndarray:
        """Boolean array over edges: True for edges of the largest component (0)."""
        return self.component[self.edge_u] == 0

    @functools.cached_property
    def segment_grid(self):
        """Straight segments of the edge geometries bucketed in a uniform grid.

        Built once per network (a :class:`productivecity.network._snapgrid.SegmentGrid`); used
        by :meth:`nearest_edges`.
        """
        from productivecity.network import _snapgrid

        return _snapgrid.build(self.geom_offsets, self.geom_xy)

    def nearest_edges(self, x, y, *, max_dist_m: float = math.inf,
                      main_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Nearest edge to each point, by straight-line distance to the edge geometry.

        Parameters
        ----------
        x, y : array-like of float
            Point coordinates in the network CRS (easting, northing; metres).
        max_dist_m : float, default inf
            Edges farther than this (m) are not considered.
        main_only : bool, default True
            Consider only edges of the largest component.

        Returns
        -------
        edge : ndarray of int64
            Edge number, or -1 where no edge lies within ``max_dist_m``.
        dist_m : ndarray of float64
            Distance to that edge (m; ``inf`` where ``edge`` is -1). Distances equal
            :func:`shapely.distance` to :attr:`edge_geometries`; among edges at the same
            distance the lowest edge number is returned.
        """
        from productivecity.network import _snapgrid

        if not (isinstance(max_dist_m, int | float | np.number) and max_dist_m >= 0):
            raise NetworkError(f"max_dist_m must be a number >= 0 (m), got {max_dist_m!r}")
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise NetworkError("x and y must be 1-d arrays of the same length")
        ok = self.main_edge_mask if main_only else np.ones(self.n_edges, bool)
        return _snapgrid.nearest(self.segment_grid, x, y, ok, float(max_dist_m))

    def with_speed(self, speed_kmh: float) -> Network:
        """Return the same network with another travel speed (km/h)."""
        _check_speed(speed_kmh)
        return dataclasses.replace(
            self, speed_kmh=float(speed_kmh),
            arc_time_min=self.arc_length_m / (float(speed_kmh) * 1000.0 / 60.0),
        )

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Return nodes as a GeoDataFrame indexed by ``node_id`` (columns ``component``)."""
        return gpd.GeoDataFrame(
            {"component": self.component},
            geometry=shapely.points(self.x, self.y),
            index=pd.Index(self.node_id, name="node_id"),
            crs=self.crs,
        )

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Return edges as a GeoDataFrame.

        Columns: ``u``, ``v`` (node ids), ``length_m``, ``time_min``, ``forward``,
        ``backward`` (travel allowed u→v / v→u), geometry (network CRS, from u to v).
        """
        return gpd.GeoDataFrame(
            {
                "u": self.node_id[self.edge_u],
                "v": self.node_id[self.edge_v],
                "length_m": self.edge_length_m,
                "time_min": self.edge_time_min,
                "forward": self.edge_forward,
                "backward": self.edge_backward,
            },
            geometry=self.edge_geometries,
            index=pd.RangeIndex(self.n_edges, name="edge"),
            crs=self.crs,
        )

    def to_networkx(self) -> nx.MultiDiGraph:
        """Return the network as a networkx MultiDiGraph (one edge per arc).

        Nodes are the positions ``0..n_nodes-1`` with attributes ``x``, ``y``,
        ``osmid``; edges carry ``length_m``, ``time_min`` and ``edge`` (edge number).
        """
        import networkx as nx  # only here: 0.07 s of every run's start otherwise

        g = nx.MultiDiGraph(crs=self.crs)
        g.add_nodes_from(
            (i, {"x": float(self.x[i]), "y": float(self.y[i]), "osmid": int(self.node_id[i])})
            for i in range(self.n_nodes)
        )
        tails = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))
        g.add_edges_from(
            (int(u), int(v), {"length_m": float(lm), "time_min": float(tm), "edge": int(e)})
            for u, v, lm, tm, e in zip(tails, self.indices, self.arc_length_m,
                                       self.arc_time_min, self.arc_edge, strict=True)
        )
        return g


# --------------------------------------------------------------------------- public builders


def walk_network(
    source,
    *,
    speed_kmh: float = WALK_SPEED_KMH,
    crs=None,
    simplify: bool = True,
    retain_all: bool = False,
    cache: bool = True,
    settings: Settings | None = None,
) -> Network:
    """Build the walking network.

    Parameters
    ----------
    source : str, Path, networkx.MultiDiGraph, or shapely Polygon / GeoDataFrame / GeoSeries
        A local OSM file (``.osm.pbf``, ``.pbf``, ``.osm``, ``.xml``); an osmnx graph in
        a projected CRS (its edge ``length`` attribute is used as is); or an area to
        download through osmnx (a polygon in EPSG:4326, or a GeoDataFrame/GeoSeries
        with a CRS) when online. Lengths of file and downloaded networks are those of
        the edge geometries in ``crs``.
    speed_kmh : float, default 4.8
        Walking speed in km/h.
    crs : str, int or pyproj.CRS, optional
        The metric CRS of the network: the study area's (``area.crs``). Default:
        an osmnx graph's own CRS, else the UTM zone of the data.
    simplify : bool, default True
        Contract degree-2 nodes (geometries and lengths stay exact).
    retain_all : bool, default False
        Keep every connected component; otherwise only the largest (the others are
        counted in :attr:`Network.report`).
    cache : bool, default True
        Reuse/store the build in ``settings.cache_dir / "networks"`` (files and
        downloads only).
    settings : Settings, optional
        Cache folder, offline flag, Overpass endpoint; default :func:`get_settings`.

    Returns
    -------
    Network

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> osm = DataDir(sample_data_dir()).find("osm_xml")  # the sample's OSM extract
    >>> walk = pc.walk_network(osm)  # built once, then read from the cache
    >>> walk.n_nodes, walk.n_edges, walk.report.components_n
    (776, 1486, 1)
    """
    return build_network(source, mode="walk", speed_kmh=speed_kmh, crs=crs, simplify=simplify,
                         retain_all=retain_all, cache=cache, settings=settings)


def bike_network(
    source,
    *,
    speed_kmh: float = BIKE_SPEED_KMH,
    crs=None,
    simplify: bool = True,
    retain_all: bool = False,
    cache: bool = True,
    settings: Settings | None = None,
) -> Network:
    """Build the cycling network (one-way rules for bikes apply).

    Parameters are those of :func:`walk_network`; ``speed_kmh`` defaults to 15 km/h.
    An osmnx graph given as ``source`` is taken with its own edge directions.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> osm = DataDir(sample_data_dir()).find("osm_xml")  # the sample's OSM extract
    >>> bike = pc.bike_network(osm)
    >>> bike.mode, bike.speed_kmh, bike.n_nodes
    ('bike', 15.0, 788)
    """
    return build_network(source, mode="bike", speed_kmh=speed_kmh, crs=crs, simplify=simplify,
                         retain_all=retain_all, cache=cache, settings=settings)


def build_network(
    source,
    *,
    mode: str,
    speed_kmh: float,
    crs=None,
    simplify: bool = True,
    retain_all: bool = False,
    cache: bool = True,
    settings: Settings | None = None,
) -> Network:
    """Build a network for ``mode`` (``"walk"`` or ``"bike"``); see :func:`walk_network`.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> osm = DataDir(sample_data_dir()).find("osm_xml")  # the sample's OSM extract
    >>> slow = pc.build_network(osm, mode="walk", speed_kmh=4.0)  # e.g. for older walkers
    >>> slow.mode, slow.speed_kmh
    ('walk', 4.0)
    """
    if mode not in _MODES:
        raise NetworkError(f"unknown network mode {mode!r}; expected one of {list(_MODES)}")
    _check_speed(speed_kmh)
    settings = settings or get_settings()
    crs = _network_crs(crs)
    # a networkx graph (its module imported by whoever made it; not imported here)
    nx_ = sys.modules.get("networkx")
    if nx_ is not None and isinstance(source, nx_.Graph):
        segs, label = _segments_from_graph(source, mode, crs=crs), "osmnx graph"
        return _assemble(segs, mode=mode, speed_kmh=speed_kmh, simplify=simplify,
                         retain_all=retain_all, source=label)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise DataSourceError(f"OSM file not found: {path}")
        cache_file = network_cache_file(path, mode=mode, crs=crs, simplify=simplify,
                                        retain_all=retain_all, settings=settings)
        key = cache_file.stem.removeprefix(f"{mode}-")
        loader = functools.partial(_segments_from_osm_file, path, mode, crs)
        label = str(path)
    else:
        polygon = _polygon_wgs84(source)
        if crs is None:  # the source's own metric CRS, else the UTM zone of the area
            own = getattr(source, "crs", None)
            crs = (as_crs(own).to_string() if own is not None and is_metric(own)
                   else utm_crs(*shapely.centroid(polygon).coords[0]).to_string())
        key = _cache_key({"polygon_wkb": shapely.to_wkb(polygon, hex=True),
                          "overpass_url": settings.overpass_url, "mode": mode,
                          "simplify": simplify, "retain_all": retain_all, "crs": crs})
        loader = functools.partial(_segments_online, polygon, mode, settings, crs)
        label = f"osmnx download ({settings.overpass_url})"
    cache_file = settings.cache_dir / "networks" / f"{mode}-{key}.npz"
    if cache and cache_file.is_file():
        try:
            net = _load(cache_file, speed_kmh)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable network cache %s: %s", cache_file, exc)
        else:
            logger.info("network loaded from cache %s", cache_file)
            return net
    net = _assemble(loader(), mode=mode, speed_kmh=speed_kmh, simplify=simplify,
                    retain_all=retain_all, source=label)
    if cache:
        _save(net, cache_file)
    return net


def network_cache_file(path: str | Path, *, mode: str, crs=None, simplify: bool = True,
                       retain_all: bool = False, settings: Settings | None = None) -> Path:
    """Return where the network of an OSM file is cached (whether or not it is there yet)."""
    settings = settings or get_settings()
    key = _cache_key({"file_sha256": file_sha256(Path(path)), "mode": mode,
                      "simplify": simplify, "retain_all": retain_all,
                      "crs": _network_crs(crs) or "utm"})
    return settings.cache_dir / "networks" / f"{mode}-{key}.npz"


def from_arrays(
    u: Iterable[int],
    v: Iterable[int],
    length_m: Iterable[float],
    x: dict | pd.Series,
    y: dict | pd.Series,
    *,
    mode: str = "walk",
    speed_kmh: float = WALK_SPEED_KMH,
    forward: Iterable[bool] | None = None,
    backward: Iterable[bool] | None = None,
    simplify: bool = False,
    retain_all: bool = True,
    crs=None,
) -> Network:
    """Build a network from an edge list with straight edges (small hand-made graphs).

    Parameters
    ----------
    u, v : sequences of int
        End node ids of each edge (integers).
    length_m : sequence of float
        Edge lengths in metres (may differ from the straight-line distance).
    x, y : mapping of node id to float
        Node coordinates in metres, in ``crs``.
    mode, speed_kmh : see :func:`build_network`
    crs : optional
        The metric CRS of ``x`` and ``y``; None: not known (whatever is snapped
        to the network must then be in the same coordinates).
    forward, backward : sequences of bool, optional
        Travel allowed u→v / v→u (default: both).
    simplify, retain_all : bool
        See :func:`walk_network` (defaults keep the graph as given).

    Returns
    -------
    Network
    """
    if mode not in _MODES:
        raise NetworkError(f"unknown network mode {mode!r}; expected one of {list(_MODES)}")
    _check_speed(speed_kmh)
    u = list(u)
    v = list(v)
    lengths = np.asarray(list(length_m), dtype=float)
    if not (len(u) == len(v) == len(lengths)):
        raise NetworkError("u, v and length_m must have the same length")
    if len(u) and (not np.isfinite(lengths).all() or (lengths < 0).any()):
        raise NetworkError("edge lengths must be finite and non-negative (metres)")
    fwd = [True] * len(u) if forward is None else [bool(f) for f in forward]
    bwd = [True] * len(u) if backward is None else [bool(b) for b in backward]
    if not len(u):
        raise NetworkError("edge list: the network has no edges")
    if not simplify:
        ids, inv = np.unique(np.asarray(u + v, dtype=np.int64), return_inverse=True)
        xs = pd.Series(x, dtype=float).reindex(ids).to_numpy()
        ys = pd.Series(y, dtype=float).reindex(ids).to_numpy()
        if np.isnan(xs).any() or np.isnan(ys).any():
            raise NetworkError("x and y must give coordinates for every node of u and v")
        eu, ev = inv[:len(u)], inv[len(u):]
        geom_xy = np.empty((2 * len(u), 2))
        geom_xy[0::2] = np.c_[xs[eu], ys[eu]]
        geom_xy[1::2] = np.c_[xs[ev], ys[ev]]
        report = NetworkReport(source="edge list", mode=mode, ways_n=len(u),
                               raw_nodes_n=len(ids))
        net = _finish(report, node_id=ids, x=xs, y=ys, eu=eu, ev=ev,
                      offsets=np.arange(0, 2 * len(u) + 1, 2, dtype=np.int64),
                      geom_xy=geom_xy, given_length=lengths, fwd=np.asarray(fwd, bool),
                      bwd=np.asarray(bwd, bool), mode=mode, speed_kmh=speed_kmh,
                      retain_all=retain_all, source="edge list")
        return dataclasses.replace(net, crs=_network_crs(crs))
    segs = _Segments()
    for a, b, length, f, bk in zip(u, v, lengths, fwd, bwd, strict=True):
        segs.add(a, b, [(float(x[a]), float(y[a])), (float(x[b]), float(y[b]))], f, bk,
                 length_m=float(length))
    segs.ways_n = len(u)
    segs.crs = _network_crs(crs)
    return _assemble(segs, mode=mode, speed_kmh=speed_kmh, simplify=simplify,
                     retain_all=retain_all, source="edge list")


# --------------------------------------------------------------------------- readers


class _Segments:
    """Edges before assembly: end node ids, polylines (in ``crs``), directions, lengths."""

    def __init__(self):
        self.crs: str | None = None
        self.u: list[int] = []
        self.v: list[int] = []
        self.coords: list = []
        self.fwd: list[bool] = []
        self.bwd: list[bool] = []
        self.length: list[float] = []  # NaN: geometric length
        self.ways_n = 0
        self.ways_cut_n = 0  # ways of an extract cut at its edge, kept in part
        self.ways_cut_off_n = 0  # such ways left out (< 2 consecutive nodes in the file)
        self.missing_node_refs_n = 0

    def add(self, u, v, coords, fwd, bwd, length_m=math.nan):
        self.u.append(u)
        self.v.append(v)
        self.coords.append(coords)
        self.fwd.append(fwd)
        self.bwd.append(bwd)
        self.length.append(length_m)


@functools.lru_cache(maxsize=8)
def _from_lonlat(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _network_crs(crs) -> str | None:
    """Check a network CRS (metric) and return it as a string (None stays None)."""
    if crs is None:
        return None
    c = as_crs(crs, what="network crs")
    if not is_metric(c):
        raise CRSError(f"a network needs a projected CRS in metres, got {crs_label(c)}")
    return c.to_string()


def _segments_from_osm_file(path: Path, mode: str, crs: str | None = None) -> _Segments:
    """Read the ways of ``mode`` from an OSM PBF/XML file with pyosmium.

    Coordinates are projected to ``crs``; None: the UTM zone of the ways.
    """
    import osmium

    ways = []  # (node refs, lon, lat, fwd, bwd): whole ways, or their parts in the file
    ways_n = ways_cut_n = ways_cut_off_n = missing_n = 0
    try:
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.KeyFilter("highway")))
        for obj in fp:
            if not obj.is_way():
                continue
            tags = {t.k: t.v for t in obj.tags}
            if not way_allowed(tags, mode):
                continue
            nodes = obj.nodes
            refs = [nd.ref for nd in nodes]
            located = [nd.location.valid() for nd in nodes]
            lons = [nd.location.lon if ok else math.nan for nd, ok in zip(nodes, located,
                                                                          strict=True)]
            lats = [nd.location.lat if ok else math.nan for nd, ok in zip(nodes, located,
                                                                          strict=True)]
            # an extract cut by a box: keep the runs of >= 2 consecutive nodes in the file
            parts = _located_runs(located)
            if not all(located):
                missing_n += len(refs) - sum(located)
                if parts:
                    ways_cut_n += 1
                else:
                    ways_cut_off_n += 1
            if parts:
                ways_n += 1
            directions = way_directions(tags, mode)
            for i, j in parts:
                ways.append((refs[i:j], lons[i:j], lats[i:j], *directions))
    except RuntimeError as exc:  # osmium reports format errors as RuntimeError
        raise DataSourceError(f"cannot read OSM file {path}: {exc}") from exc
    if missing_n:
        logger.warning(
            "%s is cut at its edge: %d %s ways lack %d node refs; %d of them kept as their "
            "parts in the file (split at the missing nodes), %d left out (fewer than 2 "
            "consecutive nodes in the file)", path, ways_cut_n + ways_cut_off_n, mode,
            missing_n, ways_cut_n, ways_cut_off_n)
    if not ways:
        cut = (f" ({ways_cut_off_n} left out: fewer than 2 consecutive nodes in the file)"
               if ways_cut_off_n else "")
        raise NetworkError(f"{path}: no {mode} ways (highway=*) found{cut}")
    lon = np.concatenate([np.asarray(w[1]) for w in ways])
    lat = np.concatenate([np.asarray(w[2]) for w in ways])
    if crs is None:
        crs = utm_crs(float(np.median(lon)), float(np.median(lat))).to_string()
    xs, ys = _from_lonlat(crs).transform(lon, lat)
    segs = _Segments()
    segs.crs = crs
    segs.ways_n = ways_n
    segs.ways_cut_n, segs.ways_cut_off_n, segs.missing_node_refs_n = (
        ways_cut_n, ways_cut_off_n, missing_n)
    pos = 0
    for refs, _lo, _la, fwd, bwd in ways:
        n = len(refs)
        xy = list(zip(xs[pos:pos + n].tolist(), ys[pos:pos + n].tolist(), strict=True))
        pos += n
        for i in range(n - 1):
            if refs[i] == refs[i + 1]:
                continue
            segs.add(refs[i], refs[i + 1], [xy[i], xy[i + 1]], fwd, bwd)
    logger.info("%s: %d %s ways read", path, ways_n, mode)
    return segs


def _located_runs(located: list[bool]) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` of the runs of >= 2 consecutive True values."""
    runs, start = [], None
    for i, ok in enumerate([*located, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start >= 2:
                runs.append((start, i))
            start = None
    return runs


def _segments_from_graph(graph, mode: str, *, crs: str | None = None,
                         use_length_attr: bool = True) -> _Segments:
    """Convert an osmnx-style graph (projected CRS; x/y node attributes) to segments.

    Coordinates are projected to ``crs`` (default: kept in the graph's CRS).
    Edge lengths come from the ``length`` attribute (metres) when present and
    ``use_length_attr``; otherwise from the geometry in that CRS.
    """
    gcrs = graph.graph.get("crs")
    if gcrs is None:
        raise CRSError(
            "the graph has no CRS (graph.graph['crs']); build it with osmnx, or set it and "
            "project it with ox.project_graph(G) (osmnx picks the UTM zone)"
        )
    gcrs = pyproj.CRS.from_user_input(gcrs)
    if not gcrs.is_projected:
        raise CRSError(
            f"the graph is in the geographic CRS {gcrs.to_string()}; project it first with "
            f"ox.project_graph(G, to_crs={crs!r}) (None: osmnx picks the UTM zone)"
        )
    target = pyproj.CRS.from_user_input(crs) if crs is not None else gcrs
    if graph.number_of_edges() == 0:
        raise NetworkError("the graph has no edges")
    nodes = list(graph.nodes)
    try:
        xs = np.array([graph.nodes[n]["x"] for n in nodes], dtype=float)
        ys = np.array([graph.nodes[n]["y"] for n in nodes], dtype=float)
    except KeyError as exc:
        raise NetworkError("every graph node needs 'x' and 'y' attributes (osmnx style)") from exc
    to_project = None
    if not gcrs.equals(target):
        to_project = pyproj.Transformer.from_crs(gcrs, target, always_xy=True)
        xs, ys = to_project.transform(xs, ys)
    pos = {n: (float(a), float(b)) for n, a, b in zip(nodes, xs, ys, strict=True)}
    directed = graph.is_directed()
    multi = graph.is_multigraph()
    seen = set()
    segs = _Segments()
    segs.crs = crs if crs is not None else target.to_string()
    edges = graph.edges(keys=True, data=True) if multi else graph.edges(data=True)
    for item in edges:
        if multi:
            a, b, _k, data = item
        else:
            a, b, data = item
        geom = data.get("geometry")
        if geom is not None:
            coords = list(geom.coords)
            if to_project is not None:
                cx, cy = to_project.transform(*zip(*coords, strict=True))
                coords = list(zip(cx, cy, strict=True))
        else:
            coords = [pos[a], pos[b]]
        length = (float(data["length"]) if use_length_attr and "length" in data
                  else math.nan)
        if not directed:
            segs.add(a, b, coords, True, True, length)
            continue
        if mode == "walk":
            # one undirected segment per pair of reciprocal edges with the same geometry
            sig = (min(a, b), max(a, b), round(length, 3) if length == length else None,
                   len(coords))
            if sig in seen:
                continue
            seen.add(sig)
            segs.add(a, b, coords, True, True, length)
        else:
            segs.add(a, b, coords, True, False, length)
    segs.ways_n = graph.number_of_edges()
    return segs


def _polygon_wgs84(source) -> shapely.Polygon | shapely.MultiPolygon:
    """Return the download area as a (multi)polygon in EPSG:4326."""
    if isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        if source.crs is None:
            raise CRSError("the download area has no CRS; set the one its coordinates are in "
                           "(e.g. EPSG:4326 for longitude/latitude)")
        geom = shapely.union_all(np.asarray(source.to_crs("EPSG:4326").geometry.values))
    elif isinstance(source, shapely.Geometry):
        geom = source
        xmin, ymin, xmax, ymax = geom.bounds
        if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
            raise CRSError(
                "a shapely polygon given as download area must be in EPSG:4326 (lon/lat); "
                "pass a GeoDataFrame/GeoSeries with its CRS for other coordinates"
            )
    else:
        raise NetworkError(
            f"cannot build a network from {type(source).__name__}; give an OSM file path, "
            "an osmnx graph, or an area (polygon) to download"
        )
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise NetworkError(f"the download area must be a non-empty polygon, got {geom.geom_type}")
    return geom


def _segments_online(polygon, mode: str, settings: Settings, crs: str) -> _Segments:
    """Download the unsimplified ``mode`` graph of ``polygon`` through osmnx."""
    import osmnx as ox

    from productivecity._online import osmnx_configured

    with osmnx_configured(settings):
        try:
            graph = ox.graph_from_polygon(polygon, network_type=mode, simplify=False,
                                          retain_all=True)
        except Exception as exc:  # osmnx raises requests' and its own errors
            raise DataSourceError(
                f"downloading the {mode} network from {settings.overpass_url} failed: {exc}"
            ) from exc
    graph = ox.project_graph(graph, to_crs=crs)
    # lengths from the projected geometry, as for OSM files (osmnx's are great-circle)
    return _segments_from_graph(graph, mode, crs=crs, use_length_attr=False)


# --------------------------------------------------------------------------- assembly


def _assemble(segs: _Segments, *, mode, speed_kmh, simplify, retain_all, source) -> Network:
    """Simplify, keep components, and lay out the CSR arrays."""
    report = NetworkReport(source=source, mode=mode, ways_n=segs.ways_n,
                           ways_cut_n=segs.ways_cut_n, ways_cut_off_n=segs.ways_cut_off_n,
                           missing_node_refs_n=segs.missing_node_refs_n)
    if not segs.u:
        raise NetworkError(f"{source}: the {mode} network has no edges")
    # renumber nodes
    ids = np.asarray(segs.u + segs.v)
    try:
        ids = ids.astype(np.int64)
    except (TypeError, ValueError):
        ids = None
    labels = segs.u + segs.v
    uniq = list(dict.fromkeys(labels))
    index_of = {lab: i for i, lab in enumerate(uniq)}
    node_id = (np.asarray(uniq, dtype=np.int64) if ids is not None
               else np.arange(len(uniq), dtype=np.int64))
    su = [index_of[a] for a in segs.u]
    sv = [index_of[b] for b in segs.v]
    nx_ = np.empty(len(uniq))
    ny_ = np.empty(len(uniq))
    for i, cs in enumerate(segs.coords):
        nx_[su[i]], ny_[su[i]] = cs[0]
        nx_[sv[i]], ny_[sv[i]] = cs[-1]
    report.raw_nodes_n = len(uniq)
    edges = list(zip(su, sv, segs.coords, segs.fwd, segs.bwd, segs.length, strict=True))
    if simplify:
        edges = _contract(edges, len(uniq))
    # keep used nodes only
    used = np.zeros(len(uniq), bool)
    for e in edges:
        used[e[0]] = used[e[1]] = True
    report.contracted_nodes_n = int(len(uniq) - used.sum())
    counts = np.array([len(e[2]) for e in edges], dtype=np.int64)
    offsets = np.zeros(len(edges) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    net = _finish(
        report, node_id=node_id, x=nx_, y=ny_,
        eu=np.array([e[0] for e in edges], dtype=np.int64),
        ev=np.array([e[1] for e in edges], dtype=np.int64),
        offsets=offsets,
        geom_xy=np.array([p for e in edges for p in e[2]], dtype=float).reshape(-1, 2),
        given_length=np.array([e[5] for e in edges], dtype=float),
        fwd=np.array([e[3] for e in edges], dtype=bool),
        bwd=np.array([e[4] for e in edges], dtype=bool),
        mode=mode, speed_kmh=speed_kmh, retain_all=retain_all, source=source)
    return dataclasses.replace(net, crs=segs.crs)


def _finish(report, *, node_id, x, y, eu, ev, offsets, geom_xy, given_length, fwd, bwd, mode,
            speed_kmh, retain_all, source) -> Network:
    """Components, node order, lengths and CSR layout from edge arrays.

    Node arrays may hold unused nodes (dropped here); ``given_length`` NaN means
    "length of the geometry".
    """
    n = len(node_id)
    used = np.zeros(n, bool)
    used[eu] = True
    used[ev] = True
    adj = sp.coo_matrix((np.ones(len(eu)), (eu, ev)), shape=(n, n))
    _ncomp, lab = connected_components(adj, directed=False)
    lab = np.where(used, lab, -1)
    sizes = np.bincount(lab[used])
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    comp = np.where(used, rank[np.maximum(lab, 0)], -1)
    keep_node = used.copy()
    if not retain_all:
        keep_node &= comp == 0
        report.removed_components_n = int((sizes > 0).sum() - 1)
        report.removed_nodes_n = int(used.sum() - keep_node.sum())
    keep_edge = keep_node[eu]
    # number kept nodes along a Z-order curve: nearby nodes sit close in memory
    kept = np.flatnonzero(keep_node)
    kept = kept[np.argsort(_morton(x[kept], y[kept]), kind="stable")]
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    counts = np.diff(offsets)[keep_edge]
    vertex_keep = np.repeat(keep_edge, np.diff(offsets))
    geom_xy = geom_xy[vertex_keep]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    eu = new_index[eu[keep_edge]].astype(np.int32)
    ev = new_index[ev[keep_edge]].astype(np.int32)
    comp = comp[kept].astype(np.int32)
    report.components_n = int(len(np.unique(comp)))
    d = np.hypot(np.diff(geom_xy[:, 0]), np.diff(geom_xy[:, 1]))
    d[offsets[1:-1] - 1] = 0.0  # no length between consecutive edges
    geom_len = np.add.reduceat(np.append(d, 0.0), offsets[:-1]) if len(counts) else d[:0]
    given = given_length[keep_edge]
    length = np.where(np.isnan(given), geom_len, given)
    net = _layout(mode=mode, speed_kmh=speed_kmh, node_id=node_id[kept],
                  x=x[kept], y=y[kept], edge_u=eu, edge_v=ev,
                  edge_length_m=length, edge_forward=fwd[keep_edge],
                  edge_backward=bwd[keep_edge], geom_offsets=offsets, geom_xy=geom_xy,
                  component=comp, report=report)
    logger.info(
        "%s network from %s: %d nodes, %d edges (%d degree-2 nodes contracted, "
        "%d small components with %d nodes left out)",
        mode, source, net.n_nodes, net.n_edges, report.contracted_nodes_n,
        report.removed_components_n, report.removed_nodes_n,
    )
    return net


def _morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Z-order (Morton) code of points on a 2^16 grid over their bounding box."""
    if len(x) == 0:
        return np.zeros(0, np.uint64)

    def spread(v):
        v = v.astype(np.uint64)
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    gx = np.clip((x - x.min()) / span * 65535, 0, 65535)
    gy = np.clip((y - y.min()) / span * 65535, 0, 65535)
    return spread(gx) | (spread(gy) << np.uint64(1))


def _layout(*, mode, speed_kmh, node_id, x, y, edge_u, edge_v, edge_length_m, edge_forward,
            edge_backward, geom_offsets, geom_xy, component, report) -> Network:
    """Build the CSR arc arrays from the edge table."""
    m = len(edge_u)
    e_idx = np.arange(m, dtype=np.int32)
    tails = np.concatenate([edge_u[edge_forward], edge_v[edge_backward]])
    heads = np.concatenate([edge_v[edge_forward], edge_u[edge_backward]])
    arc_edge = np.concatenate([e_idx[edge_forward], e_idx[edge_backward]])
    order = np.lexsort((heads, tails))
    tails, heads, arc_edge = tails[order], heads[order], arc_edge[order]
    n = len(node_id)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    arc_length = edge_length_m[arc_edge]
    return Network(
        mode=mode, speed_kmh=float(speed_kmh), node_id=np.asarray(node_id, dtype=np.int64),
        x=np.asarray(x, float), y=np.asarray(y, float),
        edge_u=edge_u.astype(np.int32), edge_v=edge_v.astype(np.int32),
        edge_length_m=np.asarray(edge_length_m, float),
        edge_forward=edge_forward, edge_backward=edge_backward,
        geom_offsets=geom_offsets, geom_xy=geom_xy,
        indptr=indptr, indices=heads.astype(np.int32), arc_edge=arc_edge.astype(np.int32),
        arc_length_m=arc_length, arc_time_min=arc_length / (float(speed_kmh) * 1000.0 / 60.0),
        component=component, report=report,
    )


def _contract(edges: list, n: int) -> list:
    """Merge chains through degree-2 nodes (osmnx's endpoint rules), keeping geometry.

    ``edges`` holds tuples ``(u, v, coords, fwd, bwd, length)``. A node is interior
    when it has exactly two incident edges, two distinct neighbours, no self-loop,
    and both edges are two-way, or both one-way with the flow passing through it.
    Lengths given explicitly (NaN = geometric) are summed along the chain.
    """
    inc: list[list[int]] = [[] for _ in range(n)]
    for i, (u, v, *_r) in enumerate(edges):
        inc[u].append(i)
        if v != u:
            inc[v].append(i)
        else:
            inc[u].append(i)

    def interior(node):
        es = inc[node]
        if len(es) != 2 or es[0] == es[1]:
            return False
        e1, e2 = edges[es[0]], edges[es[1]]
        o1 = e1[1] if e1[0] == node else e1[0]
        o2 = e2[1] if e2[0] == node else e2[0]
        if o1 == o2 or o1 == node or o2 == node:
            return False
        d1 = (e1[3], e1[4]) if e1[1] == node else (e1[4], e1[3])  # (into node, out of node)
        d2 = (e2[3], e2[4]) if e2[1] == node else (e2[4], e2[3])
        if d1 == (True, True) and d2 == (True, True):
            return True
        return d1 in ((True, False), (False, True)) and d2 == (d1[1], d1[0])

    is_int = np.fromiter((interior(i) for i in range(n)), dtype=bool, count=n)
    used = np.zeros(len(edges), bool)
    out = []

    def walk(start, first):
        """Follow the chain from endpoint ``start`` along edge ``first``."""
        coords, length, node, e = [], 0.0, start, first
        fwd = bwd = None
        while True:
            used[e] = True
            u, v, cs, f, b, ln = edges[e]
            if u == node:
                seg, nf, nb, nxt = cs, f, b, v
            else:
                seg, nf, nb, nxt = cs[::-1], b, f, u
            coords.extend(seg if not coords else seg[1:])
            length += ln
            fwd = nf if fwd is None else fwd
            bwd = nb if bwd is None else bwd
            node = nxt
            if not is_int[node] or node == start:
                break
            es = inc[node]
            e = es[0] if es[1] == e else es[1]
            if used[e]:
                break
        return (start, node, coords, fwd, bwd, length)

    for node in range(n):
        if is_int[node]:
            continue
        for e in inc[node]:
            if not used[e]:
                out.append(walk(node, e))
    # loops made only of interior nodes: cut each at one of its nodes
    for e in range(len(edges)):
        if not used[e]:
            out.append(walk(edges[e][0], e))
    return out


# --------------------------------------------------------------------------- cache


def _check_speed(speed_kmh) -> None:
    if not (isinstance(speed_kmh, int | float) and math.isfinite(speed_kmh) and speed_kmh > 0):
        raise NetworkError(f"speed_kmh must be a positive number of km/h, got {speed_kmh!r}")


def _cache_key(request: dict) -> str:
    request = {**request, "build_version": _BUILD_VERSION}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:24]


_ARRAYS = ("node_id", "x", "y", "edge_u", "edge_v", "edge_length_m", "edge_forward",
           "edge_backward", "geom_offsets", "geom_xy", "component")


def _save(net: Network, path: Path) -> None:
    """Write the build atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own per process: parallel runs may build the same network at once
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **{k: getattr(net, k) for k in _ARRAYS},
                 report=json.dumps(dataclasses.asdict(net.report)), mode=net.mode,
                 crs=net.crs or "")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _load(path: Path, speed_kmh: float) -> Network:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in _ARRAYS}
        report = NetworkReport(**json.loads(str(z["report"])))
        mode = str(z["mode"])
        crs = str(z["crs"]) if "crs" in z.files else ""
    if not crs:
        raise ValueError("network cache entry without its CRS (older format)")
    report.from_cache = True
    net = _layout(mode=mode, speed_kmh=speed_kmh, report=report, **arrays)
    return dataclasses.replace(net, crs=crs)
