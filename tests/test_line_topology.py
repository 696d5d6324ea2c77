"""Timetables estimated from line topology: hand-worked lines, assumptions, the real test bed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from productivecity._errors import ConfigError, ParameterError, SourceNotFoundError
from productivecity.accessibility.raptor import (
    departure_times_s,
    straight_line_legs,
    travel_time_matrix,
)
from productivecity.network.line_topology import (
    LineSequence,
    LineTopology,
    TopologyAssumptions,
    line_offset_s,
    read_line_topologies,
    station_links,
    timetable_from_line_topology,
)
from productivecity.network.timetable import SOURCE_LINE_TOPOLOGY
from productivecity.sources.load_report import LayerReport

CRS = "EPSG:32631"  # any metric CRS


def _stops(xy: dict, daily=None) -> gpd.GeoDataFrame:
    ids = list(xy)
    gdf = gpd.GeoDataFrame(
        {"name": ids, "mode": "bus",
         "daily_stops_n": pd.array([daily.get(i) if daily else None for i in ids],
                                   dtype="Float64")},
        geometry=gpd.points_from_xy([xy[i][0] for i in ids], [xy[i][1] for i in ids]),
        index=pd.Index(ids, name="stop_id"), crs=CRS)
    return gdf


def _hand_assumptions(**kw) -> TopologyAssumptions:
    """Bus 10 km/h (1 km = 6 min), tram 15 km/h (1 km = 4 min), no dwell, no detour,
    headway 10 min 06:00-10:00, no walks between stops, no change time."""
    base = dict(
        speeds_kmh={"bus": 10, "tram": 15},
        dwell_s={"bus": 0, "tram": 0},
        detour_factors={"bus": 1.0, "tram": 1.0},
        bands={"peak": ["06:00-10:00"]},
        headways_min={"bus": {"peak": 10}, "tram": {"peak": 10}},
        change_s=0, walk_radius_m=0, phase="zero",
    )
    base.update(kw)
    return TopologyAssumptions(**base)


def _two_lines(a: TopologyAssumptions):
    # A --bus 1 km--> B --tram 1 km--> C
    stops = _stops({"A": (500_000, 5_600_000), "B": (501_000, 5_600_000),
                    "C": (501_000, 5_601_000)})
    lines = [LineSequence("L1", ("A", "B"), "bus"), LineSequence("L2", ("B", "C"), "tram")]
    topo = LineTopology(stops, lines, LayerReport("transit_lines"))
    tt, report = timetable_from_line_topology(topologies=[topo], assumptions=a, crs=CRS)
    access = pd.DataFrame({"origin_id": ["o"], "stop_id": ["A"], "time_s": [0]})
    egress = pd.DataFrame({"stop_id": ["B", "C"], "destination_id": ["dB", "dC"],
                           "time_s": [0, 0]})
    m = travel_time_matrix(tt, access, egress, departures_s=departure_times_s("07:00", "09:00"),
                           percentiles=(25, 50, 90, 100))
    return tt, m.set_index("destination_id")


def test_headway_and_transfer_worked_by_hand():
    """120 departures, headway 10: waits 0..9 min twelve times each (nearest rank:
    p25 = 2, median = 4, p90 = 8, max = 9). A→B: 6 min in the bus. A→C: the bus
    arrives at B at :06, the tram leaves B at :00/:10 (phase zero): 4 min wait, 4 min ride."""
    tt, m = _two_lines(_hand_assumptions())
    assert tt.source == SOURCE_LINE_TOPOLOGY
    assert m.attrs["source"] == SOURCE_LINE_TOPOLOGY
    cols = ["travel_time_p25_min", "travel_time_min", "travel_time_p90_min",
            "travel_time_p100_min"]
    assert m.loc["dB", cols].tolist() == [6 + 2, 6 + 4, 6 + 8, 6 + 9]
    assert m.loc["dC", cols].tolist() == [14 + 2, 14 + 4, 14 + 8, 14 + 9]
    # trips: window 07:00-09:00 widened by the trip (6 min) before and 120 min after
    bus = tt.trip_ids[tt.pattern_trip_ptr[0]:tt.pattern_trip_ptr[1]]
    deps = sorted(int(t.rsplit(":", 1)[1]) for t in bus)
    assert deps[0] == 7 * 3600  # 06:50 would arrive at B before 07:00
    assert deps[-1] == 10 * 3600 - 600  # the band ends at 10:00
    assert np.all(np.diff(deps) == 600)


def test_hash_offsets_shift_the_transfer_not_the_first_wait():
    a = _hand_assumptions(phase="hash")
    _, m = _two_lines(a)
    assert m.loc["dB", "travel_time_min"] == 10  # 12 full cycles: any whole-minute offset
    off1, off2 = line_offset_s("L1", 600), line_offset_s("L2", 600)
    assert off1 % 60 == 0 and 0 <= off1 < 600 and off1 == line_offset_s("L1", 600)
    transfer_wait_min = ((off2 - off1) / 60 - 6) % 10
    assert m.loc["dC", "travel_time_min"] == 4 + 6 + transfer_wait_min + 4


def test_dwell_change_time_and_shape_distances():
    stops = _stops({"A": (500_000, 5_600_000), "B": (501_000, 5_600_000),
                    "C": (502_000, 5_600_000)})
    # hop A-B measured along the shape (1,500 m); B-C has no shape: straight 1 km × 1.0
    lines = [LineSequence("L", ("A", "B", "C"), "bus", hop_m=(1500.0, float("nan")))]
    a = _hand_assumptions(dwell_s={"bus": 30, "tram": 0}, change_s=90)
    tt, report = timetable_from_line_topology(
        topologies=[LineTopology(stops, lines, LayerReport("transit_lines"))],
        assumptions=a, crs=CRS)
    L = 3
    arr = tt.arrival_s[:L] - tt.departure_s[0]
    dep = tt.departure_s[:L] - tt.departure_s[0]
    assert arr.tolist() == [0, 540, 540 + 30 + 360]
    assert dep.tolist() == [0, 570, 930]
    assert tt.change_s[tt.stop_index(["B"])[0]] == 90
    assert any("1 hops along route shapes, 1 straight" in n for n in report.notes)


def test_inferred_station_links_and_daily_counts():
    # four stations on a straight line 2 km apart, one off to the side 5 km away
    xy = {"s1": (500_000, 5_600_000), "s2": (502_000, 5_600_000),
          "s3": (504_000, 5_600_000), "s4": (506_000, 5_600_000),
          "s5": (503_000, 5_605_000)}
    x = np.array([v[0] for v in xy.values()], float)
    y = np.array([v[1] for v in xy.values()], float)
    links = station_links(x, y, max_link_m=4500, straightness=1.4)
    assert links == [(0, 1), (1, 2), (2, 3)]  # s1-s3 passes s2; s5 is too far
    daily = {"s1": 100.0, "s2": 74.0, "s3": 200.0, "s4": 90.0, "s5": None}
    topo = LineTopology(_stops(xy, daily), [], LayerReport("transit_lines"), link_stations=True)
    a = TopologyAssumptions(rail_max_link_km=4.5, service_span="06:00-24:00", phase="zero",
                            walk_radius_m=0)
    tt, report = timetable_from_line_topology(topologies=[topo], assumptions=a, crs=CRS,
                                              window=("06:00", "24:00"), max_travel_time_min=10)
    assert tt.patterns_n == 2  # one chain s1-s2-s3-s4, both directions
    assert set(tt.pattern_modes) == {"rail"}
    # 74 / 2 = 37 trips a direction over 18 h: headway 18*60/37 = 29.2 min
    n = np.diff(tt.pattern_trip_ptr)
    assert n.tolist() == [37, 37]
    assert report.skipped["station without daily stop count (or fewer than 1)"] == 1
    # in-vehicle s1 -> s2: 2 km × 1.1 at 60 km/h = 132 s
    assert tt.arrival_s[1] - tt.departure_s[0] == 132


def test_assumptions_from_mapping_merges_and_validates():
    a = TopologyAssumptions.from_mapping({"headways_min": {"bus": {"peak": 12}},
                                          "speeds_kmh": {"bus": 18}})
    assert a.headways_min["bus"] == {"peak": 12, "off_peak": 15.0}
    assert a.speeds_kmh["bus"] == 18 and a.speeds_kmh["tram"] == 20
    assert TopologyAssumptions.from_mapping(None) == TopologyAssumptions()
    with pytest.raises(ConfigError, match=r"speed: unknown key; expected one of \[.*speeds_kmh"):
        TopologyAssumptions.from_mapping({"speed": 3})
    with pytest.raises(ConfigError, match=r"speeds_kmh\.bus: expected a number > 0 km/h, "
                                          r"got -1"):
        TopologyAssumptions.from_mapping({"speeds_kmh": {"bus": -1}})
    with pytest.raises(ConfigError, match=r"headways_min\.bus\.rush: unknown band"):
        TopologyAssumptions.from_mapping({"headways_min": {"bus": {"rush": 5}}})
    with pytest.raises(ConfigError, match=r"headways_min\.tram\.peak: expected minutes >= 1"):
        TopologyAssumptions.from_mapping({"headways_min": {"tram": {"peak": "often"}}})
    with pytest.raises(ConfigError, match=r"bands\.early: overlaps bands\.night|"
                                          r"bands\.night: overlaps bands\.early"):
        TopologyAssumptions.from_mapping({"bands": {"early": ["05:00-06:00"]}})
    with pytest.raises(ConfigError, match=r"phase: expected one of \['hash', 'zero'\]"):
        TopologyAssumptions.from_mapping({"phase": "random"})
    with pytest.raises(ParameterError, match=r"service_span: expected 'HH:MM-HH:MM'"):
        TopologyAssumptions(service_span="late")


def test_unknown_mode_and_folder_without_reader(tmp_path):
    stops = _stops({"A": (500_000, 5_600_000), "B": (501_000, 5_600_000)})
    topo = LineTopology(stops, [LineSequence("G", ("A", "B"), "gondola")],
                        LayerReport("transit_lines"))
    with pytest.raises(ParameterError, match=r"detour_factors has no value for mode 'gondola'"):
        timetable_from_line_topology(topologies=[topo], crs=CRS)
    with pytest.raises(SourceNotFoundError, match=r"no transit line topology in"):
        timetable_from_line_topology(tmp_path)


# ------------------------------------------------------------------------------------------
# the real test bed
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(testbed):
    from productivecity.area import study_area

    area = study_area("brussels-vilvoorde", data_dir=testbed)
    topos = read_line_topologies(testbed)
    tt, report = timetable_from_line_topology(topologies=topos, area=area)
    return topos, tt, report


def test_real_line_topology_counts_and_hops(real):
    topos, tt, report = real
    stib = next(t for t in topos if not t.link_stations)
    rail = next(t for t in topos if t.link_stations)
    assert len({s.line_id for s in stib.lines}) == 90
    assert 300 <= len(stib.lines) <= 340
    assert len(stib.stops) == 2752 - 313  # boarding stops of the 2026 export
    assert stib.report.skipped["stop: served by no line (station or entrance)"] == 313
    modes = {s.line_id: s.mode for s in stib.lines}
    assert modes["stib:1"] == "metro" and modes["stib:92"] == "tram"
    assert modes["stib:71"] == "bus" and modes["stib:N11"] == "night_bus"
    xy = stib.stops.to_crs(tt.crs).geometry
    hops = np.concatenate([
        np.hypot(np.diff(xy.x.loc[list(s.stop_ids)].to_numpy()),
                 np.diff(xy.y.loc[list(s.stop_ids)].to_numpy())) for s in stib.lines])
    assert np.quantile(hops, 0.95) < 1500
    assert 300 < np.median(hops) < 450
    assert len(rail.stops) == 729
    assert tt.source == SOURCE_LINE_TOPOLOGY
    assert 30 <= (tt.pattern_modes == "rail").sum() <= 120
    assert 8_000 <= tt.trips_n <= 14_000


def test_real_plausible_time_between_central_stops(real):
    """De Brouckère → Gare du Midi/Zuidstation: premetro 4 stops (~2.2 km, ~7 min with
    stops), wait ~4 min at a tram headway of 8, walks to and from the platforms (~2 min):
    about 12-14 minutes by hand."""
    _, tt, _ = real
    st = tt.stops_frame()
    here = st[st["name"] == "DE BROUCKERE"][["x_m", "y_m"]].mean().to_numpy()
    there = st[st["name"] == "GARE DU MIDI"][["x_m", "y_m"]].mean().to_numpy()
    xy = st[["x_m", "y_m"]].to_numpy()
    access = straight_line_legs(["o"], [here], st.index, xy, radius_m=400)
    egress = straight_line_legs(st.index, xy, ["d"], [there], radius_m=400,
                                columns=("stop_id", "destination_id"))
    m = travel_time_matrix(tt, access, egress, departures_s=departure_times_s("07:30", "08:30"),
                           percentiles=(50, 90))
    med, p90 = m.loc[0, ["travel_time_min", "travel_time_p90_min"]]
    assert 9 <= med <= 18, med
    assert med <= p90 <= med + 10
