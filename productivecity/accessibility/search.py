"""Bounded searches on the street network: who reaches what within a limit.

:func:`reach` runs the compiled bounded Dijkstra from snapped origins and
:func:`travel_times` returns the origin-destination times below a limit;
the private helpers here (search plans, connector costs, chunking) serve
the measures of :mod:`productivecity.accessibility.measures` as well.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numba
import numpy as np
import pandas as pd

from productivecity._console import progress as _progress
from productivecity._errors import EmptyLayerError, NetworkError, ParameterError, SchemaError
from productivecity._validate import check_limit_min
from productivecity.accessibility.snapping import Snapping, snap
from productivecity.network import _dijkstra
from productivecity.network.streets import Network

logger = logging.getLogger(__name__)


#: Buffer budget (entries) for one chunk of origins in the compiled kernels.
_CHUNK_ENTRIES = 4_000_000


#: Entries per origin row before an origin is re-run alone with a full-width row.
_ROW_ENTRIES = 4096


#: Rows (searches) per block handed to a thread in :func:`_count_min`: at most, and the
#: least number of rows per thread worth starting a thread for.
_MAX_BLOCK_ROWS = 256


_MIN_BLOCK_ROWS = 16


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
    if kind == "time":
        return kind, check_limit_min(val, allow_inf=True)
    if isinstance(val, bool) or not isinstance(val, int | float | np.number) or math.isnan(val) \
            or val <= 0:
        raise ParameterError(f"limit_m must be a positive number of metres (inf allowed), "
                             f"got {val!r}")
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
        # snap() reports the items it leaves out (name the layer: snap it first with what=)
        return snap(network, x, what=what)
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
    for start in _progress(range(0, n_o, chunk), disable=not progress, desc="reach"):
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
    return _plan_from(network, _seeds(network, s, kind), _direct(network, s, dests, kind),
                      dests, kind)


def _plan_from(network: Network, seeds: tuple, direct: tuple, dests: Snapping,
               kind: str) -> _Plan:
    """:func:`_plan` from the origins' seeds and direct candidates (CSRs over origins)."""
    w, _ = _weights_of(network, kind)
    seed_ptr, seed_node, seed_cost = seeds
    att_ptr, att_dest, att_off = _attachments(network, dests, kind)
    dir_ptr, dir_dest, dir_cost = direct
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
        for start in _progress(range(0, n_rows, chunk), disable=not progress,
                               desc="travel times"):
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
    bar = _progress(total=n_rows, disable=not progress, desc="travel times")

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


@dataclasses.dataclass
class _Catchments:
    """Per origin and limit: sums of destination values, counts, and the least cost.

    Attributes
    ----------
    sums : ndarray, shape (n_origins, n_limits, n_values)
        Sum of each value column over the destinations within each limit.
    counts : ndarray of int64, shape (n_origins, n_limits)
        Destinations within each limit.
    nearest : ndarray, shape (n_origins,)
        Least cost to a destination within the largest limit (inf if none).
    limits : ndarray
        The limits, increasing (min or m).
    searches_n : int
        Searches run (distinct origins, or destinations when fewer).
    """

    sums: np.ndarray
    counts: np.ndarray
    nearest: np.ndarray
    limits: np.ndarray
    searches_n: int


def _take_csr(ptr: np.ndarray, rows: np.ndarray, *cols: np.ndarray):
    """Return the CSR rows ``rows`` (in that order) of ``ptr`` over ``cols``."""
    k = ptr[rows + 1] - ptr[rows]
    out_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(k, out=out_ptr[1:])
    pos = np.repeat(ptr[rows] - out_ptr[:-1], k) + np.arange(out_ptr[-1])
    return (out_ptr, *(c[pos] for c in cols))


