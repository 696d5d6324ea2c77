"""The tiled region of scripts/bench_scale.py (scripts/region_tiles.py), on the sample."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

import productivecity as pc
from productivecity.workflow.inputs import load_indicator_inputs

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "region_tiles.py"


def _module():
    spec = importlib.util.spec_from_file_location("region_tiles", _SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


rt = _module()


@pytest.fixture(scope="module")
def base():
    layers = pc.load_layers("sample", progress=False)
    inputs = load_indicator_inputs(layers)
    sites, _ = pc.candidate_sites(layers, "grid", cell_m=250)
    return rt.Base.from_inputs(sites, layers, inputs)


def _indicators(base, walk, bike, sites, demand, stops, hubs, canal):
    snapped = rt.snap_inputs(walk, bike, demand, canal)
    return rt.region_indicators(sites, walk=walk, bike=bike, snapped=snapped,
                                transit_stops=stops, hubs=hubs, canal=canal,
                                options=base.options)


@pytest.fixture(scope="module")
def tiled(base):
    # 10 km between tiles: longer than a 30 min bike ride, so no catchment crosses a link
    region = rt.build_region(base, 2, 1, gap_m=10_000.0)
    out = _indicators(base, region.walk, region.bike, region.sites(), region.demand,
                      region.transit_stops, region.hubs, region.canal)
    ref = _indicators(base, base.walk, base.bike, base.sites, base.demand,
                      base.transit_stops, base.hubs, base.canal)
    return region, out, ref


def test_layout_holds_the_sites():
    assert rt.layout(1_000_000, 23_109) == (7, 7)
    assert rt.layout(10_000, 23_109) == (1, 1)
    nx, ny = rt.layout(100_001, 100)
    assert nx * ny * 100 >= 100_001 and (nx - 1) * ny * 100 < 100_001


def test_counts_and_conservation(base, tiled):
    region, out, _ = tiled
    n = len(base.sites)
    assert region.n_sites == 2 * n == len(out)
    assert len(region.demand) == 2 * len(base.demand)
    for col in ("population_n", "jobseekers_n", "jobseekers_low_edu_n"):
        assert region.demand[col].sum() == pytest.approx(2 * base.demand[col].sum(), rel=1e-12)
    for name in ("transit_stops", "hubs", "canal"):
        assert len(getattr(region, name)) == 2 * len(getattr(base, name))
    for mode in ("walk", "bike"):
        b, r = getattr(base, mode), getattr(region, mode)
        assert r.n_nodes == 2 * b.n_nodes
        assert r.n_edges == 2 * b.n_edges + 1  # one link between the two tiles
        assert r.edge_length_m[:b.n_edges].sum() == pytest.approx(b.edge_length_m.sum())
        assert (r.component == 0).all()  # one network: the tiles are linked
    # blocks built lazily are the same sites as the whole region at once
    whole = region.sites()
    block = region.sites(n - 5, n + 5)
    assert list(block.index) == list(range(n - 5, n + 5))
    assert whole.geometry.iloc[n - 5:n + 5].geom_equals_exact(block.geometry, 0).all()
    # the second tile is the first one moved by its shift, east of it
    assert region.shifts[1][0] > 0 and region.shifts[1][1] == 0
    np.testing.assert_allclose(shapely.get_coordinates(whole.geometry.values[n:]),
                               shapely.get_coordinates(base.sites.geometry.values)
                               + region.shifts[1], rtol=0, atol=1e-6)


def test_each_tile_equals_the_untiled_region(base, tiled):
    _, out, ref = tiled
    n = len(base.sites)
    assert list(out.columns) == list(ref.columns)
    assert "jobseekers_bike_30min_n" in ref.columns and "nearest_hub_walk_time_min" in ref
    for t in range(2):
        part = out.iloc[t * n:(t + 1) * n]
        for col in ref.columns:
            a = ref[col].to_numpy(dtype=float)
            b = part[col].to_numpy(dtype=float)
            assert np.isfinite(a).any(), col
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9, err_msg=f"tile {t} {col}")


def test_a_short_gap_lets_catchments_cross(base, tiled):
    # the equality above can fail: with the tiles 200 m apart the bike catchments of
    # sites near the link reach into the other tile and count more job seekers there
    ref = tiled[2]
    region = rt.build_region(base, 2, 1, gap_m=200.0)
    out = _indicators(base, region.walk, region.bike, region.sites(), region.demand,
                      region.transit_stops, region.hubs, region.canal)
    n = len(base.sites)
    col = "jobseekers_bike_30min_n"
    first = out[col].to_numpy()[:n]
    assert (first >= ref[col].to_numpy() - 1e-9).all()
    assert (first > ref[col].to_numpy() + 1).any()
