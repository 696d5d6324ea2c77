"""Transit stops and hubs from OpenStreetMap alone (issue 10, item 2).

A small OSM XML written here (Finland, UTM zone 35N) with known stops and
hubs, and the real Karhula extract (``karhula`` fixture) checked against an
independent count made with pyosmium.
"""

from __future__ import annotations

import math

import geopandas as gpd
import osmium
import pytest
import shapely
from pyproj import Transformer

from productivecity import DataSourceError, EmptyLayerError, ParameterError, SourceNotFoundError
from productivecity.sources import hubs, transit

LAT0, LON0 = 60.5300, 26.9500
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
UTM35 = "EPSG:32635"
TO_UTM = Transformer.from_crs("EPSG:4326", UTM35, always_xy=True)


def _lonlat(dx_m: float, dy_m: float) -> tuple[float, float]:
    return LON0 + dx_m / M_PER_DEG_LON, LAT0 + dy_m / M_PER_DEG_LAT


# id, east (m), north (m), tags
NODES = [
    (1, 0, 0, {"highway": "bus_stop", "name": "Kauppatori", "route_ref": "12;1"}),
    (2, 0, 300, {"highway": "bus_stop", "name": "Kauppatori"}),  # same name, 300 m: 2 stops
    (3, 500, 0, {"highway": "bus_stop"}),                          # unnamed bus stop
    (4, 1000, 0, {"public_transport": "platform", "railway": "platform", "tram": "yes",
                  "name": "Satama"}),
    (5, 1010, 0, {"public_transport": "stop_position", "railway": "tram_stop", "tram": "yes",
                  "name": "Satama"}),                              # 10 m from its platform
    (6, 1000, 20, {"public_transport": "stop_position", "bus": "yes",
                   "name": "Tehdas"}),                             # other name: not merged
    (11, 2000, 0, {}), (12, 2100, 0, {}), (13, 2100, 100, {}), (14, 2000, 100, {}),
    (15, 2050, 130, {"railway": "subway_entrance"}),               # an entrance is no stop
    (20, 3000, 0, {"leisure": "hackerspace", "name": "Kotka Hacklab"}),
    (21, 3000, 400, {"leisure": "hackerspace", "hackerspace:type": "fablab",
                     "name": "Fab Lab Kymi", "addr:city": "Kotka"}),
    (22, 3200, 0, {"amenity": "school", "name": "Koulu"}),         # not a hub
]
STATION_WAY = (100, (11, 12, 13, 14, 11),
               {"railway": "station", "public_transport": "station", "train": "yes",
                "name": "Karhula"})


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


