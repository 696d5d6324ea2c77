"""Public-transport travel times: range RAPTOR over a departure window, compiled with numba.

Exact earliest arrival (RAPTOR, Delling et al. 2012) for every departure of a
window (e.g. every minute 07:00-08:59), from many origins to many
destinations, reduced per origin/destination pair to the median and chosen
percentiles of the travel time over the window, as r5py/Conveyal report it:
travel time = arrival − departure, initial waiting included.

Journeys
--------
origin —(access walk)→ stop —(vehicle)→ stop [—(footpath or change time)→
stop —(vehicle)→ stop]… —(egress walk)→ destination, or the direct walk
origin → destination where one is given. Boarding a trip at a stop needs
its departure ≥ the time one is ready there: access arrival, footpath
arrival, or vehicle arrival + the stop's minimum change time. One footpath
at most between two vehicles. Egress starts at stops reached with at least
one vehicle (walking only is the direct leg). ``max_transfers`` transfers =
``max_transfers + 1`` vehicles (RAPTOR rounds).

Percentiles use the nearest rank over the window's departures: the
``p``-th is the ``ceil(p/100·n)``-th smallest of the ``n`` travel times;
a departure with no journey within ``max_travel_time_min`` counts as
infinitely long, so a percentile may be unreachable (NaN) while a lower one
is not.

Speed: departures are processed latest first, keeping labels (range RAPTOR:
a journey leaving later can be taken by waiting), only stops improved in this
departure are marked, and the origins are split over numba threads
(``numba.get_num_threads()``); times are int32 seconds.

Inputs are walking legs as DataFrames (``time_s`` seconds): ``access``
(``origin_id``, ``stop_id``), ``egress`` (``stop_id``, ``destination_id``)
and optional ``direct`` (``origin_id``, ``destination_id``), e.g. from a
street-network search or :func:`straight_line_legs`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from productivecity._errors import ParameterError, SchemaError
from productivecity.network.streets import WALK_SPEED_KMH
from productivecity.network.timetable import Timetable, parse_clock_s

logger = logging.getLogger(__name__)

_CACHE = True
_INF = np.int32(1 << 30)


def departure_times_s(start="07:00", end="09:00", step_min: float = 1.0) -> np.ndarray:
    """Departure times (int32 seconds after midnight) from ``start`` to ``end`` (excluded).

    >>> departure_times_s("07:00", "07:03").tolist()
    [25200, 25260, 25320]
    """
    a, b = parse_clock_s(start), parse_clock_s(end)
    step = int(round(step_min * 60))
    if step <= 0 or b <= a:
        raise ParameterError(f"departure window {start}-{end} every {step_min} min is empty")
    return np.arange(a, b, step, dtype=np.int32)


def straight_line_legs(
    from_ids,
    from_xy,
    to_ids,
    to_xy,
    *,
    radius_m: float = 1000.0,
    speed_kmh: float = WALK_SPEED_KMH,
    columns: tuple[str, str] = ("origin_id", "stop_id"),
) -> pd.DataFrame:
    """Return walking legs on straight lines between points closer than ``radius_m``.

    Parameters
    ----------
    from_ids, to_ids : sequence
        Ids of the points.
    from_xy, to_xy : array (n, 2)
        Coordinates in metres (same metric CRS, e.g. :attr:`Timetable.crs`).
    radius_m : float, default 1000
    speed_kmh : float, default 4.8
    columns : (str, str)
        Names of the id columns (``("origin_id", "stop_id")`` for access legs,
        ``("stop_id", "destination_id")`` for egress legs).

    Returns
    -------
    DataFrame
        The two id columns and ``time_s`` (int, seconds rounded up).
    """
    if speed_kmh <= 0 or radius_m < 0:
        raise ParameterError(
            f"straight_line_legs: speed_kmh must be > 0 and radius_m >= 0, got "
            f"{speed_kmh} and {radius_m}"
        )
    a = np.asarray(from_xy, dtype=float).reshape(-1, 2)
    b = np.asarray(to_xy, dtype=float).reshape(-1, 2)
    from_ids, to_ids = np.asarray(from_ids, dtype=object), np.asarray(to_ids, dtype=object)
    if not len(a) or not len(b):
        return pd.DataFrame({columns[0]: [], columns[1]: [], "time_s": np.zeros(0, np.int64)})
    sdm = cKDTree(a).sparse_distance_matrix(cKDTree(b), radius_m, output_type="coo_matrix")
    order = np.lexsort((sdm.col, sdm.row))
    i, j, d = sdm.row[order], sdm.col[order], sdm.data[order]
    # sparse_distance_matrix drops exact zeros: add coincident points back
    same = cKDTree(a).query_ball_tree(cKDTree(b), 1e-9)
    zi = [k for k, lst in enumerate(same) for _ in lst]
    zj = [m for lst in same for m in lst]
    if zi:
        keep = ~pd.MultiIndex.from_arrays([i, j]).isin(pd.MultiIndex.from_arrays([zi, zj]))
        i = np.r_[i[keep], zi]
        j = np.r_[j[keep], zj]
        d = np.r_[d[keep], np.zeros(len(zi))]
    df = pd.DataFrame(
        {
            columns[0]: from_ids[i],
            columns[1]: to_ids[j],
            "time_s": np.ceil(d / (speed_kmh / 3.6)).astype(np.int64),
        }
    )
    return df.sort_values(list(columns), kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# kernel
# ------------------------------------------------------------------------------------------


@numba.njit(cache=_CACHE, nogil=True)
def _origin(
    o,
    tt,
    acc_ptr,
    acc_stop,
    acc_s,
    egr_ptr,
    egr_dest,
    egr_s,
    dir_ptr,
    dir_dest,
    dir_s,
    deps,
    n_dest,
    rounds,
    max_travel_s,
    pct_idx,
    out,
):
    (
        pattern_stop_ptr,
        pattern_stops,
        pattern_trip_ptr,
        pattern_time_ptr,
        arrival,
        departure,
        stop_pattern_ptr,
        stop_pattern,
        stop_pattern_pos,
        foot_ptr,
        foot_to,
        foot_s,
        change_s,
    ) = tt
    inf = np.int32(1 << 30)
    n_stops = len(stop_pattern_ptr) - 1
    n_pat = len(pattern_stop_ptr) - 1
    n_dep = len(deps)
    veh = np.full((rounds + 1) * n_stops, inf, np.int32)
    rdy = np.full((rounds + 1) * n_stops, inf, np.int32)
    best = np.full(n_stops, inf, np.int32)
    dest_arr = np.full(n_dest, inf, np.int32)
    direct = np.full(n_dest, inf, np.int32)
    for j in range(dir_ptr[o], dir_ptr[o + 1]):
        if dir_s[j] < direct[dir_dest[j]]:
            direct[dir_dest[j]] = dir_s[j]
    times = np.empty((n_dest, n_dep), np.int32)
    mark = np.zeros(n_stops, np.bool_)
    mlist = np.empty(n_stops, np.int32)
    nlist = np.empty(n_stops, np.int32)
    vmark = np.zeros(n_stops, np.bool_)
    vlist = np.empty(n_stops, np.int32)
    imark = np.zeros(n_stops, np.bool_)
    ilist = np.empty(n_stops, np.int32)
    pat_first = np.full(n_pat, -1, np.int32)
    pat_list = np.empty(n_pat, np.int32)

    for di in range(n_dep - 1, -1, -1):
        t0 = deps[di]
        limit = t0 + max_travel_s
        nm = 0
        for j in range(acc_ptr[o], acc_ptr[o + 1]):
            s = acc_stop[j]
            t = t0 + acc_s[j]
            if t <= limit and t < rdy[s]:
                rdy[s] = t
                if not mark[s]:
                    mark[s] = True
                    mlist[nm] = s
                    nm += 1
        ni = 0
        for k in range(1, rounds + 1):
            if nm == 0:
                break
            prev = (k - 1) * n_stops
            cur = k * n_stops
            npl = 0
            for m in range(nm):
                s = mlist[m]
                mark[s] = False
                for j in range(stop_pattern_ptr[s], stop_pattern_ptr[s + 1]):
                    p = stop_pattern[j]
                    pos = stop_pattern_pos[j]
                    if pat_first[p] < 0:
                        pat_list[npl] = p
                        npl += 1
                        pat_first[p] = pos
                    elif pos < pat_first[p]:
                        pat_first[p] = pos
            nv = 0
            for q in range(npl):
                p = pat_list[q]
                start = pat_first[p]
                pat_first[p] = -1
                s0 = pattern_stop_ptr[p]
                n_l = pattern_stop_ptr[p + 1] - s0
                n_tr = pattern_trip_ptr[p + 1] - pattern_trip_ptr[p]
                base = pattern_time_ptr[p]
                trip = -1
                for i in range(start, n_l):
                    s = pattern_stops[s0 + i]
                    if trip >= 0:
                        a = arrival[base + trip * n_l + i]
                        if a <= limit and a < veh[cur + s]:
                            veh[cur + s] = a
                            if not vmark[s]:
                                vmark[s] = True
                                vlist[nv] = s
                                nv += 1
                    r = rdy[prev + s]
                    if r < inf and i < n_l - 1:
                        hi = n_tr if trip < 0 else trip
                        if hi > 0 and departure[base + (hi - 1) * n_l + i] >= r:
                            lo = 0
                            h = hi - 1
                            while lo < h:
                                mid = (lo + h) >> 1
                                if departure[base + mid * n_l + i] >= r:
                                    h = mid
                                else:
                                    lo = mid + 1
                            trip = lo
            # changes and footpaths from the stops reached by vehicle
            nn = 0
            for m in range(nv):
                s = vlist[m]
                vmark[s] = False
                a = veh[cur + s]
                if a < best[s]:
                    best[s] = a
                    if not imark[s]:
                        imark[s] = True
                        ilist[ni] = s
                        ni += 1
                r = a + change_s[s]
                if r <= limit and r < rdy[cur + s]:
                    rdy[cur + s] = r
                    if not mark[s]:
                        mark[s] = True
                        nlist[nn] = s
                        nn += 1
                for j in range(foot_ptr[s], foot_ptr[s + 1]):
                    u = foot_to[j]
                    t = a + foot_s[j]
                    if t <= limit:
                        if t < best[u]:
                            best[u] = t
                            if not imark[u]:
                                imark[u] = True
                                ilist[ni] = u
                                ni += 1
                        if t < rdy[cur + u]:
                            rdy[cur + u] = t
                            if not mark[u]:
                                mark[u] = True
                                nlist[nn] = u
                                nn += 1
            for m in range(nn):
                mlist[m] = nlist[m]
            nm = nn
        for m in range(nm):
            mark[mlist[m]] = False
        # egress from the stops whose best arrival improved
        for m in range(ni):
            s = ilist[m]
            imark[s] = False
            b = best[s]
            for j in range(egr_ptr[s], egr_ptr[s + 1]):
                t = b + egr_s[j]
                d = egr_dest[j]
                if t < dest_arr[d]:
                    dest_arr[d] = t
        for d in range(n_dest):
            tt_s = dest_arr[d] - t0
            if direct[d] < tt_s:
                tt_s = direct[d]
            times[d, di] = tt_s if tt_s <= max_travel_s else inf
    for d in range(n_dest):
        row = np.sort(times[d])
        for j in range(len(pct_idx)):
            v = row[pct_idx[j]]
            out[o, d, j] = v if v < inf else -1


@numba.njit(cache=_CACHE, parallel=True)
def _raptor_many(
    tt,
    acc_ptr,
    acc_stop,
    acc_s,
    egr_ptr,
    egr_dest,
    egr_s,
    dir_ptr,
    dir_dest,
    dir_s,
    deps,
    n_dest,
    rounds,
    max_travel_s,
    pct_idx,
    out,
):
    n_orig = len(acc_ptr) - 1
    for o in numba.prange(n_orig):
        _origin(
            o,
            tt,
            acc_ptr,
            acc_stop,
            acc_s,
            egr_ptr,
            egr_dest,
            egr_s,
            dir_ptr,
            dir_dest,
            dir_s,
            deps,
            n_dest,
            rounds,
            max_travel_s,
            pct_idx,
            out,
        )


def _tt_arrays(tt: Timetable):
    return (
        tt.pattern_stop_ptr,
        tt.pattern_stops,
        tt.pattern_trip_ptr,
        tt.pattern_time_ptr,
        tt.arrival_s,
        tt.departure_s,
        tt.stop_pattern_ptr,
        tt.stop_pattern,
        tt.stop_pattern_pos,
        tt.foot_ptr,
        tt.foot_to,
        tt.foot_s,
        tt.change_s,
    )


def _csr(keys: np.ndarray, vals: np.ndarray, times: np.ndarray, n: int):
    order = np.lexsort((vals, keys))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, vals[order].astype(np.int32), times[order].astype(np.int32)


def _legs(
    df: pd.DataFrame,
    cols: tuple[str, str],
    what: str,
    from_index: pd.Index,
    to_index: pd.Index,
    *,
    by: int,
):
    """CSR arrays of walking legs grouped by column ``by`` (0 or 1); unknown ids are dropped."""
    missing = [c for c in (*cols, "time_s") if c not in df.columns]
    if missing:
        raise SchemaError(f"{what} legs lack column(s) {missing}; columns: {list(df.columns)}")
    a = from_index.get_indexer(pd.Index(df[cols[0]].astype(object)))
    b = to_index.get_indexer(pd.Index(df[cols[1]].astype(object)))
    t = pd.to_numeric(df["time_s"], errors="coerce").to_numpy(float)
    ok = (a >= 0) & (b >= 0) & np.isfinite(t) & (t >= 0)
    if (~ok).any():
        logger.debug(
            "%s legs: %d row(s) with unknown ids or no time left out", what, int((~ok).sum())
        )
    t = np.ceil(t[ok]).astype(np.int64)
    a, b = a[ok], b[ok]
    if by == 0:
        return _csr(a, b, t, len(from_index))
    return _csr(b, a, t, len(to_index))


def percentile_ranks(percentiles: Sequence[float], n: int) -> np.ndarray:
    """Nearest-rank indices (0-based) of ``percentiles`` among ``n`` sorted values."""
    out = []
    for p in percentiles:
        if not 0 < float(p) <= 100:
            raise ParameterError(f"percentile {p} is not in (0, 100]")
        out.append(min(max(math.ceil(float(p) / 100 * n) - 1, 0), n - 1))
    return np.asarray(out, dtype=np.int64)


def _check(max_transfers, max_travel_time_min, deps):
    if int(max_transfers) < 0:
        raise ParameterError(f"max_transfers must be >= 0, got {max_transfers}")
    if not max_travel_time_min > 0:
        raise ParameterError(f"max_travel_time_min must be positive, got {max_travel_time_min}")
    deps = np.asarray(deps, dtype=np.int32)
    if deps.ndim != 1 or not len(deps):
        raise ParameterError("departures_s: give at least one departure time (seconds)")
    return np.sort(deps)


def travel_times_s(
    timetable: Timetable,
    access: pd.DataFrame,
    egress: pd.DataFrame,
    *,
    departures_s,
    direct: pd.DataFrame | None = None,
    origins: Sequence | None = None,
    destinations: Sequence | None = None,
    percentiles: Sequence[float] = (50,),
    max_transfers: int = 4,
    max_travel_time_min: float = 90.0,
) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """Percentiles of the travel time (seconds) for every origin × destination.

    Parameters
    ----------
    timetable : Timetable
    access : DataFrame
        ``origin_id``, ``stop_id``, ``time_s``: walks from origins to stops.
    egress : DataFrame
        ``stop_id``, ``destination_id``, ``time_s``: walks from stops to destinations.
    departures_s : array of int
        Departure times (seconds after midnight of the timetable's date),
        e.g. :func:`departure_times_s`.
    direct : DataFrame, optional
        ``origin_id``, ``destination_id``, ``time_s``: walks without transit.
    origins, destinations : sequence, optional
        Ids and order of the rows/columns (default: as first seen in the legs).
    percentiles : sequence of float, default (50,)
    max_transfers : int, default 4
    max_travel_time_min : float, default 90
        Longer journeys count as unreachable.

    Returns
    -------
    array (origins, destinations, percentiles) of int32
        Seconds, -1 where unreachable.
    Index, Index
        Origin ids, destination ids.
    """
    deps = _check(max_transfers, max_travel_time_min, departures_s)
    o_idx = pd.Index(
        pd.unique(access["origin_id"].astype(object)) if origins is None else list(origins),
        dtype=object,
    )
    d_idx = pd.Index(
        pd.unique(egress["destination_id"].astype(object))
        if destinations is None
        else list(destinations),
        dtype=object,
    )
    s_idx = pd.Index(timetable.stop_ids)
    acc = _legs(access, ("origin_id", "stop_id"), "access", o_idx, s_idx, by=0)
    egr = _legs(egress, ("stop_id", "destination_id"), "egress", s_idx, d_idx, by=0)
    if direct is not None and len(direct):
        dr = _legs(direct, ("origin_id", "destination_id"), "direct", o_idx, d_idx, by=0)
    else:
        dr = (np.zeros(len(o_idx) + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))
    pct_idx = percentile_ranks(percentiles, len(deps))
    out = np.empty((len(o_idx), len(d_idx), len(pct_idx)), np.int32)
    _raptor_many(
        _tt_arrays(timetable),
        *acc,
        *egr,
        *dr,
        deps,
        len(d_idx),
        int(max_transfers) + 1,
        int(round(max_travel_time_min * 60)),
        pct_idx,
        out,
    )
    return out, o_idx, d_idx


def _columns(percentiles):
    return ["travel_time_min" if float(p) == 50 else f"travel_time_p{p:g}_min" for p in percentiles]


def _long(out, o_idx, d_idx, percentiles, names, source):
    o, d = np.nonzero((out >= 0).any(axis=2))
    df = pd.DataFrame({names[0]: o_idx.to_numpy()[o], names[1]: d_idx.to_numpy()[d]})
    for j, col in enumerate(_columns(percentiles)):
        v = out[o, d, j].astype(float)
        df[col] = np.where(v >= 0, v / 60.0, np.nan)
    df.attrs["source"] = source
    return df


def travel_time_matrix(
    timetable: Timetable,
    access: pd.DataFrame,
    egress: pd.DataFrame,
    *,
    departures_s,
    direct: pd.DataFrame | None = None,
    origins: Sequence | None = None,
    destinations: Sequence | None = None,
    percentiles: Sequence[float] = (50,),
    max_transfers: int = 4,
    max_travel_time_min: float = 90.0,
    wide: bool = False,
) -> pd.DataFrame:
    """Public-transport travel-time matrix (minutes), median and percentiles over the window.

    Parameters are those of :func:`travel_times_s`.

    Returns
    -------
    DataFrame
        Long (default): ``origin_id``, ``destination_id``, ``travel_time_min``
        (the median, when 50 is among ``percentiles``) and
        ``travel_time_p<p>_min`` for the others; pairs unreachable at every
        percentile are left out, NaN where one percentile is unreachable.
        Wide (``wide=True``): the first percentile's minutes, origins × destinations
        (NaN where unreachable). ``attrs["source"]`` is the timetable's source label
        (``"timetable"`` or ``"estimated from line topology"``).
    """
    out, o_idx, d_idx = travel_times_s(
        timetable,
        access,
        egress,
        departures_s=departures_s,
        direct=direct,
        origins=origins,
        destinations=destinations,
        percentiles=percentiles,
        max_transfers=max_transfers,
        max_travel_time_min=max_travel_time_min,
    )
    if wide:
        v = out[:, :, 0].astype(float)
        df = pd.DataFrame(
            np.where(v >= 0, v / 60.0, np.nan),
            index=o_idx.rename("origin_id"),
            columns=d_idx.rename("destination_id"),
        )
        df.attrs["source"] = timetable.source
        return df
    return _long(out, o_idx, d_idx, percentiles, ("origin_id", "destination_id"), timetable.source)


def travel_times_to_stops(
    timetable: Timetable,
    access: pd.DataFrame,
    *,
    departures_s,
    origins: Sequence | None = None,
    percentiles: Sequence[float] = (50,),
    max_transfers: int = 4,
    max_travel_time_min: float = 90.0,
) -> pd.DataFrame:
    """Travel times from origins to every stop (the input of transit isochrones).

    A stop counts as reached when standing at it (no egress walk); the access
    walk alone reaches the stops it leads to.

    Returns
    -------
    DataFrame
        ``origin_id``, ``stop_id``, ``x_m``, ``y_m`` (in ``timetable.crs``),
        ``travel_time_min`` (median) and ``travel_time_p<p>_min``; stops reached
        at no percentile are left out. ``attrs["source"]`` as in
        :func:`travel_time_matrix`.
    """
    stops = pd.Index(timetable.stop_ids)
    egress = pd.DataFrame({"stop_id": stops, "destination_id": stops, "time_s": 0})
    direct = access.rename(columns={"stop_id": "destination_id"})
    out, o_idx, d_idx = travel_times_s(
        timetable,
        access,
        egress,
        departures_s=departures_s,
        direct=direct,
        origins=origins,
        destinations=stops,
        percentiles=percentiles,
        max_transfers=max_transfers,
        max_travel_time_min=max_travel_time_min,
    )
    df = _long(out, o_idx, d_idx, percentiles, ("origin_id", "stop_id"), timetable.source)
    pos = stops.get_indexer(df["stop_id"])
    df.insert(2, "x_m", timetable.stop_x_m[pos])
    df.insert(3, "y_m", timetable.stop_y_m[pos])
    return df


def catchment_counts(
    matrix: pd.DataFrame,
    weights: pd.Series,
    *,
    thresholds_min: Sequence[float] = (30, 45),
    column: str = "travel_time_min",
) -> pd.DataFrame:
    """Sum of destination weights reachable within each threshold (by default by the median).

    Parameters
    ----------
    matrix : DataFrame
        Long output of :func:`travel_time_matrix`.
    weights : Series
        Weight per ``destination_id`` (e.g. job seekers per statistical unit).
    thresholds_min : sequence of float, default (30, 45)
    column : str, default "travel_time_min"

    Returns
    -------
    DataFrame
        Index ``origin_id`` (every origin of ``matrix``); one column
        ``within_<T>_min_sum`` per threshold. ``attrs["source"]`` carried over.
    """
    for c in ("origin_id", "destination_id", column):
        if c not in matrix.columns:
            raise SchemaError(
                f"travel-time matrix lacks column {c!r}; columns: {list(matrix.columns)}"
            )
    w = matrix["destination_id"].map(weights).fillna(0.0).to_numpy(float)
    t = matrix[column].to_numpy(float)
    origins = pd.Index(pd.unique(matrix["origin_id"]), name="origin_id")
    out = pd.DataFrame(index=origins)
    for thr in thresholds_min:
        ok = t <= float(thr)
        s = pd.Series(np.where(ok, w, 0.0)).groupby(matrix["origin_id"].to_numpy()).sum()
        out[f"within_{float(thr):g}_min_sum"] = s.reindex(origins).fillna(0.0).to_numpy()
    out.attrs["source"] = matrix.attrs.get("source")
    return out
