"""A public-transport timetable estimated from line topology, for areas without ``stop_times``.

Where an operator publishes its lines' stop sequences but no timetable, a
:class:`~productivecity.network.timetable.Timetable` is generated from

* **line sequences** (:class:`LineSequence`): each line direction or variant
  as an ordered list of stop ids, with a mode (``metro``, ``tram``, ``bus``,
  ``rail``, ``night_bus``, ...) and, where the data has it, the distance
  along the route shape between consecutive stops;
* **in-vehicle times**: the distance between consecutive stops (along the
  route shape where known and plausible, else the straight line times a
  detour factor per mode) at a running speed per mode, plus a dwell time per
  mode at every intermediate stop;
* **waiting**: a headway per mode and time band (e.g. peak 07:00-09:00,
  off-peak). Trips are *generated*: one every headway from the first stop of
  each sequence, over the departure window widened by the trip's duration
  before it and by the longest journey after it. Range RAPTOR over a
  departure window of one departure per minute then sees every phase of the
  cycle, so its median reflects an average wait of about half the headway
  (for a 10-minute headway and 120 departures, waits 0..9 min occur 12
  times each: nearest-rank median 4 min, 90th percentile 8 min);
* **stations with daily stop counts but no sequences**
  (:attr:`LineTopology.link_stations`, e.g. a rail operator's station list):
  links are inferred between *consecutive* stations (see :func:`station_links`)
  and chained into pseudo-lines; each runs ``min(daily stops) / 2`` trips per
  direction spread evenly over the service span.

Offset rule (which minute of the cycle a line departs at): trips of line
``line_id`` leave their first stop at ``t ≡ offset (mod headway)`` counted
from midnight, with ``offset = 60 s × (crc32(line_id) mod ⌊headway / 60 s⌋)``
(``phase="hash"``, default): deterministic across runs and machines, whole
minutes, and different between lines so that transfers are neither all
perfect nor all missed. ``phase="zero"`` departs every line at multiples of
its headway from midnight (for hand-worked examples). Both directions of a
line share the offset.

Limits of the model (documented in every timetable's ``notes``): no
timetable, so no irregular headways, bunching, short turns or express
services; variants of a line each run at the line's headway (shared
sections get the sum of the variants' service); inferred rail pseudo-lines
stop at every station and end at junctions (a change there, with its wait,
where a real train may run through); the daily count of a station includes
both directions and every line, spread evenly over the service span (no
peak). The result is labelled ``"estimated from line topology"``
(:data:`~productivecity.network.timetable.SOURCE_LINE_TOPOLOGY`) and must
never be mixed with timetable results.

Region plug-ins provide the readers (:func:`line_topology_readers` of
:mod:`productivecity.sources.regions`); :func:`timetable_from_line_topology`
asks them for a data folder and builds the timetable.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from productivecity._errors import ConfigError, ParameterError, SourceNotFoundError
from productivecity.crs import metric_crs_of, to_crs
from productivecity.network.streets import WALK_SPEED_KMH
from productivecity.network.timetable import (
    DAY_S,
    SOURCE_LINE_TOPOLOGY,
    WALK_RADIUS_M,
    PatternTrips,
    Timetable,
    parse_clock_s,
)
from productivecity.sources.load_report import LayerReport

logger = logging.getLogger(__name__)

#: Running speed between stops by mode (km/h), dwell excluded.
SPEEDS_KMH = {"metro": 35.0, "tram": 20.0, "bus": 20.0, "night_bus": 25.0, "rail": 60.0,
              "ferry": 15.0, "unknown": 18.0}
#: Time stopped at each intermediate stop by mode (s).
DWELL_S = {"metro": 20.0, "tram": 20.0, "bus": 20.0, "night_bus": 15.0, "rail": 60.0,
           "ferry": 60.0, "unknown": 20.0}
#: Straight-line distance → distance along the line, where no route shape is known.
DETOUR_FACTORS = {"metro": 1.15, "tram": 1.3, "bus": 1.3, "night_bus": 1.3, "rail": 1.1,
                  "ferry": 1.2, "unknown": 1.3}
#: Time bands (``"HH:MM-HH:MM"``, end excluded, up to ``"24:00"``); they may not overlap.
BANDS = {
    "night": ("00:00-05:30",),
    "peak": ("07:00-09:00", "16:00-19:00"),
    "off_peak": ("05:30-07:00", "09:00-16:00", "19:00-24:00"),
}
#: Minutes between trips by mode and band; a band missing (or 0) means no service then.
HEADWAYS_MIN = {
    "metro": {"peak": 5.0, "off_peak": 8.0},
    "tram": {"peak": 8.0, "off_peak": 10.0},
    "bus": {"peak": 10.0, "off_peak": 15.0},
    "night_bus": {"night": 30.0},
    "rail": {"peak": 30.0, "off_peak": 30.0},
    "ferry": {"peak": 30.0, "off_peak": 30.0},
    "unknown": {"peak": 15.0, "off_peak": 20.0},
}
_PHASES = ("hash", "zero")


@dataclass(frozen=True)
class LineSequence:
    """One direction (or variant) of a line: its stops in running order.

    Parameters
    ----------
    line_id : str
        The line (unique across operators, e.g. ``"<operator>:<short name>"``);
        the departure offset is derived from it.
    stop_ids : sequence of str
        Stops in running order (ids of :attr:`LineTopology.stops`).
    mode : str
        A key of the assumptions' speeds, dwell times and headways.
    variant : str, default ""
        Direction or variant label (reports only).
    hop_m : sequence of float, optional
        Distance along the route shape between consecutive stops (m, length
        ``len(stop_ids) - 1``, NaN where unknown).
    daily_trips_n : float, optional
        Trips per day in this direction; when given, the headway is the
        service span divided by it (instead of the mode's band headways).
    """

    line_id: str
    stop_ids: tuple[str, ...]
    mode: str
    variant: str = ""
    hop_m: tuple[float, ...] | None = None
    daily_trips_n: float | None = None


@dataclass
class LineTopology:
    """What a region reader returns for one operator: stops and line sequences.

    Attributes
    ----------
    stops : GeoDataFrame
        Index ``stop_id``; ``name``, ``mode``, optionally ``daily_stops_n``
        (vehicles stopping per day, both directions); points in any CRS.
    lines : list of LineSequence
    report : LayerReport
        Items read and left out (layer ``transit_lines``).
    link_stations : bool, default False
        True for stations without sequences: links between consecutive
        stations are inferred from their positions and daily counts.
    """

    stops: gpd.GeoDataFrame
    lines: list[LineSequence]
    report: LayerReport
    link_stations: bool = False


def _parse_band(text) -> tuple[int, int]:
    if isinstance(text, list | tuple) and len(text) == 2:
        a, b = text
    else:
        a, _, b = str(text).partition("-")
    start, end = parse_clock_s(a), parse_clock_s(b)
    if not 0 <= start < end <= DAY_S:
        raise ParameterError(f"{text!r}: the start must be before the end, within 00:00-24:00")
    return start, end


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class TopologyAssumptions:
    """The assumptions of a timetable estimated from line topology (all overridable).

    Parameters
    ----------
    speeds_kmh : mapping, default :data:`SPEEDS_KMH`
        Running speed between stops by mode (km/h, dwell excluded): metro 35,
        tram 20, bus 20, night_bus 25, rail 60, ferry 15, unknown 18.
    dwell_s : mapping, default :data:`DWELL_S`
        Seconds stopped at each intermediate stop by mode: 20 (rail and
        ferry 60, night_bus 15).
    detour_factors : mapping, default :data:`DETOUR_FACTORS`
        Distance along the line / straight line, where no route shape is
        known: 1.3 on streets (bus, tram), metro 1.15, rail 1.1.
    bands : mapping, default :data:`BANDS`
        Time bands, each a list of ``"HH:MM-HH:MM"`` intervals: night
        00:00-05:30, peak 07:00-09:00 and 16:00-19:00, off_peak the rest of
        the day. Bands may not overlap.
    headways_min : mapping, default :data:`HEADWAYS_MIN`
        Minutes between trips by mode and band: metro 5 (peak) / 8
        (off-peak), tram 8 / 10, bus 10 / 15, rail and ferry 30, night_bus 30
        at night only; no service in a band a mode does not list (or lists
        with 0).
    use_shapes : bool, default True
        Use distances along the route shape where the data has them and
        they are plausible (between 0.9 and 3 times the straight line).
    change_s : float, default 60
        Minimum time between alighting and boarding at the same stop.
    walk_radius_m : float, default 400
        Straight-line walks between stops closer than this (transfers).
    walk_speed_kmh : float, default 4.8
    phase : {"hash", "zero"}, default "hash"
        Offset of each line's departures within its headway (see the module doc).
    service_span : str, default "05:30-24:00"
        Hours of service of lines with a daily trip count (inferred rail links).
    rail_mode : str, default "rail"
        Mode of the pseudo-lines inferred between stations.
    rail_max_link_km : float, default 6
        Longest straight link between two consecutive stations.
    rail_straightness : float, default 1.4
        A link A-B is dropped when a station C lies between them: closer to
        both than they are to each other, with ``AC + CB ≤ straightness × AB``
        (A, C, B are then taken as consecutive along one line).
    rail_min_daily_stops_n : float, default 1
        Stations with fewer daily stops (or none recorded) are left out.
    """

    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: dict(SPEEDS_KMH))
    dwell_s: Mapping[str, float] = field(default_factory=lambda: dict(DWELL_S))
    detour_factors: Mapping[str, float] = field(default_factory=lambda: dict(DETOUR_FACTORS))
    bands: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(BANDS))
    headways_min: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in HEADWAYS_MIN.items()})
    use_shapes: bool = True
    change_s: float = 60.0
    walk_radius_m: float = WALK_RADIUS_M
    walk_speed_kmh: float = WALK_SPEED_KMH
    phase: str = "hash"
    service_span: str = "05:30-24:00"
    rail_mode: str = "rail"
    rail_max_link_km: float = 6.0
    rail_straightness: float = 1.4
    rail_min_daily_stops_n: float = 1.0

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ParameterError("transit topology assumptions: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Return every invalid value as ``"key: what is expected, got ..."`` (empty if valid)."""
        out: list[str] = []
        for key, lo, what in (("speeds_kmh", 0, "> 0 km/h"), ("dwell_s", -1e-9, ">= 0 s"),
                              ("detour_factors", 1 - 1e-9, ">= 1")):
            table = getattr(self, key)
            if not isinstance(table, Mapping):
                out.append(f"{key}: expected a table mode → number, got {table!r}")
                continue
            for mode, v in table.items():
                if not _is_number(v) or v <= lo:
                    out.append(f"{key}.{mode}: expected a number {what}, got {v!r}")
        intervals = []
        if not isinstance(self.bands, Mapping):
            out.append(f"bands: expected a table band → list of 'HH:MM-HH:MM', got {self.bands!r}")
        else:
            for band, spans in self.bands.items():
                spans = [spans] if isinstance(spans, str) else spans
                if not isinstance(spans, list | tuple) or not spans:
                    out.append(f"bands.{band}: expected a list of 'HH:MM-HH:MM', got {spans!r}")
                    continue
                for s in spans:
                    try:
                        intervals.append((*_parse_band(s), band))
                    except ParameterError:
                        out.append(f"bands.{band}: expected 'HH:MM-HH:MM' with start < end "
                                   f"within 00:00-24:00, got {s!r}")
        intervals.sort()
        for (_, e0, b0), (s1, _, b1) in zip(intervals, intervals[1:], strict=False):
            if s1 < e0:
                out.append(f"bands.{b1}: overlaps bands.{b0}")
        band_names = set(self.bands) if isinstance(self.bands, Mapping) else set()
        if not isinstance(self.headways_min, Mapping):
            out.append(f"headways_min: expected a table mode → {{band: minutes}}, "
                       f"got {self.headways_min!r}")
        else:
            for mode, per_band in self.headways_min.items():
                if not isinstance(per_band, Mapping):
                    out.append(f"headways_min.{mode}: expected a table band → minutes, "
                               f"got {per_band!r}")
                    continue
                for band, v in per_band.items():
                    if band not in band_names:
                        out.append(f"headways_min.{mode}.{band}: unknown band; bands are "
                                   f"{sorted(band_names)}")
                    elif not _is_number(v) or v < 0 or 0 < v < 1:
                        out.append(f"headways_min.{mode}.{band}: expected minutes >= 1 "
                                   f"(0: no service), got {v!r}")
        for key, lo in (("change_s", -1e-9), ("walk_radius_m", -1e-9), ("walk_speed_kmh", 0),
                        ("rail_max_link_km", 0), ("rail_min_daily_stops_n", -1e-9)):
            v = getattr(self, key)
            if not _is_number(v) or v <= lo:
                out.append(f"{key}: expected a number {'> 0' if lo == 0 else '>= 0'}, got {v!r}")
        if not _is_number(self.rail_straightness) or self.rail_straightness < 1:
            out.append(f"rail_straightness: expected a number >= 1, got {self.rail_straightness!r}")
        if not isinstance(self.use_shapes, bool):
            out.append(f"use_shapes: expected true or false, got {self.use_shapes!r}")
        if self.phase not in _PHASES:
            out.append(f"phase: expected one of {list(_PHASES)}, got {self.phase!r}")
        if not isinstance(self.rail_mode, str) or not self.rail_mode:
            out.append(f"rail_mode: expected a mode name, got {self.rail_mode!r}")
        try:
            _parse_band(self.service_span)
        except ParameterError:
            out.append(f"service_span: expected 'HH:MM-HH:MM', got {self.service_span!r}")
        return out

    @classmethod
    def from_mapping(cls, values: Mapping | None) -> TopologyAssumptions:
        """Return the defaults overridden by a scenario table (e.g. ``[transit.topology]``).

        Tables by mode (``speeds_kmh``, ``dwell_s``, ``detour_factors``,
        ``headways_min``) and ``bands`` are merged into the defaults: a scenario
        gives only what it changes (``headways_min.bus.peak = 12``). A mode's
        band table replaces nothing else of that mode.

        Raises
        ------
        ConfigError
            Unknown keys or invalid values, all listed, each with its key and
            what is expected.
        """
        values = dict(values or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        problems = [f"{k}: unknown key; expected one of {sorted(fields)}" for k in unknown]
        base = cls()
        kwargs = {}
        for key, v in values.items():
            if key in unknown:
                continue
            default = getattr(base, key)
            if key in ("speeds_kmh", "dwell_s", "detour_factors", "bands"):
                if not isinstance(v, Mapping):
                    problems.append(f"{key}: expected a table, got {v!r}")
                    continue
                kwargs[key] = {**default, **v}
            elif key == "headways_min":
                if not isinstance(v, Mapping):
                    problems.append(f"{key}: expected a table mode → {{band: minutes}}, got {v!r}")
                    continue
                merged = {m: dict(b) for m, b in default.items()}
                for mode, per_band in v.items():
                    if isinstance(per_band, Mapping):
                        merged[mode] = {**merged.get(mode, {}), **per_band}
                    else:
                        merged[mode] = per_band
                kwargs[key] = merged
            else:
                kwargs[key] = v
        out = None
        try:
            out = cls(**kwargs)
        except ParameterError as exc:
            problems.append(str(exc).removeprefix("transit topology assumptions: "))
        if problems:
            raise ConfigError("transit topology assumptions: " + "; ".join(problems))
        return out

    def _mode_value(self, table: str, mode: str) -> float:
        t = getattr(self, table)
        if mode in t:
            return float(t[mode])
        raise ParameterError(f"transit topology assumptions: {table} has no value for mode "
                             f"{mode!r} (modes: {sorted(t)}); add {table}.{mode}")

    def band_spans(self) -> list[tuple[int, int, str]]:
        """Return ``(start_s, end_s, band)`` of every band interval, sorted."""
        out = []
        for band, spans in self.bands.items():
            for s in [spans] if isinstance(spans, str) else spans:
                out.append((*_parse_band(s), band))
        return sorted(out)

    def summary(self) -> str:
        """One line describing the speeds and headways (for reports)."""
        sp = ", ".join(f"{m} {v:g}" for m, v in self.speeds_kmh.items())
        hw = "; ".join(f"{m} " + "/".join(f"{b} {v:g}" for b, v in per.items())
                       for m, per in self.headways_min.items() if per)
        return f"speeds km/h: {sp}; headways min: {hw}; change {self.change_s:g} s"


# ------------------------------------------------------------------------------------------
# Inferred links between stations (rail without sequences)
# ------------------------------------------------------------------------------------------


def station_links(x_m: np.ndarray, y_m: np.ndarray, *, max_link_m: float,
                  straightness: float) -> list[tuple[int, int]]:
    """Return pairs of stations taken as consecutive along a line.

    Every pair closer than ``max_link_m`` is a candidate; the pair (A, B) is
    dropped when another station C lies "between" them: ``AC < AB``,
    ``CB < AB`` and ``AC + CB ≤ straightness × AB`` (then A-C and C-B are the
    consecutive pairs; with an infinite straightness this is the relative
    neighbourhood graph). What
    remains resembles the lines in an area where stations are the only nodes.
    Limits: two parallel lines closer than ``max_link_m`` with no station in
    between get a link that does not exist; a station on a line running
    straight past another line's station may be chained through it.

    Returns
    -------
    list of (i, j) with i < j, sorted.
    """
    xy = np.c_[x_m, y_m]
    if len(xy) < 2:
        return []
    tree = cKDTree(xy)
    pairs = tree.query_pairs(max_link_m, output_type="ndarray")
    out = []
    for a, b in pairs:
        d_ab = float(np.hypot(*(xy[a] - xy[b])))
        near = tree.query_ball_point((xy[a] + xy[b]) / 2, d_ab * straightness / 2 + 1e-6)
        between = False
        for c in near:
            if c in (a, b):
                continue
            d_ac, d_cb = np.hypot(*(xy[a] - xy[c])), np.hypot(*(xy[c] - xy[b]))
            if d_ac < d_ab and d_cb < d_ab and d_ac + d_cb <= straightness * d_ab:
                between = True
                break
        if not between:
            out.append((int(min(a, b)), int(max(a, b))))
    return sorted(out)


def _chains(n: int, links: list[tuple[int, int]]) -> list[list[int]]:
    """Split a graph into maximal paths whose interior nodes have exactly two links."""
    adj: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b in links:
        adj[a].append(b)
        adj[b].append(a)
    for v in adj.values():
        v.sort()
    used: set[tuple[int, int]] = set()
    chains = []

    def walk(start, nxt):
        path = [start, nxt]
        used.add((min(start, nxt), max(start, nxt)))
        while len(adj[path[-1]]) == 2:
            cur, prev = path[-1], path[-2]
            step = adj[cur][0] if adj[cur][1] == prev else adj[cur][1]
            key = (min(cur, step), max(cur, step))
            if key in used:
                break
            used.add(key)
            path.append(step)
        return path

    for s in sorted(adj):
        if len(adj[s]) != 2:
            for t in adj[s]:
                if (min(s, t), max(s, t)) not in used:
                    chains.append(walk(s, t))
    for s in sorted(adj):  # cycles made only of two-link stations
        for t in adj[s]:
            if (min(s, t), max(s, t)) not in used:
                chains.append(walk(s, t))
    return chains


def station_lines(topology: LineTopology, x_m, y_m, a: TopologyAssumptions,
                  report: LayerReport) -> list[LineSequence]:
    """Pseudo-lines between stations with daily counts (see the module doc)."""
    stops = topology.stops
    daily = pd.to_numeric(stops.get("daily_stops_n", pd.Series(np.nan, index=stops.index)),
                          errors="coerce").astype(float).to_numpy()
    ok = np.isfinite(daily) & (daily >= a.rail_min_daily_stops_n) & np.isfinite(x_m)
    report.skip(f"station without daily stop count (or fewer than "
                f"{a.rail_min_daily_stops_n:g})", int((~ok).sum()))
    idx = np.flatnonzero(ok)
    links = station_links(np.asarray(x_m)[idx], np.asarray(y_m)[idx],
                          max_link_m=a.rail_max_link_km * 1000, straightness=a.rail_straightness)
    ids = stops.index.to_numpy()[idx]
    d = daily[idx]
    out = []
    for k, chain in enumerate(_chains(len(idx), links)):
        trips = float(d[chain].min()) / 2
        seq = tuple(str(ids[i]) for i in chain)
        line_id = f"{a.rail_mode}-link:{seq[0]}-{seq[-1]}"
        out.append(LineSequence(line_id, seq, a.rail_mode, f"{k}a", daily_trips_n=trips))
        out.append(LineSequence(line_id, seq[::-1], a.rail_mode, f"{k}b", daily_trips_n=trips))
    report.notes.append(
        f"{len(links)} links between {len(idx)} stations inferred (consecutive stations within "
        f"{a.rail_max_link_km:g} km, straightness {a.rail_straightness:g}), chained into "
        f"{len(out) // 2} pseudo-lines; trips per direction = half the smaller daily stop count")
    return out


# ------------------------------------------------------------------------------------------
# Trip generation
# ------------------------------------------------------------------------------------------


def line_offset_s(line_id: str, headway_s: float, phase: str = "hash") -> int:
    """Offset of a line's departures within its headway (see the module doc).

    >>> line_offset_s("A", 600, "zero")
    0
    >>> 0 <= line_offset_s("A", 600) < 600
    True
    """
    if phase == "zero":
        return 0
    slots = max(1, int(headway_s // 60))
    return 60 * (zlib.crc32(str(line_id).encode("utf-8")) % slots)


def _departures(first_s: int, last_s: int, spans: list[tuple[int, int, float]], offset_s: int,
                ) -> np.ndarray:
    """First-stop departures ``t ≡ offset (mod headway)`` in each span, within [first, last)."""
    out = []
    for start, end, h in spans:
        lo, hi = max(start, first_s), min(end, last_s)
        if hi <= lo or h <= 0:
            continue
        k0 = math.ceil((lo - offset_s) / h)
        t = offset_s + h * np.arange(k0, math.ceil((hi - offset_s) / h))
        out.append(t[(t >= lo) & (t < hi)])
    if not out:
        return np.zeros(0, np.int64)
    return np.unique(np.round(np.concatenate(out)).astype(np.int64))


def _running_times(hop_m: np.ndarray, mode: str, a: TopologyAssumptions):
    """Arrival and departure offsets (s) along a sequence from its hop lengths."""
    speed = a._mode_value("speeds_kmh", mode) / 3.6
    dwell = a._mode_value("dwell_s", mode)
    n = len(hop_m) + 1
    run = hop_m / speed
    dwell_at = np.full(n, dwell)
    dwell_at[0] = dwell_at[-1] = 0.0
    arr = np.zeros(n)
    arr[1:] = np.cumsum(run) + np.cumsum(dwell_at[:-1])
    dep = arr + dwell_at
    arr_i = np.round(arr).astype(np.int64)
    dep_i = np.maximum(np.round(dep).astype(np.int64), arr_i)
    return arr_i, dep_i


def generate_patterns(
    lines: Sequence[LineSequence],
    stops_xy: pd.DataFrame,
    assumptions: TopologyAssumptions,
    *,
    window_s: tuple[int, int],
    max_travel_time_min: float,
    report: LayerReport | None = None,
) -> list[PatternTrips]:
    """Generate the trips of every line sequence (input of :meth:`Timetable.from_patterns`).

    Parameters
    ----------
    lines : sequence of LineSequence
    stops_xy : DataFrame
        Index ``stop_id``; ``x_m``, ``y_m`` in a metric CRS.
    assumptions : TopologyAssumptions
    window_s : (start, end)
        Departure window (s after midnight); trips are generated from
        ``start`` minus the trip's duration to ``end + max_travel_time_min``.
    max_travel_time_min : float
    report : LayerReport, optional
        Receives the count of hops measured along shapes vs straight lines.
    """
    a = assumptions
    x = stops_xy["x_m"]
    y = stops_xy["y_m"]
    pos = pd.Index(stops_xy.index)
    bands = a.band_spans()
    span = _parse_band(a.service_span)
    horizon = int(round(max_travel_time_min * 60))
    shape_hops = straight_hops = implausible = 0
    out = []
    for ln in lines:
        k = pos.get_indexer(pd.Index(list(ln.stop_ids), dtype=object))
        xs, ys = x.to_numpy()[k], y.to_numpy()[k]
        straight = np.hypot(np.diff(xs), np.diff(ys))
        hop = straight * a._mode_value("detour_factors", ln.mode)
        if a.use_shapes and ln.hop_m is not None:
            shp = np.asarray(ln.hop_m, dtype=float)
            ok = np.isfinite(shp) & (shp >= 0.9 * straight) & (shp <= 3 * straight + 50)
            implausible += int((np.isfinite(shp) & ~ok).sum())
            hop = np.where(ok, shp, hop)
            shape_hops += int(ok.sum())
            straight_hops += int((~ok).sum())
        else:
            straight_hops += len(hop)
        arr_off, dep_off = _running_times(hop, ln.mode, a)
        duration = int(arr_off[-1])
        first, last = window_s[0] - duration, window_s[1] + horizon
        if ln.daily_trips_n is not None:
            if not ln.daily_trips_n > 0:
                continue
            h = (span[1] - span[0]) / float(ln.daily_trips_n)
            spans = [(span[0], span[1], h)]
        else:
            per_band = a.headways_min.get(ln.mode)
            if per_band is None:
                raise ParameterError(
                    f"transit topology assumptions: headways_min has no entry for mode "
                    f"{ln.mode!r} (line {ln.line_id}); modes: {sorted(a.headways_min)}")
            spans = [(s, e, 60.0 * float(per_band[b])) for s, e, b in bands
                     if float(per_band.get(b) or 0) > 0]
        offset = {h: line_offset_s(ln.line_id, h, a.phase) for _, _, h in spans}
        deps = np.unique(np.concatenate(
            [_departures(first, last, [sp], offset[sp[2]]) for sp in spans]
            or [np.zeros(0, np.int64)]))
        if not len(deps):
            continue
        out.append(PatternTrips(
            route_id=ln.line_id,
            stop_ids=tuple(ln.stop_ids),
            arrival_s=deps[:, None] + arr_off[None, :],
            departure_s=deps[:, None] + dep_off[None, :],
            trip_ids=[f"{ln.line_id}:{ln.variant}:{int(t)}" for t in deps],
            mode=ln.mode,
        ))
    if report is not None:
        report.notes.append(f"in-vehicle distances: {shape_hops} hops along route shapes, "
                            f"{straight_hops} straight × detour factor"
                            + (f" ({implausible} shape distances implausible, not used)"
                               if implausible else ""))
    return out


# ------------------------------------------------------------------------------------------
# From data folder to timetable
# ------------------------------------------------------------------------------------------


def read_line_topologies(data_dir: str | os.PathLike) -> list[LineTopology]:
    """Ask the region plug-ins' line-topology readers for a data folder.

    Raises
    ------
    SourceNotFoundError
        No registered reader finds line topology in the folder.
    """
    from productivecity.sources import regions
    from productivecity.sources.catalog import DataDir

    dd = DataDir(data_dir)
    readers = regions.line_topology_readers()
    found = [t for r in readers for t in r.read(dd)]
    if not found:
        names = [r.name for r in readers]
        raise SourceNotFoundError(
            f"no transit line topology in {dd.root}: none of the registered readers "
            f"({', '.join(names) or 'none'}) found its files; give a GTFS feed with "
            f"stop_times.txt instead, or register a region reader (see "
            f"productivecity.sources.regions.LineTopologyReader)")
    return found


def _split_runs(seq: LineSequence, keep: set) -> list[LineSequence]:
    """Maximal runs (>= 2 stops) of a sequence's stops that are kept."""
    runs, cur, cur_h = [], [], []
    for i, s in enumerate(seq.stop_ids):
        if s in keep:
            if cur and seq.hop_m is not None:
                cur_h.append(seq.hop_m[i - 1])
            cur.append(s)
        else:
            if len(cur) >= 2:
                runs.append((cur, cur_h))
            cur, cur_h = [], []
    if len(cur) >= 2:
        runs.append((cur, cur_h))
    return [dataclasses.replace(seq, stop_ids=tuple(c), variant=f"{seq.variant}.{k}"
                                if len(runs) > 1 else seq.variant,
                                hop_m=tuple(h) if seq.hop_m is not None else None)
            for k, (c, h) in enumerate(runs)]


def timetable_from_line_topology(
    data_dir: str | os.PathLike | None = None,
    *,
    topologies: Sequence[LineTopology] | None = None,
    stops: gpd.GeoDataFrame | None = None,
    area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    assumptions: TopologyAssumptions | Mapping | None = None,
    window=("07:00", "09:00"),
    max_travel_time_min: float = 120.0,
    crs=None,
) -> tuple[Timetable, LayerReport]:
    """Build a timetable estimated from line topology (see the module doc).

    Parameters
    ----------
    data_dir : path-like, optional
        Data folder read by the region plug-ins' line-topology readers.
    topologies : sequence of LineTopology, optional
        Already read topologies (instead of ``data_dir``).
    stops : GeoDataFrame, optional
        The loaded transit stop layer (index ``stop_id``, e.g. from
        ``transit_stops``): only its stops are used, in its CRS. Sequences
        leaving it are cut into the runs inside.
    area : GeoDataFrame or GeoSeries, optional
        Study area: only stops inside are used (when ``stops`` is not given).
    assumptions : TopologyAssumptions or mapping, optional
        A mapping is read with :meth:`TopologyAssumptions.from_mapping`.
    window : (start, end), default ("07:00", "09:00")
        Departure window the trips must serve.
    max_travel_time_min : float, default 120
        Journeys' longest duration (trips are generated that far past the window).
    crs : CRS-like, optional
        Metric CRS (default: that of ``stops``/``area``, else the stops' UTM zone).

    Returns
    -------
    Timetable
        ``source == "estimated from line topology"``; ``notes`` list the
        assumptions and the model's limits.
    LayerReport
        Layer ``transit_lines``: lines and stops read, left out (one stop,
        unknown stop ids, no coordinates, outside the area) and notes.

    Raises
    ------
    SourceNotFoundError
        No reader knows the folder.
    """
    t0 = time.perf_counter()
    if assumptions is None:
        a = TopologyAssumptions()
    elif isinstance(assumptions, TopologyAssumptions):
        a = assumptions
    else:
        a = TopologyAssumptions.from_mapping(assumptions)
    if topologies is None:
        if data_dir is None:
            raise ParameterError("timetable_from_line_topology needs data_dir= or topologies=")
        topologies = read_line_topologies(data_dir)
    start_s, end_s = (parse_clock_s(w) for w in window)
    if end_s <= start_s:
        raise ParameterError(f"departure window {window!r}: the end must be after the start")
    report = LayerReport("transit_lines")
    frames = []
    for topo in topologies:
        report.absorb(topo.report)
        frames.append(to_crs(topo.stops, "EPSG:4326", what="line topology stops"))
    all_stops = gpd.GeoDataFrame(pd.concat(frames), crs="EPSG:4326") if frames else None
    if all_stops is None or all_stops.empty:
        raise SourceNotFoundError("line topology: the readers returned no stops")
    all_stops = all_stops[~all_stops.index.duplicated(keep="first")]
    if crs is None:
        crs = metric_crs_of(stops if stops is not None else area if area is not None
                            else all_stops, what="line topology stops")
    proj = to_crs(all_stops, crs, what="line topology stops")
    keep = ~(proj.geometry.isna() | proj.geometry.is_empty).to_numpy()
    if stops is not None:
        inside = proj.index.isin(stops.index)
        report.skip("stop not in the transit stop layer", int((keep & ~inside).sum()))
        keep &= inside
    elif area is not None:
        from productivecity.sources.units import _area_geometry

        poly = _area_geometry(to_crs(area, crs, what="area"))
        inside = proj.geometry.intersects(poly).to_numpy()
        report.outside_area_n += int((keep & ~inside).sum())
        keep &= inside
    proj = proj[keep]
    xy = pd.DataFrame({"name": proj.get("name", pd.Series("", index=proj.index)),
                       "x_m": proj.geometry.x, "y_m": proj.geometry.y}, index=proj.index)
    xy.index.name = "stop_id"
    kept = set(xy.index)

    lines: list[LineSequence] = []
    cut = 0
    for topo in topologies:
        if topo.link_stations:
            sub = topo.stops[topo.stops.index.isin(kept)]
            sxy = xy.loc[sub.index]
            lines += station_lines(LineTopology(sub, [], topo.report, True),
                                   sxy["x_m"].to_numpy(), sxy["y_m"].to_numpy(), a, report)
            continue
        for seq in topo.lines:
            runs = _split_runs(seq, kept)
            if len(runs) != 1 or len(runs[0].stop_ids) != len(seq.stop_ids):
                cut += 1
            lines += runs
    report.skip("line sequence cut at stops outside the area (runs inside kept)", cut)
    patterns = generate_patterns(lines, xy, a, window_s=(start_s, end_s),
                                 max_travel_time_min=max_travel_time_min, report=report)
    served = {s for p in patterns for s in p.stop_ids}
    tt = Timetable.from_patterns(
        xy, patterns, crs=crs,
        change_s=dict.fromkeys(served, int(round(a.change_s))),
        walk_radius_m=a.walk_radius_m, walk_speed_kmh=a.walk_speed_kmh,
        source=SOURCE_LINE_TOPOLOGY, window_s=(start_s, end_s),
    )
    n_lines = len({ln.line_id for ln in lines})
    tt.notes += [
        f"{SOURCE_LINE_TOPOLOGY}: {n_lines} lines, {len(lines)} sequences, "
        f"{len(served)} stops served, {tt.trips_n} trips generated "
        f"for departures {window[0]}-{window[1]}",
        a.summary(),
        "no timetable: regular headways (average wait about half the headway), no express "
        "services; variants run at the line's headway; inferred station links end at junctions",
    ]
    report.features_n = n_lines
    report.notes += tt.notes[:1]
    logger.info("line topology: %s in %.1f s", tt, time.perf_counter() - t0)
    return tt, report
