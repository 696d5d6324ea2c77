"""From indicators to new hubs: demand units, network travel times, rank and allocate CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pyogrio
import pytest

from productivecity import SchemaError
from productivecity import accessibility as acc
from productivecity._errors import AllocationError
from productivecity.cli import main
from productivecity.layers import load_layers
from productivecity.network.streets import bike_network
from productivecity.sites import grid_sites
from productivecity.siting.allocation import maximal_covering
from productivecity.siting.demand import demand_units
from productivecity.siting.travel_times import network_travel_times
from productivecity.sources.catalog import DataDir, sample_data_dir
from productivecity.sources.labour import read_actiris_jobseekers
from productivecity.workflow.inputs import load_demand_surface

CRITERIA = "productivecity/data/criteria/brussels-canal.toml"


@pytest.fixture(scope="module")
def sample():
    layers = load_layers("sample", progress=False)
    bike = bike_network(DataDir(sample_data_dir()).find("osm_xml"))
    surface, _ = load_demand_surface(layers, year=2024)
    return layers, bike, surface


@pytest.mark.parametrize("units", ["neighbourhoods", "cells"])
def test_demand_units_conserve_totals(sample, units):
    layers, _, surface = sample
    dem = demand_units(layers, surface, units=units)
    muni = layers["units_municipalities"]
    assert dem["population_n"].sum() == pytest.approx(float(muni["population_n"].sum()))
    js = read_actiris_jobseekers(DataDir(sample_data_dir()).require("labour_actiris"), year=2024,
                                 names=muni["name"])
    assert dem["jobseekers_n"].sum() == pytest.approx(js["jobseekers_n"].sum(), rel=1e-9)
    assert dem["jobseekers_low_edu_n"].sum() == pytest.approx(js["jobseekers_low_edu_n"].sum())
    assert dem.index.is_unique and not dem["no_data"].any()
    assert dem.within(layers["study_area"].geometry.iloc[0].buffer(1)).all()


def test_travel_times_match_the_engine_and_brute_force(sample):
    """Maximal covering on network times equals enumeration over every pair of sites."""
    layers, bike, surface = sample
    dem = demand_units(layers, surface, units="neighbourhoods")
    sites, _ = grid_sites(layers["study_area"], cell_m=500)
    sites = sites.iloc[::3].head(9)
    hubs = layers["hubs"]
    tt = network_travel_times(bike, sites, dem, demand_column="jobseekers_n", limit_min=6,
                              existing=hubs)
    ref = acc.travel_times(bike, dem, sites, limit_min=6)
    # brute force: covered = demand within 6 min of any open facility (hubs always open)
    ref_h = acc.travel_times(bike, dem, hubs, limit_min=6)
    cover = {s: set(ref.xs(s, level="destination").index) if s in
             ref.index.get_level_values("destination") else set() for s in sites.index}
    base = set(ref_h.index.get_level_values("origin"))
    weight = dem["jobseekers_n"]
    best = max(weight[list(base | cover[a] | cover[b])].sum()
               for a, b in itertools.combinations(sites.index, 2))
    res = maximal_covering(tt, 2)
    assert res.status == "Optimal"
    assert res.covered_demand_n == pytest.approx(best, rel=1e-9)
    assert res.baseline_covered_demand_n == pytest.approx(weight[list(base)].sum())


def test_travel_times_bad_input(sample):
    layers, bike, surface = sample
    dem = demand_units(layers, surface)
    sites, _ = grid_sites(layers["study_area"], cell_m=1000)
    with pytest.raises(SchemaError, match="'jobs_n'"):
        network_travel_times(bike, sites, dem, demand_column="jobs_n", limit_min=10)
    with pytest.raises(AllocationError, match="both"):
        network_travel_times(bike, sites, dem, demand_column="jobseekers_n", limit_min=10,
                             existing=sites.head(1))


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """The sample's indicators, ranked with the example criteria file, through the CLI."""
    d = tmp_path_factory.mktemp("rank")
    assert main(["indicators", "-q", "--out", str(d / "sites.gpkg")]) == 0
    assert main(["rank", "-q", str(d / "sites.gpkg"), "--criteria", CRITERIA,
                 "--out", str(d / "ranked.gpkg")]) == 0
    return d


def test_rank_cli_writes_ranked_sites(ranked):
    out = ranked / "ranked.gpkg"
    layers = [str(n) for n in pyogrio.list_layers(out)[:, 0]]
    assert layers == ["ranked_sites", "places", "criteria", "sensitivity_one_at_a_time"]
    table = pyogrio.read_dataframe(out, layer="ranked_sites")
    places = pyogrio.read_dataframe(out, layer="places")  # scored sites only, in places
    assert table.loc[table["score"].isna(), "place_id"].isna().all()
    assert places["best_site_id"].isin(table["site_id"]).all()
    assert set(table["place_id"].dropna()) == set(places["place_id"])
    eligible = table.loc[table["status"] == "eligible"]
    assert eligible["rank"].min() == 1 and table["score"].notna().sum() == len(eligible)
    assert (table["excluded"].astype(bool) == (table["status"] == "excluded")).all()
    # the rank of each cell's place; the place's best cell marked
    assert (table.loc[table["place_best"].astype(bool), "site_id"].sort_values().tolist()
            == places["best_site_id"].sort_values().tolist())
    contrib = [c for c in table.columns if c.startswith("contrib_")]
    assert np.allclose(eligible[contrib].sum(axis=1), eligible["score"])
    assert eligible["topk_share"].between(0, 1).all()
    weights = pyogrio.read_dataframe(out, layer="criteria")
    assert weights["weight"].sum() == pytest.approx(1.0)


def test_rank_cli_missing_column_lists_available(ranked, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[criterion]]\nname = "x"\ncolumn = "no_such_column"\n'
                   'direction = "benefit"\nstandardisation = "minmax"\nweight = 1.0\n')
    code = main(["rank", "-q", str(ranked / "sites.gpkg"), "--criteria", str(bad),
                 "--out", str(tmp_path / "r.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and "no_such_column" in err and "jobseekers_walk_20min_n" in err
    assert "Traceback" not in err and not (tmp_path / "r.gpkg").exists()


def test_allocate_cli(ranked, tmp_path, capsys):
    out = tmp_path / "alloc.gpkg"
    assert main(["allocate", str(ranked / "ranked.gpkg"), "--k", "3", "--mode", "walk",
                 "--limit-min", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "status Optimal" in printed
    curve = pyogrio.read_dataframe(out, layer="coverage_curve")
    assert list(curve["k"]) == [0, 1, 2, 3]
    assert (np.diff(curve["covered_demand_n"]) >= -1e-9).all()  # more hubs never cover less
    chosen = pyogrio.read_dataframe(out, layer="chosen_sites")
    assert 0 < len(chosen) <= 3


def test_allocate_k_larger_than_candidates(ranked, tmp_path, capsys):
    code = main(["allocate", "-q", str(ranked / "ranked.gpkg"), "--k", "5", "--candidates",
                 "top:2", "--out", str(tmp_path / "a.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "only 2 candidate sites" in err
