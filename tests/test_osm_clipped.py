"""OSM extracts cut by a bounding box, read without hand repair (issue 10, item 4).

A small "clipped" OSM XML written here (nodes referenced but absent, a
multipolygon relation with member ways absent) with results reasoned out by
hand, and the real Karhula extract (``karhula`` fixture), whose cut ways are
counted independently with pyosmium.
"""

from __future__ import annotations

import struct

import geopandas as gpd
import numpy as np
import osmium
import pyogrio
import pyproj
import pytest
import shapely

from productivecity._errors import DataQualityWarning, NetworkError
from productivecity.network import streets
from productivecity.sources import _osm_cut, osm

GEOD = pyproj.Geod(ellps="WGS84")
KARHULA_PBF = "karhula_kotka_finland.osm.pbf"

# ------------------------------------------------------------------ clipped OSM XML fixture

# nodes in the file (lon, lat); ids 1, 12, 15, 17, 18, 24, 25, 41 and 73 are referenced but
# absent
NODES = {
    2: (26.9500, 60.5300), 3: (26.9520, 60.5300), 4: (26.9520, 60.5310),
    5: (26.9400, 60.5320), 6: (26.9440, 60.5320), 7: (26.9440, 60.5340), 8: (26.9400, 60.5340),
    21: (26.9500, 60.5320), 22: (26.9540, 60.5320), 23: (26.9540, 60.5340),
    60: (26.9600, 60.5300), 61: (26.9620, 60.5300), 62: (26.9620, 60.5310),
    63: (26.9600, 60.5310),
    10: (26.9400, 60.5250), 11: (26.9410, 60.5250), 13: (26.9430, 60.5250),
    14: (26.9440, 60.5250), 16: (26.9400, 60.5260), 30: (26.9450, 60.5255),
    31: (26.9460, 60.5260),
    40: (26.9300, 60.5280), 42: (26.9320, 60.5280), 43: (26.9340, 60.5285),
    50: (26.9650, 60.5300), 51: (26.9680, 60.5300), 52: (26.9680, 60.5330),
    70: (26.9550, 60.5350), 71: (26.9570, 60.5350), 72: (26.9570, 60.5370),
}
WAYS = {
    # closed way whose closing node (1) lies outside the file
    100: ([1, 2, 3, 4, 1], {"landuse": "industrial", "name": "Cut zone"}),
    # a whole zone, for contrast
    110: ([60, 61, 62, 63, 60], {"landuse": "industrial", "name": "Whole zone"}),
    # untagged member ways of the relations; 103 and 104 cross the cut (24, 25 absent)
    101: ([5, 6, 7, 8, 5], {}),
    103: ([21, 22, 24], {}),
    104: ([25, 23, 21], {}),
    107: ([50, 51, 52], {}),
    109: ([70, 71, 72, 73, 70], {}),
    # highway with nodes missing in the middle (12) and at the end (15)
    200: ([10, 11, 12, 13, 14, 15], {"highway": "residential"}),
    # footway with one node in the file: nothing left
    201: ([16, 17, 18], {"highway": "footway"}),
    # a whole highway joining the second part of way 200
    210: ([14, 30, 31], {"highway": "residential"}),
    # canal: one node, a gap, then two nodes
    220: ([40, 41, 42, 43], {"waterway": "canal", "name": "Cut canal", "boat": "yes"}),
}
RELATIONS = {
    # outer way in the file, inner way 102 absent: the outer ring without its hole
    300: ([(101, "outer"), (102, "inner")], {"type": "multipolygon", "landuse": "industrial"}),
    # outer ring of three ways, 106 outside: the chain 23-21-22 runs from a cut to a cut
    # (25 and 24 absent) and is closed straight across it
    301: ([(103, "outer"), (106, "outer"), (104, "outer")],
          {"type": "multipolygon", "landuse": "industrial"}),
    # its only member way absent: cut off
    302: ([(105, "outer")], {"type": "multipolygon", "landuse": "brownfield"}),
    # a whole way and an absent one (an extract cut along whole ways): the chain 50-51-52
    # ends at whole ways, a straight closure would invent land: cut off
    303: ([(107, "outer"), (108, "outer")], {"type": "multipolygon", "landuse": "industrial"}),
    # every member in the file, one lacking a node: GDAL writes it (ring closed over 73)
    304: ([(109, "outer")], {"type": "multipolygon", "landuse": "retail"}),
}


