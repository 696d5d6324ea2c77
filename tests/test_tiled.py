"""The indicators by spatial tiles on a Dask cluster (issue 15): same results as one process.

One module-scoped LocalCluster of two single-threaded worker processes runs every Dask
test; the sample and a window of the real test bed are compared with the single-process
:func:`site_indicators` to 1e-9, in the same row order.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402

import productivecity as pc  # noqa: E402
from productivecity._errors import ConfigError, ProductiveCityError  # noqa: E402
from productivecity.indicators import tiled  # noqa: E402
from productivecity.indicators.options import IndicatorOptions  # noqa: E402

# the task functions below are sent to the workers by value (tests/ is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _env(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("PRODUCTIVECITY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    mp.setenv("PRODUCTIVECITY_OFFLINE", "1")
    return mp


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each (numba on one thread)."""
    with tiled.local_cluster(2) as c:
        yield c


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample's 250 m grid, its inputs and the single-process indicators."""
    from productivecity.workflow.inputs import load_indicator_inputs

    mp = _env(tmp_path_factory)
    try:
        layers = pc.load_layers("sample", progress=False)
        inputs = load_indicator_inputs(layers)
        sites, _ = pc.candidate_sites(layers, "grid")
        table, report = pc.site_indicators(sites, layers, inputs, progress=False)
    finally:
        mp.undo()
    return sites, layers, inputs, table, report


def _same(a, b):
    """Equal tables (values to 1e-9, same index order and columns)."""
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")),
                                  rtol=0, atol=1e-9)
    assert a.geometry.geom_equals_exact(b.geometry, 0).all()


def _counting(tile, positions, *args, log_dir: str, fail_tile=None):
    """Run :func:`compute_tile`, logging each call; fail once on ``fail_tile``."""
    log = Path(log_dir)
    name = f"{tile[0]}_{tile[1]}"
    with open(log / f"{name}.calls", "a") as f:
        f.write("1\n")
    if fail_tile is not None and tuple(tile) == tuple(fail_tile):
        flag = log / f"{name}.failed"
        if not flag.exists():
            flag.write_text("failed once")
            raise RuntimeError(f"planned failure of tile {name}")
    return tiled.compute_tile(tile, positions, *args)


def _calls(log_dir: Path) -> dict[str, int]:
    return {p.stem: len(p.read_text().split()) for p in log_dir.glob("*.calls")}


def test_buffer_formula_and_refusal():
    opts = IndicatorOptions()
    # 2 x 30 min bike (2SFCA) at 15 km/h = 15 km, plus 250 m snapping
    assert tiled.required_buffer_m(opts) == pytest.approx(15_250.0)
    short = IndicatorOptions(bike_limits_min=[10], hub_access_bike_limit_min=5,
                             residents_bike_limit_min=5, walk_limits_min=[40])
    # then the 40 min walk at 4.8 km/h is the longest trip: 3,200 m + 250 m
    assert tiled.required_buffer_m(short) == pytest.approx(3_450.0)
    with pytest.raises(ConfigError, match=r"tile_buffer_m = 5000 m .*15250 m"):
        tiled.check_buffer(5000, tiled.required_buffer_m(opts))
    assert tiled.check_buffer(20_000, 15_250.0) == 20_000.0


def test_too_small_buffer_is_refused(sample):
    sites, layers, inputs, _table, _report = sample
    with pytest.raises(ConfigError, match=r"tile_buffer_m = 1000 m is smaller .*15250"):
        tiled.tiled_indicators(sites, layers, inputs, tile_m=500, buffer_m=1000)
    from productivecity.workflow.config import build_config

    with pytest.raises(ConfigError, match=r"tile_buffer_m = 800 m .*15250"):
        build_config(None, [("indicators", "tile_buffer_m", 800.0)])


