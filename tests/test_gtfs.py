"""GTFS reading for routing: calendar, overnight trips, interpolation, and bad input."""

from __future__ import annotations

import zipfile
from datetime import date

import numpy as np
import pytest

from productivecity._errors import ParameterError, SchemaError
from productivecity.network.timetable import timetable_from_gtfs
from productivecity.sources.gtfs import read_gtfs

STOPS = """stop_id,stop_name,stop_lat,stop_lon
A,Alpha,50.0,4.00
B,Beta,50.0,4.01
C,Gamma,50.0,4.02
D,Delta,50.0,4.03
E,Epsilon,50.005,4.02
"""
ROUTES = """route_id,route_short_name,route_type
R1,1,3
R2,2,0
R3,3,1
"""
TRIPS = """route_id,service_id,trip_id
R1,WK,T1
R2,WK,T2
R2,WK,T2b
R3,WK,T3
R1,WK,N1
R1,EXTRA,X1
"""
STOP_TIMES = """trip_id,arrival_time,departure_time,stop_id,stop_sequence
T1,08:00:00,08:00:00,A,1
T1,08:10:00,08:10:00,B,2
T1,08:20:00,08:20:00,C,3
T2,08:25:00,08:25:00,C,1
T2,08:40:00,08:40:00,D,2
T2b,08:45:00,08:45:00,C,1
T2b,09:00:00,09:00:00,D,2
T3,08:23:00,08:23:00,E,1
T3,08:35:00,08:35:00,D,2
N1,24:50:00,24:50:00,A,1
N1,25:10:00,25:10:00,B,2
X1,09:00:00,09:00:00,A,1
X1,,,B,2
X1,09:30:00,09:30:00,C,3
"""
CALENDAR = """service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,\
start_date,end_date
WK,1,1,1,1,1,0,0,20250106,20250131
"""
CALENDAR_DATES = """service_id,date,exception_type
WK,20250108,2
EXTRA,20250108,1
"""