def _write_clipped(path):
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in sorted(NODES.items()):
        lines.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, (refs, tags) in WAYS.items():
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    for rid, (members, tags) in RELATIONS.items():
        lines.append(f'  <relation id="{rid}" version="1">')
        lines += [f'    <member type="way" ref="{r}" role="{role}"/>' for r, role in members]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </relation>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def clipped(tmp_path):
    return _write_clipped(tmp_path / "clipped.osm")


def _poly(*ids):
    return shapely.Polygon([NODES[i] for i in ids])


def _line(*ids):
    return shapely.LineString([NODES[i] for i in ids])


def _geod_m(*ids):
    lon, lat = zip(*(NODES[i] for i in ids), strict=True)
    return GEOD.line_length(lon, lat)


def _by_id(frame):
    return {(e, int(i)): (s, g) for e, i, s, g in zip(
        frame["osm_element"], frame["osm_id"], frame["osm_repair"], frame.geometry,
        strict=True)}


def test_polygons_of_a_clipped_file(clipped):
    got = _by_id(osm.read_osm_file(clipped, geometry="multipolygons"))
    assert set(got) == {("way", 100), ("way", 110), ("relation", 300), ("relation", 301),
                        ("relation", 302), ("relation", 303), ("relation", 304)}
    status = {k: s for k, (s, _g) in got.items()}
    assert status == {("way", 100): "cut", ("way", 110): None, ("relation", 300): "cut",
                      ("relation", 301): "cut", ("relation", 302): "cut off",
                      ("relation", 303): "cut off", ("relation", 304): "cut"}
    assert shapely.equals(got["relation", 304][1], _poly(70, 71, 72))
    # the ring closed straight across the missing node 1: triangle 2-3-4
    assert shapely.equals(got["way", 100][1], _poly(2, 3, 4))
    assert shapely.equals(got["way", 110][1], _poly(60, 61, 62, 63))
    # GDAL drops relations with missing members: rebuilt from the members in the file
    assert shapely.equals(got["relation", 300][1], _poly(5, 6, 7, 8))
    assert shapely.equals(got["relation", 301][1], _poly(21, 22, 23))
    assert got["relation", 302][1] is None and got["relation", 303][1] is None
    # the relation's tags come along
    frame = osm.read_osm_file(clipped, geometry="multipolygons",
                              tags={"landuse": ["brownfield"]})
    assert frame["osm_id"].tolist() == [302] and frame["osm_repair"].tolist() == ["cut off"]


def test_lines_of_a_clipped_file_are_split_at_the_gaps(clipped):
    got = _by_id(osm.read_osm_file(clipped, geometry="lines"))
    assert set(got) == {("way", 200), ("way", 201), ("way", 210), ("way", 220)}
    assert {k: s for k, (s, _g) in got.items()} == {
        ("way", 200): "cut", ("way", 201): "cut off", ("way", 210): None, ("way", 220): "cut"}
    # never a segment across the gap 11 -> 13 (GDAL writes one)
    assert shapely.equals(got["way", 200][1],
                          shapely.MultiLineString([_line(10, 11), _line(13, 14)]))
    assert got["way", 201][1] is None
    # node 40 alone before the gap is no line
    assert shapely.equals(got["way", 220][1], _line(42, 43))


def test_layer_reports_count_what_was_cut(clipped):
    area = gpd.GeoDataFrame({"name": ["box"]}, geometry=[shapely.box(26.92, 60.52, 26.97, 60.54)],
                            crs="EPSG:4326")
    zones, rep = osm.industrial_zones(area, source=clipped)
    assert sorted(zones.index) == ["osm-r300", "osm-r301", "osm-w100", "osm-w110"]
    assert rep.read_n == 6 and rep.features_n == 4
    assert rep.repaired_n == 3  # way 100, relations 300 and 301
    assert rep.skipped == {"cut off at the edge of the extract (too few of its nodes or member "
                           "ways in the file)": 2}  # relations 302 and 303
    assert any(n.startswith("3 features cut at the edge of clipped.osm") for n in rep.notes)
    with pytest.warns(DataQualityWarning, match="3 invalid geometries repaired"):
        rep.warn()  # what load_layers does: the user hears of it
    # areas in the area's metric CRS agree with geodesic areas of the hand-made rings
    for zone_id, ids in {"osm-w100": (2, 3, 4), "osm-r301": (21, 22, 23),
                         "osm-r300": (5, 6, 7, 8)}.items():
        lon, lat = zip(*(NODES[i] for i in ids), strict=True)
        geodesic_ha = abs(GEOD.polygon_area_perimeter(lon, lat)[0]) / 10_000
        assert zones.loc[zone_id, "area_ha"] == pytest.approx(geodesic_ha, rel=0.005)
    canal, crep = osm.canal(area, source=clipped)
    assert canal["osm_id"].tolist() == ["way/220"]
    assert canal["length_km"].iloc[0] * 1000 == pytest.approx(_geod_m(42, 43), rel=0.005)
    assert crep.repaired_n == 1 and crep.skipped == {}


