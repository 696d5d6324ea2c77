"""Bounded multi-seed Dijkstra on CSR arrays, compiled with numba.

Each origin is a set of seeds ``(node, start cost)``; the search stops at
``limit``. Four kernels share the search:

* :func:`reach_chunk` returns, per origin, every node reached within the limit
  and its cost;
* :func:`od_chunk` returns, per origin, every destination reached within the
  limit: destinations hang on nodes through *attachments* ``(node, destination,
  offset)`` (a destination reached from node ``n`` costs ``cost(n) + offset``),
  plus *direct* candidates (origin and destination on the same edge);
* :func:`count_min_rows` runs the same searches but only counts the pairs and
  keeps their least cost per origin (or per destination), with no pair buffers;
* :func:`sums_rows` does the same and also sums destination values per time
  bucket, so one search to the largest limit gives every limit and value column.

They work on a chunk of origins at a time; the first two write into
caller-provided buffers of ``capacity`` entries per origin, so memory stays
bounded by ``chunk × capacity`` whatever the number of origins, and split the
origins of a chunk over numba threads in a static stride. The last two run in
the calling thread without the GIL: the caller hands out blocks of origins to
Python threads as they come free (idle threads sleep rather than spin, and a
thread slowed by other programs on its core simply takes fewer blocks). Each
thread owns its work arrays.
Costs add up edge weights in path order, as networkx's Dijkstra does. The
priority queue is a 4-ary heap with lazy deletion.
"""

from __future__ import annotations

import numba
import numpy as np

_CACHE = True


@numba.njit(cache=_CACHE, inline="always")
def _push(hk, hv, size, key, val):
    """Add ``(key, val)`` to the 4-ary min-heap ``hk``/``hv`` of ``size`` entries."""
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = val
    return size + 1


@numba.njit(cache=_CACHE, inline="always")
def _pop(hk, hv, size):
    """Remove and return the least ``(key, val)`` of the 4-ary min-heap, and the new size."""
    key = hk[0]
    val = hv[0]
    size -= 1
    lk = hk[size]
    lv = hv[size]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        mk = hk[c]
        for j in range(c + 1, min(c + 4, size)):
            if hk[j] < mk:
                mk = hk[j]
                m = j
        if lk <= mk:
            break
        hk[i] = mk
        hv[i] = hv[m]
        i = m
    hk[i] = lk
    hv[i] = lv
    return key, val, size


@numba.njit(cache=_CACHE)
def _search(indptr, indices, w, seed_ptr, seed_node, seed_cost, o, limit,
            dist, touched, hk, hv, h, h_limit):
    """Run one bounded search; return the number of touched nodes (settled or not).

    A node ``v`` reached at cost ``c`` is dropped when ``c + h[v] > h_limit``: ``h`` is a
    lower bound of the cost from each node to any target of the search (zeros and
    ``h_limit = inf`` for no pruning).
    """
    nt = 0
    size = 0
    for s in range(seed_ptr[o], seed_ptr[o + 1]):
        node = seed_node[s]
        c = seed_cost[s]
        if c <= limit and c < dist[node] and c + h[node] <= h_limit:
            if dist[node] == np.inf:
                touched[nt] = node
                nt += 1
            dist[node] = c
            size = _push(hk, hv, size, c, node)
    while size > 0:
        c, u, size = _pop(hk, hv, size)
        if c > dist[u]:
            continue  # stale entry: u was reached more cheaply since (no equal-cost duplicates)
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nc = c + w[a]
            if nc <= limit and nc < dist[v] and nc + h[v] <= h_limit:
                if dist[v] == np.inf:
                    touched[nt] = v
                    nt += 1
                dist[v] = nc
                size = _push(hk, hv, size, nc, v)
    return nt


@numba.njit(cache=_CACHE, parallel=True)
def reach_chunk(indptr, indices, w, seed_ptr, seed_node, seed_cost, limit,
                o_start, o_end, nthreads, out_node, out_cost, out_n):
    """Nodes reached within ``limit`` for origins ``o_start..o_end-1``.

    Writes origin ``o``'s results to row ``o - o_start`` of ``out_node``/``out_cost``
    (sorted by cost) and their count to ``out_n``; when the count exceeds the row
    length nothing is written for that origin and the caller must run it again.
    """
    n = len(indptr) - 1
    cap_heap = len(indices) + len(seed_node) + 1
    no_bound = np.zeros(n)
    for t in numba.prange(nthreads):
        dist = np.full(n, np.inf)
        touched = np.empty(n, np.int32)
        hk = np.empty(cap_heap, np.float64)
        hv = np.empty(cap_heap, np.int32)
        for o in range(o_start + t, o_end, nthreads):
            nt = _search(indptr, indices, w, seed_ptr, seed_node, seed_cost, o, limit,
                         dist, touched, hk, hv, no_bound, np.inf)
            row = o - o_start
            cap = out_node.shape[1]
            if nt <= cap:
                costs = np.empty(nt, np.float64)
                for k in range(nt):
                    costs[k] = dist[touched[k]]
                order = np.argsort(costs, kind="mergesort")
                for k in range(nt):
                    node = touched[order[k]]
                    out_node[row, k] = node
                    out_cost[row, k] = dist[node]
            out_n[row] = nt  # > cap: the caller runs this origin again with more room
            for k in range(nt):
                node = touched[k]
                dist[node] = np.inf


