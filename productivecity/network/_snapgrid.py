"""Nearest network edge to many points: edge segments bucketed in a uniform grid (numba).

Every straight segment of every edge geometry is registered in each grid cell
its bounding box overlaps. A query scans square rings of cells around the
point's cell and stops once the best distance found is smaller than the
distance from the point to the border of the scanned square (nothing outside
can be nearer) or that border lies beyond the search radius.

Point–segment distances use the formula of GEOS (``Distance::pointToSegment``),
so the distance to an edge is the one :func:`shapely.distance` returns, bit for
bit; among edges at the same distance the lowest edge number wins.
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np

_CACHE = True
#: Slack (m) on the ring lower bound, against rounding at cell borders.
_EPS_M = 1e-6


@dataclasses.dataclass(frozen=True, eq=False)
class SegmentGrid:
    """Edge segments in a uniform grid (the network CRS, metres).

    Attributes
    ----------
    x0, y0 : float
        Lower-left corner of cell ``(0, 0)``.
    cell_m : float
        Cell side (m).
    nx, ny : int
        Number of cell columns and rows; cell ``(i, j)`` is number ``j * nx + i``.
    cell_ptr : ndarray of int64, shape (nx * ny + 1,)
        Segments registered in cell ``c`` are ``cell_ptr[c]:cell_ptr[c+1]``.
    ax, ay, bx, by : ndarray of float64
        Segment end points, per registration.
    edge : ndarray of int32
        Edge of each registered segment.
    """

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int
    cell_ptr: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    edge: np.ndarray


def build(geom_offsets: np.ndarray, geom_xy: np.ndarray, *,
          cell_m: float | None = None) -> SegmentGrid:
    """Bucket the segments of edge geometries in a grid.

    Parameters
    ----------
    geom_offsets : ndarray of int64, shape (n_edges + 1,)
        Edge ``e``'s vertices are ``geom_xy[geom_offsets[e]:geom_offsets[e+1]]``.
    geom_xy : ndarray of float64, shape (n_vertices, 2)
        Vertices (x, y), metres.
    cell_m : float, optional
        Cell side (m); default 0.6 × the side of the mean area per segment, between 10
        and 500 m (about 40 m on a city street network).
    """
    n_edges = len(geom_offsets) - 1
    counts = np.diff(geom_offsets)
    valid = np.ones(max(len(geom_xy) - 1, 0), bool)
    valid[geom_offsets[1:-1] - 1] = False  # pairs that straddle two edges
    first = np.flatnonzero(valid)
    seg_edge = np.repeat(np.arange(n_edges, dtype=np.int32), np.maximum(counts - 1, 0))
    ax, ay = geom_xy[first, 0], geom_xy[first, 1]
    bx, by = geom_xy[first + 1, 0], geom_xy[first + 1, 1]
    if len(geom_xy):
        xmin, ymin = geom_xy.min(axis=0)
        xmax, ymax = geom_xy.max(axis=0)
    else:
        xmin = ymin = xmax = ymax = 0.0
    if cell_m is None:
        area = max((xmax - xmin) * (ymax - ymin), 1.0)
        cell_m = float(np.clip(0.6 * math.sqrt(area / max(len(first), 1)), 10.0, 500.0))
    # at most ~4 M cells whatever the extent
    cell_m = max(float(cell_m), math.sqrt((xmax - xmin + 1.0) * (ymax - ymin + 1.0) / 4e6))
    nx = int((xmax - xmin) // cell_m) + 1
    ny = int((ymax - ymin) // cell_m) + 1
    cell_ptr, order = _register(ax, ay, bx, by, float(xmin), float(ymin), cell_m, nx, ny)
    return SegmentGrid(x0=float(xmin), y0=float(ymin), cell_m=cell_m, nx=nx, ny=ny,
                       cell_ptr=cell_ptr, ax=ax[order], ay=ay[order], bx=bx[order],
                       by=by[order], edge=seg_edge[order])


def nearest(grid: SegmentGrid, x: np.ndarray, y: np.ndarray, edge_ok: np.ndarray,
            max_dist_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest allowed edge to each point within ``max_dist_m``.

    Returns
    -------
    edge : ndarray of int64
        Edge number, or -1 when no allowed edge lies within ``max_dist_m``.
    dist_m : ndarray of float64
        Distance to it (m), ``inf`` where ``edge`` is -1.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    out_edge = np.empty(len(x), np.int64)
    out_dist = np.empty(len(x), np.float64)
    _nearest(x, y, float(max_dist_m), np.ascontiguousarray(edge_ok, dtype=np.bool_),
             grid.x0, grid.y0, grid.cell_m, grid.nx, grid.ny, grid.cell_ptr,
             grid.ax, grid.ay, grid.bx, grid.by, grid.edge, out_edge, out_dist)
    return out_edge, out_dist


@numba.njit(cache=_CACHE)
def _cell_range(lo, hi, origin, cell, n):
    a = int(math.floor((lo - origin) / cell))
    b = int(math.floor((hi - origin) / cell))
    return max(a, 0), min(b, n - 1)


@numba.njit(cache=_CACHE)
def _register(ax, ay, bx, by, x0, y0, cell, nx, ny):
    """CSR over cells of the segments whose bounding box overlaps them."""
    m = len(ax)
    ptr = np.zeros(nx * ny + 1, np.int64)
    for s in range(m):
        i0, i1 = _cell_range(min(ax[s], bx[s]), max(ax[s], bx[s]), x0, cell, nx)
        j0, j1 = _cell_range(min(ay[s], by[s]), max(ay[s], by[s]), y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                ptr[j * nx + i + 1] += 1
    for c in range(nx * ny):
        ptr[c + 1] += ptr[c]
    fill = ptr[:-1].copy()
    order = np.empty(ptr[-1], np.int64)
    for s in range(m):
        i0, i1 = _cell_range(min(ax[s], bx[s]), max(ax[s], bx[s]), x0, cell, nx)
        j0, j1 = _cell_range(min(ay[s], by[s]), max(ay[s], by[s]), y0, cell, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nx + i
                order[fill[c]] = s
                fill[c] += 1
    return ptr, order


@numba.njit(cache=_CACHE, inline="always")
def _point_segment(px, py, ax, ay, bx, by):
    """Distance from (px, py) to segment A–B, as GEOS ``Distance::pointToSegment``."""
    if ax == bx and ay == by:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return math.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2)


@numba.njit(cache=_CACHE, inline="always")
def _scan(c, px, py, cell_ptr, ax, ay, bx, by, sedge, edge_ok, best, best_e):
    for s in range(cell_ptr[c], cell_ptr[c + 1]):
        e = sedge[s]
        if not edge_ok[e]:
            continue
        d = _point_segment(px, py, ax[s], ay[s], bx[s], by[s])
        if d < best or (d == best and e < best_e):
            best = d
            best_e = e
    return best, best_e


@numba.njit(cache=_CACHE)
def _nearest(px, py, max_d, edge_ok, x0, y0, cell, nx, ny, cell_ptr, ax, ay, bx, by, sedge,
             out_edge, out_dist):
    for k in range(len(px)):
        p_x = px[k]
        p_y = py[k]
        out_edge[k] = -1
        out_dist[k] = np.inf
        if not (math.isfinite(p_x) and math.isfinite(p_y)):
            continue
        ci = int(math.floor(min(max((p_x - x0) / cell, -1e12), 1e12)))
        cj = int(math.floor(min(max((p_y - y0) / cell, -1e12), 1e12)))
        rmax = max(max(ci, nx - 1 - ci), max(cj, ny - 1 - cj))
        best = np.inf
        best_e = -1
        r = 0
        while True:
            if r == 0:
                if 0 <= ci < nx and 0 <= cj < ny:
                    best, best_e = _scan(cj * nx + ci, p_x, p_y, cell_ptr, ax, ay, bx, by,
                                         sedge, edge_ok, best, best_e)
            else:
                i_lo = max(ci - r, 0)
                i_hi = min(ci + r, nx - 1)
                for j in (cj - r, cj + r):
                    if 0 <= j < ny:
                        for i in range(i_lo, i_hi + 1):
                            best, best_e = _scan(j * nx + i, p_x, p_y, cell_ptr, ax, ay, bx,
                                                 by, sedge, edge_ok, best, best_e)
                j_lo = max(cj - r + 1, 0)
                j_hi = min(cj + r - 1, ny - 1)
                for i in (ci - r, ci + r):
                    if 0 <= i < nx:
                        for j in range(j_lo, j_hi + 1):
                            best, best_e = _scan(j * nx + i, p_x, p_y, cell_ptr, ax, ay, bx,
                                                 by, sedge, edge_ok, best, best_e)
            if r >= rmax:
                break
            # anything not scanned lies outside the square of rings 0..r
            lb = min(min(p_x - (x0 + (ci - r) * cell), (x0 + (ci + r + 1) * cell) - p_x),
                     min(p_y - (y0 + (cj - r) * cell), (y0 + (cj + r + 1) * cell) - p_y))
            lb -= _EPS_M
            if lb > best or lb > max_d:
                break
            r += 1
        if best <= max_d:
            out_edge[k] = best_e
            out_dist[k] = best