def test_walk_network_of_a_clipped_file(clipped):
    net = streets.walk_network(clipped, cache=False, retain_all=True, simplify=False)
    rep = net.report
    assert (rep.ways_n, rep.ways_cut_n, rep.ways_cut_off_n, rep.missing_node_refs_n) == (2, 1, 1, 4)
    assert sorted(net.node_id.tolist()) == [10, 11, 13, 14, 30, 31]
    pairs = {tuple(sorted((int(net.node_id[u]), int(net.node_id[v]))))
             for u, v in zip(net.edge_u, net.edge_v, strict=True)}
    assert pairs == {(10, 11), (13, 14), (14, 30), (30, 31)}  # no edge 11-13 across the gap
    assert rep.components_n == 2
    expected_m = _geod_m(10, 11) + _geod_m(13, 14) + _geod_m(14, 30, 31)
    assert net.edge_length_m.sum() == pytest.approx(expected_m, rel=0.002)


def test_no_way_left_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.osm"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n"
        '  <node id="1" version="1" lat="60.53" lon="26.95"/>\n'
        '  <way id="9" version="1"><nd ref="1"/><nd ref="2"/>'
        '<tag k="highway" v="residential"/></way>\n</osm>\n', encoding="utf-8")
    with pytest.raises(NetworkError, match="1 left out: fewer than 2 consecutive nodes"):
        streets.walk_network(path, cache=False)


# ------------------------------------------------------------------ WKB repair


def _wkb_polygon(*rings):
    out = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        out += struct.pack("<I", len(ring)) + np.asarray(ring, dtype="<f8").tobytes()
    return out


def test_wkb_with_degenerate_rings_is_repaired():
    square_open = [(0, 0), (1, 0), (1, 1), (0, 1)]  # not closed
    two_points = [(5, 5), (6, 6)]
    multi = (struct.pack("<BII", 1, 6, 2) + _wkb_polygon(two_points)
             + _wkb_polygon(square_open, two_points))
    assert shapely.from_wkb(multi, on_invalid="ignore") is None  # what stopped the read
    whole = shapely.to_wkb(shapely.box(0, 0, 2, 2))
    geoms, repaired = _osm_cut.geometries_from_wkb([multi, whole, None])
    assert repaired.tolist() == [True, False, False]
    assert shapely.equals(geoms[0], shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))
    assert shapely.equals(geoms[1], shapely.box(0, 0, 2, 2)) and geoms[2] is None
    assert _osm_cut.salvage_wkb(_wkb_polygon(two_points)) is None
    big_endian = struct.pack(">BII", 0, 2, 1) + np.asarray([(3.0, 4.0)], dtype=">f8").tobytes()
    assert _osm_cut.salvage_wkb(big_endian) is None  # a one-point line


# ------------------------------------------------------------------ the real Karhula extract


class _CutCount(osmium.SimpleHandler):
    """Independent count of ways lacking nodes (pyosmium with a node location index)."""

    def __init__(self):
        super().__init__()
        self.industrial = 0
        self.industrial_cut = 0
        self.walk_cut = 0
        self.walk_missing_refs = 0

    def way(self, w):
        missing = sum(not n.location.valid() for n in w.nodes)
        tags = {t.k: t.v for t in w.tags}
        if tags.get("landuse") == "industrial":
            self.industrial += 1
            self.industrial_cut += missing > 0
        if "highway" in tags and streets.way_allowed(tags, "walk") and missing:
            self.walk_cut += 1
            self.walk_missing_refs += missing


@pytest.fixture(scope="module")
def karhula_cut(karhula):
    c = _CutCount()
    c.apply_file(str(karhula / KARHULA_PBF), locations=True)
    return c