@numba.njit(cache=_CACHE, inline="always")
def _row_dests(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr, att_dest, att_off,
               dir_ptr, dir_dest, dir_cost, limit, o, dist, touched, hk, hv, best, dtouched,
               h, h_limit):
    """Search from origin ``o``; return how many destinations were reached within ``limit``.

    They are ``dtouched[:nd]`` with their least cost in ``best``; the caller reads them
    and resets ``best`` to inf. ``dist`` is reset here. ``h``, ``h_limit``: see
    :func:`_search` (the targets are the attachment nodes).
    """
    nd = 0
    for k in range(dir_ptr[o], dir_ptr[o + 1]):
        d = dir_dest[k]
        c = dir_cost[k]
        if c <= limit and c < best[d]:
            if best[d] == np.inf:
                dtouched[nd] = d
                nd += 1
            best[d] = c
    nt = _search(indptr, indices, w, seed_ptr, seed_node, seed_cost, o, limit,
                 dist, touched, hk, hv, h, h_limit)
    for k in range(nt):
        u = touched[k]
        cu = dist[u]
        for a in range(att_ptr[u], att_ptr[u + 1]):
            d = att_dest[a]
            c = cu + att_off[a]
            if c <= limit and c < best[d]:
                if best[d] == np.inf:
                    dtouched[nd] = d
                    nd += 1
                best[d] = c
        dist[u] = np.inf
    return nd


@numba.njit(cache=_CACHE, parallel=True)
def od_chunk(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr, att_dest, att_off,
             dir_ptr, dir_dest, dir_cost, n_dest, limit, o_start, o_end, nthreads,
             out_dest, out_cost, out_n):
    """Destinations reached within ``limit`` for origins ``o_start..o_end-1``.

    ``att_ptr`` (CSR over nodes) lists attachments ``(att_dest, att_off)``;
    ``dir_ptr`` (CSR over origins) lists direct candidates ``(dir_dest, dir_cost)``.
    Row ``o - o_start`` of ``out_dest``/``out_cost`` receives the reached destinations
    (each once, at its least cost), ``out_n`` their count; when the count exceeds the
    row length nothing is written for that origin and the caller must run it again.
    """
    n = len(indptr) - 1
    cap_heap = len(indices) + len(seed_node) + 1
    no_bound = np.zeros(n)
    for t in numba.prange(nthreads):
        dist = np.full(n, np.inf)
        touched = np.empty(n, np.int32)
        hk = np.empty(cap_heap, np.float64)
        hv = np.empty(cap_heap, np.int32)
        best = np.full(n_dest, np.inf)
        dtouched = np.empty(n_dest, np.int32)
        for o in range(o_start + t, o_end, nthreads):
            nd = _row_dests(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr,
                            att_dest, att_off, dir_ptr, dir_dest, dir_cost, limit, o, dist,
                            touched, hk, hv, best, dtouched, no_bound, np.inf)
            row = o - o_start
            fits = nd <= out_dest.shape[1]
            for k in range(nd):
                d = dtouched[k]
                if fits:
                    out_dest[row, k] = d
                    out_cost[row, k] = best[d]
                best[d] = np.inf
            out_n[row] = nd  # > row length: nothing written, the caller runs it again


