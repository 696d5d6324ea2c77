"""Benchmark the public-transport router (range RAPTOR) on the NYC subway feed.

Usage::

    python scripts/bench_transit.py DATA_DIR [--origins 1000] [--peer-origins 40]

DATA_DIR is the ``gtfs-samples`` folder (``nyc_subway_gtfs.zip``). The last line is::

    RESULT nyc_s=<s> peak_mb=<MB> peer_s=<s> pairs_compared=<n> max_abs_diff_min=<min>

What is timed (``nyc_s``): 1,000 origin points (random, seeded, within the extent
of the NYC stops), access on straight lines within 1,000 m at 4.8 km/h, to all
stops, for every departure minute 07:00-08:59 on a weekday of the service
period (median travel time), with ``travel_times_to_stops`` after one warm-up
call on two origins (numba compiles or loads its cache once per process).
Reading the feed and building the timetable is timed and printed, not counted.
``peak_mb`` is the process' peak resident memory (``ru_maxrss``) after that run.

The peer: r5py needs Java 21 and downloads R5 at run time (this machine has
Java 17 and no downloads outside the package registries); pyraptor (PyPI) reads
only Dutch-railway-style feeds (calendar_dates only, platforms) and pins
pandas < 2. So the peer is a plain-Python connection scan (the one of
``tests/test_raptor.py``, copied here): connections read from the raw feed by
this script, with the timetable's footpaths and change times and the same
access walks as inputs. By default it runs the whole job: every origin with a
stop in reach, all 120 departures each (the others reach no stop and need no
search by either router), measured; with ``--peer-origins N`` it runs on N of
them and its time is extrapolated (printed as such). Medians are compared on
every stop of the origins it ran.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import resource
import sys
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from productivecity.accessibility.raptor import (
    departure_times_s,
    straight_line_legs,
    travel_times_to_stops,
)
from productivecity.network.timetable import timetable_from_gtfs

DAY = date(2024, 12, 17)  # a Tuesday in the feed's period 2024-12-15 - 2025-01-17
MAX_MIN = 90


def _csv(zf, name):
    if name not in zf.namelist():
        return []
    with zf.open(name) as fh:
        return list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8-sig")))


def _secs(text):
    h, m, s = (int(v) for v in text.strip().split(":"))
    return h * 3600 + m * 60 + s


def connections(path, day, stop_index):
    """Connections (dep_s, arr_s, from, to, trip) of the day and the previous day's overnight trips."""
    with zipfile.ZipFile(path) as zf:
        cal, cal_dates = _csv(zf, "calendar.txt"), _csv(zf, "calendar_dates.txt")
        trips, stop_times = _csv(zf, "trips.txt"), _csv(zf, "stop_times.txt")

    def running(d):
        wd = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[
            d.weekday()
        ]
        ds = d.strftime("%Y%m%d")
        on = {
            c["service_id"] for c in cal if c["start_date"] <= ds <= c["end_date"] and c[wd] == "1"
        }
        for c in cal_dates:
            if c["date"] == ds:
                (on.add if c["exception_type"] == "1" else on.discard)(c["service_id"])
        return on

    by_trip = {}
    for r in stop_times:
        by_trip.setdefault(r["trip_id"], []).append(r)
    conns = []
    n_trip = 0
    for shift, d in ((-86400, day - timedelta(days=1)), (0, day)):
        services = running(d)
        for t in trips:
            if t["service_id"] not in services or t["trip_id"] not in by_trip:
                continue
            rows = sorted(by_trip[t["trip_id"]], key=lambda r: int(r["stop_sequence"]))
            for a, b in zip(rows[:-1], rows[1:], strict=True):
                conns.append(
                    (
                        _secs(a["departure_time"]) + shift,
                        _secs(b["arrival_time"]) + shift,
                        stop_index[a["stop_id"]],
                        stop_index[b["stop_id"]],
                        n_trip,
                    )
                )
            n_trip += 1
    conns.sort(key=lambda c: (c[0], c[1]))
    return conns, n_trip


