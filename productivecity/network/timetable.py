"""A compact public-transport timetable for RAPTOR routing.

A :class:`Timetable` holds numpy arrays only (stops, patterns, trips' times,
footpaths), ready for the numba kernels of
:mod:`productivecity.accessibility.raptor`:

* **stops**: ids, names and x/y in metres in a metric CRS;
* **patterns** (RAPTOR "routes"): trips with the same route and the same
  stop sequence, sorted by departure; trips that would overtake one another
  go to separate patterns, so the earliest trip boardable at one stop is the
  earliest at every later stop (what RAPTOR's trip search needs);
* **stop → patterns** index: the patterns serving each stop and the
  position(s) of the stop in them;
* **footpaths** between distinct stops (seconds) and a **minimum change
  time** at each stop (seconds, between two vehicles at the same stop);
* a **source** label: ``"timetable"`` for GTFS, ``"estimated from line
  topology"`` for trips generated from line sequences, speeds and headways.

Two ways to build one:

* :func:`timetable_from_gtfs` — a GTFS feed, a date and a departure window;
* :meth:`Timetable.from_patterns` — stops plus :class:`PatternTrips` (a stop
  sequence and a trips × stops array of arrival and departure seconds), for a
  model that generates trips itself (line topology: in-vehicle times from the
  distance along the line and a speed, departures every headway). Pass
  ``source="estimated from line topology"`` so every result says so.

Footpaths: where given (``footpaths``, e.g. from a street network, or GTFS
``transfers.txt`` ``min_transfer_time``) they are used; other pairs of stops
within ``walk_radius_m`` get a straight-line walk at ``walk_speed_kmh``.
Footpaths are not chained (one walk between two vehicles), as in RAPTOR.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from productivecity._clock import parse_clock_s
from productivecity._errors import ParameterError, SchemaError
from productivecity.crs import as_crs, is_metric, utm_crs
from productivecity.network.streets import WALK_SPEED_KMH
from productivecity.sources.gtfs import GtfsFeed, _as_date, read_gtfs

logger = logging.getLogger(__name__)

DAY_S = 86_400
#: Source label of timetables read from GTFS.
SOURCE_TIMETABLE = "timetable"
#: Source label of timetables generated from line sequences, speeds and headways.
SOURCE_LINE_TOPOLOGY = "estimated from line topology"
#: Default radius of straight-line walks between stops (m).
WALK_RADIUS_M = 400.0


@dataclass(frozen=True)
class PatternTrips:
    """Trips running the same stop sequence, the input of :meth:`Timetable.from_patterns`.

    Parameters
    ----------
    route_id : str
        The line (GTFS ``route_id`` or a line name).
    stop_ids : sequence of str
        The stops in running order (a stop may appear twice, e.g. a loop).
    arrival_s, departure_s : array of int, shape (trips, stops)
        Seconds after midnight of the service date (may be negative for the
        previous day's trips or exceed 86,400); ``departure_s >= arrival_s``
        and times never go backwards along a trip.
    trip_ids : sequence of str, optional
        One per trip (default ``"<route_id>:<i>"``).
    mode : str, default "unknown"
        ``rail``, ``metro``, ``tram``, ``bus``, ...
    """

    route_id: str
    stop_ids: Sequence[str]
    arrival_s: np.ndarray
    departure_s: np.ndarray
    trip_ids: Sequence[str] | None = None
    mode: str = "unknown"


@dataclass(eq=False)
class Timetable:
    """Stops, patterns, trips and footpaths as flat arrays (see the module doc).

    Pattern ``p`` visits ``pattern_stops[pattern_stop_ptr[p]:pattern_stop_ptr[p+1]]``
    (``L`` stops) with trips ``pattern_trip_ptr[p] .. pattern_trip_ptr[p+1]-1``
    (global trip indices, sorted by departure); the times of its ``t``-th trip
    at position ``i`` are ``arrival_s[pattern_time_ptr[p] + t*L + i]`` (and
    ``departure_s``). Stop ``s`` is served by ``stop_pattern[k]`` at position
    ``stop_pattern_pos[k]`` for ``k`` in ``stop_pattern_ptr[s]:stop_pattern_ptr[s+1]``.
    Footpaths from ``s``: ``foot_to[k]``, ``foot_s[k]`` for ``k`` in
    ``foot_ptr[s]:foot_ptr[s+1]``; ``change_s[s]`` is the minimum time
    between alighting and boarding at ``s``.
    """

    stop_ids: np.ndarray
    stop_names: np.ndarray
    stop_x_m: np.ndarray
    stop_y_m: np.ndarray
    crs: str
    pattern_stop_ptr: np.ndarray
    pattern_stops: np.ndarray
    pattern_trip_ptr: np.ndarray
    pattern_time_ptr: np.ndarray
    arrival_s: np.ndarray
    departure_s: np.ndarray
    pattern_route_ids: np.ndarray
    pattern_modes: np.ndarray
    trip_ids: np.ndarray
    stop_pattern_ptr: np.ndarray
    stop_pattern: np.ndarray
    stop_pattern_pos: np.ndarray
    foot_ptr: np.ndarray
    foot_to: np.ndarray
    foot_s: np.ndarray
    change_s: np.ndarray
    source: str = SOURCE_TIMETABLE
    service_date: date | None = None
    window_s: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def stops_n(self) -> int:
        """Number of stops."""
        return len(self.stop_ids)

    @property
    def patterns_n(self) -> int:
        """Number of patterns."""
        return len(self.pattern_stop_ptr) - 1

    @property
    def trips_n(self) -> int:
        """Number of trips."""
        return len(self.trip_ids)

    def stop_index(self, stop_ids: Iterable[str]) -> np.ndarray:
        """Positions of ``stop_ids`` in :attr:`stop_ids` (-1 where unknown)."""
        return pd.Index(self.stop_ids).get_indexer(pd.Index(list(stop_ids), dtype=object))

    def stops_frame(self) -> pd.DataFrame:
        """Return the stops as a DataFrame (index ``stop_id``; ``name``, ``x_m``, ``y_m``)."""
        return pd.DataFrame(
            {"name": self.stop_names, "x_m": self.stop_x_m, "y_m": self.stop_y_m},
            index=pd.Index(self.stop_ids, name="stop_id"),
        )

    def __repr__(self) -> str:
        return (
            f"Timetable({self.stops_n} stops, {self.patterns_n} patterns, {self.trips_n} trips, "
            f"{len(self.foot_to)} footpaths, source={self.source!r}, date={self.service_date})"
        )

    @classmethod
    def from_patterns(
        cls,
        stops: pd.DataFrame,
        patterns: Iterable[PatternTrips],
        *,
        crs,
        footpaths: pd.DataFrame | None = None,
        change_s: Mapping[str, int] | None = None,
        walk_radius_m: float = WALK_RADIUS_M,
        walk_speed_kmh: float = WALK_SPEED_KMH,
        source: str = SOURCE_LINE_TOPOLOGY,
        service_date: date | None = None,
        window_s: tuple[int, int] | None = None,
    ) -> Timetable:
        """Build a timetable from stops and trips grouped by stop sequence.

        The constructor for generated trips (line topology: stop sequences,
        speeds, headways) and the one :func:`timetable_from_gtfs` calls.

        Parameters
        ----------
        stops : DataFrame
            Index ``stop_id``; columns ``x_m``, ``y_m`` (in ``crs``) and
            optionally ``name``. Stops no pattern serves are kept (reachable on foot).
        patterns : iterable of PatternTrips
            Trips of one pattern may come in any order; they are sorted by
            departure and split where one would overtake another.
        crs : CRS-like
            The metric CRS of ``x_m``/``y_m``.
        footpaths : DataFrame, optional
            ``from_stop_id``, ``to_stop_id``, ``time_s``: walks between distinct
            stops (e.g. on the street network). They replace the straight-line
            walk of the same pair.
        change_s : mapping, optional
            Minimum change time at a stop (seconds, by stop id; default 0).
        walk_radius_m : float, default 400
            Other pairs of stops closer than this get a straight-line walk
            (0: none).
        walk_speed_kmh : float, default 4.8
        source : str, default "estimated from line topology"
            Label carried to every result (``"timetable"`` for GTFS).
        service_date, window_s : optional
            Recorded for reports.

        Raises
        ------
        SchemaError
            A pattern names an unknown stop, or its times have the wrong
            shape or go backwards.
        """
        crs = as_crs(crs, what="timetable crs")
        if not is_metric(crs):
            raise ParameterError(
                f"timetable crs {crs.to_string()} is not metric (expected a projected "
                "CRS in metres, e.g. a UTM zone)"
            )
        for c in ("x_m", "y_m"):
            if c not in stops.columns:
                raise SchemaError(
                    f"timetable stops lack column {c!r}; columns: {list(stops.columns)}"
                )
        stop_ids = np.asarray(stops.index.astype(str), dtype=object)
        index = pd.Index(stop_ids)
        if not index.is_unique:
            raise SchemaError("timetable stops: the stop_id index has duplicates")
        names = np.asarray(
            stops.get("name", pd.Series("", index=stops.index)).fillna("").astype(str), dtype=object
        )
        x = stops["x_m"].to_numpy(float)
        y = stops["y_m"].to_numpy(float)
        n = len(stop_ids)

        pat_stops, pat_arr, pat_dep, pat_trips, pat_route, pat_mode = [], [], [], [], [], []
        for pt in patterns:
            seq = index.get_indexer(pd.Index([str(s) for s in pt.stop_ids], dtype=object))
            if (seq < 0).any():
                raise SchemaError(
                    f"pattern of route {pt.route_id!r} names stop(s) not in the stops: "
                    f"{[s for s, i in zip(pt.stop_ids, seq, strict=True) if i < 0][:3]}"
                )
            arr = np.asarray(pt.arrival_s, dtype=np.int64)
            dep = np.asarray(pt.departure_s, dtype=np.int64)
            if arr.ndim != 2 or arr.shape != dep.shape or arr.shape[1] != len(seq) or len(seq) < 2:
                raise SchemaError(
                    f"pattern of route {pt.route_id!r}: arrival_s and departure_s must be "
                    f"(trips, {len(seq)}) arrays over at least 2 stops, got {arr.shape} "
                    f"and {dep.shape}"
                )
            if arr.shape[0] == 0:
                continue
            if (dep < arr).any() or (arr[:, 1:] < dep[:, :-1]).any():
                raise SchemaError(
                    f"pattern of route {pt.route_id!r}: times go backwards along a trip"
                )
            tids = (
                list(pt.trip_ids)
                if pt.trip_ids is not None
                else [f"{pt.route_id}:{i}" for i in range(arr.shape[0])]
            )
            order = np.lexsort((arr[:, -1], dep[:, 0]))
            arr, dep, tids = arr[order], dep[order], [tids[i] for i in order]
            for group in _fifo_groups(arr, dep):
                pat_stops.append(seq.astype(np.int32))
                pat_arr.append(arr[group])
                pat_dep.append(dep[group])
                pat_trips.append([tids[i] for i in group])
                pat_route.append(str(pt.route_id))
                pat_mode.append(pt.mode)

        p_n = len(pat_stops)
        stop_ptr = np.zeros(p_n + 1, np.int32)
        trip_ptr = np.zeros(p_n + 1, np.int32)
        time_ptr = np.zeros(p_n + 1, np.int64)
        for p in range(p_n):
            stop_ptr[p + 1] = stop_ptr[p] + len(pat_stops[p])
            trip_ptr[p + 1] = trip_ptr[p] + len(pat_trips[p])
            time_ptr[p + 1] = time_ptr[p] + pat_arr[p].size
        pattern_stops = _concat(pat_stops, np.int32)
        arrival = _concat([a.ravel() for a in pat_arr], np.int32)
        departure = _concat([d.ravel() for d in pat_dep], np.int32)
        trip_ids = np.asarray([t for ts in pat_trips for t in ts], dtype=object)

        # stop -> (pattern, position)
        pat_of = np.repeat(np.arange(p_n, dtype=np.int32), np.diff(stop_ptr))
        pos_of = (
            np.arange(len(pattern_stops)) - np.repeat(stop_ptr[:-1], np.diff(stop_ptr))
        ).astype(np.int32)
        order = np.lexsort((pos_of, pat_of, pattern_stops))
        sp_ptr = np.zeros(n + 1, np.int32)
        np.cumsum(np.bincount(pattern_stops, minlength=n), out=sp_ptr[1:])

        fp = _footpaths(stop_ids, x, y, footpaths, walk_radius_m, walk_speed_kmh)
        f_order = np.lexsort((fp[1], fp[0]))
        f_from, f_to, f_s = fp[0][f_order], fp[1][f_order], fp[2][f_order]
        foot_ptr = np.zeros(n + 1, np.int32)
        np.cumsum(np.bincount(f_from, minlength=n), out=foot_ptr[1:])
        change = np.zeros(n, np.int32)
        if change_s:
            idx = index.get_indexer(pd.Index([str(k) for k in change_s], dtype=object))
            vals = np.fromiter(change_s.values(), dtype=np.int64, count=len(change_s))
            change[idx[idx >= 0]] = vals[idx >= 0]
        return cls(
            stop_ids=stop_ids,
            stop_names=names,
            stop_x_m=x,
            stop_y_m=y,
            crs=crs.to_string(),
            pattern_stop_ptr=stop_ptr,
            pattern_stops=pattern_stops,
            pattern_trip_ptr=trip_ptr,
            pattern_time_ptr=time_ptr,
            arrival_s=arrival,
            departure_s=departure,
            pattern_route_ids=np.asarray(pat_route, dtype=object),
            pattern_modes=np.asarray(pat_mode, dtype=object),
            trip_ids=trip_ids,
            stop_pattern_ptr=sp_ptr,
            stop_pattern=pat_of[order],
            stop_pattern_pos=pos_of[order],
            foot_ptr=foot_ptr,
            foot_to=f_to.astype(np.int32),
            foot_s=f_s.astype(np.int32),
            change_s=change,
            source=source,
            service_date=service_date,
            window_s=window_s,
        )


def _concat(parts, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _fifo_groups(arr: np.ndarray, dep: np.ndarray) -> list[list[int]]:
    """Split trips (sorted by first departure) so no trip overtakes another in its group."""
    groups: list[list[int]] = []
    for t in range(arr.shape[0]):
        for g in groups:
            last = g[-1]
            if (arr[t] >= arr[last]).all() and (dep[t] >= dep[last]).all():
                g.append(t)
                break
        else:
            groups.append([t])
    return groups


def _footpaths(stop_ids, x, y, footpaths, radius_m, speed_kmh):
    """(from, to, seconds) arrays: given footpaths, else straight-line walks within the radius."""
    n = len(stop_ids)
    pairs: dict[tuple[int, int], int] = {}
    if radius_m and radius_m > 0 and n > 1:
        if speed_kmh <= 0:
            raise ParameterError(f"walk_speed_kmh must be positive, got {speed_kmh}")
        ok = np.isfinite(x) & np.isfinite(y)
        ids = np.flatnonzero(ok)
        tree = cKDTree(np.c_[x[ok], y[ok]])
        for a, b in tree.query_pairs(radius_m, output_type="ndarray"):
            i, j = ids[a], ids[b]
            t = int(np.ceil(np.hypot(x[i] - x[j], y[i] - y[j]) / (speed_kmh / 3.6)))
            pairs[(i, j)] = t
            pairs[(j, i)] = t
    if footpaths is not None and len(footpaths):
        for c in ("from_stop_id", "to_stop_id", "time_s"):
            if c not in footpaths.columns:
                raise SchemaError(
                    f"footpaths lack column {c!r}; columns: {list(footpaths.columns)}"
                )
        index = pd.Index(stop_ids)
        a = index.get_indexer(pd.Index(footpaths["from_stop_id"].astype(str), dtype=object))
        b = index.get_indexer(pd.Index(footpaths["to_stop_id"].astype(str), dtype=object))
        t = footpaths["time_s"].to_numpy(float)
        for i, j, s in zip(a, b, t, strict=True):
            if i >= 0 and j >= 0 and i != j and np.isfinite(s):
                pairs[(int(i), int(j))] = int(round(s))
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = np.array(list(pairs.keys()), dtype=np.int64)
    return k[:, 0], k[:, 1], np.array(list(pairs.values()), dtype=np.int64)


def gtfs_transfers(feed: GtfsFeed, stop_ids: Sequence[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Footpaths and same-stop change times from ``transfers.txt`` (``min_transfer_time``).

    Rows naming a station (``location_type`` 1) apply to all its stops. A row
    from a stop to itself, or between two stops of one station named as the
    station to itself, sets the change time at / walk between those stops.
    Rows without ``min_transfer_time`` and ``transfer_type`` 3 (not possible)
    are left out (the latter removes no walk: documented simplification).
    """
    if feed.transfers is None or not len(feed.transfers):
        return pd.DataFrame(columns=["from_stop_id", "to_stop_id", "time_s"]), {}
    used = set(stop_ids)
    children: dict[str, list[str]] = {}
    for sid, parent in zip(feed.stops["stop_id"], feed.stops["parent_station"], strict=True):
        if parent:
            children.setdefault(parent, []).append(sid)

    def expand(s):
        return [c for c in children.get(s, []) if c in used] or ([s] if s in used else [])

    rows, change = {}, {}
    tr = feed.transfers.dropna(subset=["min_transfer_s"])
    for a, b, t in zip(tr["from_stop_id"], tr["to_stop_id"], tr["min_transfer_s"], strict=True):
        for i in expand(a):
            for j in expand(b):
                if i == j:
                    change[i] = int(t)
                else:
                    rows[(i, j)] = int(t)
    fp = pd.DataFrame(
        [(i, j, t) for (i, j), t in rows.items()], columns=["from_stop_id", "to_stop_id", "time_s"]
    )
    return fp, change


def timetable_from_gtfs(
    feed: GtfsFeed | str,
    day,
    *,
    window=("07:00", "09:00"),
    max_travel_time_min: float = 120.0,
    crs=None,
    footpaths: pd.DataFrame | None = None,
    walk_radius_m: float = WALK_RADIUS_M,
    walk_speed_kmh: float = WALK_SPEED_KMH,
) -> Timetable:
    """Build the timetable of a GTFS feed on a date, for departures in a window.

    Trips of the date's services and of the previous day's services (their
    times past 24:00 run on ``day``, shifted by -24 h) and, when the window
    reaches past midnight, of the next day's (+24 h), are kept if they can be
    used by a journey departing in the window and lasting at most
    ``max_travel_time_min``.

    Parameters
    ----------
    feed : GtfsFeed or path
    day : date or str
        Service date; must be within the feed's service period.
    window : (start, end)
        Departure window as ``"HH:MM"`` or seconds (end exclusive).
    max_travel_time_min : float, default 120
    crs : CRS-like, optional
        Metric CRS of the stops' x/y (default: the UTM zone of the stops' centre).
    footpaths : DataFrame, optional
        ``from_stop_id``, ``to_stop_id``, ``time_s`` (e.g. street-network walks);
        they take precedence over ``transfers.txt`` and straight lines.
    walk_radius_m, walk_speed_kmh : float
        Straight-line walks between stops for other pairs.

    Raises
    ------
    ParameterError
        ``day`` is outside the service period (the message gives the period).
    """
    if not isinstance(feed, GtfsFeed):
        feed = read_gtfs(feed)
    day = _as_date(day)
    start_s, end_s = (parse_clock_s(w) for w in window)
    if end_s <= start_s:
        raise ParameterError(f"departure window {window!r}: the end must be after the start")
    horizon_s = end_s + int(round(max_travel_time_min * 60))
    st = feed.stop_times
    parts = []
    for offset_days in (-1, 0, 1):
        if offset_days == 1 and horizon_s <= DAY_S:
            continue
        trips = feed.trips_on(day + timedelta(days=offset_days), check_period=offset_days == 0)
        if not len(trips):
            continue
        sub = st[st["trip_id"].isin(trips["trip_id"])].copy()
        shift = offset_days * DAY_S
        sub["arrival_s"] = sub["arrival_s"].astype(np.int64) + shift
        sub["departure_s"] = sub["departure_s"].astype(np.int64) + shift
        g = sub.groupby("trip_id", sort=False)
        first_dep = g["departure_s"].transform("min")
        last_arr = g["arrival_s"].transform("max")
        sub = sub[(last_arr >= start_s) & (first_dep <= horizon_s)]
        sub = sub[g["stop_id"].transform("size").loc[sub.index] >= 2]
        sub["route_id"] = sub["trip_id"].map(trips.set_index("trip_id")["route_id"])
        if offset_days:
            sub["trip_id"] = sub["trip_id"] + ("@-1d" if offset_days < 0 else "@+1d")
        parts.append(sub)
    sel = pd.concat(parts, ignore_index=True) if parts else st.iloc[:0].assign(route_id="")

    stops = feed.stops[feed.stops["stop_id"].isin(st["stop_id"].unique())]
    stops = stops.sort_values("stop_id", kind="stable")
    if crs is None:
        crs = (
            utm_crs(float(stops["lon"].mean()), float(stops["lat"].mean()))
            if len(stops)
            else utm_crs(0, 0)
        )
    crs = as_crs(crs, what="timetable crs")
    tf = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tf.transform(stops["lon"].to_numpy(), stops["lat"].to_numpy())
    stops_df = pd.DataFrame(
        {"name": stops["stop_name"].to_numpy(), "x_m": x, "y_m": y},
        index=pd.Index(stops["stop_id"].to_numpy(), name="stop_id"),
    )

    mode_of = dict(zip(feed.routes["route_id"], feed.routes["mode"], strict=True))
    patterns = []
    if len(sel):
        sel = sel.sort_values(["trip_id", "stop_sequence"], kind="stable")
        keys = sel.groupby("trip_id", sort=False).agg(
            route_id=("route_id", "first"), seq=("stop_id", tuple)
        )
        keys["pattern"] = keys.groupby(["route_id", "seq"], sort=True).ngroup()
        sel["pattern"] = sel["trip_id"].map(keys["pattern"])
        for _pid, rows in sel.groupby("pattern", sort=True):
            route_id, seq = keys.loc[rows["trip_id"].iloc[0], ["route_id", "seq"]]
            k = len(seq)
            tids = rows["trip_id"].to_numpy()[::k]
            patterns.append(
                PatternTrips(
                    route_id=route_id,
                    stop_ids=seq,
                    arrival_s=rows["arrival_s"].to_numpy().reshape(-1, k),
                    departure_s=rows["departure_s"].to_numpy().reshape(-1, k),
                    trip_ids=tids,
                    mode=mode_of.get(route_id, "unknown"),
                )
            )
    fp, change = gtfs_transfers(feed, stops_df.index)
    if footpaths is not None and len(footpaths):
        fp = pd.concat([fp, footpaths[["from_stop_id", "to_stop_id", "time_s"]]], ignore_index=True)
        fp = fp.drop_duplicates(["from_stop_id", "to_stop_id"], keep="last")
    tt = Timetable.from_patterns(
        stops_df,
        patterns,
        crs=crs,
        footpaths=fp,
        change_s=change,
        walk_radius_m=walk_radius_m,
        walk_speed_kmh=walk_speed_kmh,
        source=SOURCE_TIMETABLE,
        service_date=day,
        window_s=(start_s, end_s),
    )
    logger.info("GTFS %s on %s: %s", feed.path.name, day.isoformat(), tt)
    return tt