@numba.njit(cache=_CACHE, nogil=True)
def count_min_rows(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr, att_dest,
                   att_off, dir_ptr, dir_dest, dir_cost, limit, o_start, o_end, by_dest,
                   h, h_limit, dist, touched, hk, hv, best, dtouched, acc_n, acc_min):
    """Per item: number of pairs within ``limit`` and their least cost, without listing them.

    Runs the searches of :func:`od_chunk` for origins ``o_start..o_end-1`` in the calling
    thread (the GIL is released); every (origin, destination) pair reached (each once, at
    its least cost) adds 1 to ``acc_n[k]`` and lowers ``acc_min[k]`` to its cost, where
    ``k`` is the destination if ``by_dest`` else the origin. Nodes that cannot lead to
    an attachment within the limit are skipped: ``h`` (cost from each node to the
    nearest attachment, e.g. from :func:`multi_source`) and ``h_limit`` as in
    :func:`_search`. The work arrays ``dist``
    (inf, size n_nodes), ``touched`` (n_nodes), ``hk``/``hv`` (heap), ``best`` (inf,
    n_dest) and ``dtouched`` (n_dest) belong to the caller's thread and are left as
    they were given.
    """
    for o in range(o_start, o_end):
        nd = _row_dests(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr,
                        att_dest, att_off, dir_ptr, dir_dest, dir_cost, limit, o, dist,
                        touched, hk, hv, best, dtouched, h, h_limit)
        for k in range(nd):
            d = dtouched[k]
            c = best[d]
            key = d if by_dest else o
            acc_n[key] += 1
            if c < acc_min[key]:
                acc_min[key] = c
            best[d] = np.inf


@numba.njit(cache=_CACHE, inline="always")
def _add2(hi, lo, i, j, k, x):
    """Add ``x`` to the double-double ``hi[i, j, k] + lo[i, j, k]`` (TwoSum, error-free)."""
    a = hi[i, j, k]
    s = a + x
    bb = s - a
    lo[i, j, k] += (a - (s - bb)) + (x - bb)
    hi[i, j, k] = s


@numba.njit(cache=_CACHE, nogil=True)
def sums_rows(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr, att_dest,
              att_off, dir_ptr, dir_dest, dir_cost, limits, values, o_start, o_end, by_dest,
              h, h_limit, dist, touched, hk, hv, best, dtouched, acc_hi, acc_lo, acc_n,
              acc_min):
    """Per item and time limit: sums of destination values, counts and least cost.

    Runs the searches of :func:`count_min_rows` for rows ``o_start..o_end-1`` once, to
    the largest of ``limits`` (sorted, increasing); every (origin, destination) pair
    reached at cost ``c`` (each once, at its least cost) adds, for the first limit
    ``limits[k] >= c`` (its time bucket), 1 to ``acc_n[key, k]`` and the destination's
    ``values[dest, :]`` to ``acc_hi[key, k, :] + acc_lo[key, k, :]`` (double-double
    sums, so the result does not depend on the order of the pairs), and lowers
    ``acc_min[key]`` to ``c``; the caller sums the buckets up to each limit.
    ``key`` is the origin; with ``by_dest`` the rows are destinations (searches on the
    reversed arcs) and the columns origins. Work arrays as in :func:`count_min_rows`.
    """
    limit = limits[len(limits) - 1]
    n_val = values.shape[1]
    for o in range(o_start, o_end):
        nd = _row_dests(indptr, indices, w, seed_ptr, seed_node, seed_cost, att_ptr,
                        att_dest, att_off, dir_ptr, dir_dest, dir_cost, limit, o, dist,
                        touched, hk, hv, best, dtouched, h, h_limit)
        for q in range(nd):
            d = dtouched[q]
            c = best[d]
            best[d] = np.inf
            if by_dest:
                key = d
                src = o
            else:
                key = o
                src = d
            if c < acc_min[key]:
                acc_min[key] = c
            k = 0
            while limits[k] < c:
                k += 1
            acc_n[key, k] += 1
            for j in range(n_val):
                _add2(acc_hi, acc_lo, key, k, j, values[src, j])


@numba.njit(cache=_CACHE)
def multi_source(indptr, indices, w, seed_node, seed_cost, limit):
    """One search from all seeds at once; return the cost of every node (inf if beyond)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(n, np.int32)
    cap_heap = len(indices) + len(seed_node) + 1
    hk = np.empty(cap_heap, np.float64)
    hv = np.empty(cap_heap, np.int32)
    seed_ptr = np.array([0, len(seed_node)], np.int64)
    _search(indptr, indices, w, seed_ptr, seed_node, seed_cost, 0, limit, dist, touched, hk, hv,
            np.zeros(n), np.inf)
    return dist


@numba.njit(cache=_CACHE)
def compact(out, out_n, cap):
    """Concatenate the first ``min(out_n[i], cap)`` entries of each row of ``out``."""
    total = 0
    for i in range(len(out_n)):
        total += min(out_n[i], cap)
    res = np.empty(total, out.dtype)
    k = 0
    for i in range(len(out_n)):
        for j in range(min(out_n[i], cap)):
            res[k] = out[i, j]
            k += 1
    return res