def csa(conns, n_trip, n_stops, access, t0, limit_s, walk, change):
    """Earliest arrival at every stop from access walks [(stop, s)] leaving at t0 (plain Python)."""
    inf = math.inf
    ready = [inf] * n_stops
    best = [inf] * n_stops
    on = [False] * n_trip
    for s, w in access:
        ready[s] = min(ready[s], t0 + w)
    end = t0 + limit_s
    for dep, arr, a, b, trip in conns:
        if dep < t0:
            continue
        if dep > end:
            break
        if on[trip] or ready[a] <= dep:
            on[trip] = True
            if arr > end:
                continue
            if arr < best[b]:
                best[b] = arr
            r = arr + change[b]
            if r < ready[b]:
                ready[b] = r
            for u, w in walk[b]:
                t = arr + w
                if t <= end:
                    if t < best[u]:
                        best[u] = t
                    if t < ready[u]:
                        ready[u] = t
    for s, w in access:  # standing at a stop walked to counts (as the direct leg)
        best[s] = min(best[s], t0 + w)
    return [b - t0 if b - t0 <= limit_s else inf for b in best]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--origins", type=int, default=1000)
    ap.add_argument("--peer-origins", type=int, default=0,
                    help="origins the peer runs on (default 0: every origin with a stop in "
                         "reach, i.e. the whole job; fewer: its time is extrapolated)")
    ap.add_argument(
        "--with-access",
        action="store_true",
        help="draw origins until all have a stop within 1,000 m (a heavier run)",
    )
    args = ap.parse_args(argv)
    path = args.data_dir / "nyc_subway_gtfs.zip"
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]

    t = time.perf_counter()
    tt = timetable_from_gtfs(path, DAY, window=("07:00", "09:00"), max_travel_time_min=MAX_MIN)
    build_s = time.perf_counter() - t
    print(f"timetable: {tt} built in {build_s:.2f} s (not counted)")

    rng = np.random.default_rng(13)
    draw = args.origins * (20 if args.with_access else 1)
    xy = np.c_[
        rng.uniform(tt.stop_x_m.min(), tt.stop_x_m.max(), draw),
        rng.uniform(tt.stop_y_m.min(), tt.stop_y_m.max(), draw),
    ]
    if args.with_access:
        d_m, _ = cKDTree(np.c_[tt.stop_x_m, tt.stop_y_m]).query(xy)
        xy = xy[d_m <= 1000.0][: args.origins]
    access = straight_line_legs(
        np.arange(args.origins), xy, tt.stop_ids, np.c_[tt.stop_x_m, tt.stop_y_m], radius_m=1000.0
    )
    deps = departure_times_s("07:00", "09:00")
    print(
        f"{args.origins} origins ({access['origin_id'].nunique()} within 1,000 m of a stop), "
        f"{tt.stops_n} stops, {len(deps)} departures; load average {' '.join(load)}"
    )

    travel_times_to_stops(tt, access[access["origin_id"] < 2], departures_s=deps, origins=[0, 1])
    t = time.perf_counter()
    res = travel_times_to_stops(
        tt, access, departures_s=deps, origins=range(args.origins), max_travel_time_min=MAX_MIN
    )
    nyc_s = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"range RAPTOR: {nyc_s:.2f} s, {len(res)} origin-stop pairs reached, peak {peak_mb:.0f} MB"
    )

    # peer: plain-Python connection scan on a sample of the origins with access
    stop_index = {s: i for i, s in enumerate(tt.stop_ids)}
    conns, n_trip = connections(path, DAY, stop_index)
    walk = [
        list(
            zip(
                tt.foot_to[tt.foot_ptr[s] : tt.foot_ptr[s + 1]].tolist(),
                tt.foot_s[tt.foot_ptr[s] : tt.foot_ptr[s + 1]].tolist(),
                strict=True,
            )
        )
        for s in range(tt.stops_n)
    ]
    change = tt.change_s.tolist()
    with_access = np.unique(access["origin_id"].to_numpy())
    sample = with_access[: args.peer_origins] if args.peer_origins > 0 else with_access
    got = res.set_index(["origin_id", "stop_id"])["travel_time_min"]
    n_med = math.ceil(0.5 * len(deps)) - 1
    compared, max_diff = 0, 0.0
    t = time.perf_counter()
    peer = {}
    for o in sample:
        legs = access[access["origin_id"] == o]
        acc = [
            (stop_index[s], int(w)) for s, w in zip(legs["stop_id"], legs["time_s"], strict=True)
        ]
        per_dep = [
            csa(conns, n_trip, tt.stops_n, acc, int(d), MAX_MIN * 60, walk, change) for d in deps
        ]
        peer[o] = [sorted(col)[n_med] for col in zip(*per_dep, strict=True)]
    peer_sample_s = time.perf_counter() - t
    for o in sample:
        for s, v in zip(tt.stop_ids, peer[o], strict=True):
            mine = got.get((o, s), math.nan)
            want = v / 60 if math.isfinite(v) else math.nan
            compared += 1
            if math.isnan(mine) != math.isnan(want):
                max_diff = math.inf
            elif not math.isnan(mine):
                max_diff = max(max_diff, abs(mine - want))
    # origins without a stop in reach need no search (the router skips them too)
    peer_s = peer_sample_s * len(with_access) / max(len(sample), 1)
    how = ("measured on every origin with a stop in reach" if len(sample) == len(with_access)
           else f"extrapolated from {len(sample)} to the {len(with_access)} origins with a stop "
                f"in reach")
    print(
        f"peer (plain-Python connection scan): {peer_sample_s:.1f} s for {len(sample)} origins x "
        f"{len(deps)} departures; {peer_s:.0f} s for the job ({how}; the other "
        f"{args.origins - len(with_access)} origins reach no stop)"
    )
    print(
        f"RESULT nyc_s={nyc_s:.2f} peak_mb={peak_mb:.0f} peer_s={peer_s:.0f} "
        f"pairs_compared={compared} max_abs_diff_min={max_diff:g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
