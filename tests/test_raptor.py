"""Range RAPTOR: hand-worked timetables, and an independent connection scan on real feeds."""

from __future__ import annotations

import csv
import io
import math
import os
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_gtfs import write_feed

from productivecity._errors import ParameterError
from productivecity.accessibility.raptor import (
    catchment_counts,
    departure_times_s,
    travel_time_matrix,
    travel_times_s,
    travel_times_to_stops,
)
from productivecity.network.timetable import timetable_from_gtfs
from productivecity.sources.gtfs import read_gtfs

SAMPLES = Path(
    os.environ.get(
        "PRODUCTIVECITY_GTFS_SAMPLES",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "gtfs-samples",
    )
)


def _at(stop):
    return pd.DataFrame({"origin_id": ["o"], "stop_id": [stop], "time_s": [0]})


def _to(*stops):
    return pd.DataFrame({"stop_id": list(stops), "destination_id": list(stops), "time_s": 0})


def _minutes(tt, origin_stop, dest_stop, window, **kw):
    m = travel_time_matrix(
        tt,
        _at(origin_stop),
        _to(dest_stop),
        departures_s=departure_times_s(*window),
        destinations=[dest_stop],
        **kw,
    )
    return m["travel_time_min"].iloc[0] if len(m) else None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {
        "plain": read_gtfs(write_feed(root / "plain")),
        "walk": read_gtfs(write_feed(root / "walk", transfers="C,E,2,120\n")),
        "change": read_gtfs(write_feed(root / "change", transfers="C,C,2,600\n")),
    }


def test_waiting_is_part_of_the_travel_time(tiny):
    tt = timetable_from_gtfs(tiny["plain"], "2025-01-07")
    # leave A at 07:55..07:59, T1 leaves 08:00, B at 08:10: 15, 14, 13, 12, 11 min
    out, _, _ = travel_times_s(
        tt,
        _at("A"),
        _to("B"),
        departures_s=departure_times_s("07:55", "08:00"),
        percentiles=(20, 40, 50, 60, 100),
    )
    assert (out[0, 0] / 60).tolist() == [11, 12, 13, 13, 15]
    m = travel_time_matrix(
        tt,
        _at("A"),
        _to("B"),
        departures_s=departure_times_s("07:55", "08:00"),
        percentiles=(50, 90),
    )
    assert m[["travel_time_min", "travel_time_p90_min"]].iloc[0].tolist() == [13, 15]
    assert m.attrs["source"] == "timetable"


def test_transfer_at_a_stop_and_max_transfers(tiny):
    tt = timetable_from_gtfs(tiny["plain"], "2025-01-07")
    # T1 A 08:00 → C 08:20, change, T2 C 08:25 → D 08:40
    assert _minutes(tt, "A", "D", ("08:00", "08:01")) == 40
    assert _minutes(tt, "A", "D", ("08:00", "08:01"), max_transfers=0) is None


def test_transfers_txt_walk_and_minimum_change_time(tiny):
    # walk C → E (120 s, transfers.txt), T3 E 08:23 → D 08:35
    tt = timetable_from_gtfs(tiny["walk"], "2025-01-07")
    assert _minutes(tt, "A", "D", ("08:00", "08:01")) == 35
    # 10 min change at C: T2 (08:25) is missed, T2b C 08:45 → D 09:00
    tt = timetable_from_gtfs(tiny["change"], "2025-01-07")
    assert _minutes(tt, "A", "D", ("08:00", "08:01")) == 60


def test_overnight_trip_and_services_by_date(tiny):
    feed = tiny["plain"]
    # Tuesday 00:45: Monday's N1 leaves A at 24:50 (00:50), B at 25:10 (01:10)
    tt = timetable_from_gtfs(feed, "2025-01-07", window=("00:45", "00:46"))
    assert _minutes(tt, "A", "B", ("00:45", "00:46")) == 25
    # the same trip on its own service day, asked at 24:45
    tt = timetable_from_gtfs(feed, "2025-01-06", window=("24:45", "24:46"))
    assert _minutes(tt, "A", "B", ("24:45", "24:46")) == 25
    # Monday 00:45: no Sunday service
    tt = timetable_from_gtfs(feed, "2025-01-06", window=("00:45", "00:46"))
    assert _minutes(tt, "A", "B", ("00:45", "00:46")) is None
    # Wednesday: WK removed (T1 does not run), EXTRA added: X1 A 09:00 → B 09:15 (interpolated)
    tt = timetable_from_gtfs(feed, "2025-01-08", window=("07:55", "09:00"))
    assert _minutes(tt, "A", "B", ("07:55", "07:56")) == 80
    assert _minutes(tt, "A", "C", ("08:55", "08:56")) == 35