@pytest.fixture(scope="module")
def karhula_box(karhula):
    reader = osmium.io.Reader(str(karhula / KARHULA_PBF))
    try:
        box = reader.header().box()
    finally:
        reader.close()
    return shapely.box(box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon,
                       box.top_right.lat)


def test_karhula_layers_read_without_error(karhula, karhula_cut):
    pbf = karhula / KARHULA_PBF
    for layer in ("multipolygons", "lines", "points"):
        frame = osm.read_osm_file(pbf, geometry=layer)
        assert len(frame)
        geoms = frame.geometry[frame.geometry.notna()]
        assert shapely.is_valid(np.asarray(geoms.values)).all()
        # only cut-off rows are without geometry
        assert (frame.geometry.isna() == frame["osm_repair"].eq("cut off")).all()
    assert karhula_cut.industrial == 10  # as the README says
    zones = osm.read_osm_file(pbf, geometry="multipolygons", tags={"landuse": "industrial"})
    assert len(zones) == 10 and set(zones["osm_element"]) == {"way"}
    marked = zones["osm_repair"].isin(["cut", "cut off"])
    assert int(marked.sum()) == karhula_cut.industrial_cut > 0


def test_karhula_industrial_zones_report_the_cut(karhula, karhula_cut, karhula_box):
    area = gpd.GeoDataFrame({"name": ["Karhula"]}, geometry=[karhula_box], crs="EPSG:4326")
    zones, rep = osm.industrial_zones(area, source=karhula / KARHULA_PBF)
    cut_off = sum(n for r, n in rep.skipped.items() if r.startswith("cut off at the edge"))
    assert rep.read_n == 10 and rep.features_n + cut_off == 10
    assert rep.repaired_n + cut_off >= karhula_cut.industrial_cut  # + any make_valid repair
    assert any("cut at the edge of karhula_kotka_finland.osm.pbf" in n for n in rep.notes)
    assert zones.crs.is_projected and (zones["area_ha"] > 0).all()
    # what was kept lies in the file's box (nothing invented beyond the cut)
    assert shapely.buffer(karhula_box, 1e-6).contains(
        shapely.union_all(np.asarray(zones.to_crs(4326).geometry.values)))


def test_karhula_walk_network(karhula, karhula_cut, karhula_box):
    net = streets.walk_network(karhula / KARHULA_PBF, cache=False)
    rep = net.report
    assert rep.ways_cut_n > 0
    assert rep.ways_cut_n + rep.ways_cut_off_n == karhula_cut.walk_cut
    assert rep.missing_node_refs_n == karhula_cut.walk_missing_refs
    # a 2.2 km x 2.2 km box of a small town: a few hundred junctions, tens of km of ways
    assert 100 < net.n_nodes < 2000 and 100 < net.n_edges < 3000
    assert 20_000 < net.edge_length_m.sum() < 80_000
    assert rep.components_n == 1
    lon, lat = pyproj.Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True).transform(
        net.x, net.y)
    assert shapely.buffer(karhula_box, 1e-6).contains(shapely.points(lon, lat)).all()


def test_osm_index_sized_to_the_file_reads_the_same(karhula, tmp_path):
    # GDAL's in-memory OSM index is sized to the file: the same features as GDAL's default
    pbf = karhula / KARHULA_PBF
    opts = _osm_cut.osm_open_options(pbf)
    assert opts == {"MAX_TMPFILE_SIZE": "5"}  # 0.13 MB x 32, rounded up
    for layer in ("multipolygons", "lines", "points"):
        _, _, wkb_a, fields_a = pyogrio.raw.read(pbf, layer=layer)
        _, _, wkb_b, fields_b = pyogrio.raw.read(pbf, layer=layer, **opts)
        assert len(wkb_a) and list(wkb_a) == list(wkb_b)
        assert all(list(a) == list(b) for a, b in zip(fields_a, fields_b, strict=True))
    # the largest is GDAL's default; not an OSM file: no option (another driver would warn)
    huge = tmp_path / "huge.osm"
    with open(huge, "wb") as f:
        f.write(b"<osm version='0.6'>")
        f.truncate(40 * 2**20)
    assert _osm_cut.osm_open_options(huge) == {"MAX_TMPFILE_SIZE": "100"}
    other = tmp_path / "x.gpkg"
    other.write_bytes(b"SQLite format 3\0")
    assert _osm_cut.osm_open_options(other) == {}
