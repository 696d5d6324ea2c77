"""The whole layer set: sample, bad input, and the real test bed."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

from productivecity import DataSourceError, MissingLayerError
from productivecity._errors import ConfigError
from productivecity.layers import LAYER_NAMES, load_layers


@pytest.fixture(scope="module")
def sample_layers():
    """All layers of the synthetic sample (offline, shipped with the package)."""
    return load_layers("sample", progress=False)


def test_sample_has_every_layer_non_empty_in_project_crs(sample_layers):
    assert list(sample_layers.layers) == list(LAYER_NAMES)
    for name, gdf in sample_layers.layers.items():
        assert len(gdf) > 0, name
        assert gdf.crs.to_epsg() == 31370, name


def test_summary_counts_match_layers(sample_layers):
    summary = sample_layers.summary()
    for name, gdf in sample_layers.layers.items():
        assert summary.loc[name, "features_n"] == len(gdf)
    # hectares are recomputed from geometry: the three municipalities tile the 1,200 ha town
    assert summary.loc["units_municipalities", "area_ha"] == pytest.approx(1200, rel=1e-6)
    zones = sample_layers["industrial_zones"]
    assert summary.loc["industrial_zones", "area_ha"] == pytest.approx(zones["area_ha"].sum())


def test_canal_names_reach_the_canal_layer():
    """load_layers(canal_names=...) names the waterways; an unknown one lists those found."""
    with pytest.raises(ConfigError, match=r"canal_names \['No Such Canal'\].*'Sample Canal'"):
        load_layers("sample", canal_names=["No Such Canal"], progress=False)


def test_every_feature_touches_the_area(sample_layers):
    area = sample_layers["study_area"].geometry.iloc[0]
    for name in ("industrial_zones", "canal", "hubs", "transit_stops", "poi"):
        assert sample_layers[name].intersects(area).all(), name


def test_canal_zone_contains_the_canal(sample_layers):
    zone = sample_layers["canal_zone"].geometry.iloc[0]
    canal_lines = sample_layers["canal"]
    lines = canal_lines[canal_lines["feature"] == "waterway"]
    assert lines.within(zone.buffer(1e-6)).all()


def test_gpkg_roundtrip(sample_layers, tmp_path):
    out = sample_layers.to_gpkg(tmp_path / "layers.gpkg")
    names = [str(n) for n in pyogrio.list_layers(out)[:, 0]]
    assert names == list(LAYER_NAMES)
    zones = gpd.read_file(out, layer="industrial_zones")
    assert "zone_id" in zones.columns and zones.crs.to_epsg() == 31370


def test_area_without_features_names_the_layer(tmp_path):
    """A study area next to the sample town: its empty layers are left out, each named."""
    far = gpd.GeoDataFrame(geometry=[shapely.box(160_000, 160_000, 161_000, 161_000)], crs=31370)
    path = tmp_path / "far.gpkg"
    far.to_file(path)
    ls = load_layers(str(path), data_dir="productivecity/data/sample", progress=False)
    missing = ls.missing_inputs()
    assert missing.loc["industrial_zones", "status"] == "missing"
    assert "no features" in missing.loc["industrial_zones", "reason"]
    with pytest.raises(MissingLayerError, match="industrial_zones.*no features"):
        ls["industrial_zones"]


def test_missing_data_dir():
    with pytest.raises(DataSourceError, match="does not exist"):
        load_layers("sample", data_dir="no/such/folder", progress=False)


def test_skip_missing_reports_left_out_layers(tmp_path):
    """A data directory with only boundaries: every other layer is left out and reported."""
    import shutil

    from productivecity.sources.catalog import sample_data_dir

    shutil.copytree(sample_data_dir() / "boundaries", tmp_path / "boundaries")
    ls = load_layers("sample", data_dir=tmp_path, progress=False)
    # absent sources are optional: all of them listed at once, each with what would provide it
    missing = ls.missing_inputs()
    assert set(missing.index) == {"industrial_zones", "canal", "canal_zone", "transit_stops",
                                  "poi"}
    assert (missing["status"] == "missing").all()
    assert "landuse" in missing.loc["industrial_zones", "reason"]
    assert "left out" in ls.summary()["notes"]["industrial_zones"]
    # a source that is there but broken: an error, or under skip_missing a "failed" input
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "broken.osm.pbf").write_bytes(b"\x00\x00\x00\x0dOSMHeader" + b"x" * 40)
    with pytest.raises(DataSourceError, match="broken.osm.pbf"):
        load_layers("sample", data_dir=tmp_path, progress=False)
    ls = load_layers("sample", data_dir=tmp_path, skip_missing=True, progress=False)
    failed = ls.missing_inputs().query("status == 'failed'")
    assert "industrial_zones" in failed.index
    assert "broken.osm.pbf" in failed.loc["industrial_zones", "reason"]


@pytest.fixture(scope="module")
def testbed_layers(testbed):
    return load_layers("brussels-vilvoorde", data_dir=testbed, progress=False)


@pytest.mark.integration
def test_testbed_layers_facts(testbed_layers):
    ls = testbed_layers
    for name, gdf in ls.layers.items():
        assert len(gdf) > 0 and gdf.crs.to_epsg() == 31370, name
    # 21 municipalities of the preset, each with its Statbel population
    muni = ls["units_municipalities"]
    assert len(muni) == 21 and muni["population_n"].notna().all()
    # industrial + brownfield land in the Brussels Region: several hundred hectares, whole objects
    zones = ls["industrial_zones"]
    assert 700 < zones.loc[zones["kind"] == "industrial", "area_ha"].sum() < 1000
    assert zones.index.is_unique
    # the canal reaches Vilvoorde: kilometres of it run inside the municipality (NIS 23088),
    # up to Vilvoorde centre (50.928 N); further north it runs through Grimbergen, outside the area
    lines = ls["canal"][ls["canal"]["feature"] == "waterway"]
    in_vilvoorde = lines.intersection(muni.loc["23088", "geometry"]).length.sum()
    assert in_vilvoorde > 2_000
    assert lines.to_crs(4326).total_bounds[3] > 50.925
    # every hub in the area lies in the municipality it states
    joined = gpd.sjoin(ls["hubs"], muni.reset_index()[["nis5", "geometry"]], predicate="within")
    stated = (joined["municipality_nis5"] != "").to_numpy()  # OSM hubs state none
    assert stated.sum() >= 4
    assert (joined.loc[stated, "municipality_nis5"] == joined.loc[stated, "nis5"]).all()
    assert len(joined) == len(ls["hubs"])


@pytest.mark.integration
def test_testbed_canal_sites_are_named(testbed_layers, testbed):
    """Sites of the canal zone named by street, neighbourhood and municipality (2013 OSM)."""
    from productivecity.indicators.names import read_street_names, site_names
    from productivecity.sites import grid_sites
    from productivecity.workflow.inputs import osm_street_file

    ls = testbed_layers
    sites, _ = grid_sites(ls["study_area"], cell_m=250, within=ls["canal_zone"])
    streets = read_street_names(osm_street_file(testbed), ls["study_area"].crs, lang="nl")
    names = site_names(sites, ls, streets=streets)
    brussels = names["neighbourhood_name"].notna()  # the quarters cover the Brussels Region
    assert brussels.mean() > 0.8
    # the 2013 extract covers the Brussels Region; some cells lie on water or rail yards
    assert names.loc[brussels, "street_name"].notna().mean() > 0.85
    assert names["municipality_name"].notna().all()
    # a site is never named by its id where something is known about it
    assert (names["place_name"] != names.index.to_series()).all()
