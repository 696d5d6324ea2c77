"""Tests of candidate sites: lattice grids, zone parcels, the user's sites file.

Small fixtures are built here with hand-computed expectations; the
integration tests build the 250 m grid over the Brussels–Vilvoorde test bed.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely

from productivecity._errors import CRSError, EmptyLayerError, SchemaError
from productivecity.sites import grid_sites, read_sites, zone_sites


def _area(*geoms, crs="EPSG:31370") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["test"] * len(geoms)}, geometry=list(geoms), crs=crs)


# ------------------------------------------------------------------ grids


def test_square_grid_hand_computed():
    sites, report = grid_sites(_area(shapely.box(0, 0, 1000, 1000)), cell_m=500,
                               shape="square")
    assert list(sites.index) == ["sq500-i0-j0", "sq500-i1-j0", "sq500-i0-j1", "sq500-i1-j1"]
    assert sites.index.name == "site_id"
    assert sites.crs.to_epsg() == 31370
    assert sites.loc["sq500-i1-j0"].geometry.equals(shapely.box(500, 0, 1000, 500))
    assert (sites["area_ha"] == 25.0).all()
    assert (sites["kind"] == "grid").all() and (sites["cell_m"] == 500).all()
    assert "within_share_pct" not in sites.columns
    # lattice cells beyond x = 1000 / y = 1000 only touch the border: counted, not kept
    assert report.read_n == 9 and report.skipped == {}
    assert "5 lattice cells touch the area only along its border" in " ".join(report.notes)


def test_ids_anchored_at_the_crs_origin():
    tiny = _area(shapely.box(-10, -10, 10, 10))
    hexes, _ = grid_sites(tiny, cell_m=250)
    assert list(hexes.index) == ["hex250-q0-r0"]  # hexagon (0, 0) is centred on the origin
    assert hexes.geometry.iloc[0].equals(_area(shapely.box(-10, -10, 10, 10)).geometry.iloc[0])
    sq, _ = grid_sites(_area(shapely.box(-2, -2, -1, -1)), cell_m=250, shape="square")
    assert list(sq.index) == ["sq250-i-1-j-1"]


def test_hexagon_geometry_size_is_flat_to_flat_distance():
    c = 250.0
    sites, _ = grid_sites(_area(shapely.box(0, 0, 3000, 3000)), cell_m=c, clip=False)
    g = sites.geometry.iloc[len(sites) // 2]
    minx, miny, maxx, maxy = g.bounds
    assert maxx - minx == pytest.approx(c)  # pointy-top: flat sides face east and west
    assert maxy - miny == pytest.approx(2 * c / math.sqrt(3))  # corner to corner
    assert g.area == pytest.approx(math.sqrt(3) / 2 * c * c)
    assert len(shapely.get_coordinates(g.exterior)) == 7
    # the unclipped cells tile the plane: no overlaps, so the union has the summed area
    union = shapely.union_all(np.asarray(sites.geometry.values))
    assert union.area == pytest.approx(sites.geometry.area.sum(), rel=1e-9)
    assert union.covers(shapely.box(0, 0, 3000, 3000))


@pytest.mark.parametrize("shape", ["hex", "square"])
def test_clipped_cells_partition_the_area(shape):
    # a triangle with an inner hole: area by formula, 0.5 * 4000 * 3000 - 500 * 500
    outer = shapely.Polygon([(150000, 170000), (154000, 170000), (150000, 173000)])
    poly = outer.difference(shapely.box(150500, 170500, 151000, 171000))
    expected_ha = (0.5 * 4000 * 3000 - 500 * 500) / 10_000
    sites, _ = grid_sites(_area(poly), cell_m=200, shape=shape)
    assert sites["area_ha"].sum() == pytest.approx(expected_ha, rel=1e-9)
    assert sites.index.is_unique
    assert (sites["area_ha"] > 0).all()
    assert sites.geometry.within(poly.buffer(1e-6)).all()
    np.testing.assert_allclose(sites["area_ha"], sites.geometry.area / 10_000)


def test_same_cell_same_id_from_overlapping_areas():
    a, _ = grid_sites(_area(shapely.box(150000, 170000, 153000, 172000)))
    b, _ = grid_sites(_area(shapely.box(151500, 171000, 155000, 174000)))
    shared = a.index.intersection(b.index)
    assert len(shared) > 10
    # cells well inside both areas are whole and identical
    core = shapely.box(151800, 171300, 152700, 171700)
    inner = [i for i in shared if core.contains(a.loc[i].geometry.centroid)]
    assert inner
    for i in inner:
        assert a.loc[i].geometry.equals_exact(b.loc[i].geometry, tolerance=1e-6)
    # and cells of one area that are not in the other lie outside the other's box
    only_a = a.index.difference(b.index)
    assert not a.loc[only_a].geometry.intersects(
        shapely.box(151500, 171000, 155000, 174000).buffer(-1)).any()


def test_within_keeps_cells_by_overlap_share():
    area = _area(shapely.box(0, 0, 200, 100))  # two 100 m squares
    # a zone over the west half of cell i0 and the whole of cell i1 (split into two overlapping
    # parts: overlaps must not count twice)
    zones = gpd.GeoDataFrame(geometry=[shapely.box(50, 0, 100, 100), shapely.box(100, 0, 200, 100),
                                       shapely.box(120, 0, 200, 100)], crs=31370)
    sites, report = grid_sites(area, cell_m=100, shape="square", within=zones, min_share_pct=50)
    assert list(sites.index) == ["sq100-i0-j0", "sq100-i1-j0"]
    assert sites["within_share_pct"].tolist() == pytest.approx([50.0, 100.0])
    # the kept cell is not cut to the zone
    assert sites.loc["sq100-i0-j0", "area_ha"] == pytest.approx(1.0)
    strict, report = grid_sites(area, cell_m=100, shape="square", within=zones,
                                min_share_pct=60)
    assert list(strict.index) == ["sq100-i1-j0"]
    assert report.skipped["less than 60% of the cell inside the 'within' zones"] == 1
    with pytest.raises(EmptyLayerError, match="no 100 m square cell"):
        grid_sites(area, cell_m=100, shape="square",
                   within=gpd.GeoSeries([shapely.box(500, 500, 600, 600)], crs=31370))


def test_unclipped_grid_keeps_whole_cells():
    sites, _ = grid_sites(_area(shapely.box(10, 10, 190, 90)), cell_m=100, shape="square",
                          clip=False)
    assert list(sites.index) == ["sq100-i0-j0", "sq100-i1-j0"]
    assert (sites["area_ha"] == 1.0).all()


def test_grid_area_in_lonlat_is_projected_to_its_utm_zone():
    box = shapely.box(4.35, 50.84, 4.36, 50.85)
    sites, _ = grid_sites(_area(box, crs="EPSG:4326"), cell_m=250)
    assert sites.crs.to_epsg() == 32631
    # the cells partition the area: their areas add up to its geodesic area (UTM: within 0.5 %)
    geodesic_ha = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(
        box.segmentize(0.0005))[0]) / 10_000
    assert sites["area_ha"].sum() == pytest.approx(geodesic_ha, rel=5e-3)


def test_grid_bad_input():
    area = _area(shapely.box(0, 0, 100, 100))
    with pytest.raises(ValueError, match="cell_m"):
        grid_sites(area, cell_m=0)
    with pytest.raises(ValueError, match="shape"):
        grid_sites(area, shape="triangle")
    with pytest.raises(ValueError, match="min_share_pct"):
        grid_sites(area, within=area, min_share_pct=0)
    with pytest.raises(CRSError, match="no CRS"):
        grid_sites(gpd.GeoSeries([shapely.box(0, 0, 100, 100)]))
    with pytest.raises(CRSError, match="no CRS"):
        grid_sites(area, within=gpd.GeoSeries([shapely.box(0, 0, 100, 100)]))


# ------------------------------------------------------------------ zones and parcels


def _zones(*rows) -> gpd.GeoDataFrame:
    ids, kinds, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"kind": kinds, "name": [f"Zone {i}" for i in ids]},
                            geometry=list(geoms), crs=31370,
                            index=pd.Index(ids, name="zone_id"))


def test_zone_sites_small_zone_whole_large_zone_split_on_lattice():
    # target 1 ha -> lattice side 100 m; zone B = 6 lattice squares exactly
    zones = _zones(("A", "brownfield", shapely.box(1000, 1000, 1100, 1140)),  # 1.4 ha <= 1.5
                   ("B", "industrial", shapely.box(0, 0, 300, 200)))
    sites, report = zone_sites(zones, target_ha=1.0, min_parcel_ha=0.5)
    assert list(sites.index) == ["A", "B/p1", "B/p2", "B/p3", "B/p4", "B/p5", "B/p6"]
    assert sites.loc["A", "area_ha"] == pytest.approx(1.4)
    # parcels numbered north to south, then west to east
    assert sites.loc["B/p1"].geometry.equals(shapely.box(0, 100, 100, 200).normalize()) or \
        sites.loc["B/p1"].geometry.symmetric_difference(shapely.box(0, 100, 100, 200)).area < 1e-6
    assert sites.loc["B/p6"].geometry.symmetric_difference(
        shapely.box(200, 0, 300, 100)).area < 1e-6
    assert sites.loc[sites["zone_id"] == "B", "area_ha"].tolist() == pytest.approx([1.0] * 6)
    assert sites["zone_kind"].tolist() == ["brownfield"] + ["industrial"] * 6
    assert (sites["kind"] == "zone").all() and sites.loc["B/p3", "name"] == "Zone B"
    assert any("1 zones larger than 1.5 ha split" in n for n in report.notes)


def test_zone_slivers_merge_into_largest_neighbour_without_losing_land():
    # zone 305 m x 200 m: the 5 m strip east of x = 300 forms two 0.05 ha slivers
    zone = shapely.box(0, 0, 305, 200)
    sites, report = zone_sites(_zones(("Z", "industrial", zone)), target_ha=1.0,
                               min_parcel_ha=0.5)
    assert len(sites) == 6
    assert sites["area_ha"].sum() == pytest.approx(6.1)
    east = sites.loc[["Z/p3", "Z/p6"], "area_ha"]
    assert east.tolist() == pytest.approx([1.05, 1.05])
    assert shapely.union_all(np.asarray(sites.geometry.values)).symmetric_difference(
        zone).area < 1e-6
    assert "2 pieces under 0.5 ha merged" in " ".join(report.notes)


def test_zone_parcels_sum_to_zone_for_an_irregular_zone():
    ring = shapely.Point(150123, 170456).buffer(400).difference(
        shapely.Point(150123, 170456).buffer(150))
    sites, _ = zone_sites(_zones(("R", "industrial", ring)), target_ha=5.0, min_parcel_ha=0.5)
    assert sites["area_ha"].sum() == pytest.approx(ring.area / 10_000, rel=1e-9)
    assert (sites["area_ha"] >= 0.5).all()
    assert sites.index.str.match(r"^R/p\d+$").all()
    # the same zone gives the same parcels and ids again
    again, _ = zone_sites(_zones(("R", "industrial", ring)), target_ha=5.0)
    assert list(again.index) == list(sites.index)
    assert again.geometry.geom_equals_exact(sites.geometry, tolerance=1e-6).all()


def test_zone_sites_bad_input():
    zones = _zones(("A", "industrial", shapely.box(0, 0, 10, 10)),
                   ("A", "brownfield", shapely.box(20, 0, 30, 10)))
    with pytest.raises(SchemaError, match=r"duplicate zone ids \['A'\]"):
        zone_sites(zones)
    with pytest.raises(ValueError, match="min_parcel_ha"):
        zone_sites(zones.iloc[:1], target_ha=1, min_parcel_ha=2)
    with pytest.raises(CRSError):
        zone_sites(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))


# ------------------------------------------------------------------ the user's file


def _write(path, gdf, **kw):
    pyogrio.write_dataframe(gdf, path, **kw)
    return path


def test_read_sites_ids_geometries_and_report(tmp_path):
    bow_tie = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    gdf = gpd.GeoDataFrame(
        {"code": ["S1", "S2", "S3", "S4", "S5"], "kind": ["a", "b", "c", "d", "e"]},
        geometry=[shapely.box(0, 0, 100, 50), shapely.Point(500, 500), bow_tie,
                  shapely.LineString([(0, 0), (1, 1)]), None],
        crs=31370)
    path = _write(tmp_path / "sites.gpkg", gdf)
    sites, report = read_sites(path, id_column="code")
    assert list(sites.index) == ["S1", "S2", "S3"]
    assert sites.index.name == "site_id" and "code" not in sites.columns
    assert sites.loc["S1", "area_ha"] == pytest.approx(0.5)
    assert np.isnan(sites.loc["S2", "area_ha"])
    assert sites.loc["S3", "area_ha"] == pytest.approx(0.5)  # bow tie repaired: two triangles
    assert report.repaired_n == 1
    assert report.skipped == {"no geometry": 1,
                              "not a polygon or point (e.g. lines, multipoints)": 1}
    assert any("S4" in n and "S5" in n for n in report.notes)
    assert sites["file_kind"].tolist() == ["a", "b", "c"] and (sites["kind"] == "file").all()
    # default ids are row numbers in the file, so they do not shift when a row is left out
    by_row, _ = read_sites(path)
    assert list(by_row.index) == ["site-1", "site-2", "site-3"]


def test_read_sites_bad_ids_and_crs(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["a", "b", "a", "c", "c"]},
                           geometry=[shapely.Point(i, i) for i in range(5)], crs=31370)
    path = _write(tmp_path / "dup.gpkg", gdf)
    with pytest.raises(SchemaError, match=r"2 duplicate value\(s\): 'a' ×2, 'c' ×2"):
        read_sites(path, id_column="code")
    with pytest.raises(SchemaError, match=r"no id column 'nope'.*\['code'\]"):
        read_sites(path, id_column="nope")
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        nocrs = _write(tmp_path / "nocrs.shp", gdf.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="no CRS"):
        read_sites(nocrs)


def test_read_sites_round_trip_of_a_grid(tmp_path):
    sites, _ = grid_sites(_area(shapely.box(150000, 170000, 151000, 171000)), cell_m=250)
    path = tmp_path / "grid.gpkg"
    pyogrio.write_dataframe(sites.reset_index(), path)
    back, _ = read_sites(path)  # the file's site_id column is used by default
    assert list(back.index) == list(sites.index)
    np.testing.assert_allclose(back["area_ha"], sites["area_ha"])


# ------------------------------------------------------------------ real data (test bed)


@pytest.fixture(scope="module")
def testbed_area(testbed):
    from productivecity.area import study_area

    return study_area("brussels-vilvoorde", data_dir=testbed)


@pytest.fixture(scope="module")
def testbed_zones(testbed, testbed_area):
    from productivecity.sources.osm import industrial_zones

    return industrial_zones(testbed_area, data_dir=testbed)[0]


@pytest.mark.integration
def test_testbed_hex_grid(testbed_area, testbed_zones, monkeypatch):
    cut = []
    real = shapely.intersection

    def spy(a, *args, **kwargs):
        cut.append(np.size(a))
        return real(a, *args, **kwargs)

    with monkeypatch.context() as mp:
        mp.setattr(shapely, "intersection", spy)
        sites, report = grid_sites(testbed_area)
    # vectorised: only the cells on the area's border are cut, in one call
    assert len(cut) == 1 and 0 < cut[0] < len(sites) / 4
    assert 3000 <= len(sites) <= 5000  # 19,549 ha / 5.41 ha per hexagon ≈ 3,600 + edges
    assert sites.index.is_unique and sites.index.str.match(r"^hex250-q-?\d+-r-?\d+$").all()
    total_ha = float(testbed_area.geometry.area.iloc[0]) / 10_000
    assert sites["area_ha"].sum() == pytest.approx(total_ha, rel=1e-6)
    industrial, rep = grid_sites(testbed_area, within=testbed_zones)
    assert 100 <= len(industrial) <= 500
    assert set(industrial.index) <= set(sites.index)
    assert (industrial["within_share_pct"] >= 25).all()


@pytest.mark.integration
def test_testbed_zone_parcels_conserve_area(testbed_zones):
    sites, report = zone_sites(testbed_zones)
    assert sites.index.is_unique
    assert sites["area_ha"].sum() == pytest.approx(testbed_zones["area_ha"].sum(), rel=1e-6)
    per_zone = sites.groupby("zone_id")["area_ha"].sum()
    np.testing.assert_allclose(per_zone, testbed_zones.loc[per_zone.index, "area_ha"],
                               rtol=1e-6)
    split = sites["zone_id"] != sites.index
    assert split.any() and (sites.loc[split, "area_ha"] >= 0.5).all()
    assert (sites.loc[split, "area_ha"] <= 15).all()


def test_a_sites_file_outside_the_area_is_counted_or_refused(tmp_path):
    from productivecity._errors import AreaError
    from productivecity.layers import load_layers
    from productivecity.sites import candidate_sites

    layers = load_layers("sample", progress=False)
    inside = layers["study_area"].to_crs(4326).geometry.iloc[0].representative_point()
    far = shapely.Point(-46.65, -23.55)  # São Paulo
    path = tmp_path / "mine.geojson"
    gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=[inside, far], crs=4326).to_file(path)
    sites, report = candidate_sites(layers, "file", path=path, id_column="site_id")
    assert report.outside_area_n == 1 and list(sites.index) == ["a", "b"]
    assert any("outside the study area" in n and "'b'" in n for n in report.notes)
    gpd.GeoDataFrame({"site_id": ["b"]}, geometry=[far], crs=4326).to_file(tmp_path / "far.geojson")
    with pytest.raises(AreaError, match=r"far\.geojson.*wrong CRS"):
        candidate_sites(layers, "file", path=tmp_path / "far.geojson", id_column="site_id")