def test_tiles_cover_every_site_once(sample):
    sites, *_ = sample
    keys = tiled.tile_of_sites(sites, 500.0)
    assert len(np.unique(keys, axis=0)) > 20  # small tiles: many
    c = sites.geometry.centroid
    assert (keys[:, 0] * 500 <= c.x.to_numpy()).all()
    assert (c.x.to_numpy() < (keys[:, 0] + 1) * 500).all()


def test_subnetwork_keeps_order_and_main_component(sample):
    _sites, _layers, inputs, *_ = sample
    walk = inputs.walk
    x0, y0 = float(np.median(walk.x)), float(np.median(walk.y))
    sub = tiled.subnetwork(walk, (x0 - 300, y0 - 300, x0 + 300, y0 + 300))
    assert 0 < sub.n_edges < walk.n_edges
    # node ids in the original order, component labels kept
    pos = {n: i for i, n in enumerate(walk.node_id)}
    idx = np.array([pos[n] for n in sub.node_id])
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(sub.component, walk.component[idx])


def _numba_threads():
    import numba

    return numba.config.NUMBA_NUM_THREADS


def test_dask_equals_single_process_on_sample(sample, client, tmp_path):
    sites, layers, inputs, table, report = sample
    assert set(client.run(_numba_threads).values()) == {1}  # one thread per worker
    task = functools.partial(_counting, log_dir=str(tmp_path))
    out, rep = tiled.tiled_indicators(sites, layers, inputs, tile_m=1000, client=client,
                                      task=task)
    _same(table, out)
    pd.testing.assert_frame_equal(report.missing, rep.missing)
    assert rep.notes == report.notes
    assert list(rep.unsnapped_sites.index) == list(report.unsnapped_sites.index)
    n_tiles = len(np.unique(tiled.tile_of_sites(sites, 1000), axis=0))
    assert n_tiles >= 4
    calls = _calls(tmp_path)
    assert len(calls) == n_tiles and set(calls.values()) == {1}  # each tile once
    assert rep.timings_s["tiles_n"] == n_tiles


