"""Indicators per site: conservation rules and hand-checked sites on the sample, real data."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity import SchemaError
from productivecity import accessibility as acc
from productivecity.indicators import labour as lab
from productivecity.indicators.table import INDICATORS, site_indicators
from productivecity.layers import load_layers
from productivecity.network.streets import walk_network
from productivecity.sites import grid_sites
from productivecity.sources.catalog import sample_data_dir
from productivecity.workflow.inputs import load_indicator_inputs


@pytest.fixture(scope="module")
def sample():
    """Layers, walk network and hex-grid indicators of the synthetic sample."""
    layers = load_layers("sample", progress=False)
    sites, _ = grid_sites(layers["study_area"], cell_m=250)
    inputs = load_indicator_inputs(layers)
    table, report = site_indicators(sites, layers, inputs, progress=False)
    walk = walk_network(next((sample_data_dir() / "osm").glob("*.osm")),
                        crs=layers["study_area"].crs)
    return layers, sites, table, report, walk


def _units():
    """Two 1 km x 1 km units side by side (EPSG:31370)."""
    return gpd.GeoDataFrame(
        {"name": ["A", "B"]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        index=pd.Index(["11111", "22222"], name="nis5"), crs=31370,
    )


def test_dasymetric_by_area_conserves_and_is_uniform():
    totals = pd.DataFrame({"jobseekers_n": [400.0, 100.0]}, index=["11111", "22222"])
    pts, rep = lab.dasymetric_points(_units(), totals, cell_m=100)
    assert len(pts) == 200  # 10 x 10 cells per unit
    sums = pts.groupby("unit")["jobseekers_n"].sum()
    assert sums["11111"] == pytest.approx(400) and sums["22222"] == pytest.approx(100)
    assert np.allclose(pts.loc[pts["unit"] == "11111", "jobseekers_n"], 4.0)
    assert set(rep.method) == {"area"}


def test_dasymetric_follows_residential_footprints():
    """All of unit A's people live in two houses: 3/4 and 1/4 of the footprint."""
    units = _units()
    houses = gpd.GeoDataFrame(
        {"residential": [True, True, False]},
        geometry=[shapely.box(110, 110, 140, 150), shapely.box(510, 510, 530, 530),
                  shapely.box(700, 700, 790, 790)],  # the third is a factory
        crs=31370,
    )
    totals = pd.DataFrame({"p_n": [800.0, 50.0]}, index=["11111", "22222"])
    pts, rep = lab.dasymetric_points(units, totals, cell_m=100, buildings=houses)
    a = pts.loc[pts["unit"] == "11111"].set_index(pts.loc[pts["unit"] == "11111"].index)
    # 30x40 = 1200 m2 and 20x20 = 400 m2: 600 and 200 persons, nothing elsewhere in A
    assert a.loc["11111:1_1", "p_n"] == pytest.approx(600)
    assert a.loc["11111:5_5", "p_n"] == pytest.approx(200)
    assert a["p_n"].sum() == pytest.approx(800)
    assert (a["p_n"] > 0).sum() == 2
    # unit B has no residential building: area fall-back, still conserved
    assert rep.method["22222"] == "area" and rep.method["11111"] == "buildings"
    assert pts.loc[pts["unit"] == "22222", "p_n"].sum() == pytest.approx(50)


def test_dasymetric_units_without_data_are_reported_not_zero():
    totals = pd.DataFrame({"jobseekers_n": [400.0, np.nan]}, index=["11111", "22222"])
    pts, rep = lab.dasymetric_points(_units(), totals, cell_m=100)
    assert set(pts["unit"]) == {"11111"}
    assert rep.units_without_data == ["22222"]
    assert rep.method["22222"] == "no data"


def test_dasymetric_codes_that_match_no_unit_are_listed():
    totals = pd.DataFrame({"jobseekers_n": [1.0, 2.0]}, index=["11111", "99999"])
    with pytest.raises(SchemaError, match=r"match no unit: \['99999'\]"):
        lab.dasymetric_points(_units(), totals)