def write_feed(folder, *, transfers: str | None = None, **tables) -> object:
    """Write the small feed (tables overridable by name) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "agency": "agency_id,agency_name,agency_url,agency_timezone\na,Tiny,http://x,Europe/Brussels\n",
        "stops": STOPS,
        "routes": ROUTES,
        "trips": TRIPS,
        "stop_times": STOP_TIMES,
        "calendar": CALENDAR,
        "calendar_dates": CALENDAR_DATES,
    }
    base.update(tables)
    for name, text in base.items():
        if text is not None:
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    if transfers is not None:
        (folder / "transfers.txt").write_text(
            "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n" + transfers,
            encoding="utf-8",
        )
    return folder


def test_services_on_honour_calendar_and_calendar_dates(tmp_path):
    feed = read_gtfs(write_feed(tmp_path / "f"))
    assert feed.service_period() == (date(2025, 1, 6), date(2025, 1, 31))
    assert feed.services_on(date(2025, 1, 7)) == {"WK"}  # Tuesday
    assert feed.services_on(date(2025, 1, 8)) == {"EXTRA"}  # WK removed, EXTRA added
    assert feed.services_on(date(2025, 1, 11)) == set()  # Saturday
    assert set(feed.trips_on("2025-01-08")["trip_id"]) == {"X1"}


def test_zip_feed_times_past_midnight_and_interpolation(tmp_path):
    folder = write_feed(tmp_path / "f")
    zpath = tmp_path / "feed.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, f"inner/{p.name}")
    feed = read_gtfs(zpath)
    st = feed.stop_times.set_index(["trip_id", "stop_id"])
    assert st.loc[("N1", "B"), "arrival_s"] == 25 * 3600 + 600
    # X1 at B has no time: halfway between 09:00 and 09:30
    assert st.loc[("X1", "B"), "arrival_s"] == 9 * 3600 + 900
    assert st.loc[("X1", "B"), "departure_s"] == 9 * 3600 + 900


def test_timetable_overnight_trip_runs_on_next_day(tmp_path):
    feed = read_gtfs(write_feed(tmp_path / "f"))
    # Tuesday: Monday's N1 (24:50 → 25:10) runs at 00:50 → 01:10
    tt = timetable_from_gtfs(feed, "2025-01-07", window=("00:30", "01:00"), max_travel_time_min=60)
    assert "N1@-1d" in set(tt.trip_ids)
    i = list(tt.trip_ids).index("N1@-1d")
    p = int(np.searchsorted(tt.pattern_trip_ptr, i, side="right") - 1)
    n_l = tt.pattern_stop_ptr[p + 1] - tt.pattern_stop_ptr[p]
    t = i - tt.pattern_trip_ptr[p]
    base = tt.pattern_time_ptr[p] + t * n_l
    assert tt.departure_s[base] == 50 * 60 and tt.arrival_s[base + 1] == 70 * 60
    # Monday 00:30: the previous day (Sunday) has no WK service
    tt = timetable_from_gtfs(feed, "2025-01-06", window=("00:30", "01:00"), max_travel_time_min=60)
    assert not any(str(t).startswith("N1") for t in tt.trip_ids)


def test_transfers_txt_and_straight_line_walks(tmp_path):
    feed = read_gtfs(write_feed(tmp_path / "f", transfers="C,E,2,120\nC,C,2,600\n"))
    tt = timetable_from_gtfs(feed, "2025-01-07")
    c, e = tt.stop_index(["C", "E"])
    walks = dict(
        zip(
            tt.foot_to[tt.foot_ptr[c] : tt.foot_ptr[c + 1]],
            tt.foot_s[tt.foot_ptr[c] : tt.foot_ptr[c + 1]],
            strict=True,
        )
    )
    assert walks == {e: 120}
    assert tt.change_s[c] == 600
    # no transfers.txt, 1 km radius: C→E on a straight line at 4.8 km/h
    feed = read_gtfs(write_feed(tmp_path / "g"))
    tt = timetable_from_gtfs(feed, "2025-01-07", walk_radius_m=1000)
    c, e = tt.stop_index(["C", "E"])
    d_m = np.hypot(tt.stop_x_m[c] - tt.stop_x_m[e], tt.stop_y_m[c] - tt.stop_y_m[e])
    assert 540 < d_m < 570
    k = tt.foot_ptr[c] + list(tt.foot_to[tt.foot_ptr[c] : tt.foot_ptr[c + 1]]).index(e)
    assert tt.foot_s[k] == int(np.ceil(d_m / (4.8 / 3.6)))


def test_date_outside_service_period_gives_the_period(tmp_path):
    feed = read_gtfs(write_feed(tmp_path / "f"))
    with pytest.raises(ParameterError, match=r"2025-03-01.*2025-01-06 to 2025-01-31"):
        timetable_from_gtfs(feed, "2025-03-01")


def test_bad_feed_lists_every_problem_in_one_error(tmp_path):
    stops = STOPS.replace("D,Delta,50.0,4.03", "D,Delta,,")
    trips = TRIPS + "R9,WK,T9\nR1,NOSERVICE,T10\n"
    stop_times = (
        STOP_TIMES + "T9,10:00:00,10:00:00,A,1\nT9,10:05:00,10:05:00,Z,2\n"
        "T10,11:00:00,11:00:00,A,1\nT10,10:50:00,10:50:00,B,2\n"
    )
    folder = write_feed(tmp_path / "bad", stops=stops, trips=trips, stop_times=stop_times)
    with pytest.raises(SchemaError) as err:
        read_gtfs(folder)
    msg = str(err.value)
    assert "GTFS feed" in msg and "5 problem(s)" in msg
    assert "trips.txt: 1 row(s) with a route_id not in routes.txt, column route_id (R9)" in msg
    assert "trips.txt: 1 row(s) with a service_id not in calendar.txt" in msg and "NOSERVICE" in msg
    assert "stop_times.txt: 1 row(s) with a stop_id not in stops.txt, column stop_id (Z)" in msg
    assert "stops.txt: 1 stop(s) without coordinates, columns stop_lat/stop_lon (D)" in msg
    assert (
        "stop_times.txt: 1 trip(s) whose stop times go backwards (1 row(s))" in msg and "T10" in msg
    )


def test_feed_without_stop_times(tmp_path):
    folder = write_feed(tmp_path / "f", stop_times=None, calendar=None, calendar_dates=None)
    with pytest.raises(SchemaError) as err:
        read_gtfs(folder)
    msg = str(err.value)
    assert "stop_times.txt: file missing" in msg
    assert "calendar.txt and calendar_dates.txt: both missing" in msg


def test_frequencies_expand_into_trips(tmp_path):
    folder = write_feed(tmp_path / "f")
    (folder / "frequencies.txt").write_text(
        "trip_id,start_time,end_time,headway_secs\nT3,07:00:00,07:30:00,600\n", encoding="utf-8"
    )
    feed = read_gtfs(folder)
    st = feed.stop_times[feed.stop_times["trip_id"].str.startswith("T3")]
    # T3 runs E → D in 12 min; every 10 min from 07:00 to before 07:30
    assert sorted(st.loc[st["stop_id"] == "D", "arrival_s"] // 60) == [432, 442, 452]
    assert set(feed.trips_on("2025-01-07")["trip_id"]) >= {"T3@7:00:00", "T3@7:20:00"}
    assert "T3" not in set(feed.trips["trip_id"])
    (folder / "frequencies.txt").write_text(
        "trip_id,start_time,end_time,headway_secs\nT3,07:00:00,07:30:00,0\nT99,07:00:00,08:00:00,60\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError, match=r"(?s)2 problem\(s\).*headway_secs.*T99"):
        read_gtfs(folder)
