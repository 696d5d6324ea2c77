"""Tests of productivecity.sources.transit: GTFS, STIB JSON, SNCB stations, the layer."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from productivecity import DataSourceError, EmptyLayerError, SchemaError
from productivecity.sources import transit
from productivecity.sources.regions import belgium


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def gtfs(tmp_path):
    """A tiny complete GTFS feed: 1 station + 3 stops, a tram and a bus line, one entrance."""
    d = tmp_path / "data" / "transit" / "mini"
    _write(d / "agency.txt",
           "agency_id,agency_name,agency_url,agency_timezone\nM,Mini Bus,x,Europe/Brussels\n")
    _write(d / "stops.txt",
           "stop_id,stop_name,stop_lat,stop_lon,location_type\n"
           "S,Station,50.85,4.35,1\n"
           "a,Alpha,50.850,4.350,0\n"
           "b,Beta,50.851,4.351,\n"
           "c,Gamma,50.900,4.400,0\n"
           "e,Entrance,50.8501,4.3501,2\n"
           "x,No coords,,,0\n"
           "a,Alpha again,50.850,4.350,0\n")
    _write(d / "routes.txt", "route_id,route_short_name,route_type\nT1,1,0\nB2,2,3\n")
    _write(d / "trips.txt", "route_id,service_id,trip_id\nT1,W,t1\nB2,W,t2\n")
    _write(d / "stop_times.txt",
           "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
           "t1,08:00:00,08:00:00,a,1\nt1,08:05:00,08:05:00,b,2\n"
           "t2,09:00:00,09:00:00,a,1\n")
    _write(d / "calendar.txt", "service_id,monday,tuesday,wednesday,thursday,friday,saturday,"
           "sunday,start_date,end_date\nW,1,1,1,1,1,0,0,20240101,20241231\n")
    return d


def test_read_gtfs_stops_modes_lines_and_counts(gtfs):
    gdf, rep = transit.read_gtfs_stops(gtfs)
    assert list(gdf.index) == ["mini-bus:a", "mini-bus:b", "mini-bus:c"]
    assert gdf.loc["mini-bus:a", "mode"] == "tram"          # tram beats bus
    assert gdf.loc["mini-bus:a", "routes_n"] == 2
    assert gdf.loc["mini-bus:a", "lines"] == "1;2"
    assert gdf.loc["mini-bus:b", "mode"] == "tram"
    assert gdf.loc["mini-bus:c", "routes_n"] == 0           # complete feed: served by no trip
    assert gdf.loc["mini-bus:c", "mode"] == "unknown"
    assert gdf["daily_stops_n"].isna().all()
    assert rep.read_n == 7
    assert rep.skipped == {
        "not a boarding stop: station (location_type 1)": 1,
        "not a boarding stop: entrance/exit (location_type 2)": 1,
        "no coordinates": 1,
        "duplicate stop id (first kept)": 1,
    }
    assert rep.features_n + sum(rep.skipped.values()) == rep.read_n
    # a reader gives longitude/latitude; transit_stops projects to the study area's CRS
    assert gdf.crs.to_epsg() == 4326 and list(gdf.columns) == [*transit.STOP_COLUMNS, "geometry"]


def test_gtfs_missing_column_named(tmp_path):
    stops = _write(tmp_path / "stops.txt", "stop_id,stop_name,lat,lon\n1,A,50,4\n")
    with pytest.raises(SchemaError, match=r"\['stop_lat', 'stop_lon'\].*available columns"):
        transit.read_gtfs_stops(stops)


def test_gtfs_missing_file(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        transit.read_gtfs_stops(tmp_path / "nowhere")


def test_stops_by_line_links_ids_without_leading_zeros(tmp_path):
    d = tmp_path / "stib"
    _write(d / "stops.txt", "stop_id,stop_name,stop_lat,stop_lon,location_type\n"
           "0089,MONTGOMERY,50.838,4.409,0\n0470F,SIMONIS,50.8637,4.3296,0\n9999,LONELY,50.8,4.3,0\n")
    _write(d / "routes.txt", "route_id,route_short_name,route_type\n4,1,1\n5,7,0\n")
    pts = json.dumps([{"id": "89", "order": 1}, {"id": "470F", "order": 2}]).replace('"', '""')
    _write(d / "stops_by_line.csv", f'destination;direction;lineId;points\nx;City;1;"{pts}"\n'
           f'x;City;7;"{json.dumps([{"id": "89", "order": 1}]).replace(chr(34), chr(34) * 2)}"\n')
    gdf, _ = transit.read_gtfs_stops(d, prefix="stib")
    assert gdf.loc["stib:0089", "routes_n"] == 2 and gdf.loc["stib:0089", "mode"] == "metro"
    assert gdf.loc["stib:0470F", "lines"] == "1"
    assert pd.isna(gdf.loc["stib:9999", "routes_n"])        # partial table: unknown, not 0


def test_read_stib_json(tmp_path):
    d = tmp_path / "json"
    _write(d / "stops.json", json.dumps({
        "0089": {"name": "MONTGOMERY", "lat": 50.838, "lon": 4.409},
        "0340248": {"name": "2 - Boulevard du Midi", "lat": 50.834, "lon": 4.343},
        "1234": {"name": "NO COORD", "lat": None, "lon": None},
    }))
    _write(d / "routes.json", json.dumps({"4": {"short_name": "1", "type": 1},
                                          "5": {"short_name": "7", "type": 0}}))
    _write(d / "stop_shape_index.json", json.dumps({"1": {"0089": ["s", 0.0], "1234": ["s", 1]},
                                                    "7": {"0089": ["t", 0.0]}}))
    _write(d / "meta.json",
           json.dumps({"feed_start_date": "20260622", "feed_end_date": "20260719"}))
    gdf, rep = belgium.read_stib_json(d)
    assert list(gdf.index) == ["stib:0089"]
    assert gdf.loc["stib:0089", "mode"] == "metro" and gdf.loc["stib:0089", "routes_n"] == 2
    assert rep.skipped == {"served by no line (station or entrance)": 1, "no coordinates": 1}
    assert belgium.stib_json_feed_dates(d)[1].isoformat() == "2026-07-19"


def test_read_sncb_stations_zero_is_unknown(tmp_path):
    p = _write(tmp_path / "stations.csv",
               "URI,name,longitude,latitude,avg_stop_times\n"
               "http://irail.be/stations/NMBS/008814001,Brussel-Zuid,4.336531,50.835707,969.66482\n"
               "http://irail.be/stations/NMBS/008400319,'s Hertogenbosch,5.294278,51.69042,0\n"
               "http://irail.be/stations/NMBS/008811189,Vilvoorde,,,269.5\n")
    gdf, rep = belgium.read_sncb_stations(p)
    assert gdf.loc["sncb:008814001", "daily_stops_n"] == pytest.approx(969.66482)
    assert pd.isna(gdf.loc["sncb:008400319", "daily_stops_n"])
    assert rep.skipped == {"no coordinates": 1}
    assert (gdf["mode"] == "rail").all()


def test_transit_stops_area_and_errors(gtfs):
    data_dir = gtfs.parent.parent
    area = gpd.GeoSeries([box(4.34, 50.84, 4.36, 50.86)], crs=4326)
    gdf, rep = transit.transit_stops(area, data_dir=data_dir)
    assert sorted(gdf.index) == ["mini-bus:a", "mini-bus:b"]
    assert rep.outside_area_n == 1
    with pytest.raises(EmptyLayerError, match="no transit stop"):
        transit.transit_stops(gpd.GeoSeries([box(0, 0, 1, 1)], crs=4326), data_dir=data_dir)
    with pytest.raises(DataSourceError, match="SNCB"):
        transit.transit_stops(area, data_dir=data_dir, sources=["sncb_stations"])


# ---------------------------------------------------------------------------- real data


@pytest.mark.integration
def test_testbed_stib_sources(testbed):
    j, rj = belgium.read_stib_json(testbed / "transit" / "stib" / "tla_json_2026-06")
    g, rg = transit.read_gtfs_stops(testbed / "transit" / "stib" / "gtfs_2023-09_partial")
    assert rj.read_n == 2752 and rg.read_n == 2886
    # stations and entrances: 70 + 243 in the 2023 GTFS; stops without line in 2026
    assert rg.skipped["not a boarding stop: station (location_type 1)"] == 70
    assert rg.skipped["not a boarding stop: entrance/exit (location_type 2)"] == 243
    assert rj.features_n + rj.skipped["served by no line (station or entrance)"] == 2752
    assert set(j["mode"]) == {"metro", "tram", "bus"}
    # metro platforms: Gare du Midi and Simonis on lines 2 and 6, Montgomery on line 1
    for sid in ("stib:8351", "stib:8763"):
        assert j.loc[sid, "mode"] == "metro" and j.loc[sid, "lines"] == "2;6"
    assert j.loc["stib:8081", "lines"] == "1"
    # the 2023 partial GTFS links the same metro platform to lines 2 and 6 through stops_by_line
    assert g.loc["stib:8351", "mode"] == "metro"


@pytest.mark.integration
def test_testbed_transit_layer(testbed):
    from productivecity.area import study_area

    area = study_area("brussels-vilvoorde", data_dir=testbed)
    gdf, rep = transit.transit_stops(area, data_dir=testbed)
    assert gdf.index.is_unique
    assert gdf.loc["sncb:008814001", "daily_stops_n"] == pytest.approx(969.7, abs=0.05)
    assert gdf.loc["sncb:008811189", "daily_stops_n"] == pytest.approx(269.5, abs=0.05)
    assert any("not used" in n and "gtfs_2023" in n for n in rep.notes)
    stib = gdf[gdf["operator"] == "STIB-MIVB"]
    assert 2200 < len(stib) <= 2439
    assert (gdf["daily_stops_n"].dropna() > 0).all()
    # every kept stop lies in the area; counts add up
    assert gdf.geometry.within(area.geometry.iloc[0].buffer(1)).all()
    assert rep.features_n + rep.outside_area_n + sum(rep.skipped.values()) == rep.read_n