def test_jobseekers_conserved_through_cells_and_network(sample):
    """Job seekers summed back over cells equal the table; a long-enough trip reaches all."""
    layers, sites, table, report, walk = sample
    muni = layers["units_municipalities"]
    from productivecity.sources.labour import read_actiris_jobseekers

    path = next((sample_data_dir() / "labour").glob("actiris*.csv"))
    js = read_actiris_jobseekers(path, year=2024, names=muni["name"])
    cells, _ = lab.dasymetric_points(muni, js[["jobseekers_n"]], cell_m=100)
    total = js["jobseekers_n"].sum()
    assert cells["jobseekers_n"].sum() == pytest.approx(total, rel=1e-3)  # issue: within 0.1 %
    snapping, lost = lab.snap_demand(walk, cells, value_columns=["jobseekers_n"])
    row = lost.loc["jobseekers_n"]
    assert row["snapped"] + row["not_snapped"] == pytest.approx(total, rel=1e-9)
    # from any snapped site, 10 hours of walking reach every snapped job seeker
    far = lab.reachable_totals(walk, sites.iloc[[0, 40]], snapping, columns=["jobseekers_n"],
                               limits_min=[600], prefix="walk")
    assert far["jobseekers_walk_600min_n"].to_numpy() == pytest.approx(row["snapped"])


def test_hub_2sfca_keeps_total_supply(sample):
    """Evaluated at the demand points, sum(A_k * D_k) / 1000 equals the hubs' supply."""
    layers, *_rest, walk = sample
    muni = layers["units_municipalities"]
    totals = pd.DataFrame({"jobseekers_n": [500.0, 300.0, 200.0]}, index=muni.index)
    cells, _ = lab.dasymetric_points(muni, totals, cell_m=200)
    demand, _ = lab.snap_demand(walk, cells, value_columns=["jobseekers_n"])
    hubs = layers["hubs"]
    a = lab.hub_access_2sfca(walk, demand, demand, hubs, limit_min=25)
    d = cells["jobseekers_n"].reindex(a.index)
    reached = acc.cumulative_opportunities(walk, hubs, demand, weights="jobseekers_n",
                                           limit_min=25)
    supply = float((reached > 0).sum())  # one place per hub (no training_places_n known)
    assert supply >= 1
    assert float((a * d).sum()) / 1000 == pytest.approx(supply, rel=1e-9)


def test_every_indicator_is_present_and_aligned(sample):
    _layers, sites, table, report, _walk = sample
    assert table.index.equals(sites.index)
    for col in INDICATORS:
        assert col in table.columns, col
    # the report's counts are the table's own NaNs per indicator (a row for each, no other),
    # with a reason exactly where some are missing
    nan_n = table[list(INDICATORS)].isna().sum()
    assert len(report.missing) == len(INDICATORS)
    missing = report.missing.reindex(nan_n.index)
    assert missing["missing_n"].tolist() == nan_n.tolist()
    has_reason = missing["reason"].fillna("").str.len() > 0
    assert has_reason.tolist() == (nan_n > 0).tolist()


def test_hand_checked_shares_and_rates(sample):
    """Brownfield share and municipal rate of sites, recomputed by hand with shapely."""
    layers, sites, table, _report, _walk = sample
    zones = layers["industrial_zones"]
    brown = shapely.union_all(zones.loc[zones["kind"] == "brownfield"].geometry.values)
    site_id = (sites.geometry.intersection(brown).area / sites.geometry.area).idxmax()
    geom = sites.geometry[site_id]
    expected = 100 * geom.intersection(brown).area / geom.area
    assert expected > 20
    assert table.loc[site_id, "brownfield_share_pct"] == pytest.approx(expected, rel=1e-6)
    # the municipal unemployment rate is the one of the municipality holding the site
    rates = pd.read_csv(next((sample_data_dir() / "labour").glob("bestcost*.csv")),
                        dtype={"nis5": str}).set_index("nis5")["unemployed"]
    muni = layers["units_municipalities"]
    centre = geom.centroid
    holder = muni.index[muni.contains(centre)][0]
    assert table.loc[site_id, "unemployment_rate_pct"] == pytest.approx(rates[holder])


