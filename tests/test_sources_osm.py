"""Tests of the OSM layers (industrial zones, canal, POI) and the PMTiles/OSM readers.

Fixtures are built here: a hand-written OSM XML file, PMTiles written with
GDAL's PMTiles driver from frames whose objects cross z14 tile edges, and a
loopback HTTP server answering Overpass queries. Integration tests read the
real test bed.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from _loopback import JSONHandler, serve

from productivecity._errors import (
    AreaError,
    ConfigError,
    CRSError,
    DataSourceError,
    EmptyLayerError,
    SchemaError,
)
from productivecity.settings import Settings
from productivecity.sources import osm
from productivecity.sources.pmtiles import read_pmtiles, reassemble_fragments

TO_3857 = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
TO_31370 = pyproj.Transformer.from_crs(4326, 31370, always_xy=True)
HALF = 20037508.342789244
TILE_Z14 = 2 * HALF / 2**14  # metres (EPSG:3857) per z14 tile


def _bbox_area(lon0, lat0, lon1, lat1, crs="EPSG:4326"):
    """A lon/lat box as a Brussels study area: in the preset's CRS, Belgian Lambert 72."""
    return gpd.GeoDataFrame({"name": ["test area"]},
                            geometry=[shapely.box(lon0, lat0, lon1, lat1)], crs=crs
                            ).to_crs("EPSG:31370")


# ------------------------------------------------------------------ OSM XML fixture

