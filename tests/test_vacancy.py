"""Tests of the vacancy and underuse indicators.

Hand-worked fixtures (100 m squares, buildings of known size, POIs at known
distances) check each indicator; the integration tests run them on the
Brussels–Vilvoorde test bed and check conservation of brownfield area and
building coverage against an independent union-based reference.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from productivecity._errors import CRSError, SchemaError
from productivecity.indicators import vacancy as v


def _sites(*geoms, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"s{k}" for k in range(1, len(geoms) + 1)]
    return gpd.GeoDataFrame(geometry=list(geoms), crs=31370,
                            index=pd.Index(ids, name="site_id"))


def _zones(*rows) -> gpd.GeoDataFrame:
    kinds, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"kind": kinds}, geometry=list(geoms), crs=31370,
                            index=pd.Index([f"z{k}" for k in range(len(kinds))], name="zone_id"))


def _poi(*rows) -> gpd.GeoDataFrame:
    kinds, xy = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"kind": kinds}, geometry=[shapely.Point(p) for p in xy], crs=31370)


def _box_x(x0, x1):
    """A 100 m high strip from x0 to x1 (m)."""
    return shapely.box(x0, 0, x1, 100)


SQUARE = shapely.box(0, 0, 100, 100)  # 1 ha


# ------------------------------------------------------------------ land-use shares


def test_brownfield_and_industrial_share_hand_computed():
    sites = _sites(SQUARE, _box_x(200, 300), shapely.Point(50, 50))
    zones = _zones(("brownfield", _box_x(-50, 50)),   # west half of s1
                   ("brownfield", _box_x(0, 50)),     # the same land again
                   ("industrial", _box_x(250, 275)))  # a quarter of s2
    bf = v.brownfield_share_pct(sites, zones)
    assert bf.name == "brownfield_share_pct" and list(bf.index) == ["s1", "s2", "s3"]
    assert bf["s1"] == pytest.approx(50.0)  # overlapping zones not counted twice
    assert bf["s2"] == 0.0
    assert np.isnan(bf["s3"])  # a point has no area
    ind = v.industrial_share_pct(sites, zones)
    assert ind.tolist()[:2] == pytest.approx([0.0, 25.0])


def test_share_is_nan_outside_coverage_and_uses_the_covered_part():
    sites = _sites(SQUARE, _box_x(200, 300), _box_x(400, 500), _box_x(600, 700),
                   _box_x(800, 900))
    zones = _zones(("brownfield", _box_x(0, 25)), ("brownfield", _box_x(400, 430)),
                   ("brownfield", _box_x(800, 900)))
    coverage = gpd.GeoSeries([shapely.box(-1000, -1000, 260, 1000),  # s1 whole, s2 60 %
                              _box_x(400, 460),                      # s3 60 %
                              _box_x(800, 840)], crs=31370)          # s5 40 %
    bf = v.brownfield_share_pct(sites, zones, coverage=coverage)
    assert bf["s1"] == pytest.approx(25.0)
    assert bf["s2"] == pytest.approx(0.0)
    assert bf["s3"] == pytest.approx(50.0)  # 30 m of the 60 m covered
    assert np.isnan(bf["s4"])  # outside the coverage: unknown, not 0
    assert np.isnan(bf["s5"])  # 40 % covered < 50 %
    relaxed = v.brownfield_share_pct(sites, zones, coverage=coverage, min_covered_pct=40)
    assert relaxed["s5"] == pytest.approx(100.0)
    # a shapely geometry is taken as EPSG:31370
    same = v.brownfield_share_pct(sites, zones, coverage=coverage.union_all())
    pd.testing.assert_series_equal(same, bf)


def test_inputs_are_not_mutated_and_bad_inputs_raise():
    sites = _sites(SQUARE)
    zones = _zones(("brownfield", _box_x(0, 50)))
    before = sites.copy(), zones.copy()
    v.brownfield_share_pct(sites, zones)
    pd.testing.assert_frame_equal(sites, before[0])
    pd.testing.assert_frame_equal(zones, before[1])
    with pytest.raises(CRSError, match="sites has no CRS"):
        v.brownfield_share_pct(sites.set_crs(None, allow_override=True), zones)
    with pytest.raises(SchemaError, match=r"lacks required column\(s\) \['kind'\]"):
        v.brownfield_share_pct(sites, zones.drop(columns="kind"))
    with pytest.raises(SchemaError, match="duplicate site ids"):
        v.brownfield_share_pct(_sites(SQUARE, SQUARE, ids=["a", "a"]), zones)


# ------------------------------------------------------------------ vacancy POIs


def test_vacant_poi_counts_and_density_hand_computed():
    sites = _sites(SQUARE, shapely.Point(1000, 1000))
    poi = _poi(("vacant_shop", (50, 50)),     # inside s1
               ("disused", (200, 50)),        # 100 m east of s1
               ("vacant_shop", (400, 50)),    # 300 m east of s1: out of range
               ("craft", (60, 60)),           # not a vacancy kind
               ("vacant_shop", (1000, 1240)))  # 240 m from the point site
    n = v.vacant_poi_n(sites, poi, radius_m=250)
    assert n.dtype == "Int64" and n.tolist() == [2, 1]
    assert v.vacant_poi_n(sites, poi, radius_m=0).tolist() == [1, 0]
    assert v.vacant_poi_n(sites, poi, kinds=("disused",)).tolist() == [1, 0]
    per_ha = v.vacant_poi_per_ha(sites, poi, radius_m=250)
    # search area: square grown by 250 m = 100² + 4·100·250 + π·250² m²
    search_ha = (100 ** 2 + 4 * 100 * 250 + math.pi * 250 ** 2) / 10_000
    assert per_ha["s1"] == pytest.approx(2 / search_ha, rel=1e-3)
    assert per_ha["s2"] == pytest.approx(1 / (math.pi * 250 ** 2 / 10_000), rel=1e-3)
    assert np.isnan(v.vacant_poi_per_ha(sites, poi, radius_m=0)["s2"])  # a point: no area
    with pytest.raises(ValueError, match="POI kinds"):
        v.vacant_poi_n(sites, poi, kinds=("vacant",))
    with pytest.raises(ValueError, match="radius_m"):
        v.vacant_poi_n(sites, poi, radius_m=-1)


def test_vacant_poi_missing_outside_coverage():
    sites = _sites(SQUARE, _box_x(5000, 5100))
    poi = _poi(("vacant_shop", (50, 50)))
    n = v.vacant_poi_n(sites, poi, coverage=shapely.box(-500, -500, 500, 500))
    assert n.tolist()[0] == 1 and pd.isna(n.iloc[1])


# ------------------------------------------------------------------ buildings


def test_building_coverage_hand_computed():
    sites = _sites(SQUARE, _box_x(200, 300), _box_x(5000, 5100))
    buildings = gpd.GeoDataFrame(geometry=[
        shapely.box(10, 10, 30, 30),     # 400 m² in s1
        shapely.box(10, 10, 30, 30),     # duplicate footprint: not counted twice
        shapely.box(50, 50, 60, 60),     # 100 m² in s1
        shapely.box(90, 80, 110, 100),   # straddles s1's edge: 200 m² inside
        shapely.box(250, 0, 300, 100),   # half of s2
    ], crs=31370)
    cov = gpd.GeoSeries([shapely.box(-100, -100, 400, 200)], crs=31370)
    pct = v.building_coverage_pct(sites, buildings, coverage=cov)
    assert pct.name == "building_coverage_pct"
    assert pct["s1"] == pytest.approx(7.0)  # (400 + 100 + 200) / 10,000
    assert pct["s2"] == pytest.approx(50.0)
    assert np.isnan(pct["s3"])  # no building data there: unknown, not 0
    assert v.building_coverage_pct(sites, buildings)["s3"] == 0.0  # coverage None = complete


def test_unbuilt_industrial_hand_computed():
    sites = _sites(SQUARE, _box_x(5000, 5100))
    zones = _zones(("industrial", _box_x(0, 50)),       # 0.5 ha of s1
                   ("brownfield", _box_x(50, 60)),      # 0.1 ha
                   ("residential", _box_x(60, 100)))    # not counted
    buildings = gpd.GeoDataFrame(geometry=[shapely.box(10, 10, 30, 30),   # 400 m² on zone
                                           shapely.box(55, 10, 75, 30)],  # 100 m² on zone
                                 crs=31370)
    out = v.unbuilt_industrial_ha(sites, zones, buildings,
                                  coverage=shapely.box(-10, -10, 200, 200))
    assert out["s1"] == pytest.approx((5000 + 1000 - 400 - 100) / 10_000)
    assert np.isnan(out["s2"])


# ------------------------------------------------------------------ inventory


def _inventory_file(tmp_path):
    inv = gpd.GeoDataFrame(
        {"etat": ["Inoccupé", "occupé", " LEEGSTAND ", "inoccupé"], "ref": [1, 2, 3, 4]},
        geometry=[_box_x(0, 30), _box_x(30, 100), shapely.Point(250, 50),
                  shapely.Point(4000, 4000)],
        crs=31370)
    path = tmp_path / "inventory.gpkg"
    pyogrio.write_dataframe(inv, path)
    return path


def test_read_vacancy_inventory_and_indicators(tmp_path):
    path = _inventory_file(tmp_path)
    inv, report = v.read_vacancy_inventory(path, status_column="etat")
    assert list(inv.index) == ["inv-1", "inv-2", "inv-3", "inv-4"]
    assert inv["vacant"].tolist() == [True, False, True, True]
    assert inv["status"].tolist()[0] == "Inoccupé"
    sites = _sites(SQUARE)
    assert v.inventory_vacant_share_pct(sites, inv)["s1"] == pytest.approx(30.0)
    assert v.inventory_vacant_n(sites, inv, radius_m=250).tolist() == [2]
    with pytest.raises(SchemaError, match=r"no status column 'status'.*\['etat', 'ref'\]"):
        v.read_vacancy_inventory(path, status_column="status")
    with pytest.raises(SchemaError, match=r"none of the vacant values.*'occupé' \(1\)"):
        v.read_vacancy_inventory(path, status_column="etat", vacant_values=("empty",))


def test_vacancy_indicators_columns_missing_inputs_and_inventory(tmp_path):
    sites = _sites(SQUARE, _box_x(5000, 5100))
    zones = _zones(("brownfield", _box_x(0, 50)))
    poi = _poi(("vacant_shop", (50, 50)))
    frame = v.vacancy_indicators(sites, zones=zones, poi=poi)
    assert list(frame.columns) == ["brownfield_share_pct", "industrial_share_pct",
                                   "vacant_poi_n", "vacant_poi_per_ha",
                                   "building_coverage_pct", "unbuilt_industrial_ha"]
    assert frame.index.equals(sites.index)
    assert frame["building_coverage_pct"].isna().all()
    assert frame.attrs["missing_inputs"] == {"building_coverage_pct": "no buildings layer",
                                             "unbuilt_industrial_ha": "no buildings layer"}
    # buildings near s1 only: the derived coverage leaves s2 out (NaN, reported)
    buildings = gpd.GeoDataFrame(geometry=[shapely.box(10, 10, 30, 30)], crs=31370)
    frame = v.vacancy_indicators(sites, zones=zones, poi=poi, buildings=buildings)
    assert frame.loc["s1", "building_coverage_pct"] == pytest.approx(4.0)
    assert np.isnan(frame.loc["s2", "building_coverage_pct"])
    assert frame.attrs["missing_inputs"]["building_coverage_pct"] == (
        "1 of 2 sites outside the buildings coverage")
    # an inventory replaces the OSM vacancy proxies
    inv, _ = v.read_vacancy_inventory(_inventory_file(tmp_path), status_column="etat")
    frame = v.vacancy_indicators(sites, zones=zones, poi=poi, inventory=inv)
    assert "brownfield_share_pct" not in frame.columns and "vacant_poi_n" not in frame.columns
    assert frame.loc["s1", "inventory_vacant_share_pct"] == pytest.approx(30.0)
    assert "industrial_share_pct" in frame.columns


# ------------------------------------------------------------------ real data (test bed)


@pytest.fixture(scope="module")
def testbed_inputs(testbed):
    from productivecity.area import study_area
    from productivecity.sites import grid_sites
    from productivecity.sources import osm

    area = study_area("brussels-vilvoorde", data_dir=testbed)
    pbf = testbed / "osm" / "pbf_brussels_2013" / "01_01_2013_brussels_capital_region.osm.pbf"
    munis = gpd.read_file(testbed / "boundaries" / "provincies_in_cijfers" / "gemeente.shp")
    munis["nis5"] = munis["geoitem"].astype(str)
    return {
        "area": area,
        "sites": grid_sites(area)[0],
        "zones": osm.industrial_zones(area, data_dir=testbed)[0],
        "poi": osm.poi(area, data_dir=testbed)[0],
        "buildings": osm.buildings(area, source=pbf)[0],
        "munis": munis.to_crs(31370),
    }


@pytest.mark.integration
def test_testbed_brownfield_area_is_conserved(testbed_inputs):
    sites, zones, area = (testbed_inputs[k] for k in ("sites", "zones", "area"))
    share = v.brownfield_share_pct(sites, zones)
    summed_ha = float((share / 100 * sites["area_ha"]).sum())
    brownfield = zones.loc[zones["kind"] == "brownfield"].union_all()
    expected_ha = brownfield.intersection(area.union_all()).area / 10_000
    assert expected_ha > 10
    assert summed_ha == pytest.approx(expected_ha, rel=1e-3)


@pytest.mark.integration
def test_testbed_building_coverage_brussels_known_vilvoorde_missing(testbed_inputs,
                                                                     monkeypatch):
    sites, zones, poi, buildings, munis = (testbed_inputs[k] for k in (
        "sites", "zones", "poi", "buildings", "munis"))
    queries = []

    class CountingTree(shapely.STRtree):
        def query(self, geometry, *args, **kwargs):
            queries.append(np.ndim(geometry))
            return super().query(geometry, *args, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(shapely, "STRtree", CountingTree)
        frame = v.vacancy_indicators(sites, zones=zones, poi=poi, buildings=buildings)
    # 3,800 sites x 50,000 buildings: every overlay is a bulk STRtree query over many
    # sites at once, never one query per site
    assert 0 < len(queries) <= 20 and all(d == 1 for d in queries)
    pct = frame["building_coverage_pct"]
    flemish = munis.loc[munis["nis5"].isin(["23088", "23047"])].union_all()
    brussels = munis.loc[munis["nis5"].str.startswith("21")].union_all()
    in_flanders = sites.geometry.within(flemish)
    in_brussels = sites.geometry.within(brussels)
    assert in_flanders.sum() > 300 and in_brussels.sum() > 2500
    # no Vilvoorde/Machelen buildings in the 2013 PBF, except ways crossing the regional
    # border (kept whole by the extract): the derived coverage reaches a few cells there
    far = in_flanders & (sites.geometry.distance(brussels) > 500)
    assert far.sum() > 250
    assert pct[far].isna().all() and frame["unbuilt_industrial_ha"][far].isna().all()
    assert pct[in_flanders].isna().mean() > 0.95
    assert pct[in_brussels].notna().mean() > 0.85  # derived coverage: mapped Brussels
    assert "sites outside the buildings coverage" in frame.attrs["missing_inputs"][
        "building_coverage_pct"]
    # with the region as coverage every Brussels cell has a value
    by_region = v.building_coverage_pct(sites, buildings, coverage=gpd.GeoSeries(
        [brussels], crs=31370))
    assert by_region[in_brussels].notna().all() and by_region[in_flanders].isna().all()
    # independent reference for 25 cells: union of the clipped footprints
    rng = np.random.default_rng(4)
    pick = rng.choice(np.flatnonzero(in_brussels & (pct > 5)), 25, replace=False)
    for k in pick:
        cell = sites.geometry.iloc[k]
        near = buildings.geometry[buildings.intersects(cell)]
        ref = shapely.union_all(np.asarray(near.intersection(cell).values)).area / cell.area * 100
        assert by_region.iloc[k] == pytest.approx(ref, rel=1e-6, abs=1e-9)