def test_hand_checked_walk_time_against_networkx(sample):
    """A site's walk time to the nearest rail station, recomputed with networkx."""
    layers, sites, table, _report, walk = sample
    site_id = table["rail_station_walk_time_min"].idxmin()
    s = acc.snap(walk, sites.loc[[site_id]])
    stations = layers["transit_stops"]
    stations = stations.loc[stations["mode"] == "rail"]
    f = acc.snap(walk, stations)
    g = walk.to_networkx()
    speed = walk.speed_kmh * 1000 / 60  # m per min
    best = np.inf
    for k in range(len(s.item)):  # every access point of the site polygon
        for m in range(len(f.item)):
            best = min(best, _nx_time(g, walk, s, k, f, m, speed))
    assert table.loc[site_id, "rail_station_walk_time_min"] == pytest.approx(best, rel=1e-9)


def _nx_time(g, net, s, k, f, m, speed):
    """Time between two snapped points along their edges, with networkx between edge ends."""
    def ends(snap, i):
        e = int(snap.edge[i])
        length = float(net.edge_length_m[e])
        frac = float(snap.frac[i])
        conn = float(snap.connector_m[i]) / (snap.access_speed_kmh * 1000 / 60)
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        return e, [(u, conn + frac * length / speed), (v, conn + (1 - frac) * length / speed)], (
            frac, length, conn)

    ea, a_ends, (fa, la, ca) = ends(s, k)
    eb, b_ends, (fb, lb, cb) = ends(f, m)
    best = np.inf
    if ea == eb:
        best = ca + cb + abs(fa - fb) * la / speed
    for na, ta in a_ends:
        for nb, tb in b_ends:
            try:
                d = nx.shortest_path_length(g, na, nb, weight="time_min")
            except nx.NetworkXNoPath:
                continue
            best = min(best, ta + d + tb)
    return best


@pytest.mark.integration
def test_indicators_on_the_testbed(testbed):
    layers = load_layers("brussels-vilvoorde", data_dir=testbed, progress=False)
    # the canal zone runs from Anderlecht to Vilvoorde (industrial land is mapped only in
    # Brussels in the test bed's tiles)
    sites, _ = grid_sites(layers["study_area"], cell_m=250, within=layers["canal_zone"])
    table, report = site_indicators(sites, layers, load_indicator_inputs(layers),
                                    progress=False)
    muni = layers["units_municipalities"]
    region = shapely.union_all(muni.loc[muni.index.str.startswith("21")].geometry.values)
    in_brussels = sites.centroid.within(region)
    # Vilvoorde sites more than 1 km from the region (the 2013 extract keeps border-crossing
    # ways whole, so sites right at the border may still reach a street)
    in_vilvoorde = sites.centroid.within(muni.loc["23088", "geometry"]) & (
        sites.centroid.distance(region) > 1000)
    assert in_vilvoorde.any() and in_brussels.sum() > 100
    # Brussels sites: every indicator computed for nearly all (a few sites lie off-network),
    # except job-seeker counts whose catchment reaches Vilvoorde/Machelen (no Actiris data)
    for col in INDICATORS:
        if col.startswith("jobseekers_") or col == "rail_station_daily_stops_n":
            continue
        share = table.loc[in_brussels, col].notna().mean()
        assert share > 0.9, (col, share)
    flemish = shapely.union_all(muni.loc[["23088", "23047"]].geometry.values)
    speed_m_min = {"walk": 4.8 * 1000 / 60, "bike": 15 * 1000 / 60}
    for col in [c for c in INDICATORS if c.startswith("jobseekers_")]:
        mode, limit = col.split("_")[-3], float(col.split("_")[-2].removesuffix("min"))
        far = in_brussels & (sites.distance(flemish) > speed_m_min[mode] * limit + 300)
        assert far.sum() > 0, col  # Brussels sites whose catchment stays in the region
        assert table.loc[far, col].notna().mean() > 0.95, col
        # sites near Flanders: catchment partly without data, blanked, and said so
        assert table.loc[in_brussels & ~far, col].isna().any(), col
        assert "without the input data" in report.missing.loc[col, "reason"]
        assert any("kept where >= 95%" in n for n in report.notes)
    # Vilvoorde: no street network, no buildings, no job-seeker data in the test bed: its sites
    # are reported as not on the network and their indicators are missing, never zero
    off = in_vilvoorde & sites.index.isin(report.unsnapped_sites.index)
    assert off.sum() >= 0.8 * in_vilvoorde.sum()
    for col in ("jobseekers_walk_20min_n", "building_coverage_pct", "rail_station_walk_time_min",
                "residents_bike_15min_n"):
        assert table.loc[off, col].isna().all(), col
    assert table.loc[in_vilvoorde, "unemployment_rate_pct"].notna().all()
    assert report.missing.loc["jobseekers_walk_20min_n", "missing_n"] >= in_vilvoorde.sum()
    # job seekers within 30 min by bike never exceed the regional total (91,629 in 2024)
    assert table["jobseekers_bike_30min_n"].max() <= 91_629
    # canal-side industrial sites are close to the quay
    assert table["canal_quay_walk_time_min"].min() < 5


