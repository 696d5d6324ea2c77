"""Tests of productivecity.accessibility: snapping, queries, exactness against networkx."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity import CRSError, EmptyLayerError, NetworkError, SchemaError, network
from productivecity import accessibility as acc
from productivecity._errors import ParameterError
from productivecity.accessibility import search as acc_reach
from productivecity.accessibility import snapping as acc_snapping
from productivecity.settings import get_settings

PBF_2013 = "osm/pbf_brussels_2013/01_01_2013_brussels_capital_region.osm.pbf"
#: The CRS of the Brussels preset (its networks are built in it, as a run does).
BRUSSELS_CRS = "EPSG:31370"
M_PER_MIN = 4.8 * 1000 / 60  # 80 m per minute on foot


def gs(*xy, crs="EPSG:31370"):
    return gpd.GeoSeries([shapely.Point(x, y) for x, y in xy], crs=crs)


@pytest.fixture
def line_net():
    """Three nodes on a straight 2 km line: 0 (0,0) — 1 (1000,0) — 2 (2000,0)."""
    return network.from_arrays([0, 1], [1, 2], [1000.0, 1000.0],
                               x={0: 0.0, 1: 1000.0, 2: 2000.0}, y={0: 0.0, 1: 0.0, 2: 0.0})


@pytest.fixture
def canal_net():
    """Two parallel 1 km streets (y=0 and y=100) joined by a bridge at x=1000, plus a
    cut-off street far away (kept with retain_all)."""
    x = {0: 0.0, 1: 1000.0, 2: 0.0, 3: 1000.0, 4: 5000.0, 5: 5100.0}
    y = {0: 0.0, 1: 0.0, 2: 100.0, 3: 100.0, 4: 5000.0, 5: 5000.0}
    return network.from_arrays([0, 2, 1, 4], [1, 3, 3, 5], [1000.0, 1000.0, 100.0, 100.0],
                               x=x, y=y)


@pytest.fixture(scope="session")
def brussels_walk(testbed, tmp_path_factory) -> network.Network:
    """The 2013 Brussels walk network, built once per session (disk-cached)."""
    settings = get_settings(cache_dir=tmp_path_factory.getbasetemp() / "netcache")
    return network.walk_network(testbed / PBF_2013, crs=BRUSSELS_CRS, settings=settings)


@pytest.fixture(scope="session")
def brussels_bike(testbed, tmp_path_factory) -> network.Network:
    """The 2013 Brussels bike network (one-way rules), built once per session."""
    settings = get_settings(cache_dir=tmp_path_factory.getbasetemp() / "netcache")
    return network.bike_network(testbed / PBF_2013, crs=BRUSSELS_CRS, settings=settings)


def random_points(net, n, seed, spread_m=60.0):
    """Points scattered around random network nodes (EPSG:31370)."""
    rng = np.random.default_rng(seed)
    i = rng.integers(0, net.n_nodes, n)
    return gpd.GeoDataFrame(
        {"weight_n": rng.integers(1, 100, n).astype(float)},
        geometry=shapely.points(net.x[i] + rng.normal(0, spread_m, n),
                                net.y[i] + rng.normal(0, spread_m, n)),
        index=pd.Index([f"p{seed}_{k}" for k in range(n)]), crs="EPSG:31370",
    )


# --------------------------------------------------------------------------- reference


def nx_reference(net, kind, origins: acc.Snapping, dests: acc.Snapping, limit):
    """Independent reference: insert snapped access points as graph nodes (splitting
    edges), connect items by their connectors, run networkx Dijkstra from each origin.

    Returns {(origin label, destination label): cost} for costs <= limit.
    """
    w = net.edge_time_min if kind == "time" else net.edge_length_m
    conv = (lambda m, s: m / (s.access_speed_kmh * 1000 / 60)) if kind == "time" else \
        (lambda m, s: m)
    g = nx.MultiDiGraph()
    on_edge: dict[int, list] = {}

    def ap_node(s, role, k):
        if s.edge[k] < 0:
            return ("n", int(s.node[k]))
        return ("ap", role, k)

    for role, s in (("o", origins), ("d", dests)):
        for k in range(len(s.item)):
            if s.edge[k] >= 0:
                on_edge.setdefault(int(s.edge[k]), []).append((float(s.frac[k]), ("ap", role, k)))
            c = conv(s.connector_m[k], s)
            item = (role, s.index[s.item[k]])
            if role == "o":
                g.add_edge(item, ap_node(s, role, k), w=c)
            else:
                g.add_edge(ap_node(s, role, k), item, w=c)
    for e in range(net.n_edges):
        chain = ([(0.0, ("n", int(net.edge_u[e])))] + sorted(on_edge.get(e, []))
                 + [(1.0, ("n", int(net.edge_v[e])))])
        for (fa, a), (fb, b) in zip(chain[:-1], chain[1:], strict=True):
            piece = (fb - fa) * w[e]
            if net.edge_forward[e]:
                g.add_edge(a, b, w=piece)
            if net.edge_backward[e]:
                g.add_edge(b, a, w=piece)
    out = {}
    snapped = origins.snapped
    for label in origins.index[snapped.to_numpy()]:
        dist = nx.single_source_dijkstra_path_length(g, ("o", label), cutoff=limit, weight="w")
        for node, c in dist.items():
            if node[0] == "d":
                out[(label, node[1])] = c
    return out


def assert_same_pairs(ours: pd.Series, ref: dict, limit, tol=1e-9):
    got = ours.to_dict()
    for key, c in ref.items():
        if c < limit - tol:
            assert key in got, key
            assert got[key] == pytest.approx(c, rel=tol, abs=tol)
    for key, c in got.items():
        assert c <= limit
        if key not in ref:  # only possible at the very limit
            assert c >= limit - tol, key


# --------------------------------------------------------------------------- hand-worked


def test_hand_worked_times_on_a_line(line_net):
    sites = acc.snap(line_net, gs((250, 30), (1000, 0)))
    facilities = acc.snap(line_net, gpd.GeoSeries(
        [shapely.Point(1500, -40), shapely.Point(100, 0)], index=["far", "near"],
        crs="EPSG:31370"))
    assert sites.connector_m.tolist() == pytest.approx([30.0, 0.0])
    assert sites.node.tolist() == [-1, 1]  # the second site is exactly on node 1
    tt = acc.travel_times(line_net, sites, facilities, limit_min=60)
    # site 0: 30 m connector + 750 m to node 1 + 500 m + 40 m connector
    assert tt[(0, "far")] == pytest.approx((30 + 750 + 500 + 40) / M_PER_MIN)
    # same edge: 30 m + 150 m along the edge + 0 m
    assert tt[(0, "near")] == pytest.approx((30 + 150) / M_PER_MIN)
    assert tt[(1, "near")] == pytest.approx(900 / M_PER_MIN)
    assert tt[(1, "far")] == pytest.approx(540 / M_PER_MIN)
    near = acc.nearest_time_min(line_net, sites, facilities, limit_min=60)
    assert near.name == "nearest_time_min"
    assert near.tolist() == pytest.approx([180 / M_PER_MIN, 540 / M_PER_MIN])
    dist = acc.nearest_dist_m(line_net, sites, facilities, limit_m=10_000)
    assert dist.tolist() == pytest.approx([180.0, 540.0])
    n10 = acc.count_within(line_net, sites, facilities, limit_min=10)
    assert n10.name == "within_10min_n" and n10.tolist() == [1, 1]
    n20 = acc.count_within(line_net, sites, facilities, limit_min=20)
    assert n20.tolist() == [2, 2]
    short = acc.nearest_time_min(line_net, sites, facilities, limit_min=2)
    assert np.isnan(short).all()


def test_nearest_and_count_in_one_pass(line_net, canal_net):
    sites = acc.snap(line_net, gs((250, 30), (1000, 0), (1900, 0)))
    facilities = acc.snap(line_net, gs((1500, -40), (100, 0)))
    both = acc.nearest_and_count(line_net, sites, facilities, limit_min=10)
    assert list(both.columns) == ["nearest_time_min", "within_10min_n"]
    assert both.index.equals(sites.index)
    assert both["within_10min_n"].dtype == "Int64"
    # site 0: 180 m to the near one, the far one at 1320 m (> 800 m in 10 min)
    # site 1: 540 m to the far one, 900 m to the near one; site 2: 440 m and 1800 m
    assert both["nearest_time_min"].tolist() == pytest.approx(
        [180 / M_PER_MIN, 540 / M_PER_MIN, 440 / M_PER_MIN])
    assert both["within_10min_n"].tolist() == [1, 1, 1]
    assert acc.nearest_and_count(line_net, sites, facilities, limit_min=20)[
        "within_20min_n"].tolist() == [2, 2, 1]  # site 2: 1800 m to the near one
    # the same as the two separate queries, searching from either side
    for o, d in ((sites, facilities), (facilities, sites)):
        for limit in (2.0, 10.0, 60.0):
            both = acc.nearest_and_count(line_net, o, d, limit_min=limit)
            near = acc.nearest_time_min(line_net, o, d, limit_min=limit)
            n = acc.count_within(line_net, o, d, limit_min=limit)
            pd.testing.assert_series_equal(both["nearest_time_min"], near)
            pd.testing.assert_series_equal(both[n.name], n)
    # from a precomputed reach and from every node
    r = acc.reach(line_net, sites, limit_min=30)
    pd.testing.assert_frame_equal(acc.nearest_and_count(line_net, r, facilities, limit_min=20),
                                  acc.nearest_and_count(line_net, sites, facilities,
                                                        limit_min=20))
    nodes = acc.nearest_and_count(line_net, None, facilities, limit_min=20)
    assert nodes.index.name == "node_id"
    assert nodes["nearest_time_min"].tolist() == pytest.approx(
        [100 / M_PER_MIN, 540 / M_PER_MIN, 540 / M_PER_MIN])
    assert nodes["within_20min_n"].tolist() == [2, 2, 1]  # node 0: 1540 m to the far one
    # unsnapped origins: NaN / <NA>, never zero
    pts = gpd.GeoSeries([shapely.Point(500, 1000), shapely.Point(500, 10)],
                        index=["far", "ok"], crs="EPSG:31370")
    s = acc.snap(canal_net, pts, max_snap_m=250)
    res = acc.nearest_and_count(canal_net, s, gs((600, 0)), limit_min=60)
    assert res.loc["far"].isna().all() and res.loc["ok", "within_60min_n"] == 1
    with pytest.raises(ParameterError, match="limit_min"):
        acc.nearest_and_count(line_net, sites, facilities, limit_min=0)
    # a facility exactly at the limit counts (1000 m = 12.5 min)
    at = acc.nearest_and_count(line_net, gs((1000, 0), (0, 0)), gs((2000, 0)), limit_min=12.5)
    assert at["within_12.5min_n"].tolist() == [1, 0]
    assert at["nearest_time_min"].iloc[0] == 12.5 and np.isnan(at["nearest_time_min"].iloc[1])


def test_results_do_not_depend_on_the_number_of_threads(line_net, monkeypatch):
    o = random_points(line_net, 60, seed=11, spread_m=300)
    d = random_points(line_net, 25, seed=12, spread_m=300)
    runs = []
    monkeypatch.setattr(acc_reach, "_MIN_BLOCK_ROWS", 1)  # threads and blocks even for few rows
    monkeypatch.setattr(acc_reach, "_MAX_BLOCK_ROWS", 3)
    for nthreads in (1, 2, 3):
        monkeypatch.setattr(acc_reach, "_nthreads", lambda n=nthreads: n)
        runs.append((acc.nearest_and_count(line_net, o, d, limit_min=15),
                     acc.nearest_and_count(line_net, d, o, limit_min=15),
                     acc.travel_times(line_net, o, d, limit_min=15)))
    assert runs[0][0]["within_15min_n"].sum() > 100  # the searches find something
    for other in runs[1:]:
        pd.testing.assert_frame_equal(other[0], runs[0][0])
        pd.testing.assert_frame_equal(other[1], runs[0][1])
        pd.testing.assert_series_equal(other[2], runs[0][2])


def test_polygon_access_points_on_one_spot_of_an_edge_are_merged():
    # a 1 km street; a thin polygon along it: many access points meet the same edge
    net = network.from_arrays([0], [1], [1000.0], x={0: 0.0, 1: 1000.0}, y={0: 0.0, 1: 0.0})
    zone = gpd.GeoSeries([shapely.box(400, 5, 400.5, 8)], crs="EPSG:31370")
    s = acc.snap(net, zone, spacing_m=1)
    # 7 points along the boundary, all within 0.5 m of x = 400: one access point per
    # (edge, position rounded to 1 m), the closest (5 m from the street) kept
    assert 1 <= len(s.item) <= 2
    key = pd.DataFrame({"e": s.edge, "f": np.round(s.frac * 1000)})
    assert not key.duplicated().any()
    assert s.connector_m.min() == pytest.approx(5.0)


def test_first_of_each_marks_first_occurrences_like_pandas():
    rng = np.random.default_rng(13)
    keys = (rng.integers(0, 5, 300), rng.integers(0, 3, 300),
            rng.integers(0, 4, 300).astype(float))
    ref = ~pd.DataFrame({"a": keys[0], "b": keys[1], "c": keys[2]}).duplicated().to_numpy()
    assert np.array_equal(acc_snapping._first_of_each(*keys), ref)
    one = acc_snapping._first_of_each(np.array([7]), np.array([1]), np.array([0.0]))
    assert one.tolist() == [True]


def test_bike_one_way_edge_forces_a_detour():
    # square 0-1-2-3; edge 0->1 one-way (east), the rest two-way; 100 m sides; 15 km/h
    x = {0: 0.0, 1: 100.0, 2: 100.0, 3: 0.0}
    y = {0: 0.0, 1: 0.0, 2: 100.0, 3: 100.0}
    net = network.from_arrays([0, 1, 2, 3], [1, 2, 3, 0], [100.0] * 4, x=x, y=y, mode="bike",
                              speed_kmh=15.0, backward=[False, True, True, True])
    a = acc.snap(net, gs((20, -5)))
    b = acc.snap(net, gs((80, -5)))
    m_per_min = 15_000 / 60
    walk_c = 5 / M_PER_MIN
    ab = acc.travel_times(net, a, b, limit_min=60).iloc[0]
    ba = acc.travel_times(net, b, a, limit_min=60).iloc[0]
    assert ab == pytest.approx(2 * walk_c + 60 / m_per_min)
    # b -> a: east to node 1, round the square (3 sides), then 20 m east again
    assert ba == pytest.approx(2 * walk_c + (20 + 300 + 20) / m_per_min)


def test_polygon_gets_access_points_along_its_boundary(line_net):
    zone = gpd.GeoDataFrame(geometry=[shapely.box(1200, 50, 1800, 250)], index=["zone"],
                            crs="EPSG:31370")
    s = acc.snap(line_net, zone, spacing_m=100)
    assert len(s.item) > 5 and (s.item == 0).all()
    # samples every 100 m from the corner (1800, 50), half a step in: the best ones are
    # (1250, 50) (50 m connector + 250 m) and (1200, 100) (100 m + 200 m)
    t = acc.nearest_time_min(line_net, s, gs((1000, 0)), limit_min=60)
    assert t["zone"] == pytest.approx(300 / M_PER_MIN)
    capped = acc.snap(line_net, zone, spacing_m=1, max_points_per_item=7)
    assert len(capped.item) <= 7


def test_snapping_reports_what_it_cannot_snap(canal_net):
    pts = gpd.GeoSeries([shapely.Point(500, 1000), shapely.Point(5050, 5010),
                         shapely.Point(20_000, 20_000), None, shapely.Point(500, 10)],
                        index=["far", "island", "outside", "empty", "ok"], crs="EPSG:31370")
    s = acc.snap(canal_net, pts, max_snap_m=250)
    rep = s.unsnapped
    assert list(rep.index) == ["far", "island", "outside", "empty"]
    assert rep.loc["far", "reason"] == acc.TOO_FAR
    assert rep.loc["far", "dist_m"] == pytest.approx(900.0)
    assert rep.loc["island", "reason"] == acc.CUT_OFF
    assert rep.loc["outside", "reason"] == acc.OUTSIDE
    assert rep.loc["empty", "reason"] == acc.EMPTY
    assert s.snapped.tolist() == [False, False, False, False, True]
    t = acc.nearest_time_min(canal_net, s, gs((600, 0)), limit_min=60)
    assert t.isna().tolist() == [True, True, True, True, False]  # NaN, never zero
    n = acc.count_within(canal_net, s, gs((600, 0)), limit_min=60)
    assert n.isna().tolist() == [True, True, True, True, False]


def test_canal_is_a_barrier_for_snapping(canal_net):
    canal = gpd.GeoSeries([shapely.box(-50, 20, 950, 40)], crs="EPSG:31370")
    site = gs((500, 45))
    fac = gs((500, -10))
    free = acc.snap(canal_net, site)
    assert free.connector_m[0] == pytest.approx(45.0)
    blocked = acc.snap(canal_net, site, barriers=canal)
    assert blocked.connector_m[0] == pytest.approx(55.0) and blocked.y[0] == pytest.approx(100)
    conn = shapely.LineString([(500, 45), (blocked.x[0], blocked.y[0])])
    assert not conn.intersects(canal[0])
    t_free = acc.travel_times(canal_net, free, fac, limit_min=60).iloc[0]
    t_blocked = acc.travel_times(canal_net, blocked, fac, limit_min=60).iloc[0]
    assert t_free == pytest.approx((45 + 10) / M_PER_MIN)
    # over the bridge: 55 + 500 + 100 + 500 + 10 m
    assert t_blocked == pytest.approx(1165 / M_PER_MIN)
    walled = gpd.GeoSeries([shapely.box(-50, 20, 1100, 40), shapely.box(-50, 50, 1100, 90)],
                           crs="EPSG:31370")
    s = acc.snap(canal_net, gs((500, 45)), barriers=walled)
    assert s.unsnapped["reason"].tolist() == [acc.BARRIER]


def test_gravity_and_cumulative_hand_worked(line_net):
    dest = gpd.GeoDataFrame({"jobs_n": [100.0, 200.0]},
                            geometry=[shapely.Point(0, 0), shapely.Point(2000, 0)],
                            crs="EPSG:31370")
    o = gs((1000, 0))
    t = 1000 / M_PER_MIN  # 12.5 min to each
    cum = acc.cumulative_opportunities(line_net, o, dest, weights="jobs_n", limit_min=15)
    assert cum.name == "jobs_n_within_15min" and cum.iloc[0] == pytest.approx(300)
    assert acc.cumulative_opportunities(line_net, o, dest, weights="jobs_n",
                                        limit_min=12).iloc[0] == 0
    g = acc.gravity(line_net, o, dest, weights="jobs_n", limit_min=30, beta_per_min=0.1)
    assert g.name == "jobs_n_gravity" and g.iloc[0] == pytest.approx(300 * math.exp(-0.1 * t))
    g = acc.gravity(line_net, o, dest, weights="jobs_n", limit_min=20, decay_kind="linear")
    assert g.iloc[0] == pytest.approx(300 * (1 - t / 20))
    g = acc.gravity(line_net, o, dest, weights=pd.Series([1.0, 3.0], name="x_n"),
                    limit_min=30, decay_kind="step", steps=[(10, 1.0), (15, 0.5)])
    assert g.name == "x_n_gravity" and g.iloc[0] == pytest.approx(0.5 * 4)


def test_two_step_fca_hand_worked(line_net):
    units = gpd.GeoDataFrame({"demand_n": [100.0, 50.0, 200.0]},
                             geometry=[shapely.Point(0, 0), shapely.Point(1000, 0),
                                       shapely.Point(2000, 0)],
                             index=["u0", "u1", "u2"], crs="EPSG:31370")
    sites = gpd.GeoDataFrame({"places_n": [10.0, 30.0]},
                             geometry=[shapely.Point(0, 0), shapely.Point(2000, 0)],
                             crs="EPSG:31370")
    a = acc.two_step_fca(line_net, units, sites, demand_weights="demand_n",
                         supply_weights="places_n", limit_min=15)
    ra, rb = 10 / 150, 30 / 250
    assert a.name == "fca_supply_per_demand"
    assert a.tolist() == pytest.approx([ra, ra + rb, rb])
    # conservation: total supply is handed out to the demand
    assert (a * units["demand_n"]).sum() == pytest.approx(40.0)
    e = acc.two_step_fca(line_net, units, sites, demand_weights="demand_n",
                         supply_weights="places_n", limit_min=30, zones=[(5, 1.0), (15, 0.5)])
    ra, rb = 10 / (100 + 0.5 * 50), 30 / (0.5 * 50 + 200)
    assert e.tolist() == pytest.approx([ra, 0.5 * ra + 0.5 * rb, rb])


def test_isochrone_of_a_line(line_net):
    iso = acc.isochrones(line_net, gs((0, 0)), times_min=[5, 10], buffer_m=20)
    assert iso.crs == line_net.crs and list(iso.index) == [(0, 5.0), (0, 10.0)]
    five, ten = iso.geometry.iloc[0], iso.geometry.iloc[1]
    # 5 min at 80 m/min = 400 m of street, buffered by 20 m
    assert five.area == pytest.approx(400 * 40 + math.pi * 400, rel=0.01)
    assert ten.area == pytest.approx(800 * 40 + math.pi * 400, rel=0.01)
    assert ten.contains(five)
    mid = acc.isochrones(line_net, gs((1000, 30)), times_min=[5], buffer_m=20).geometry.iloc[0]
    # 30 m connector, then 370 m each way along the street
    assert mid.contains(shapely.Point(1000 - 360, 0)) and mid.contains(shapely.Point(1360, 0))
    assert not mid.contains(shapely.Point(1000 - 400, 0))


def test_all_node_origins_and_reach(line_net):
    r = acc.reach(line_net, None, limit_m=1500)
    frame = r.to_frame()
    assert frame.loc[0].set_index("node_id")["dist_m"].to_dict() == {0: 0.0, 1: 1000.0}
    assert frame.loc[1].set_index("node_id")["dist_m"].to_dict() == {1: 0.0, 0: 1000.0,
                                                                      2: 1000.0}
    cum = acc.cumulative_opportunities(line_net, None, gs((0, 0), (2000, 0)),
                                       weights=[1.0, 2.0], limit_m=1500)
    assert cum.index.name == "node_id" and cum.tolist() == [1.0, 3.0, 2.0]


# --------------------------------------------------------------------------- bad input


def test_bad_inputs(line_net):
    pts = gs((100, 0))
    with pytest.raises(CRSError, match="geographic"):
        acc.snap(line_net, gs((4.35, 50.85), crs="EPSG:4326"))
    with pytest.raises(CRSError, match="no CRS"):
        acc.snap(line_net, gpd.GeoSeries([shapely.Point(0, 0)]))
    with pytest.raises(EmptyLayerError):
        acc.nearest_time_min(line_net, gs(), pts, limit_min=10)
    with pytest.raises(ParameterError, match="limit_min"):
        acc.count_within(line_net, pts, pts, limit_min=-5)
    with pytest.raises(NetworkError, match="exactly one"):
        acc.count_within(line_net, pts, pts, limit_min=5, limit_m=100)
    with pytest.raises(NetworkError, match="outside the network's extent"):
        acc.snap(line_net, gs((90_000, 90_000)))
    with pytest.raises(NetworkError, match="max_snap_m"):
        acc.snap(line_net, pts, max_snap_m=-1)
    dest = gpd.GeoDataFrame({"pop_n": [1.0, np.nan]}, geometry=[shapely.Point(0, 0),
                                                                 shapely.Point(5, 0)],
                            crs="EPSG:31370")
    with pytest.raises(SchemaError, match="pop_n.*1 missing"):
        acc.cumulative_opportunities(line_net, pts, dest, weights="pop_n", limit_min=10)
    with pytest.raises(SchemaError, match="lack the weight column"):
        acc.cumulative_opportunities(line_net, pts, dest, weights="jobs", limit_min=10)
    with pytest.raises(NetworkError, match="beta_per_min"):
        acc.gravity(line_net, pts, dest.fillna(0), weights="pop_n", limit_min=10,
                    beta_per_min=-1)
    other = network.from_arrays([0], [1], [5.0], x={0: 0, 1: 5}, y={0: 0, 1: 0})
    with pytest.raises(NetworkError, match="another network"):
        acc.count_within(line_net, acc.snap(other, pts), pts, limit_min=5)
    r = acc.reach(line_net, pts, limit_min=5)
    with pytest.raises(NetworkError, match="larger limit"):
        acc.count_within(line_net, r, pts, limit_min=10)


# --------------------------------------------------------------------------- osmnx graph


def test_queries_on_an_osmnx_graph(tmp_path):
    import osmnx as ox

    # a 3 x 3 street grid, 0.001° apart, written as OSM XML and read by osmnx
    nodes = {10 * i + j + 1: (4.35 + 0.001 * j, 50.85 + 0.001 * i)
             for i in range(3) for j in range(3)}
    ways = [[10 * i + 1, 10 * i + 2, 10 * i + 3] for i in range(3)]
    ways += [[j + 1, 10 + j + 1, 20 + j + 1] for j in range(3)]
    xml = ['<?xml version="1.0"?>', '<osm version="0.6">']
    xml += [f'<node id="{k}" version="1" lat="{lat}" lon="{lon}"/>'
            for k, (lon, lat) in nodes.items()]
    for w, refs in enumerate(ways):
        xml.append(f'<way id="{w + 100}" version="1">')
        xml += [f'<nd ref="{r}"/>' for r in refs]
        xml.append('<tag k="highway" v="residential"/></way>')
    xml.append("</osm>")
    path = tmp_path / "grid.osm"
    path.write_text("\n".join(xml))
    g = ox.project_graph(ox.graph_from_xml(path, bidirectional=True), to_crs="EPSG:31370")
    net = network.walk_network(g)
    assert set(net.node_id) == set(g.nodes) == {2, 11, 12, 13, 22}  # osmnx dropped corners
    pos = {int(k): i for i, k in enumerate(net.node_id)}
    start = acc.Snapping.at_nodes(net, [pos[2]], index=["start"])
    others = acc.Snapping.at_nodes(net, [pos[k] for k in g.nodes], index=list(g.nodes))
    tt = acc.travel_times(net, start, others, limit_min=60)
    ref = nx.single_source_dijkstra_path_length(g, 2, weight="length")
    for k in g.nodes:
        assert tt[("start", k)] == pytest.approx(ref[k] / M_PER_MIN, rel=1e-12)
    assert acc.count_within(net, start, others, limit_min=60).iloc[0] == 5
    # points snapped to the osmnx graph's curved (corner) edges
    pts = gs(*[(net.x[pos[13]] + 20, net.y[pos[13]] + 60)])
    assert acc.nearest_time_min(net, pts, start, limit_min=60).notna().all()


# --------------------------------------------------------------------------- real network


@pytest.mark.integration
def test_travel_times_equal_networkx_on_brussels(brussels_walk):
    net = brussels_walk
    sites = random_points(net, 40, seed=1)
    zones = gpd.GeoDataFrame(geometry=[shapely.box(148_000, 170_000, 148_600, 170_500)],
                             index=["zone"], crs="EPSG:31370")
    origins = acc.snap(net, pd.concat([sites, zones]))
    dests = acc.snap(net, random_points(net, 300, seed=2))
    assert len(origins.unsnapped) == 0 and (origins.item == 40).sum() > 3
    ours = acc.travel_times(net, origins, dests, limit_min=20)
    ref = nx_reference(net, "time", origins, dests, 20)
    assert len(ref) > 300
    assert_same_pairs(ours, ref, 20)
    # the same through a precomputed reach, and by distance
    r = acc.reach(net, origins, limit_min=25)
    via_reach = acc.travel_times(net, r, dests, limit_min=20)
    pd.testing.assert_series_equal(via_reach, ours, rtol=1e-12)
    ours_m = acc.travel_times(net, origins, dests, limit_m=1500)
    assert_same_pairs(ours_m, nx_reference(net, "length", origins, dests, 1500), 1500)
    # derived measures agree with the reference pairs
    w = dests.frame["weight_n"]
    cum = acc.cumulative_opportunities(net, origins, dests, weights="weight_n", limit_min=20)
    ref_cum = pd.Series({o: 0.0 for o in origins.index})
    for (o, d), _c in ref.items():
        ref_cum[o] += w[d]
    pd.testing.assert_series_equal(cum, ref_cum.rename(cum.name), check_exact=False)
    near = acc.nearest_time_min(net, origins, dests, limit_min=20)
    ref_near = pd.Series(ref).groupby(level=0).min()
    assert near.loc[ref_near.index].to_numpy() == pytest.approx(ref_near.to_numpy(), rel=1e-9)
    # nearest time and count in one pass (searches from the origins here)
    both = acc.nearest_and_count(net, origins, dests, limit_min=20)
    ref_n = pd.Series(ref).groupby(level=0).size().reindex(origins.index, fill_value=0)
    assert both["within_20min_n"].tolist() == ref_n.tolist()
    got = both["nearest_time_min"].loc[ref_near.index].to_numpy()
    assert got == pytest.approx(ref_near.to_numpy(), rel=1e-9)
    assert both["nearest_time_min"].drop(ref_near.index).isna().all()


@pytest.mark.integration
def test_all_node_reach_equals_networkx_on_brussels(brussels_walk):
    net = brussels_walk
    r = acc.reach(net, None, limit_min=12)
    g = net.to_networkx()
    rng = np.random.default_rng(3)
    for i in rng.choice(net.n_nodes, 10, replace=False):
        ref = nx.single_source_dijkstra_path_length(g, int(i), cutoff=12, weight="time_min")
        got = dict(zip(r.node[r.indptr[i]:r.indptr[i + 1]].tolist(),
                       r.cost[r.indptr[i]:r.indptr[i + 1]].tolist(), strict=True))
        assert got.keys() == ref.keys()
        assert all(got[k] == pytest.approx(v, rel=1e-12, abs=1e-12) for k, v in ref.items())


@pytest.mark.integration
def test_bike_times_equal_networkx_on_brussels(brussels_bike):
    net = brussels_bike
    assert (~net.edge_backward).sum() > 1000
    origins = acc.snap(net, random_points(net, 25, seed=4))
    dests = acc.snap(net, random_points(net, 200, seed=5))
    ours = acc.travel_times(net, origins, dests, limit_min=8)
    ref = nx_reference(net, "time", origins, dests, 8)
    assert len(ref) > 100
    assert_same_pairs(ours, ref, 8)
    n_fwd = acc.count_within(net, origins, dests, limit_min=8)  # searched from the origins
    ref_fwd = pd.Series(ref).groupby(level=0).size().reindex(origins.index, fill_value=0)
    assert n_fwd.tolist() == ref_fwd.tolist()
    back = acc.travel_times(net, dests, origins, limit_min=8)  # searched on reversed arcs
    ref_back = nx_reference(net, "time", dests, origins, 8)
    assert_same_pairs(back, ref_back, 8)
    both = acc.nearest_and_count(net, dests, origins, limit_min=8)  # reversed arcs too
    ref_s = pd.Series(ref_back)
    ref_n = ref_s.groupby(level=0).size().reindex(dests.index, fill_value=0)
    assert both["within_8min_n"].tolist() == ref_n.tolist()
    ref_min = ref_s.groupby(level=0).min()
    assert both["nearest_time_min"].loc[ref_min.index].to_numpy() == pytest.approx(
        ref_min.to_numpy(), rel=1e-9)
    pd.testing.assert_series_equal(acc.count_within(net, dests, origins, limit_min=8),
                                   both["within_8min_n"])
    near = acc.nearest_time_min(net, dests, origins, limit_min=8)
    ref_near = back.groupby(level=0).min()
    assert near.loc[ref_near.index].to_numpy() == pytest.approx(ref_near.to_numpy(), rel=1e-9)
    assert near.drop(ref_near.index).isna().all()
    swapped = back.swaplevel().sort_index()
    common = ours.index.intersection(swapped.index)
    assert (np.abs(ours[common] - swapped[common]) > 1e-6).any()  # one-way streets matter


@pytest.mark.integration
def test_isochrones_on_brussels(brussels_walk):
    net = brussels_walk
    site = random_points(net, 1, seed=6)
    iso = acc.isochrones(net, site, times_min=[5, 10], fill_holes_m2=0)
    five, ten = iso.geometry.iloc[0], iso.geometry.iloc[1]
    assert ten.area > five.area > 0 and ten.buffer(1).contains(five)
    # nodes reached within 10 min lie inside ...
    r = acc.reach(net, site, limit_min=30)
    nodes, cost = r.node, r.cost
    inside = shapely.points(net.x[nodes], net.y[nodes])
    assert ten.buffer(1).contains(inside[cost <= 10]).all()
    # ... and the polygon stays within 25 m of edges that touch such a node
    reached = nodes[cost <= 10]
    near = np.isin(net.edge_u, reached) | np.isin(net.edge_v, reached)
    s = acc.snap(net, site)
    near[s.edge[s.edge >= 0]] = True
    connector = shapely.LineString([site.geometry.iloc[0], (s.x[0], s.y[0])])
    hull = shapely.union_all(shapely.buffer(
        np.append(net.edge_geometries[near], connector), 26.0))
    assert hull.contains(ten)
    assert ten.area < 0.9 * hull.area  # partial edges are cut at the 10-min point
    # by default, block interiors enclosed by reached streets are filled: only larger holes
    filled = acc.isochrones(net, site, times_min=[10]).geometry.iloc[0]
    assert filled.buffer(1e-6).contains(ten) and filled.area >= ten.area
    holes = [shapely.Polygon(r).area for p in shapely.get_parts(filled) for r in p.interiors]
    assert all(a > 20_000 for a in holes)
    assert filled.area - ten.area == pytest.approx(sum(
        shapely.Polygon(r).area for p in shapely.get_parts(ten) for r in p.interiors
        if shapely.Polygon(r).area <= 20_000), rel=1e-6)


def test_rows_that_overflow_the_buffer_are_run_again(line_net, monkeypatch):
    pts = gs((0, 0), (500, 10), (1000, 0), (1500, -10), (2000, 0))
    full_r = acc.reach(line_net, pts, limit_m=5000).to_frame()
    full_t = acc.travel_times(line_net, pts, pts, limit_m=5000)
    monkeypatch.setattr(acc_reach, "_ROW_ENTRIES", 2)
    small_r = acc.reach(line_net, pts, limit_m=5000).to_frame()
    small_t = acc.travel_times(line_net, pts, pts, limit_m=5000)
    pd.testing.assert_frame_equal(small_r, full_r)
    pd.testing.assert_series_equal(small_t, full_t)
    assert len(full_t) == 25 and full_r.groupby(level=0).size().eq(3).all()