def test_access_egress_direct_and_catchments(tiny):
    tt = timetable_from_gtfs(tiny["plain"], "2025-01-07")
    access = pd.DataFrame({"origin_id": ["o1", "o2"], "stop_id": ["A", "C"], "time_s": [300, 60]})
    egress = pd.DataFrame(
        {"stop_id": ["B", "D"], "destination_id": ["x", "y"], "time_s": [120, 30]}
    )
    direct = pd.DataFrame({"origin_id": ["o2"], "destination_id": ["y"], "time_s": [1800]})
    deps = departure_times_s("07:55", "07:56")
    m = travel_time_matrix(tt, access, egress, departures_s=deps, direct=direct)
    got = {(r.origin_id, r.destination_id): r.travel_time_min for r in m.itertuples()}
    # o1: walk 5 min to A (08:00), T1 to B 08:10, walk 2 min: 17 min; to D 08:40 + 30 s
    # o2: walk to C, T2 08:25 → D 08:40 + 30 s = 45.5 min, but the direct walk takes 30 min
    assert got == {("o1", "x"): 17.0, ("o1", "y"): 45.5, ("o2", "y"): 30.0}
    wide = travel_time_matrix(tt, access, egress, departures_s=deps, direct=direct, wide=True)
    assert wide.loc["o1", "x"] == 17.0 and np.isnan(wide.loc["o2", "x"])
    counts = catchment_counts(m, pd.Series({"x": 10.0, "y": 5.0}), thresholds_min=(20, 45.5))
    assert counts.loc["o1"].tolist() == [10.0, 15.0]
    assert counts.loc["o2"].tolist() == [0.0, 5.0]
    stops = travel_times_to_stops(tt, access.iloc[:1], departures_s=deps)
    assert dict(zip(stops["stop_id"], stops["travel_time_min"], strict=True)) == {
        "A": 5.0,
        "B": 15.0,
        "C": 25.0,
        "D": 45.0,
    }
    with pytest.raises(ParameterError, match="percentile"):
        travel_times_s(tt, access, egress, departures_s=deps, percentiles=(0,))


# ------------------------------------------------------------------------------------------
# independent reference: plain connection scan on the raw feed (no package code)
# ------------------------------------------------------------------------------------------


def _csv(zf, name):
    if name not in zf.namelist():
        return []
    with zf.open(name) as fh:
        return list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8-sig")))


def _secs(text):
    h, m, s = (int(v) for v in text.strip().split(":"))
    return h * 3600 + m * 60 + s


class Reference:
    """Earliest arrival by connection scan, written from the GTFS reference alone."""

    def __init__(self, path, day, walks):
        with zipfile.ZipFile(path) as zf:
            cal = _csv(zf, "calendar.txt")
            cal_dates = _csv(zf, "calendar_dates.txt")
            trips = _csv(zf, "trips.txt")
            stop_times = _csv(zf, "stop_times.txt")
            stops = _csv(zf, "stops.txt")
            transfers = _csv(zf, "transfers.txt")

        def running(d):
            wd = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[
                d.weekday()
            ]
            ds = d.strftime("%Y%m%d")
            on = {
                c["service_id"]
                for c in cal
                if c["start_date"] <= ds <= c["end_date"] and c[wd] == "1"
            }
            for c in cal_dates:
                if c["date"] == ds:
                    (on.add if c["exception_type"] == "1" else on.discard)(c["service_id"])
            return on

        by_trip = {}
        for r in stop_times:
            by_trip.setdefault(r["trip_id"], []).append(r)
        conns = []
        for shift, d in ((-86400, day - timedelta(days=1)), (0, day)):
            services = running(d)
            for t in trips:
                if t["service_id"] not in services or t["trip_id"] not in by_trip:
                    continue
                rows = sorted(by_trip[t["trip_id"]], key=lambda r: int(r["stop_sequence"]))
                arr = [
                    _secs(r["arrival_time"]) if r["arrival_time"].strip() else None for r in rows
                ]
                dep = [
                    _secs(r["departure_time"]) if r["departure_time"].strip() else None
                    for r in rows
                ]
                for i in range(len(rows)):  # untimed stops: linear by position, rounded down
                    if arr[i] is None and dep[i] is None:
                        p = max(j for j in range(i) if dep[j] is not None)
                        q = min(j for j in range(i + 1, len(rows)) if arr[j] is not None)
                        arr[i] = dep[i] = dep[p] + math.floor((arr[q] - dep[p]) * (i - p) / (q - p))
                    arr[i] = dep[i] if arr[i] is None else arr[i]
                    dep[i] = arr[i] if dep[i] is None else dep[i]
                key = (shift, t["trip_id"])
                for i in range(len(rows) - 1):
                    conns.append(
                        (
                            dep[i] + shift,
                            arr[i + 1] + shift,
                            rows[i]["stop_id"],
                            rows[i + 1]["stop_id"],
                            key,
                        )
                    )
        conns.sort(key=lambda c: (c[0], c[1]))
        self.conns = conns
        self.stops = sorted(
            {c[2] for c in conns} | {c[3] for c in conns} | {r["stop_id"] for r in stop_times}
        )
        kids = {}
        for s in stops:
            if s.get("parent_station"):
                kids.setdefault(s["parent_station"], []).append(s["stop_id"])
        self.walk = {}
        self.change = {}
        for a, b, t in walks:
            self.walk.setdefault(a, {})[b] = t
        for r in transfers:
            if not r.get("min_transfer_time"):
                continue
            for a in kids.get(r["from_stop_id"], [r["from_stop_id"]]):
                for b in kids.get(r["to_stop_id"], [r["to_stop_id"]]):
                    if a == b:
                        self.change[a] = int(r["min_transfer_time"])
                    else:
                        self.walk.setdefault(a, {})[b] = int(r["min_transfer_time"])

    def one_to_all(self, origin, t0, limit_s):
        inf = float("inf")
        ready = {origin: t0}
        best = {}
        on_trip = set()
        end = t0 + limit_s
        for dep, arr, a, b, trip in self.conns:
            if dep > end:
                break
            if dep < t0:
                continue
            if trip in on_trip or ready.get(a, inf) <= dep:
                on_trip.add(trip)
                if arr > end:
                    continue
                if arr < best.get(b, inf):
                    best[b] = arr
                r = arr + self.change.get(b, 0)
                if r < ready.get(b, inf):
                    ready[b] = r
                for u, w in self.walk.get(b, {}).items():
                    if arr + w <= end:
                        best[u] = min(best.get(u, inf), arr + w)
                        ready[u] = min(ready.get(u, inf), arr + w)
        out = {s: t - t0 for s, t in best.items()}
        out[origin] = 0
        return out