# lon/lat of the corners of each way; ids chosen by hand
_WAYS = {
    100: ({"landuse": "industrial", "name": "Zone A"},
          [(4.350, 50.850), (4.354, 50.850), (4.354, 50.852), (4.350, 50.852)]),
    101: ({"landuse": "brownfield"},
          [(4.356, 50.850), (4.357, 50.850), (4.357, 50.851), (4.356, 50.851)]),
    102: ({"landuse": "residential"},
          [(4.358, 50.850), (4.359, 50.850), (4.359, 50.851), (4.358, 50.851)]),
    103: ({"landuse": "industrial", "name": "Far away"},
          [(4.500, 50.950), (4.501, 50.950), (4.501, 50.951), (4.500, 50.951)]),
    # bow tie: self-intersecting, must be repaired and counted
    104: ({"landuse": "industrial", "name": "Bow tie"},
          [(4.3600, 50.8500), (4.3620, 50.8510), (4.3620, 50.8500), (4.3600, 50.8510)]),
    # crosses the area's east border (4.366): kept whole
    105: ({"landuse": "industrial", "name": "Border zone"},
          [(4.3650, 50.8500), (4.3680, 50.8500), (4.3680, 50.8520), (4.3650, 50.8520)]),
    201: ({"natural": "water", "water": "canal"},
          [(4.3400, 50.8420), (4.3700, 50.8420), (4.3700, 50.8440), (4.3400, 50.8440)]),
    300: ({"amenity": "school", "name": "School B"},
          [(4.3510, 50.8460), (4.3520, 50.8460), (4.3520, 50.8470), (4.3510, 50.8470)]),
}
_LINES = {
    200: ({"waterway": "canal", "name": "Test Canal"},
          [(4.3300, 50.8430), (4.3800, 50.8430)]),
}
_NODES = {
    900: ({"shop": "vacant"}, (4.3530, 50.8480)),
    901: ({"craft": "carpenter", "name": 'Atelier "De Zaag"'}, (4.3531, 50.8481)),
    902: ({"leisure": "hackerspace", "name": "HSBXL"}, (4.3532, 50.8482)),
    903: ({"shop": "bakery"}, (4.3533, 50.8483)),
    904: ({"disused:shop": "butcher"}, (4.3534, 50.8484)),
}
AREA_XML = (4.340, 50.840, 4.366, 50.860)  # lon0, lat0, lon1, lat1


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def write_osm_xml(path: Path) -> Path:
    """Write the hand-made OSM XML file described by _WAYS, _LINES and _NODES."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<osm version="0.6" generator="productivecity tests">']
    nid = 1
    way_xml = []
    for wid, (tags, coords) in {**_WAYS, **_LINES}.items():
        refs = []
        for lon, lat in coords:
            lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
            refs.append(nid)
            nid += 1
        if wid in _WAYS:
            refs.append(refs[0])
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{_xml_escape(v)}"/>' for k, v in tags.items())
        way_xml.append(f'<way id="{wid}" version="1">{body}</way>')
    for node_id, (tags, (lon, lat)) in _NODES.items():
        body = "".join(f'<tag k="{k}" v="{_xml_escape(v)}"/>' for k, v in tags.items())
        lines.append(f'<node id="{node_id}" version="1" lat="{lat}" lon="{lon}">{body}</node>')
    lines += way_xml + ["</osm>"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def osm_xml(tmp_path) -> Path:
    """A tiny OSM XML file near Brussels (see _WAYS/_LINES/_NODES)."""
    return write_osm_xml(tmp_path / "tiny.osm")


def _area_ha_lonlat(coords) -> float:
    """Reference area: corners projected with pyproj, shoelace formula, in hectares."""
    x, y = TO_31370.transform(*zip(*coords, strict=True))
    x, y = np.asarray(x), np.asarray(y)
    return abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2 / 10_000


# ------------------------------------------------------------------ PMTiles fixture


def _tile_corner_near(lon, lat):
    """A z14 tile corner (EPSG:3857 metres) near lon/lat."""
    x, y = TO_3857.transform(lon, lat)
    ex = round((x + HALF) / TILE_Z14) * TILE_Z14 - HALF
    ey = HALF - round((HALF - y) / TILE_Z14) * TILE_Z14
    return ex, ey


def write_pmtiles(path: Path, gdf: gpd.GeoDataFrame, layer: str) -> Path:
    """Write ``gdf`` (EPSG:3857, with an ``OGC_FID`` column = feature id) as z14 PMTiles."""
    pyogrio.write_dataframe(gdf, path, driver="PMTiles", layer=layer, use_arrow=True,
                            dataset_options={"MINZOOM": "14", "MAXZOOM": "14"})
    return path


@pytest.fixture
def tile_objects():
    """Objects in EPSG:3857 around a z14 tile corner: a zone over 4 tiles, a canal, points."""
    ex, ey = _tile_corner_near(4.35, 50.85)
    zone = shapely.box(ex - 300, ey - 200, ex + 250, ey + 350)
    small = shapely.box(ex - 900, ey - 900, ex - 800, ey - 850)  # inside one tile
    canal_line = shapely.LineString([(ex - 800, ey - 100), (ex + 900, ey + 60)])
    return gpd.GeoDataFrame(
        {"OGC_FID": [11, 12, 21, 31, 32],
         "landuse": ["industrial", "brownfield", None, None, None],
         "waterway": [None, None, "canal", None, None],
         "shop": [None, None, None, "vacant", None],
         "craft": [None, None, None, None, "carpenter"],
         "name": ["Zone A", None, "Canal X", None, "Atelier"]},
        geometry=[zone, small, canal_line, shapely.Point(ex - 500, ey - 500),
                  shapely.Point(ex + 500, ey + 400)],
        crs="EPSG:3857",
    )


@pytest.fixture
def landuse_pmtiles(tmp_path, tile_objects) -> Path:
    return write_pmtiles(tmp_path / "landuse.pmtiles", tile_objects.iloc[:2], "landuse")


def test_read_pmtiles_reassembles_zone_cut_by_tile_edges(landuse_pmtiles, tile_objects):
    raw = pyogrio.read_dataframe(landuse_pmtiles)
    assert (raw["mvt_id"] == 11).sum() == 4  # the zone was cut into 4 tile fragments
    out = read_pmtiles(landuse_pmtiles)
    assert out.crs == "EPSG:32631"  # no area given: the UTM zone of the objects
    assert sorted(out["mvt_id"]) == [11, 12]
    zone = out.set_index("mvt_id").loc[11]
    assert zone["fragments_n"] == 4
    assert zone.geometry.geom_type == "Polygon"  # one piece, no tile seams
    ref = gpd.GeoSeries([tile_objects.geometry.iloc[0]], crs=3857).to_crs(32631).iloc[0]
    # tiles quantise coordinates to ~0.6 m at z14
    assert zone.geometry.area == pytest.approx(ref.area, rel=0.01)
    assert zone.geometry.symmetric_difference(ref).area < 0.01 * ref.area


def test_read_pmtiles_area_fetches_fragments_outside_bbox(landuse_pmtiles, tile_objects):
    ex, ey = _tile_corner_near(4.35, 50.85)
    # a small area touching only the zone's south-west tile
    area = gpd.GeoSeries([shapely.box(ex - 290, ey - 190, ex - 200, ey - 100)], crs=3857)
    out = read_pmtiles(landuse_pmtiles, area=area)
    assert list(out["mvt_id"]) == [11]
    assert out["fragments_n"].iloc[0] == 4


def test_reassemble_fragments_overlap_float_gap_and_sliver():
    """Fragments overlapping (tile buffer), 2e-9 m apart (float noise) and 0.2 m apart."""
    frags = gpd.GeoDataFrame(
        {"mvt_id": [1, 1, 2, 2, 3, 3, 4, 4]},
        geometry=[
            shapely.box(0, 0, 100, 100), shapely.box(90, 0, 200, 100),         # overlap
            shapely.box(0, 500, 100, 600), shapely.box(100 + 2e-9, 500, 200, 600),  # noise
            shapely.box(0, 1000, 100, 1100), shapely.box(100.2, 1000, 200, 1100),  # sliver
            shapely.box(0, 2000, 100, 2100), shapely.box(150, 2000, 200, 2100),  # really apart
        ],
        crs="EPSG:3857",
    )
    out, stats = reassemble_fragments(frags)
    parts = dict(zip(out["mvt_id"], shapely.get_num_geometries(out.geometry.values),
                     strict=True))
    assert parts == {1: 1, 2: 1, 3: 1, 4: 2}
    assert stats.fragments_n == 8 and stats.objects_n == 4 and stats.merged_fragments_n == 4
    assert stats.slivers_closed_n == 1
    # areas (3857 -> 31370 changes scale; compare the overlap case with its sliver-free twin)
    a = out.set_index("mvt_id").geometry.area
    assert a[1] / a[2] == pytest.approx(1.0, rel=1e-3)


def test_read_pmtiles_joins_line_fragments(tmp_path, tile_objects):
    path = write_pmtiles(tmp_path / "water.pmtiles", tile_objects.iloc[[2]], "water")
    assert len(pyogrio.read_dataframe(path)) >= 2
    out = read_pmtiles(path)
    assert len(out) == 1 and out.geometry.iloc[0].geom_type == "LineString"
    ref = gpd.GeoSeries([tile_objects.geometry.iloc[2]], crs=3857).to_crs(31370).iloc[0]
    assert out.geometry.iloc[0].length == pytest.approx(ref.length, rel=0.005)


def test_read_pmtiles_bad_files(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        read_pmtiles(tmp_path / "nope.pmtiles")
    junk = tmp_path / "junk.pmtiles"
    junk.write_bytes(b"this is not a tile archive" * 10)
    with pytest.raises(DataSourceError, match="junk.pmtiles"):
        read_pmtiles(junk)


# ------------------------------------------------------------------ OSM files


def test_parse_other_tags():
    text = '"craft"=>"carpenter","name:nl"=>"De \\"Zaag\\"","note"=>"a=>b, c"'
    assert osm.parse_other_tags(text) == {"craft": "carpenter", "name:nl": 'De "Zaag"',
                                          "note": "a=>b, c"}
    assert osm.parse_other_tags(None) == {}
    assert osm.parse_other_tags("") == {}


def test_read_osm_file_tags_from_columns_and_other_tags(osm_xml):
    pts = osm.read_osm_file(osm_xml, geometry="points",
                            tags={"craft": True, "leisure": ["hackerspace"]})
    assert pts.crs == "EPSG:4326"  # as read; layers are projected to the study area's CRS
    assert sorted(pts["osm_id"]) == [901, 902]
    assert set(pts["osm_element"]) == {"node"}
    carpenter = pts.set_index("osm_id").loc[901]
    assert carpenter["craft"] == "carpenter"  # parsed from other_tags
    assert carpenter["name"] == 'Atelier "De Zaag"'
    polys = osm.read_osm_file(osm_xml, geometry="multipolygons", tags={"landuse": "industrial"})
    assert sorted(polys["osm_id"]) == [100, 103, 104, 105]
    assert set(polys["osm_element"]) == {"way"}
    with pytest.raises(ValueError, match="geometry must be"):
        osm.read_osm_file(osm_xml, geometry="areas")


def test_industrial_zones_from_osm_xml(osm_xml):
    area = _bbox_area(*AREA_XML)
    zones, report = osm.industrial_zones(area, source=osm_xml)
    assert zones.crs == "EPSG:31370"
    assert zones.index.name == "zone_id"
    assert list(zones.columns) == ["kind", "name", "osm_id", "area_ha", "geometry"]
    assert sorted(zones.index) == ["osm-w100", "osm-w101", "osm-w104", "osm-w105"]
    assert zones.loc["osm-w100", "osm_id"] == "way/100"
    assert zones.loc["osm-w101", "kind"] == "brownfield"
    assert zones.loc["osm-w100", "area_ha"] == pytest.approx(
        _area_ha_lonlat(_WAYS[100][1]), rel=1e-6)
    # kept whole though it crosses the border
    assert zones.loc["osm-w105", "area_ha"] == pytest.approx(
        _area_ha_lonlat(_WAYS[105][1]), rel=1e-6)
    assert report.repaired_n == 1  # the bow tie
    assert zones.loc["osm-w104"].geometry.is_valid
    assert report.outside_area_n == 1  # way 103
    assert report.skipped.get("landuse not one of ['industrial', 'brownfield']", 0) == 0
    assert report.sources == [str(osm_xml)]


def test_canal_and_poi_from_osm_xml(osm_xml):
    area = _bbox_area(*AREA_XML)
    canal, report = osm.canal(area, source=osm_xml)
    assert set(canal["feature"]) == {"waterway", "water"}
    line = canal[canal["feature"] == "waterway"].iloc[0]
    # clipped to the area: lon 4.340 .. 4.366 at lat 50.843
    x, _ = TO_31370.transform([4.340, 4.366], [50.843, 50.843])
    assert line["length_km"] == pytest.approx((x[1] - x[0]) / 1000, rel=1e-3)
    assert np.isnan(line["area_ha"])
    water = canal[canal["feature"] == "water"].iloc[0]
    assert water["name"] == "Test Canal"  # named after the line through it
    assert any("named after" in n for n in report.notes)

    pois, report = osm.poi(area, source=osm_xml)
    assert pois.index.name == "poi_id"
    kinds = pois.set_index("osm_id")["kind"].to_dict()
    assert kinds == {"node/900": "vacant_shop", "node/901": "craft", "node/902": "hackerspace",
                     "node/904": "disused", "way/300": "school"}
    assert pois.loc["osm-n901", "tag"] == "craft=carpenter"
    assert (pois.geom_type == "Point").all()
    school = pois.loc["osm-w300"].geometry
    x, y = TO_31370.transform([4.3510, 4.3520], [50.8460, 50.8470])
    assert x[0] < school.x < x[1] and y[0] < school.y < y[1]
    assert any("representative point" in n for n in report.notes)


# three waterways tagged waterway=canal, west to east at lat 50.843 .. 50.850
_CANAL_KINDS_LINES = {
    # a navigable canal: boat and CEMT tags, 2.1 km
    400: ({"waterway": "canal", "name": "Navigable Canal", "name:nl": "Bevaarbaar Kanaal",
           "boat": "yes", "CEMT": "IV"}, [(4.3300, 50.8430), (4.3600, 50.8430)]),
    # a river's covered course tagged canal: never counts, though named and long
    401: ({"waterway": "canal", "name": "Covered Brook", "tunnel": "culvert", "layer": "-1",
           "width": "12"}, [(4.3300, 50.8460), (4.3600, 50.8460)]),
    # a short unnamed ditch tagged canal, no navigation evidence
    402: ({"waterway": "canal"}, [(4.3400, 50.8500), (4.3430, 50.8500)]),
}


def _write_canal_kinds_xml(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    ways, nid = [], 1
    for wid, (tags, coords) in _CANAL_KINDS_LINES.items():
        refs = []
        for lon, lat in coords:
            lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
            refs.append(nid)
            nid += 1
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{_xml_escape(v)}"/>' for k, v in tags.items())
        ways.append(f'<way id="{wid}" version="1">{body}</way>')
    path.write_text("\n".join(lines + ways + ["</osm>"]), encoding="utf-8")
    return path


def test_canal_keeps_only_the_navigable_canal(tmp_path):
    src = _write_canal_kinds_xml(tmp_path / "canals.osm")
    area = _bbox_area(4.32, 50.835, 4.37, 50.86)
    canal, report = osm.canal(area, source=src)
    assert list(canal["osm_id"]) == ["way/400"]
    assert report.skipped["covered or culverted watercourse (tunnel, culvert, "
                          "covered=yes or location=underground)"] == 1
    assert sum(n for k, n in report.skipped.items() if "no evidence of navigation" in k) == 1
    note = next(n for n in report.notes if n.startswith("left out of the canal"))
    assert "'Covered Brook' (covered or culverted watercourse, 2.1" in note
    assert "1 unnamed (0.21 km of line" in note
    # by name: any of name, name:nl, name:fr, any case; covered stays out even if named
    canal, report = osm.canal(area, source=src, names=["bevaarbaar KANAAL"])
    assert list(canal["osm_id"]) == ["way/400"]
    assert report.skipped["not one of the named canals (canal_names)"] == 1
    with pytest.raises(ConfigError, match=r"canal_names \['Nowhere'\] not found.*canal names "
                                          r"found: \['Bevaarbaar Kanaal', 'Navigable Canal'\]"):
        osm.canal(area, source=src, names=["Navigable Canal", "Nowhere"])
    with pytest.raises(ConfigError, match="Covered Brook"):  # covered: not a canal to name
        osm.canal(area, source=src, names=["Covered Brook"])


def test_canal_zone_area_matches_formula():
    line = gpd.GeoDataFrame(geometry=[shapely.LineString([(150000, 170000), (152000, 170000)])],
                            crs="EPSG:31370")
    zone, report = osm.canal_zone(line, distance_m=100)
    expected_ha = (2 * 100 * 2000 + math.pi * 100**2) / 10_000
    assert zone["area_ha"].iloc[0] == pytest.approx(expected_ha, rel=2e-3)
    assert zone["distance_m"].iloc[0] == 100
    clipped, _ = osm.canal_zone(line, distance_m=100, area=gpd.GeoSeries(
        [shapely.box(149000, 169000, 151000, 171000)], crs="EPSG:31370"))
    assert clipped["area_ha"].iloc[0] == pytest.approx((200 * 1000 + math.pi * 100**2 / 2)
                                                       / 10_000, rel=2e-3)
    with pytest.raises(ValueError, match="positive"):
        osm.canal_zone(line, distance_m=-5)
    with pytest.raises(EmptyLayerError):
        osm.canal_zone(line.iloc[:0])


# ------------------------------------------------------------------ bad input


def test_bad_inputs(tmp_path, osm_xml):
    area = _bbox_area(*AREA_XML)
    with pytest.raises(DataSourceError, match="missing.osm.pbf"):
        osm.industrial_zones(area, source=tmp_path / "missing.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(DataSourceError, match="junk.osm.pbf"):
        osm.industrial_zones(area, source=junk)
    # vector file without CRS
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"kind": ["industrial"]}, geometry=[shapely.box(0, 0, 1, 1)]).to_file(
            tmp_path / "nocrs.shp")
    with pytest.raises(CRSError, match="nocrs.shp"):
        osm.industrial_zones(area, source=tmp_path / "nocrs.shp")
    # vector file lacking the kind column
    zones_file = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"label": ["x"]}, geometry=[shapely.box(4.35, 50.85, 4.36, 50.86)],
                     crs=4326).to_file(zones_file)
    with pytest.raises(SchemaError, match="'kind' or 'landuse'"):
        osm.industrial_zones(area, source=zones_file)
    # an area with no features
    empty_area = _bbox_area(4.20, 50.70, 4.21, 50.71)
    with pytest.raises(EmptyLayerError, match=r"industrial_zones.*lon 4\.200.*tiny\.osm"):
        osm.industrial_zones(empty_area, source=osm_xml)
    with pytest.raises(CRSError, match="area has no CRS"):
        osm.poi(gpd.GeoSeries([shapely.box(0, 0, 1, 1)]), source=osm_xml)
    with pytest.raises(AreaError):
        osm.poi(gpd.GeoSeries([shapely.Point(4.35, 50.85)], crs=4326), source=osm_xml)
    # no source at all: the message says which file or option would provide one
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match=r"landuse\.pmtiles.*\.osm\.pbf.*online=True"):
        osm.industrial_zones(area, data_dir=tmp_path / "empty")


def test_vector_file_source(tmp_path):
    path = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame(
        {"kind": ["industrial", "commercial", "brownfield"], "name": ["A", "B", None]},
        geometry=[shapely.box(150000, 170000, 150100, 170100),
                  shapely.box(150200, 170000, 150300, 170100),
                  shapely.box(150400, 170000, 150450, 170100)], crs=31370,
    ).to_file(path)
    area = gpd.GeoSeries([shapely.box(149000, 169000, 152000, 171000)], crs=31370)
    zones, report = osm.industrial_zones(area, source=path)
    assert sorted(zones["kind"]) == ["brownfield", "industrial"]
    assert zones["area_ha"].sum() == pytest.approx(1.0 + 0.5)
    assert report.skipped == {"kind not one of ['industrial', 'brownfield']": 1}


# ------------------------------------------------------------------ discovery / fallback


def test_data_dir_prefers_pmtiles_and_takes_missing_kinds_from_xml(tmp_path, tile_objects):
    (tmp_path / "osm").mkdir()
    write_pmtiles(tmp_path / "osm" / "poi.pmtiles", tile_objects.iloc[3:], "poi")
    write_osm_xml(tmp_path / "osm" / "old.osm")
    area = _bbox_area(4.30, 50.80, 4.40, 50.90)
    pois, report = osm.poi(area, data_dir=tmp_path)
    by_kind = pois.groupby("kind")["source"].agg(lambda s: {Path(p).name for p in s})
    assert by_kind["vacant_shop"] == {"poi.pmtiles"}  # preferred source wins
    assert by_kind["craft"] == {"poi.pmtiles"}
    assert by_kind["hackerspace"] == {"old.osm"}  # only in the XML
    assert (pois["kind"] == "vacant_shop").sum() == 1  # the XML's vacant shop not added
    assert any("hackerspace" in n and "old.osm" in n for n in report.notes)
    assert [Path(s).name for s in report.sources] == ["poi.pmtiles", "old.osm"]


# ------------------------------------------------------------------ online (loopback Overpass)


def _overpass_json():
    nodes, ways = [], []
    nid = 1
    for wid in (100, 101, 102):
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
    """A loopback HTTP server answering every POST to /api/interpreter; counts requests."""
    requests_seen = []
    state = {"payload": _overpass_json()}

    class Handler(JSONHandler):
        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length", 0))
            requests_seen.append((self.path, self.rfile.read(n).decode()))
            self.send_json(state["payload"], 200 if self.path.endswith("/interpreter") else 404)

    with serve(Handler) as url:
        yield url + "api", requests_seen, state


def test_online_overpass_then_cache_offline(tmp_path, overpass_server):
    url, seen, _ = overpass_server
    settings = Settings(cache_dir=tmp_path / "cache", overpass_url=url, offline=False)
    area = _bbox_area(*AREA_XML)
    zones, report = osm.industrial_zones(area, online=True, settings=settings)
    assert len(seen) == 1 and seen[0][0] == "/api/interpreter"
    assert "landuse" in seen[0][1]
    assert sorted(zones.index) == ["osm-w100", "osm-w101"]  # residential 102 not a kind
    assert zones.loc["osm-w100", "area_ha"] == pytest.approx(
        _area_ha_lonlat(_WAYS[100][1]), rel=1e-4)
    assert report.sources == [f"overpass:{url}"]
    # offline now: the request cache serves, no new request
    again, _ = osm.industrial_zones(area, online=True, settings=settings.replace(offline=True))
    assert len(seen) == 1
    pd.testing.assert_series_equal(again["area_ha"], zones["area_ha"])
    # offline, another area: cache miss, and no local file to fall back on
    with pytest.raises(DataSourceError, match=r"offline.*landuse\.pmtiles"):
        osm.industrial_zones(_bbox_area(4.30, 50.80, 4.31, 50.81), online=True,
                             settings=settings.replace(offline=True))


def test_online_empty_answer_is_an_empty_layer_error(tmp_path, overpass_server):
    url, seen, state = overpass_server
    state["payload"] = {"version": 0.6, "elements": []}
    settings = Settings(cache_dir=tmp_path / "cache", overpass_url=url, offline=False)
    with pytest.raises(EmptyLayerError, match=r"canal: no features.*'test area'.*overpass:"):
        osm.canal(_bbox_area(*AREA_XML), online=True, settings=settings)
    assert len(seen) >= 1


def test_parse_osmnx_features_flattens():
    gdf = gpd.GeoDataFrame(
        {"landuse": ["industrial", None], "nodes": [[1, 2, 3], [4, 5]],
         "height": [12.0, np.nan]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)], crs=4326,
        index=pd.MultiIndex.from_tuples([("way", 5), ("relation", 7)], names=["element", "id"]),
    )
    out = osm.parse_osmnx_features(gdf)
    assert list(out["osm_element"]) == ["way", "relation"]
    assert list(out["osm_id"]) == [5, 7]
    assert "nodes" not in out.columns
    assert out["height"].iloc[0] == "12.0" and pd.isna(out["height"].iloc[1])


# ------------------------------------------------------------------ real data (test bed)

AREA_TESTBED = (4.24, 50.76, 4.50, 51.00)


@pytest.fixture(scope="session")
def testbed_layers(testbed):
    area = _bbox_area(*AREA_TESTBED)
    return {
        "industrial": osm.industrial_zones(area, data_dir=testbed),
        "canal": osm.canal(area, data_dir=testbed),
        "poi": osm.poi(area, data_dir=testbed),
    }


@pytest.mark.integration
def test_testbed_industrial_zones_whole_objects(testbed, testbed_layers):
    zones, report = testbed_layers["industrial"]
    path = testbed / "osm" / "pmtiles_brussels_2026" / "landuse.pmtiles"
    assert report.sources == [str(path)]
    by_kind = zones.groupby("kind")["area_ha"].agg(["size", "sum"])
    assert 150 <= by_kind.loc["industrial", "size"] <= 170
    assert 750 <= by_kind.loc["industrial", "sum"] <= 950
    assert 50 <= by_kind.loc["brownfield", "size"] <= 65
    assert 15 <= by_kind.loc["brownfield", "sum"] <= 35
    # independent reference: the raw tile fragments read straight through GDAL
    raw = pyogrio.read_dataframe(path, columns=["mvt_id", "landuse"],
                                 where="landuse IN ('industrial','brownfield')")
    raw = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])].to_crs(31370)
    assert len(raw) > len(zones)  # there were fragments to merge
    assert len(zones) == raw["mvt_id"].nunique()
    ids = zones.index.str.removeprefix("mvt-").astype(int)
    assert ids.is_unique and set(ids) == set(raw["mvt_id"])
    # a zone cut by tile edges comes back as one object whose area is its fragments' sum
    n_frag = raw.groupby("mvt_id").size()
    frag_area = raw.assign(a=raw.area).groupby("mvt_id")["a"].sum()
    biggest_cut = frag_area[n_frag > 1].idxmax()
    zone = zones.loc[f"mvt-{biggest_cut}"]
    assert n_frag[biggest_cut] >= 2
    assert zone.geometry.geom_type == "Polygon"
    assert zone["area_ha"] * 10_000 == pytest.approx(frag_area[biggest_cut], rel=1e-3)
    assert report.merged_fragments_n >= (n_frag - 1).sum()
    assert zones.geometry.is_valid.all()


@pytest.mark.integration
def test_testbed_canal_reaches_vilvoorde(testbed, testbed_layers):
    canal, report = testbed_layers["canal"]
    names = " ".join(canal["name"].dropna())
    assert "Zeekanaal Brussel-Schelde" in names and "Kanaal Brussel-Charleroi" in names
    lines = canal[canal["feature"] == "waterway"]
    assert 25 <= lines["length_km"].sum() <= 60
    assert canal.loc[canal["feature"] == "water", "area_ha"].sum() > 30
    assert canal.to_crs(4326).total_bounds[3] > 50.99  # lat ≈ 51.0, north of Vilvoorde centre
    munis = gpd.read_file(testbed / "boundaries" / "provincies_in_cijfers" / "gemeente.shp")
    vilvoorde = munis.loc[munis["geoitem"].astype(str) == "23088"].to_crs(31370)
    inside = canal.clip(vilvoorde)
    assert inside.loc[inside["feature"] == "waterway"].length.sum() > 2_000  # metres
    zone, _ = osm.canal_zone(canal, distance_m=500)
    assert zone.geometry.iloc[0].covers(canal.union_all())
    assert zone.intersects(vilvoorde.union_all()).all()


@pytest.mark.integration
def test_testbed_canal_is_the_navigable_canal(testbed, testbed_layers):
    """Only the Charleroi canal and the Zeekanaal; covered courses and spillways listed."""
    canal, report = testbed_layers["canal"]
    lines = canal[canal["feature"] == "waterway"]
    charleroi = lines["name"].str.contains("Kanaal Brussel-Charleroi")
    zeekanaal = lines["name"].str.contains("Zeekanaal Brussel-Schelde")
    assert (charleroi | zeekanaal).all()
    assert lines.loc[charleroi, "length_km"].sum() > 5
    assert lines.loc[zeekanaal, "length_km"].sum() > 15
    # every water area kept has a kept line running through it
    assert (canal.loc[canal["feature"] == "water"].intersection(lines.union_all()).length
            > 1).all()
    note = next(n for n in report.notes if n.startswith("left out of the canal"))
    for name in ("Crochet de la Senne", "Leiegracht", "Dérivation d'Aa", "Déversoir d'Aa"):
        assert name in note
    assert sum(n for k, n in report.skipped.items() if k.startswith("covered or culverted")) >= 4
    # the 500 m zone no longer reaches Brussels-Zuid station (1.2 km from the canal)
    zuid = gpd.GeoSeries([shapely.Point(4.3357, 50.8357)], crs=4326).to_crs(canal.crs)
    assert canal.distance(zuid.iloc[0]).min() > 1000
    # naming the two canals gives the same lines; a name not in the data lists those found
    area = _bbox_area(*AREA_TESTBED)
    named, named_report = osm.canal(area, data_dir=testbed, names=[
        "Kanaal Brussel-Charleroi", "Zeekanaal Brussel-Schelde"])
    named_lines = named[named["feature"] == "waterway"]
    assert set(named_lines.index) == set(lines.index)
    assert any("Dérivation d'Aa" in n for n in named_report.notes)


@pytest.mark.integration
def test_testbed_poi_kinds_and_sources(testbed, testbed_layers):
    pois, report = testbed_layers["poi"]
    counts = pois["kind"].value_counts()
    assert counts["vacant_shop"] == 732
    assert counts["craft"] == 284
    assert 600 <= counts["school"] <= 700
    assert counts["hackerspace"] == 3  # only in the 2013 PBF
    hs_sources = set(pois.loc[pois["kind"] == "hackerspace", "source"])
    assert {Path(s).suffix for s in hs_sources} == {".pbf"}
    assert any("hackerspace" in n and ".osm.pbf" in n for n in report.notes)
    assert pois["tag"].str.match(r"^[a-z:_]+=.+").all()
    assert (pois.geom_type == "Point").all()
    assert pois.index.is_unique


@pytest.mark.integration
def test_testbed_pbf_source(testbed):
    pbf = testbed / "osm" / "pbf_brussels_2013" / "01_01_2013_brussels_capital_region.osm.pbf"
    zones, report = osm.industrial_zones(_bbox_area(*AREA_TESTBED), source=pbf)
    assert zones.index.str.match(r"^osm-[wr]\d+$").all()
    assert zones["osm_id"].str.match(r"^(way|relation)/\d+$").all()
    assert 60 <= (zones["kind"] == "industrial").sum() <= 80  # provenance: 69 in 2013
    canal, _ = osm.canal(_bbox_area(*AREA_TESTBED), source=pbf)
    assert (canal["feature"] == "waterway").sum() >= 6


@pytest.mark.parametrize("which", ["sample", "karhula"])
def test_small_files_read_once_per_layer_give_the_gdal_filtered_rows(which, request,
                                                                     monkeypatch):
    """Points and lines of a small file are read whole once and filtered in memory."""
    import numpy as np
    from pandas.testing import assert_frame_equal

    from productivecity.sources import _osm_cut
    from productivecity.sources import osm as osm_mod
    from productivecity.sources.catalog import sample_data_dir

    path = (sample_data_dir() / "osm" / "sample_canal_town.osm" if which == "sample"
            else request.getfixturevalue("karhula") / "karhula_kotka_finland.osm.pbf")
    reads = []
    real = _osm_cut.pyogrio.raw.read
    monkeypatch.setattr(_osm_cut.pyogrio.raw, "read",
                        lambda *a, **kw: reads.append(kw.get("layer")) or real(*a, **kw))
    _osm_cut.clear_shared_reads()
    cases = [("lines", {"waterway": True, "water": "canal"}), ("lines", {"highway": True}),
             ("lines", {"highway": True, "railway": True, "waterway": True}),
             ("points", {"shop": True, "craft": True, "disused:shop": True}),
             ("points", {"place": True}), ("points", {"amenity": ["school", "college"]})]
    for layer, tags in cases:
        assert _osm_cut.shares_reads(path, layer)
        stat = path.stat()
        fields, _ = osm_mod._osm_fields(str(path.resolve()), stat.st_mtime_ns, stat.st_size,
                                        layer)
        # the reference: GDAL's OGR SQL prefilter
        gdal = osm_mod._read_osm_layer(path, layer, osm_mod._osm_where(tags, fields), tags)
        shared = osm_mod._read_osm_layer(
            path, layer, None, tags,
            keep=lambda names, cols, tags=tags: osm_mod._osm_mask(tags, names, cols))
        assert len(shared) == len(gdal)
        assert_frame_equal(shared, gdal)
    # one whole read per layer, one filtered read per case
    assert sorted(reads) == sorted(["lines", "points"] + [layer for layer, _ in cases])
    assert not _osm_cut.shares_reads(path, "multipolygons")
    _osm_cut.clear_shared_reads()
    np.testing.assert_equal(len(_osm_cut._SHARED), 0)
