"""Public-transport indicators per site (productivecity.indicators.transit), worked by hand."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity._errors import ConfigError
from productivecity.indicators.transit import (
    CANAL_COLUMN,
    TransitOptions,
    default_service_date,
    transit_column,
    transit_definitions,
    transit_indicators,
)
from productivecity.network.streets import from_arrays
from productivecity.network.timetable import PatternTrips, Timetable
from productivecity.sources.catalog import sample_data_dir
from productivecity.sources.gtfs import read_gtfs
from productivecity.workflow.config import build_config

CRS = "EPSG:32631"
#: The street: one straight line x = 0 .. 9,000 m, nodes every 100 m, walked at 6 km/h
#: (one minute per 100 m).
XS = np.arange(0, 9001, 100)


def street():
    ids = np.arange(len(XS))
    return from_arrays(ids[:-1], ids[1:], np.full(len(XS) - 1, 100.0),
                       dict(zip(ids, XS, strict=True)), dict.fromkeys(ids, 0.0),
                       mode="walk", speed_kmh=6.0, crs=CRS)


def line():
    """Stops A (x 0), B (3,000), C (6,000); a trip A -> B -> C every 10 min from 07:00,
    5 minutes between stops."""
    stops = pd.DataFrame({"name": ["A", "B", "C"], "x_m": [0.0, 3000.0, 6000.0],
                          "y_m": [0.0, 0.0, 0.0]},
                         index=pd.Index(["A", "B", "C"], name="stop_id"))
    dep = np.array([7 * 3600 + 600 * k for k in range(6)])
    times = np.c_[dep, dep + 300, dep + 600]
    return Timetable.from_patterns(
        stops, [PatternTrips("L1", ["A", "B", "C"], times, times, mode="tram")], crs=CRS,
        walk_radius_m=0.0, source="timetable")


def cells():
    """Job seekers at x = 300 (3 min walk), 3,000 (stop B), 3,500 (B + 5 min walk),
    6,000 (stop C) and 9,000 (30 min walk past C)."""
    x = [300.0, 3000.0, 3500.0, 6000.0, 9000.0]
    js = [10.0, 20.0, 40.0, 80.0, 5.0]
    return gpd.GeoDataFrame(
        {"population_n": [10 * v for v in js], "jobseekers_n": js,
         "jobseekers_low_edu_n": [v / 2 for v in js]},
        index=pd.Index([f"c{int(v)}" for v in x], name="cell_id"),
        geometry=gpd.points_from_xy(x, [0.0] * 5), crs=CRS)


def layers():
    """Two neighbourhoods (west of x 4,000, east of it); the canal zone touches the east."""
    units = gpd.GeoDataFrame({"name": ["west", "east"]},
                             geometry=[shapely.box(-100, -100, 4000, 100),
                                       shapely.box(4000, -100, 9100, 100)], crs=CRS)
    zone = gpd.GeoDataFrame(geometry=[shapely.box(5500, -50, 6500, 50)], crs=CRS)
    return {"units_neighbourhoods": units, "canal_zone": zone}


SITE = gpd.GeoDataFrame(index=pd.Index(["s"], name="site_id"),
                        geometry=[shapely.Point(0, 0)], crs=CRS)


def test_catchment_counts_worked_by_hand():
    # departures 07:00..07:09 (10): at A the wait is 0 (07:00) or 10 - k min, so the
    # times to B are 5, 14, 13, ..., 6 min: median (5th smallest of 10) 9 min; to C and
    # to the cell 500 m past B 14 min; the cell at 300 m is a 3-minute walk
    opts = TransitOptions(window=("07:00", "07:10"), limits_min=(10.0, 13.0, 14.0))
    out, rep = transit_indicators(SITE, street(), line(), cells(), opts, layers=layers())
    assert rep["source"] == "timetable" and rep["departures_n"] == 10
    assert out.loc["s", transit_column("jobseekers", 10)] == 10 + 20
    assert out.loc["s", transit_column("jobseekers", 13)] == 10 + 20
    assert out.loc["s", transit_column("jobseekers", 14)] == 10 + 20 + 40 + 80
    assert out.loc["s", transit_column("jobseekers_low_edu", 14)] == 75
    # canal districts: the east neighbourhood (C: 14 min, 80 persons; x 9,000 is not
    # reached within 90 min: counted at 90)
    assert out.loc["s", CANAL_COLUMN] == pytest.approx((80 * 14 + 5 * 90) / 85)
    # the 90th percentile: 13 min to B, 18 to C
    p90 = TransitOptions(window=("07:00", "07:10"), limits_min=(13.0, 18.0),
                         percentiles=(90.0, 50.0))
    out90, _ = transit_indicators(SITE, street(), line(), cells(), p90, layers=layers())
    assert out90.loc["s", transit_column("jobseekers", 13)] == 10 + 20
    assert out90.loc["s", transit_column("jobseekers", 18)] == 150


def test_catchment_at_a_huge_limit_is_all_demand_reached():
    opts = TransitOptions(window=("07:00", "07:10"), limits_min=(500.0,))
    demand = cells()
    out, rep = transit_indicators(SITE, street(), line(), demand, opts, layers=layers())
    for g in ("jobseekers", "jobseekers_low_edu"):
        assert out.loc["s", transit_column(g, 500)] == pytest.approx(demand[f"{g}_n"].sum())
    assert rep["demand_not_snapped"]["jobseekers_n"] == 0
    # a site off the street is NaN and counted, not dropped
    far = pd.concat([SITE, gpd.GeoDataFrame(index=pd.Index(["off"], name="site_id"),
                                            geometry=[shapely.Point(0, 5000)], crs=CRS)])
    out2, rep2 = transit_indicators(far, street(), line(), demand, opts, layers=layers())
    assert rep2["unsnapped_sites_n"] == 1 and out2.loc["off"].isna().all()
    assert out2.loc["s", transit_column("jobseekers", 500)] == pytest.approx(155)


def test_without_canal_zone_the_time_is_missing_with_a_reason():
    opts = TransitOptions(window=("07:00", "07:10"))
    out, rep = transit_indicators(SITE, street(), line(), cells(), opts,
                                  layers={"units_neighbourhoods": layers()[
                                      "units_neighbourhoods"]})
    assert out[CANAL_COLUMN].isna().all() and "canal_zone" in rep["missing"][CANAL_COLUMN]


def test_definitions_carry_the_source_and_the_direction():
    defs = transit_definitions(TransitOptions(), source="estimated from line topology")
    assert list(defs)[:2] == ["jobseekers_transit_30min_n", "jobseekers_transit_45min_n"]
    assert all(d.startswith("[estimated from line topology]") for d in defs.values())
    assert all("from the site outwards" in d for d in defs.values())
    assert transit_definitions(TransitOptions(source="none")) == {}


def test_config_transit_section():
    cfg = build_config(overrides=[("transit", "limits_min", [20, 40])])
    opts = cfg.transit_options
    assert opts.limits_min == (20.0, 40.0) and opts.window == ("07:00", "09:00")
    with pytest.raises(ConfigError, match=r"\[transit\] window"):
        build_config(overrides=[("transit", "window", ["09:00", "07:00"])])
    with pytest.raises(ConfigError, match=r"\[transit\] percentiles"):
        build_config(overrides=[("transit", "percentiles", [150])])
    with pytest.raises(ConfigError, match=r"assumptions"):
        build_config(overrides=[("transit", "assumptions", {"speeds_kmh": {"tram": -1}})])


def test_default_service_date_is_the_first_ordinary_tuesday():
    feed = read_gtfs(sample_data_dir() / "transit" / "gtfs_sample")
    assert default_service_date(feed) == dt.date(2026, 1, 6)


def test_transit_isochrones_start_again_at_the_stops_reached():
    from productivecity.indicators.transit import transit_isochrones

    opts = TransitOptions(window=("07:00", "07:10"))
    iso = transit_isochrones(street(), line(), SITE, opts, times_min=[10, 15])
    assert iso.attrs["source"] == "timetable"
    ten, fifteen = iso.loc[("s", 10.0)].geometry, iso.loc[("s", 15.0)].geometry
    # 10 min: the walk to x 1,000; B (reached in 9 min) and 100 m either side of it
    assert ten.contains(shapely.Point(950, 0)) and not ten.contains(shapely.Point(1200, 0))
    assert ten.contains(shapely.Point(3090, 0)) and not ten.contains(shapely.Point(3200, 0))
    assert not ten.contains(shapely.Point(6000, 0))
    # 15 min: B + 600 m, C (14 min) + 100 m
    assert fifteen.contains(shapely.Point(3590, 0)) and fifteen.contains(shapely.Point(6090, 0))
    assert not fifteen.contains(shapely.Point(6300, 0))