def test_failed_task_is_retried_without_losing_or_duplicating_sites(sample, client, tmp_path):
    sites, layers, inputs, table, _report = sample
    keys = tiled.tile_of_sites(sites, 1000)
    fail = tuple(int(v) for v in keys[len(keys) // 2])
    task = functools.partial(_counting, log_dir=str(tmp_path), fail_tile=fail)
    out, _rep = tiled.tiled_indicators(sites, layers, inputs, tile_m=1000, client=client,
                                       task=task, retries=2)
    _same(table, out)
    calls = _calls(tmp_path)
    name = f"{fail[0]}_{fail[1]}"
    assert (tmp_path / f"{name}.failed").exists()
    assert calls.pop(name) == 2  # the failure and its retry
    assert set(calls.values()) == {1}


def test_lost_or_duplicated_sites_are_an_error(sample):
    sites, *_ = sample
    part = sites.iloc[:3]
    rep = None
    dup = [(np.array([0, 1]), part.iloc[:2], rep), (np.array([1, 2]), part.iloc[1:], rep)]
    with pytest.raises(ProductiveCityError, match="1 site\\(s\\) more than once"):
        tiled._assemble(part, dup, None)
    lost = [(np.array([0, 1]), part.iloc[:2], rep)]
    with pytest.raises(ProductiveCityError, match="1 site\\(s\\) missing"):
        tiled._assemble(part, lost, None)


def test_unanswered_scheduler_is_a_clear_error_within_seconds(sample):
    sites, layers, inputs, *_ = sample
    address = "tcp://127.0.0.1:9"  # the discard port: nothing listens
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"scheduler 'tcp://127\.0\.0\.1:9' did not answer"):
        tiled.engine_indicators(sites, layers, inputs, engine="dask", scheduler=address)
    assert time.perf_counter() - t0 < 15


def test_unknown_engine_is_refused(sample):
    sites, layers, inputs, *_ = sample
    with pytest.raises(ConfigError, match="engine must be one of local, dask, got 'spark'"):
        tiled.engine_indicators(sites, layers, inputs, engine="spark")


@pytest.fixture(scope="module")
def testbed_window(testbed, tmp_path_factory):
    """A window of the real test bed (its data), 150 sites of its 250 m grid."""
    from productivecity.settings import get_settings
    from productivecity.workflow.config import build_config
    from productivecity.workflow.steps import (
        _Run,
        demand_step,
        indicator_inputs,
        layers_step,
        sites_step,
    )

    mp = _env(tmp_path_factory)
    try:
        config = build_config(None, [("area", "preset", "bbox:4.33,50.85,4.39,50.89"),
                                     ("area", "data_dir", str(Path(testbed).resolve())),
                                     ("sites", "kind", "grid"), ("sites", "cell_m", 250.0)])
        run = _Run(config, data_dir=None, settings=get_settings(), progress=False)
        layers = layers_step(run)
        sites, _ = sites_step(run, layers)
        inputs = indicator_inputs(run, layers, demand_step(run, layers))
    finally:
        mp.undo()
    c = sites.geometry.centroid
    d = np.hypot(c.x - c.x.median(), c.y - c.y.median()).to_numpy()
    sites = sites.iloc[np.sort(np.argsort(d, kind="stable")[:150])]
    options = run.config.indicator_options
    table, report = pc.site_indicators(sites, layers, inputs, options=options, progress=False)
    return sites, layers, inputs, options, table, report


def test_dask_equals_single_process_on_testbed(testbed_window, client, tmp_path):
    sites, layers, inputs, options, table, report = testbed_window
    assert len(sites) == 150 and inputs.demand is not None
    task = functools.partial(_counting, log_dir=str(tmp_path))
    out, rep = tiled.tiled_indicators(sites, layers, inputs, options=options, tile_m=1500,
                                      client=client, task=task)
    _same(table, out)
    assert table["jobseekers_walk_20min_n"].notna().sum() > 100  # real values compared
    pd.testing.assert_frame_equal(report.missing, rep.missing)
    assert rep.notes == report.notes
    calls = _calls(tmp_path)
    assert len(calls) >= 2 and set(calls.values()) == {1}


def test_nearest_times_beyond_the_buffer_are_exact(sample, monkeypatch):
    """Short catchments, a small buffer: the unlimited nearest-facility times of many
    sites lie beyond it and are computed again on the full networks (in this process)."""
    sites, layers, inputs, *_ = sample
    opts = IndicatorOptions(walk_limits_min=[3], bike_limits_min=[3], stops_walk_limit_min=3,
                            residents_bike_limit_min=3, hub_access_bike_limit_min=2,
                            station_limit_min=3)
    assert tiled.required_buffer_m(opts) == pytest.approx(2 * 2 * 250 + 250)
    table, report = pc.site_indicators(sites, layers, inputs, options=opts, progress=False)
    again = []
    full = tiled._nearest_on_full
    monkeypatch.setattr(tiled, "_nearest_on_full",
                        lambda t, part, *a: again.append(len(part)) or full(t, part, *a))
    out, rep = tiled.tiled_indicators(sites, layers, inputs, options=opts, tile_m=1000)
    assert sum(again) > 20  # sites whose nearest facility lies beyond the slice
    _same(table, out)
    pd.testing.assert_frame_equal(report.missing, rep.missing)


def test_sites_outside_the_networks_are_computed_with_a_neighbour(sample):
    """A tile whose sites all lie off the street data (there snapping refuses them all)."""
    sites, layers, inputs, *_ = sample
    far = sites.iloc[:2].copy()
    far.index = pd.Index(["far-1", "far-2"], name=sites.index.name)
    far.geometry = far.geometry.translate(30_000, 0)
    both = pd.concat([far.iloc[:1], sites.iloc[::8], far.iloc[1:]])
    table, _report = pc.site_indicators(both, layers, inputs, progress=False)
    assert table.loc[["far-1", "far-2"], "jobseekers_walk_20min_n"].isna().all()
    out, _rep = tiled.tiled_indicators(both, layers, inputs, tile_m=1000)
    _same(table, out)