def _haversine_walks(path, radius_m, speed_kmh):
    with zipfile.ZipFile(path) as zf:
        stops = [s for s in _csv(zf, "stops.txt") if s.get("location_type", "0") in ("", "0")]
    walks = []
    for a in stops:
        for b in stops:
            if a is b:
                continue
            la1, lo1, la2, lo2 = (
                math.radians(float(v))
                for v in (a["stop_lat"], a["stop_lon"], b["stop_lat"], b["stop_lon"])
            )
            h = (
                math.sin((la2 - la1) / 2) ** 2
                + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
            )
            d = 2 * 6371008.8 * math.asin(math.sqrt(h))
            if d <= radius_m:
                walks.append((a["stop_id"], b["stop_id"], math.ceil(d / (speed_kmh / 3.6))))
    return walks


def _feed(name):
    path = SAMPLES / name
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"GTFS sample {path} is missing (set PRODUCTIVECITY_GTFS_SAMPLES)")
        pytest.skip(f"GTFS sample {path} not available")
    return path


@pytest.mark.parametrize(
    ("name", "day", "walk_radius_m"),
    [
        ("cairns_gtfs.zip", date(2014, 6, 10), 300.0),
        ("nyc_subway_gtfs.zip", date(2024, 12, 17), 0.0),
    ],
)
def test_equals_connection_scan_on_real_feeds(name, day, walk_radius_m):
    path = _feed(name)
    walks = _haversine_walks(path, walk_radius_m, 4.8) if walk_radius_m else []
    ref = Reference(path, day, walks)
    rng = np.random.default_rng(13)
    start_s = int(rng.integers(6 * 60, 9 * 60)) * 60
    deps = np.arange(start_s, start_s + 10 * 60, 60, dtype=np.int32)
    limit_min = 90
    footpaths = pd.DataFrame(walks, columns=["from_stop_id", "to_stop_id", "time_s"])
    tt = timetable_from_gtfs(
        path,
        day,
        window=(int(deps[0]), int(deps[-1]) + 60),
        max_travel_time_min=limit_min,
        footpaths=footpaths,
        walk_radius_m=0,
    )
    origins = list(rng.choice(np.asarray(tt.stop_ids), size=12, replace=False))
    access = pd.DataFrame({"origin_id": origins, "stop_id": origins, "time_s": 0})
    pct = tuple(range(10, 101, 10))  # with 10 departures: every departure's time, sorted
    got = travel_times_to_stops(
        tt,
        access,
        departures_s=deps,
        percentiles=pct,
        max_transfers=20,
        max_travel_time_min=limit_min,
    )
    cols = ["travel_time_min" if p == 50 else f"travel_time_p{p}_min" for p in pct]
    got = {
        (r[0], r[1]): r[2:] for r in got[["origin_id", "stop_id", *cols]].itertuples(index=False)
    }
    compared = reached = 0
    for o in origins:
        per_dep = [ref.one_to_all(o, int(t), limit_min * 60) for t in deps]
        for s in tt.stop_ids:
            want = sorted(r.get(s, math.inf) for r in per_dep)
            want = tuple(w / 60 if w <= limit_min * 60 else math.nan for w in want)
            have = got.get((o, s), (math.nan,) * len(pct))
            assert np.allclose(have, want, equal_nan=True, atol=1e-9), (o, s, have, want)
            compared += len(pct)
            reached += int(np.isfinite(want).sum())
    assert reached > compared // 5  # the samples do travel
