"""Study areas: presets, files, bounding boxes, bad input."""

from __future__ import annotations

import geopandas as gpd
import pyproj
import pytest
import shapely

from productivecity import AreaError, CRSError, DataSourceError
from productivecity.area import PRESETS, preset_municipalities, study_area
from productivecity.settings import get_settings


def test_sample_preset_is_union_of_its_municipalities():
    area = study_area("sample")
    assert area.crs.to_epsg() == 31370
    assert list(area.columns) == ["name", "source", "area_ha", "geometry"]
    # the sample town is 4 km x 3 km = 1,200 ha (three municipality strips)
    assert area["area_ha"].iloc[0] == pytest.approx(1200, rel=1e-3)
    assert area.geometry.iloc[0].geom_type == "Polygon"


def test_bbox_area_matches_geodesic_area():
    area = study_area("bbox:4.30,50.80,4.40,50.90")
    assert area.crs.to_epsg() == 32631  # no preset: the UTM zone of the box
    box = shapely.box(4.30, 50.80, 4.40, 50.90).segmentize(0.001)
    geodesic_ha = abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(box)[0]) / 1e4
    assert area["area_ha"].iloc[0] == pytest.approx(geodesic_ha, rel=5e-3)
    # 0.1 degree x 0.1 degree at 50.85 N is about 7.0 km x 11.1 km
    assert 7_500 < area["area_ha"].iloc[0] < 8_000


@pytest.mark.parametrize("spec", ["bbox:4.4,50.8,4.3,50.9", "bbox:a,b,c,d", "bbox:1,2,3"])
def test_bad_bbox(spec):
    with pytest.raises(AreaError, match="bounding box"):
        study_area(spec)


def test_unknown_preset_lists_presets():
    with pytest.raises(AreaError, match="brussels-vilvoorde"):
        study_area("brussel-vilvoorde")


def test_polygon_file_without_crs_is_refused(tmp_path):
    path = tmp_path / "area.shp"
    with pytest.warns(UserWarning, match="crs"):  # geopandas warns when writing it, rightly
        gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1000, 1000)]).to_file(path)
    with pytest.raises(CRSError, match=r"area\.shp has no CRS"):
        study_area(str(path))


def test_polygon_file_is_dissolved(tmp_path):
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)], crs=31370
    ).to_file(path)
    area = study_area(path)
    assert area["area_ha"].iloc[0] == pytest.approx(200)
    assert area["name"].iloc[0] == "area"


def test_point_file_is_not_an_area(tmp_path):
    path = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=31370).to_file(path)
    with pytest.raises(AreaError, match="no polygon"):
        study_area(path)


def test_missing_file():
    with pytest.raises(DataSourceError, match="does not exist"):
        study_area("no/such/area.gpkg")


def test_preset_offline_without_boundaries_names_the_file(tmp_path):
    with pytest.raises(DataSourceError, match="gemeente.shp"):
        study_area("brussels-vilvoorde", data_dir=tmp_path, settings=get_settings(offline=True))


def test_preset_reports_missing_member(tmp_path):
    path = tmp_path / "municipalities.gpkg"
    gpd.GeoDataFrame(
        {"nis5": ["21001"], "name": ["Anderlecht"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=31370
    ).to_file(path)
    with pytest.raises(AreaError, match="23088"):
        study_area("brussels-vilvoorde", municipalities=path)


@pytest.mark.integration
def test_brussels_vilvoorde_preset(testbed):
    members = preset_municipalities("brussels-vilvoorde", data_dir=testbed)
    assert len(members) == 21
    assert set(members.index) == set(PRESETS["brussels-vilvoorde"].nis5)
    area = study_area("brussels-vilvoorde", data_dir=testbed)
    # Brussels Region 16,138 ha + Vilvoorde 2,153 ha + Machelen 1,163 ha (official areas);
    # the simplified boundary file gives a total within 1.5 %
    assert area["area_ha"].iloc[0] == pytest.approx(16_138 + 2_153 + 1_163, rel=0.015)
    # one piece, without slivers along internal borders
    geom = area.geometry.iloc[0]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 0
    # Vilvoorde centre (4.428 E, 50.928 N) is inside, Grimbergen (4.372 E, 50.934 N) is not
    pts = gpd.GeoSeries.from_xy([4.428, 4.372], [50.928, 50.934], crs=4326).to_crs(31370)
    assert list(pts.within(geom)) == [True, False]
