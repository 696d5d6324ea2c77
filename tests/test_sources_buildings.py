"""Tests of the buildings layer (OSM XML/PBF, PMTiles, vector files, Overpass) and its coverage.

Fixtures are written by the tests: a hand-made OSM XML file, a PMTiles
archive with a building cut by z14 tile edges, a GeoPackage, and a loopback
HTTP server answering Overpass queries. The integration test reads the test
bed's 2013 PBF and compares it with GDAL's raw reading.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from _loopback import JSONHandler, serve

from productivecity._errors import EmptyLayerError
from productivecity.settings import Settings
from productivecity.sources import osm

TO_31370 = pyproj.Transformer.from_crs(4326, 31370, always_xy=True)
TO_3857 = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
HALF = 20037508.342789244
TILE_Z14 = 2 * HALF / 2**14


def _ring(lon, lat, dlon, dlat):
    return [(lon, lat), (lon + dlon, lat), (lon + dlon, lat + dlat), (lon, lat + dlat)]


# way id -> (tags, corners lon/lat)
_WAYS = {
    1: ({"building": "house"}, _ring(4.3500, 50.8500, 0.0002, 0.0001)),
    2: ({"building": "yes"}, _ring(4.3520, 50.8510, 0.0002, 0.0001)),       # on residential land
    3: ({"building": "yes"}, _ring(4.3600, 50.8550, 0.0002, 0.0001)),       # not
    4: ({"building": "industrial"}, _ring(4.3530, 50.8515, 0.0002, 0.0001)),  # on it, not res.
    5: ({"building": "no", "name": "not a building"}, _ring(4.3540, 50.8520, 0.0001, 0.0001)),
    6: ({"building": "apartments"}, _ring(4.4500, 50.9500, 0.0002, 0.0001)),  # outside the area
    10: ({"landuse": "residential"}, _ring(4.3510, 50.8505, 0.0040, 0.0030)),
}
AREA = (4.340, 50.840, 4.370, 50.870)


def _area(lon0, lat0, lon1, lat1):
    """A lon/lat box as a Brussels study area: in the preset's CRS, Belgian Lambert 72."""
    return gpd.GeoDataFrame({"name": ["test area"]},
                            geometry=[shapely.box(lon0, lat0, lon1, lat1)], crs=4326
                            ).to_crs(31370)


def _area_m2(coords) -> float:
    """Reference area: corners projected with pyproj, shoelace formula, square metres."""
    x, y = TO_31370.transform(*zip(*coords, strict=True))
    x, y = np.asarray(x), np.asarray(y)
    return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2


def write_osm_xml(path: Path, ways=_WAYS) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    way_xml, nid = [], 1
    for wid, (tags, coords) in ways.items():
        refs = []
        for lon, lat in coords:
            lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
            refs.append(nid)
            nid += 1
        body = "".join(f'<nd ref="{r}"/>' for r in [*refs, refs[0]])
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        way_xml.append(f'<way id="{wid}" version="1">{body}</way>')
    path.write_text("\n".join(lines + way_xml + ["</osm>"]), encoding="utf-8")
    return path


def test_buildings_from_osm_xml(tmp_path):
    path = write_osm_xml(tmp_path / "tiny.osm")
    b, report = osm.buildings(_area(*AREA), source=path)
    assert list(b.index) == ["osm-w1", "osm-w2", "osm-w3", "osm-w4"]
    assert b.index.name == "building_id"
    assert list(b.columns) == ["building", "residential", "footprint_m2", "osm_id", "geometry"]
    assert b["building"].tolist() == ["house", "yes", "yes", "industrial"]
    assert b["residential"].tolist() == [True, True, False, False]
    assert b["osm_id"].tolist() == ["way/1", "way/2", "way/3", "way/4"]
    for wid in (1, 2, 3, 4):
        assert b.loc[f"osm-w{wid}", "footprint_m2"] == pytest.approx(_area_m2(_WAYS[wid][1]),
                                                                      rel=1e-6)
    assert b.crs.to_epsg() == 31370
    assert report.skipped == {"building=no": 1}
    assert report.outside_area_n == 1  # way 6
    assert any("landuse=residential (1 polygons) from tiny.osm" in n for n in report.notes)