@pytest.fixture
def osm_dir(tmp_path):
    """A data directory with only an OSM XML file (osm/town.osm)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, dx, dy, tags in NODES:
        lon, lat = _lonlat(dx, dy)
        tag_xml = "".join(f'<tag k="{k}" v="{_xml_attr(v)}"/>' for k, v in tags.items())
        lines.append(f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">'
                     f"{tag_xml}</node>")
    wid, refs, tags = STATION_WAY
    lines.append(f'<way id="{wid}" version="1">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                 + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    lines.append("</osm>")
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "town.osm").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def _utm_point(dx: float, dy: float) -> shapely.Point:
    return shapely.Point(TO_UTM.transform(*_lonlat(dx, dy)))


def _area(west_m, south_m, east_m, north_m) -> gpd.GeoDataFrame:
    """A lon/lat study area box given in metres from the fixture origin."""
    (x0, y0), (x1, y1) = _lonlat(west_m, south_m), _lonlat(east_m, north_m)
    return gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x1, y1)], crs="EPSG:4326")


# ------------------------------------------------------------------------------------------
# transit stops
# ------------------------------------------------------------------------------------------


def test_read_osm_stops_exact(osm_dir):
    stops, rep = transit.read_osm_stops(osm_dir / "osm" / "town.osm")
    assert list(stops.columns) == [*transit.STOP_COLUMNS, "geometry"]
    assert stops.index.name == "stop_id"
    assert sorted(stops.index) == sorted(["osm:n1", "osm:n2", "osm:n3", "osm:n4", "osm:n6",
                                          "osm:w100"])
    assert stops["name"].to_dict() == {"osm:n1": "Kauppatori", "osm:n2": "Kauppatori",
                                       "osm:n3": "", "osm:n4": "Satama", "osm:n6": "Tehdas",
                                       "osm:w100": "Karhula"}
    assert stops["mode"].to_dict() == {"osm:n1": "bus", "osm:n2": "bus", "osm:n3": "bus",
                                       "osm:n4": "tram", "osm:n6": "bus", "osm:w100": "rail"}
    # lines only where OSM tags them (route_ref); never 0, never a made-up departure count
    assert stops.loc["osm:n1", "lines"] == "1;12"
    assert stops.loc["osm:n1", "routes_n"] == 2
    assert stops["routes_n"].drop("osm:n1").isna().all()
    assert stops["daily_stops_n"].isna().all()
    assert str(stops["routes_n"].dtype) == "Int64"
    assert str(stops["daily_stops_n"].dtype) == "Float64"
    assert (stops["source"] == str(osm_dir / "osm" / "town.osm")).all()
    # 7 features read (6 stop nodes + the station way); the stop position merged, counted
    assert rep.read_n == 7
    assert rep.skipped == {"stop position merged into its platform of the same name within "
                           "50 m": 1}
    assert rep.sources == [str(osm_dir / "osm" / "town.osm")]
    # places: the merged tram stop stands on its platform, the station at its centroid
    utm = stops.to_crs(UTM35)
    assert utm.geometry["osm:n4"].distance(_utm_point(1000, 0)) < 0.01
    assert utm.geometry["osm:n1"].distance(_utm_point(0, 0)) < 0.01
    corners = [TO_UTM.transform(*_lonlat(dx, dy))
               for dx, dy in ((2000, 0), (2100, 0), (2100, 100), (2000, 100))]
    assert utm.geometry["osm:w100"].distance(shapely.Polygon(corners).centroid) < 0.01


def test_merge_distance_is_a_parameter(osm_dir):
    # 5 m: the stop position 10 m from its platform stays a stop of its own
    stops, rep = transit.read_osm_stops(osm_dir / "osm" / "town.osm", merge_distance_m=5)
    assert "osm:n5" in stops.index and stops.loc["osm:n5", "mode"] == "tram"
    assert rep.skipped == {}


def test_transit_stops_fall_back_to_osm(osm_dir):
    area = _area(-100, -100, 2200, 150)  # leaves out the second Kauppatori (300 m north)
    stops, rep = transit.transit_stops(area, data_dir=osm_dir)
    assert sorted(stops.index) == sorted(["osm:n1", "osm:n3", "osm:n4", "osm:n6", "osm:w100"])
    assert stops.crs.to_epsg() == 32635  # the area's metric CRS (UTM 35N)
    assert rep.outside_area_n == 1
    assert rep.features_n == 5
    assert any("every stop comes from OpenStreetMap (town.osm)" in n for n in rep.notes)
    assert rep.sources == [str(osm_dir / "osm" / "town.osm")]
    # OSM only when asked for alone
    only, _ = transit.transit_stops(area, data_dir=osm_dir, sources=["osm"])
    assert sorted(only.index) == sorted(stops.index)


def test_gtfs_wins_over_osm(osm_dir):
    feed = osm_dir / "transit" / "town"
    feed.mkdir(parents=True)
    lon, lat = _lonlat(0, 0)
    (feed / "stops.txt").write_text(f"stop_id,stop_name,stop_lat,stop_lon\n"
                                    f"k1,Kauppatori,{lat},{lon}\n", encoding="utf-8")
    stops, rep = transit.transit_stops(None, data_dir=osm_dir)
    assert list(stops.index) == ["town:k1"]
    assert not any("town.osm" in s for s in rep.sources)
    assert not any("OpenStreetMap" in n for n in rep.notes)


def test_no_stop_source_at_all(tmp_path):
    with pytest.raises(SourceNotFoundError, match="OSM public-transport tags"):
        transit.transit_stops(None, data_dir=tmp_path)
    with pytest.raises(DataSourceError, match=r"osm/\*\*/\*\.osm\.pbf"):
        transit.transit_stops(None, data_dir=tmp_path, sources=["osm"])
    with pytest.raises(ParameterError, match="unknown transit source kind"):
        transit.transit_stops(None, data_dir=tmp_path, sources=["osmx"])


def test_osm_file_without_stops(tmp_path):
    (tmp_path / "osm").mkdir()
    lon, lat = _lonlat(0, 0)
    (tmp_path / "osm" / "empty.osm").write_text(
        f'<?xml version="1.0"?>\n<osm version="0.6"><node id="1" version="1" lat="{lat}" '
        f'lon="{lon}"><tag k="amenity" v="bench"/></node></osm>\n', encoding="utf-8")
    with pytest.raises(SourceNotFoundError, match="no public-transport tags"):
        transit.transit_stops(None, data_dir=tmp_path)


# ------------------------------------------------------------------------------------------
# hubs
# ------------------------------------------------------------------------------------------


def test_read_osm_hubs_exact(osm_dir):
    got, rep = hubs.read_osm_hubs(osm_dir / "osm" / "town.osm")
    assert list(got.columns) == [*hubs.HUB_COLUMNS, "geometry"]
    assert list(got.index) == ["osm-n20", "osm-n21"]
    assert got["name"].tolist() == ["Kotka Hacklab", "Fab Lab Kymi"]
    assert got["type"].tolist() == ["hackerspace", "fablab"]
    assert got["city"].tolist() == ["", "Kotka"]
    assert (got["source"] == "OpenStreetMap").all()
    assert (got["location_precision"] == "osm_point").all()
    assert got.loc["osm-n21", "source_url"] == "https://www.openstreetmap.org/node/21"
    assert got["training_places_n"].isna().all()
    assert rep.read_n == 2 and rep.features_n == 2
    utm = got.to_crs(UTM35)
    assert utm.geometry["osm-n20"].distance(_utm_point(3000, 0)) < 0.01


def test_hubs_from_osm_in_an_area_outside_the_catalogue(osm_dir):
    area = _area(-100, -100, 3300, 500)
    got, rep = hubs.hubs(area, data_dir=osm_dir)
    assert sorted(got.index) == ["osm-n20", "osm-n21"]
    assert got.crs.to_epsg() == 32635
    assert rep.outside_area_n == len(hubs.catalogue())  # every catalogue hub lies elsewhere
    assert str(osm_dir / "osm" / "town.osm") in rep.sources
    assert any("every hub in the area comes from OpenStreetMap (town.osm)" in n
               for n in rep.notes)


def test_user_hub_replaces_the_same_osm_hub(osm_dir):
    lon, lat = _lonlat(3000, 20)  # 20 m from the OSM node, same name
    user = osm_dir / "my_hubs.csv"
    user.write_text(f"name,lon,lat,type\nKotka hacklab,{lon},{lat},makerspace\n",
                    encoding="utf-8")
    got, rep = hubs.hubs(_area(-100, -100, 3300, 500), path=user, data_dir=osm_dir,
                         include_catalogue=False)
    assert sorted(got.index) == ["kotka-hacklab", "osm-n21"]
    assert got.loc["kotka-hacklab", "type"] == "makerspace"
    assert rep.skipped == {"OpenStreetMap hub already in the catalogue or the user's file": 1}
    assert not any("every hub" in n for n in rep.notes)


def test_hubs_without_any_source(tmp_path):
    with pytest.raises(DataSourceError, match="no OSM file"):
        hubs.hubs(None, include_catalogue=False, data_dir=tmp_path)


# ------------------------------------------------------------------------------------------
# the real Karhula extract
# ------------------------------------------------------------------------------------------


class _Count(osmium.SimpleHandler):
    """Independent count of the tags read, with pyosmium."""

    def __init__(self):
        super().__init__()
        self.bus_stops = []
        self.other_stop_tags = 0
        self.hubs = 0

    def _tags(self, obj):
        t = {tag.k: tag.v for tag in obj.tags}
        if t.get("leisure") in ("hackerspace", "makerspace") or t.get("amenity") in (
                "makerspace", "fablab"):
            self.hubs += 1
        if (t.get("public_transport") or t.get("railway") in ("station", "halt", "tram_stop",
                                                              "stop", "platform")
                or t.get("amenity") in ("bus_station", "ferry_terminal")
                or t.get("highway") == "platform"):
            self.other_stop_tags += 1
        return t

    def node(self, n):
        if self._tags(n).get("highway") == "bus_stop":
            self.bus_stops.append((n.location.lon, n.location.lat))

    def way(self, w):
        self._tags(w)

    def relation(self, r):
        self._tags(r)


@pytest.fixture(scope="module")
def karhula_count(karhula):
    c = _Count()
    c.apply_file(str(karhula / "karhula_kotka_finland.osm.pbf"))
    return c


def test_karhula_transit_stops_from_osm(karhula, karhula_count):
    # the extract has 36 highway=bus_stop nodes and no other public-transport tag
    assert len(karhula_count.bus_stops) == 36 and karhula_count.other_stop_tags == 0
    area = gpd.GeoDataFrame(geometry=[shapely.box(26.930, 60.520, 26.970, 60.540)],
                            crs="EPSG:4326")
    stops, rep = transit.transit_stops(area, data_dir=karhula)
    inside = sum(26.930 <= x <= 26.970 and 60.520 <= y <= 60.540
                 for x, y in karhula_count.bus_stops)
    assert len(stops) == inside == 36
    assert (stops["mode"] == "bus").all()
    assert stops["daily_stops_n"].isna().all() and stops["routes_n"].isna().all()
    assert stops.crs.to_epsg() == 32635
    assert rep.read_n == 36 and rep.skipped == {}
    assert any("every stop comes from OpenStreetMap" in n for n in rep.notes)
    # same places as the nodes (independent projection)
    lon, lat = zip(*karhula_count.bus_stops, strict=True)
    expected = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(32635)
    d = [expected.distance(p).min() for p in stops.geometry]
    assert max(d) < 0.01
    # nine of them carry no name in OSM: kept, with an empty name
    assert int((stops["name"] == "").sum()) == 9


def test_karhula_has_no_hubs_in_osm(karhula, karhula_count, tmp_path):
    assert karhula_count.hubs == 0
    got, rep = hubs.read_osm_hubs(karhula / "karhula_kotka_finland.osm.pbf")
    assert got.empty and rep.read_n == 0
    area = gpd.GeoDataFrame(geometry=[shapely.box(26.930, 60.520, 26.970, 60.540)],
                            crs="EPSG:4326")
    with pytest.raises(EmptyLayerError, match="no hackerspace, makerspace or fablab tags"):
        hubs.hubs(area, data_dir=karhula)
    # with the user's own hub file, that hub is the layer
    user = tmp_path / "hubs.csv"
    user.write_text("name,lon,lat\nKarhulan paja,26.95,60.53\n", encoding="utf-8")
    got, rep = hubs.hubs(area, path=user, data_dir=karhula)
    assert list(got.index) == ["karhulan-paja"]
    assert rep.outside_area_n == len(hubs.catalogue())