def test_catchment_times_come_from_the_options_and_name_the_columns(sample):
    """A 15-minute walk catchment is asked for: its column exists, bounded by the 20 min one."""
    from productivecity.indicators.options import IndicatorOptions, indicator_definitions

    layers, sites, table, _report, walk = sample
    inputs = load_indicator_inputs(layers, walk=walk)
    options = IndicatorOptions(walk_limits_min=[15], bike_limits_min=[10, 20],
                               stops_walk_limit_min=5)
    sub = sites.iloc[::4]
    t15, rep = site_indicators(sub, layers, inputs, options=options, progress=False)
    assert set(indicator_definitions(options)) <= set(t15.columns)
    assert "jobseekers_walk_15min_n" in t15.columns and "stops_walk_5min_n" in t15.columns
    assert "jobseekers_walk_20min_n" not in t15.columns
    assert set(rep.missing.index) == set(indicator_definitions(options))
    # fewer minutes reach no more job seekers; the same 20 min bike count as the default run
    ref = table.loc[sub.index]
    ok = t15["jobseekers_walk_15min_n"].notna() & ref["jobseekers_walk_20min_n"].notna()
    assert ok.sum() > 0
    assert (t15.loc[ok, "jobseekers_walk_15min_n"]
            <= ref.loc[ok, "jobseekers_walk_20min_n"] + 1e-9).all()
    assert (t15.loc[ok, "jobseekers_walk_15min_n"]
            < ref.loc[ok, "jobseekers_walk_20min_n"] - 1e-9).any()
    np.testing.assert_allclose(t15["jobseekers_bike_20min_n"], ref["jobseekers_bike_20min_n"],
                               rtol=1e-12)
    assert (t15["stops_walk_5min_n"] <= ref["stops_walk_10min_n"]).all()


def test_config_catchments_name_the_criteria_columns():
    from productivecity._errors import ConfigError
    from productivecity.workflow.config import build_config

    crit = {"criterion": [{"name": "js", "column": "jobseekers_walk_15min_n",
                           "direction": "benefit", "standardisation": "minmax", "weight": 1.0}]}
    cfg = build_config(overrides=[("indicators", "walk_limits_min", [15]),
                                  *[("criteria", k, v) for k, v in crit.items()]])
    assert cfg.indicator_options.walk_limits_min == (15.0,)
    with pytest.raises(ConfigError, match="jobseekers_walk_15min_n"):
        build_config(overrides=[("criteria", k, v) for k, v in crit.items()])


def test_sites_in_another_crs_give_the_same_indicators(sample):
    """Sites handed over in Web Mercator are projected to the layers' CRS first."""
    layers, sites, table, _report, _walk = sample
    few = sites.iloc[::25]
    inputs = load_indicator_inputs(layers)
    ref, _ = site_indicators(few, layers, inputs, progress=False)
    other, _ = site_indicators(few.to_crs(3857), layers, inputs, progress=False)
    assert other.crs == layers["study_area"].crs
    cols = [c for c in ref.columns if c not in ("geometry",) and ref[c].dtype.kind in "fi"]
    # equal up to the round trip of the vertices through Web Mercator
    pd.testing.assert_frame_equal(other[cols], ref[cols], rtol=1e-4, check_dtype=False)
    # and equal to the full run's rows (independent of which sites are asked together)
    pd.testing.assert_frame_equal(ref[cols], table.loc[few.index, cols], rtol=1e-9,
                                  check_dtype=False)