def test_buildings_from_vector_file_without_landuse(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"building": ["house", None, "no", "yes"]},
        geometry=[shapely.box(150000, 170000, 150010, 170010),
                  shapely.box(150020, 170000, 150030, 170020),
                  shapely.box(150040, 170000, 150050, 170010),
                  shapely.Point(150060, 170000)],
        crs=31370)
    path = tmp_path / "footprints.gpkg"
    pyogrio.write_dataframe(gdf, path)
    area = gpd.GeoSeries([shapely.box(149000, 169000, 151000, 171000)], crs=31370)
    b, report = osm.buildings(area, source=path)
    assert list(b.index) == ["file-0", "file-1"]
    assert b["building"].tolist() == ["house", "yes"]  # a missing value is building=yes
    assert b["residential"].tolist() == [True, False]
    assert b["footprint_m2"].tolist() == pytest.approx([100.0, 200.0])
    assert report.skipped == {"not a polygon geometry": 1, "building=no": 1}
    assert any("no landuse=residential source" in n for n in report.notes)
    with pytest.raises(EmptyLayerError, match="buildings: no features"):
        osm.buildings(gpd.GeoSeries([shapely.box(0, 0, 10, 10)], crs=31370), source=path)


def test_buildings_from_pmtiles_in_data_dir_with_landuse_from_xml(tmp_path):
    (tmp_path / "osm").mkdir()
    # a building across a z14 tile corner near Brussels, 200 m x 120 m (EPSG:3857 metres)
    x, y = TO_3857.transform(4.35, 50.85)
    ex = round((x + HALF) / TILE_Z14) * TILE_Z14 - HALF
    ey = HALF - round((HALF - y) / TILE_Z14) * TILE_Z14
    house = shapely.box(ex - 100, ey - 60, ex + 100, ey + 60)
    tiles = gpd.GeoDataFrame({"OGC_FID": [7], "building": ["yes"]}, geometry=[house],
                             crs=3857)
    pyogrio.write_dataframe(tiles, tmp_path / "osm" / "buildings.pmtiles", driver="PMTiles",
                            layer="buildings", use_arrow=True,
                            dataset_options={"MINZOOM": "14", "MAXZOOM": "14"})
    lon, lat = pyproj.Transformer.from_crs(3857, 4326, always_xy=True).transform(ex, ey)
    write_osm_xml(tmp_path / "osm" / "land.osm", {
        10: ({"landuse": "residential"}, _ring(lon - 0.002, lat - 0.002, 0.004, 0.004))})
    b, report = osm.buildings(_area(4.30, 50.80, 4.40, 50.90), data_dir=tmp_path)
    assert list(b.index) == ["mvt-7"]
    assert report.merged_fragments_n >= 3  # cut into four tiles, reassembled
    ref = gpd.GeoSeries([house], crs=3857).to_crs(31370).area.iloc[0]
    # tile coordinates are rounded to 1/4096 of a tile (~2.4 m in EPSG:3857)
    assert b["footprint_m2"].iloc[0] == pytest.approx(ref, rel=2e-2)
    assert bool(b["residential"].iloc[0]) is True  # building=yes on residential land
    assert [Path(s).name for s in report.sources][0] == "buildings.pmtiles"
    assert any("from land.osm" in n for n in report.notes)


def _overpass_payload():
    nodes, ways, nid = [], [], 1
    for wid in (1, 2, 3, 10):
        tags, coords = _WAYS[wid]
        refs = []
        for lon, lat in coords:
            nodes.append({"type": "node", "id": nid, "lat": lat, "lon": lon})
            refs.append(nid)
            nid += 1
        ways.append({"type": "way", "id": wid, "nodes": [*refs, refs[0]], "tags": tags})
    return {"version": 0.6, "generator": "test", "osm3s": {}, "elements": nodes + ways}


@pytest.fixture
def overpass_server():
    """A loopback server answering every Overpass POST with the same elements."""
    seen = []

    class Handler(JSONHandler):
        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length", 0))
            seen.append(self.rfile.read(n).decode())
            self.send_json(_overpass_payload())

    with serve(Handler) as url:
        yield url + "api", seen


