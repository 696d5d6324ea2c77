"""One search per mode (issue 15): the shared catchments equal one search per column and limit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity import accessibility as acc
from productivecity import network
from productivecity.accessibility import search
from productivecity.indicators import labour as lab
from productivecity.indicators.table import site_indicators, water_barriers
from productivecity.layers import load_layers
from productivecity.sites import grid_sites
from productivecity.workflow.inputs import load_indicator_inputs

CRS = "EPSG:32631"
TOL = 1e-9


@pytest.fixture(scope="module")
def random_net():
    """A 12 x 12 street grid (100 m) with random lengths, gaps and one-way streets."""
    rng = np.random.default_rng(15)
    ids = np.arange(144).reshape(12, 12)
    u, v = [], []
    for i in range(12):
        for j in range(12):
            if j < 11:
                u.append(ids[i, j])
                v.append(ids[i, j + 1])
            if i < 11:
                u.append(ids[i, j])
                v.append(ids[i + 1, j])
    u, v = np.array(u), np.array(v)
    keep = rng.random(len(u)) > 0.1
    u, v = u[keep], v[keep]
    one_way = rng.random(len(u)) < 0.2
    xy = {int(k): (100.0 * (k % 12), 100.0 * (k // 12)) for k in range(144)}
    return network.from_arrays(
        u, v, 100.0 + 80.0 * rng.random(len(u)),
        x={k: p[0] for k, p in xy.items()}, y={k: p[1] for k, p in xy.items()},
        mode="bike", speed_kmh=6.0, forward=np.ones(len(u), bool), backward=~one_way,
        crs=CRS)


def _points(rng, n, prefix, extra=None):
    pts = shapely.points(rng.uniform(-20, 1120, n), rng.uniform(-20, 1120, n))
    data = {"jobseekers_n": rng.uniform(0, 50, n), "population_n": rng.uniform(0, 900, n)}
    return gpd.GeoDataFrame(data | (extra or {}), geometry=pts, crs=CRS,
                            index=pd.Index([f"{prefix}{k}" for k in range(n)]))


@pytest.fixture(scope="module")
def origins_and_demand(random_net):
    """Origins with repeats (sites snapped alike), polygons and a far point; demand points."""
    rng = np.random.default_rng(7)
    base = _points(rng, 60, "o")
    repeats = base.iloc[::3].copy()
    repeats.index = [f"r{k}" for k in range(len(repeats))]
    polys = gpd.GeoDataFrame(geometry=[shapely.box(200, 200, 330, 310),
                                       shapely.box(610, 480, 700, 700)], crs=CRS,
                             index=["poly0", "poly1"])
    far = gpd.GeoDataFrame(geometry=[shapely.Point(9000, 9000)], crs=CRS, index=["far"])
    sites = pd.concat([base[["geometry"]], repeats[["geometry"]], polys, far])
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=CRS)
    s = acc.snap(random_net, sites, what="sites", warn=False)
    dem = acc.snap(random_net, _points(rng, 150, "d"), what="demand", warn=False)
    return s, dem


def _assert_close(ours: pd.DataFrame, ref: pd.DataFrame) -> float:
    assert list(ours.columns) == list(ref.columns)
    assert ours.index.equals(ref.index)
    assert (ours.isna() == ref.isna()).all().all()
    diff = np.nanmax(np.abs(ours.to_numpy() - ref.to_numpy()))
    scale = max(1.0, np.nanmax(np.abs(ref.to_numpy())))
    assert diff <= TOL * scale, diff
    return diff


def test_one_search_equals_one_search_per_column_and_limit(random_net, origins_and_demand):
    s, dem = origins_and_demand
    kw = {"columns": ["jobseekers_n", "population_n"], "limits_min": [4.0, 10.0, 7.5],
          "prefix": "bike"}
    ours = lab.reachable_totals(random_net, s, dem, **kw)
    ref = lab._reachable_totals_reference(random_net, s, dem, **kw)
    _assert_close(ours, ref)
    assert ours.loc["far"].isna().all() and ours.notna().sum().sum() > 0
    # the repeated sites share their search and get the same values
    first = search._distinct_origins(search._seeds(random_net, s, "time"),
                                     search._direct(random_net, s, dem, "time"))[0]
    assert len(first) <= s.n_items - 20
    pd.testing.assert_series_equal(ours.loc["r1"], ours.loc["o3"], check_names=False)


def test_more_origins_than_destinations_searches_from_the_destinations(random_net,
                                                                       origins_and_demand):
    s, _ = origins_and_demand
    rng = np.random.default_rng(3)
    few = acc.snap(random_net, _points(rng, 12, "f"), what="demand", warn=False)
    values = np.column_stack([few.frame["jobseekers_n"], few.frame["population_n"]])
    c = search._catchments(random_net, s, few, "time", [6.0, 12.0], values)
    assert c.searches_n == few.n_items  # reversed: one search per destination
    ref = lab._reachable_totals_reference(random_net, s, few, columns=["jobseekers_n"],
                                          limits_min=[6.0, 12.0])
    ours = lab.reachable_totals(random_net, s, few, columns=["jobseekers_n"],
                                limits_min=[6.0, 12.0])
    _assert_close(ours, ref)
    # counts and nearest-facility times come out of the same search
    for k, t in enumerate(c.limits):
        both = acc.nearest_and_count(random_net, s, few, limit_min=float(t))
        n = pd.array(c.counts[:, k], dtype="Int64")
        n[~s.snapped.to_numpy()] = pd.NA
        assert (pd.Series(n, index=s.index) == both.iloc[:, 1]).fillna(True).all()
        assert (both.iloc[:, 1].isna() == ~s.snapped).all()
    nearest = np.where(c.nearest <= c.limits[-1], c.nearest, np.nan)
    ref_t = acc.nearest_time_min(random_net, s, few, limit_min=float(c.limits[-1])).to_numpy()
    assert np.allclose(nearest, ref_t, equal_nan=True, rtol=0, atol=1e-9)


def test_sums_do_not_depend_on_threads(random_net, origins_and_demand, monkeypatch):
    s, dem = origins_and_demand
    values = np.column_stack([dem.frame["jobseekers_n"], dem.frame["population_n"]])
    out = []
    for n in (1, 2):
        monkeypatch.setattr(search, "_nthreads", lambda n=n: n)
        monkeypatch.setattr(search, "_MIN_BLOCK_ROWS", 1)
        monkeypatch.setattr(search, "_MAX_BLOCK_ROWS", 3)
        out.append(search._catchments(random_net, s, dem, "time", [5.0, 9.0], values))
    assert np.array_equal(out[0].sums, out[1].sums)
    assert np.array_equal(out[0].counts, out[1].counts)


@pytest.fixture(scope="module")
def sample():
    layers = load_layers("sample", progress=False)
    sites, _ = grid_sites(layers["study_area"], cell_m=250)
    inputs = load_indicator_inputs(layers)
    table, _ = site_indicators(sites, layers, inputs, progress=False)
    return layers, sites, inputs, table


def test_sample_catchments_equal_the_reference(sample):
    layers, sites, inputs, table = sample
    cells = inputs.demand
    for mode, net in (("walk", inputs.walk), ("bike", inputs.bike)):
        s = acc.snap(net, table, barriers=water_barriers(layers), what="sites", warn=False)
        dem, _ = lab.snap_demand(net, cells, value_columns=["population_n", "jobseekers_n",
                                                            "jobseekers_low_edu_n"])
        ref = lab._reachable_totals_reference(net, s, dem,
                                              columns=["jobseekers_n", "jobseekers_low_edu_n"],
                                              limits_min=[20.0, 30.0], prefix=mode)
        ours = lab.reachable_totals(net, s, dem, columns=["jobseekers_n",
                                                          "jobseekers_low_edu_n"],
                                    limits_min=[20.0, 30.0], prefix=mode)
        _assert_close(ours, ref)
        assert np.nanmax(ref.to_numpy()) > 0
        if mode == "bike":
            res = acc.cumulative_opportunities(net, s, dem, weights="population_n",
                                               limit_min=15.0)
            got = table["residents_bike_15min_n"]
            known = got.notna()
            assert known.sum() > 0
            assert np.allclose(got[known], res[known], rtol=TOL, atol=0)
    # the table's counts are the reference where not blanked for missing job-seeker data
    walk_s = acc.snap(inputs.walk, table, barriers=water_barriers(layers), what="sites", warn=False)
    wdem, _ = lab.snap_demand(inputs.walk, cells, value_columns=["jobseekers_n"])
    ref = lab._reachable_totals_reference(inputs.walk, walk_s, wdem, columns=["jobseekers_n"],
                                          limits_min=[20.0], prefix="walk")
    ref = ref["jobseekers_walk_20min_n"]
    got = table["jobseekers_walk_20min_n"]
    known = got.notna()
    assert known.sum() > 0
    assert np.allclose(got[known], ref[known], rtol=TOL, atol=0)