def _distinct_origins(seeds: tuple, direct: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Origins with the same seeds and direct candidates search alike: one search each.

    Returns the first origin of each distinct group (in order) and, per origin, its
    group.
    """
    seed_ptr, seed_node, seed_cost = seeds
    dir_ptr, dir_dest, dir_cost = direct
    sn, sc = seed_node.tobytes(), seed_cost.tobytes()
    dd, dc = dir_dest.tobytes(), dir_cost.tobytes()
    groups: dict[bytes, int] = {}
    inverse = np.empty(len(seed_ptr) - 1, np.int64)
    first = []
    for i in range(len(seed_ptr) - 1):
        a, b = int(seed_ptr[i]), int(seed_ptr[i + 1])
        c, d = int(dir_ptr[i]), int(dir_ptr[i + 1])
        key = b"|".join((sn[4 * a:4 * b], sc[8 * a:8 * b], dd[4 * c:4 * d], dc[8 * c:8 * d]))
        g = groups.setdefault(key, len(groups))
        if g == len(first):
            first.append(i)
        inverse[i] = g
    return np.asarray(first, dtype=np.int64), inverse


def _catchments(network: Network, s: Snapping, dests: Snapping, kind: str, limits,
                values: np.ndarray, progress: bool = False) -> _Catchments:
    """Every catchment measure of the origins from one bounded search each.

    One search per distinct origin (origins with the same seeds and direct candidates
    share it, see :func:`_distinct_origins`), or per destination when they are fewer
    (see :func:`_plan`), to the largest of ``limits``; the reached pairs are counted
    and their destinations' ``values`` summed for every limit at once. Sums are
    exact to the last bit of the pairs' order (double-double accumulation), counts
    and least costs equal :func:`_count_min`'s. Blocks of rows go to Python threads
    as in :func:`_count_min`.

    Parameters
    ----------
    network : Network
    s : Snapping
        Origins.
    dests : Snapping
        Destinations.
    kind : {"time", "length"}
    limits : sequence of float
        Limits in the unit of ``kind``.
    values : ndarray, shape (dests.n_items, n_values)
        Values of the destinations (finite).
    progress : bool

    Returns
    -------
    _Catchments
        Rows aligned to the origins' items; limits sorted increasing.
    """
    lim = np.unique(np.asarray(limits, dtype=np.float64))
    values = np.ascontiguousarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    seeds = _seeds(network, s, kind)
    direct = _direct(network, s, dests, kind)
    first, inverse = _distinct_origins(seeds, direct)
    p = _plan_from(network, _take_csr(seeds[0], first, seeds[1], seeds[2]),
                   _take_csr(direct[0], first, direct[1], direct[2]), dests, kind)
    n_rows, n_u, n_lim, n_val = p.n_rows, p.n_origins, len(lim), values.shape[1]
    h, h_limit = _target_bound(network, p, kind, float(lim[-1]))
    nthreads = max(1, min(_nthreads(), n_rows // _MIN_BLOCK_ROWS))
    block = max(1, min(_MAX_BLOCK_ROWS, -(-n_rows // (nthreads * 8))))
    blocks = iter(range(0, n_rows, block))  # next() on it is atomic under the GIL
    cap_heap = len(p.indices) + len(p.args[1]) + 1
    bar = _progress(total=n_rows, disable=not progress, desc="catchments")

    def work():
        acc = (np.zeros((n_u, n_lim, n_val)), np.zeros((n_u, n_lim, n_val)),
               np.zeros((n_u, n_lim), np.int64), np.full(n_u, np.inf))
        arrays = (np.full(network.n_nodes, np.inf), np.empty(network.n_nodes, np.int32),
                  np.empty(cap_heap, np.float64), np.empty(cap_heap, np.int32),
                  np.full(p.n_cols, np.inf), np.empty(p.n_cols, np.int32))
        for start in blocks:
            end = min(start + block, n_rows)
            _dijkstra.sums_rows(p.indptr, p.indices, p.w, *p.args, lim, values, start, end,
                                p.reverse, h, h_limit, *arrays, *acc)
            bar.update(end - start)
        return acc

    if nthreads == 1:
        results = [work()]
    else:  # this thread works too
        with ThreadPoolExecutor(max_workers=nthreads - 1) as pool:
            futures = [pool.submit(work) for _ in range(nthreads - 1)]
            results = [work()] + [f.result() for f in futures]
    bar.close()
    logger.info("catchments on the %s network: %d origins, %d distinct, %d searches %s to "
                "%g %s", network.mode, s.n_items, len(first), n_rows,
                "from the destinations" if p.reverse else "from the origins", lim[-1],
                "min" if kind == "time" else "m")
    hi, lo, n, best = results[0]
    for r_hi, r_lo, r_n, r_best in results[1:]:  # double-double sums of the threads' sums
        t = hi + r_hi
        bb = t - hi
        lo = lo + r_lo + ((hi - (t - bb)) + (r_hi - bb))
        hi = t
        n = n + r_n
        best = np.minimum(best, r_best)
    sums = np.cumsum(hi + lo, axis=1)  # time buckets up to each limit
    n = np.cumsum(n, axis=1)
    return _Catchments(sums=sums[inverse], counts=n[inverse], nearest=best[inverse],
                       limits=lim, searches_n=n_rows)


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

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.sources.catalog import DataDir, sample_data_dir
    >>> layers = pc.load_layers("sample", progress=False)
    >>> walk = pc.walk_network(DataDir(sample_data_dir()).find("osm_xml"))
    >>> tt = pc.travel_times(walk, layers["hubs"], layers["transit_stops"], limit_min=10)
    >>> tt.name, list(tt.index.names), len(tt)
    ('time_min', ['origin', 'destination'], 11)
    >>> round(float(tt.min()), 1)
    2.7
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