def test_buildings_online_through_overpass(tmp_path, overpass_server):
    url, seen = overpass_server
    settings = Settings(cache_dir=tmp_path / "cache", overpass_url=url, offline=False)
    b, report = osm.buildings(_area(*AREA), online=True, settings=settings)
    assert list(b.index) == ["osm-w1", "osm-w2", "osm-w3"]
    assert b["residential"].tolist() == [True, True, False]
    assert b.loc["osm-w2", "footprint_m2"] == pytest.approx(_area_m2(_WAYS[2][1]), rel=1e-4)
    assert len(seen) == 2  # buildings, then residential land
    assert "building" in seen[0] and "residential" in seen[1]
    assert report.sources == [f"overpass:{url}"]


# ------------------------------------------------------------------ coverage


def test_buildings_coverage_hand_computed():
    # 10 m houses every 50 m over [0, 1000]², a 200 m park without houses in the middle,
    # and one house far away
    xs = np.arange(0, 1000, 50) + 5
    pts = [(x, y) for x in xs for y in xs if not (400 <= x < 600 and 400 <= y < 600)]
    houses = [shapely.box(x, y, x + 10, y + 10) for x, y in pts]
    houses.append(shapely.box(5005, 5005, 5015, 5015))
    b = gpd.GeoDataFrame(geometry=houses, crs=31370)
    cov, report = osm.buildings_coverage(b, distance_m=100)
    # the cells (50 m) of the houses closed by 100 m: the park is filled, the far house
    # keeps its own 50 m cell
    assert cov["area_ha"].iloc[0] == pytest.approx(100.0 + 0.25)
    geom = cov.geometry.iloc[0]
    assert geom.covers(shapely.box(0, 0, 1000, 1000))
    assert not geom.intersects(shapely.Point(2000, 2000))
    assert cov.index.tolist() == ["buildings"] and cov["distance_m"].iloc[0] == 100
    cut, report = osm.buildings_coverage(
        b, distance_m=100, area=gpd.GeoSeries([shapely.box(0, 0, 500, 2000)], crs=31370))
    assert cut["area_ha"].iloc[0] == pytest.approx(50.0)
    assert "covers 50.0% of the area" in " ".join(report.notes)
    with pytest.raises(ValueError, match="distance_m"):
        osm.buildings_coverage(b, distance_m=0)


# ------------------------------------------------------------------ real data (test bed)


@pytest.mark.integration
def test_testbed_buildings_match_gdal_and_cover_brussels_only(testbed):
    from productivecity.area import study_area

    area = study_area("brussels-vilvoorde", data_dir=testbed)
    b, report = osm.buildings(area, data_dir=testbed)
    pbf = testbed / "osm" / "pbf_brussels_2013" / "01_01_2013_brussels_capital_region.osm.pbf"
    assert report.sources[0] == str(pbf)
    # independent reference: GDAL's own reading of the multipolygons layer
    raw = pyogrio.read_dataframe(pbf, layer="multipolygons",
                                 columns=["osm_id", "osm_way_id", "building"],
                                 where="building IS NOT NULL AND building <> 'no'")
    raw = raw.to_crs(31370)
    poly = area.union_all()
    shapely.prepare(poly)
    raw = raw[shapely.intersects(poly, np.asarray(raw.geometry.values))]
    assert 49_000 <= len(b) <= 51_100  # provenance: 51,051 buildings in the file
    assert len(b) == len(raw)
    assert b["footprint_m2"].sum() == pytest.approx(raw.area.sum(), rel=1e-9)
    assert b.index.is_unique and b.index.str.match(r"^osm-[wr]\d+$").all()
    assert 0.5 < b["residential"].mean() < 0.99
    assert b.loc[b["building"].isin(osm.RESIDENTIAL_BUILDINGS), "residential"].all()
    cov, _ = osm.buildings_coverage(b, area=area)
    grand_place = gpd.GeoSeries(gpd.points_from_xy([4.3525], [50.8467]), crs=4326).to_crs(31370)
    vilvoorde = gpd.GeoSeries(gpd.points_from_xy([4.428], [50.928]), crs=4326).to_crs(31370)
    geom = cov.geometry.iloc[0]
    assert geom.contains(grand_place.iloc[0]) and not geom.intersects(vilvoorde.iloc[0])
    assert 12_000 < cov["area_ha"].iloc[0] < 16_300  # at most the Brussels Region
