"""Tests of productivecity.network: OSM readers, filters, one-way rules, simplification,
CSR layout, disk cache, osmnx graphs, online download (loopback Overpass server)."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pyproj
import pytest
import shapely
from _loopback import JSONHandler, serve

from productivecity import CRSError, DataSourceError, NetworkError, network
from productivecity.settings import get_settings

PBF_2013 = "osm/pbf_brussels_2013/01_01_2013_brussels_capital_region.osm.pbf"
#: The CRS of the Brussels preset (its networks are built in it, as a run does).
BRUSSELS_CRS = "EPSG:31370"

# A small hand-made OSM extract near Brussels (lon, lat). 0.001° lat ≈ 111 m.
NODES = {
    1: (4.3500, 50.8500),  # A
    2: (4.3510, 50.8500),  # B (degree 2, contracted)
    3: (4.3520, 50.8505),  # C (degree 2, contracted)
    4: (4.3530, 50.8500),  # D
    5: (4.3530, 50.8510),  # E
    6: (4.3540, 50.8500),  # F
    7: (4.3500, 50.8510),  # G
    8: (4.3510, 50.8520),  # H
    9: (4.3530, 50.8490),  # I
    10: (4.3540, 50.8490),  # J
    11: (4.3550, 50.8490),  # K
    12: (4.3600, 50.8600),  # L (separate piece)
    13: (4.3610, 50.8600),  # M
    14: (4.3500, 50.8490),  # N
    15: (4.3490, 50.8500),  # O (dead end at A)
    16: (4.3505, 50.8525),  # P (dead end at H)
}
WAYS = [
    (101, [1, 2, 3, 4], {"highway": "residential"}),
    (102, [4, 5], {"highway": "cycleway"}),
    (103, [4, 6], {"highway": "footway"}),
    (104, [1, 7], {"highway": "residential", "oneway": "yes"}),
    (105, [7, 8], {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),
    (106, [8, 4], {"highway": "residential", "oneway": "-1"}),
    (107, [4, 9], {"highway": "residential", "oneway": "yes", "cycleway": "opposite_lane"}),
    (108, [9, 10], {"highway": "residential", "junction": "roundabout"}),
    (109, [10, 11], {"highway": "residential", "access": "private"}),
    (110, [12, 13], {"highway": "residential"}),
    (111, [1, 14], {"highway": "service", "area": "yes"}),
    (112, [9, 14], {"highway": "steps"}),
    (113, [1, 15], {"highway": "residential"}),
    (114, [8, 16], {"highway": "living_street"}),
]


def write_osm_xml(path: Path, nodes=NODES, ways=WAYS) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in nodes.items():
        lines.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_osm_pbf(path: Path, nodes=NODES, ways=WAYS) -> Path:
    with osmium.SimpleWriter(str(path)) as w:
        for nid, (lon, lat) in nodes.items():
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), version=1))
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
    return path


@pytest.fixture
def osm_xml(tmp_path) -> Path:
    """The hand-made extract as OSM XML."""
    return write_osm_xml(tmp_path / "small.osm")


@pytest.fixture
def osm_pbf(tmp_path) -> Path:
    """The hand-made extract as OSM PBF (written with pyosmium)."""
    return write_osm_pbf(tmp_path / "small.osm.pbf")


@pytest.fixture(scope="session")
def brussels_walk(testbed, tmp_path_factory) -> network.Network:
    """The 2013 Brussels walk network, built once per session (disk-cached)."""
    settings = get_settings(cache_dir=tmp_path_factory.getbasetemp() / "netcache")
    return network.walk_network(testbed / PBF_2013, crs=BRUSSELS_CRS, settings=settings)


def projected_length(refs, crs="EPSG:31370") -> float:
    """Length (m) of a node chain in ``crs``, computed independently with pyproj."""
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(*zip(*(NODES[r] for r in refs), strict=True))
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def edge_table(net):
    """{(u_osm, v_osm): (length, forward, backward)} with u < v."""
    out = {}
    for u, v, length, f, b in zip(net.node_id[net.edge_u], net.node_id[net.edge_v],
                                  net.edge_length_m, net.edge_forward, net.edge_backward,
                                  strict=True):
        if u > v:
            u, v, f, b = v, u, b, f
        out[(int(u), int(v))] = (float(length), bool(f), bool(b))
    return out


def test_walk_filter_and_simplification(osm_xml):
    net = network.walk_network(osm_xml, retain_all=True, cache=False)
    edges = edge_table(net)
    # walk: no cycleway (4-5), no private (10-11), no area=yes (1-14); footway & steps kept
    assert set(edges) == {(1, 4), (4, 6), (1, 8), (4, 8), (4, 9), (9, 10), (9, 14), (1, 15),
                          (8, 16), (12, 13)}
    # 2 and 3 contracted into 1-4, 7 into 1-8, with the exact polyline lengths
    assert net.crs == "EPSG:32631"  # no CRS named: the UTM zone of the streets
    assert edges[(1, 4)][0] == pytest.approx(projected_length([1, 2, 3, 4], net.crs), rel=1e-12)
    assert edges[(1, 8)][0] == pytest.approx(projected_length([1, 7, 8], net.crs), rel=1e-12)
    # and true lengths: within 0.1 % of the geodesic length of the chain
    lon, lat = zip(*(NODES[r] for r in [1, 2, 3, 4]), strict=True)
    geodesic = pyproj.Geod(ellps="WGS84").line_length(lon, lat)
    assert edges[(1, 4)][0] == pytest.approx(geodesic, rel=1e-3)
    assert all(f and b for _, f, b in edges.values())  # walking ignores one-way
    assert net.report.contracted_nodes_n == 3
    assert net.report.ways_n == 11
    lambert = network.walk_network(osm_xml, retain_all=True, cache=False, crs="EPSG:31370")
    assert lambert.crs == "EPSG:31370"
    assert edge_table(lambert)[(1, 4)][0] == pytest.approx(projected_length([1, 2, 3, 4]),
                                                           rel=1e-12)
    g = net.edge_geometries[[i for i, (u, v) in enumerate(zip(net.edge_u, net.edge_v,
                                                              strict=True))
                             if {net.node_id[u], net.node_id[v]} == {1, 4}][0]]
    assert len(g.coords) == 4 and g.length == pytest.approx(edges[(1, 4)][0])


def test_bike_one_way_rules(osm_pbf):
    net = network.bike_network(osm_pbf, retain_all=True, cache=False)
    edges = edge_table(net)
    assert (4, 6) not in edges and (9, 14) not in edges  # footway, steps
    assert edges[(4, 5)][1:] == (True, True)  # cycleway
    assert edges[(1, 7)][1:] == (True, False)  # oneway=yes
    assert edges[(7, 8)][1:] == (True, True)  # oneway:bicycle=no
    assert edges[(4, 8)][1:] == (True, False)  # oneway=-1 on way 8->4: travel 4->8 only
    assert edges[(4, 9)][1:] == (True, True)  # contraflow cycle lane
    assert edges[(9, 10)][1:] == (True, False)  # roundabout
    # arcs: one per allowed direction, CSR sorted by tail
    assert net.n_arcs == int(net.edge_forward.sum() + net.edge_backward.sum())
    tails = np.repeat(np.arange(net.n_nodes), np.diff(net.indptr))
    for t, h, e in zip(tails, net.indices, net.arc_edge, strict=True):
        u, v = net.edge_u[e], net.edge_v[e]
        assert (t, h) in {(u, v), (v, u)}
        assert ((t, h) == (u, v) and net.edge_forward[e]) or net.edge_backward[e]
    assert np.allclose(net.arc_time_min, net.arc_length_m / (15.0 * 1000 / 60))


def test_pbf_and_xml_give_the_same_network(osm_xml, osm_pbf):
    a = network.walk_network(osm_xml, cache=False)
    b = network.walk_network(osm_pbf, cache=False)
    assert edge_table(a) == edge_table(b)
    # retain_all=False keeps the largest component and counts the rest
    assert 12 not in set(a.node_id) and a.report.removed_components_n == 1
    assert a.report.removed_nodes_n == 2


def test_cache_is_keyed_by_input_and_parameters(osm_xml, tmp_path):
    settings = get_settings(cache_dir=tmp_path / "cache")
    a = network.walk_network(osm_xml, settings=settings)
    b = network.walk_network(osm_xml, settings=settings, speed_kmh=6.0)
    assert not a.report.from_cache and b.report.from_cache
    assert np.array_equal(a.edge_length_m, b.edge_length_m)
    assert np.allclose(b.arc_time_min, b.arc_length_m / 100.0)
    c = network.walk_network(osm_xml, settings=settings, simplify=False)
    assert not c.report.from_cache and c.n_nodes > a.n_nodes
    write_osm_xml(osm_xml, ways=WAYS[:3])  # new content -> new key
    d = network.walk_network(osm_xml, settings=settings)
    assert not d.report.from_cache and d.n_edges < a.n_edges
    assert len(list((tmp_path / "cache" / "networks").glob("*.npz"))) == 3


def test_from_osmnx_graph_matches_osmnx_shortest_paths(osm_xml):
    import osmnx as ox

    g = ox.graph_from_xml(osm_xml, bidirectional=True, simplify=True, retain_all=False)
    gp = ox.project_graph(g, to_crs="EPSG:31370")
    net = network.walk_network(gp)
    assert set(net.node_id) == set(gp.nodes)
    gu = nx.Graph()
    for u, v, d in gp.edges(data=True):
        if not gu.has_edge(u, v) or gu[u][v]["length"] > d["length"]:
            gu.add_edge(u, v, length=d["length"])
    ref = dict(nx.all_pairs_dijkstra_path_length(gu, weight="length"))
    ours = dict(nx.all_pairs_dijkstra_path_length(net.to_networkx(), weight="length_m"))
    for i, a in enumerate(net.node_id):
        for j, b in enumerate(net.node_id):
            assert ours[i][j] == pytest.approx(ref[a][b], rel=1e-9)


def test_bad_inputs(osm_xml, tmp_path):
    import osmnx as ox

    g = ox.graph_from_xml(osm_xml, bidirectional=True)
    with pytest.raises(CRSError, match="geographic"):
        network.walk_network(g)
    g2 = ox.project_graph(g, to_crs="EPSG:31370")
    del g2.graph["crs"]
    with pytest.raises(CRSError, match="no CRS"):
        network.walk_network(g2)
    with pytest.raises(NetworkError, match="speed_kmh"):
        network.walk_network(osm_xml, speed_kmh=-4.8)
    with pytest.raises(NetworkError, match="speed_kmh"):
        network.bike_network(osm_xml, speed_kmh=float("nan"))
    with pytest.raises(DataSourceError, match="not found"):
        network.walk_network(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(DataSourceError, match="bad.osm.pbf"):
        network.walk_network(bad, cache=False)
    with pytest.raises(NetworkError, match="no walk ways"):
        network.walk_network(write_osm_xml(tmp_path / "none.osm", ways=[]), cache=False)
    with pytest.raises(DataSourceError, match="offline"):
        network.walk_network(shapely.box(4.35, 50.85, 4.36, 50.86))
    with pytest.raises(NetworkError, match="cannot build"):
        network.walk_network(42)


class _OverpassHandler(JSONHandler):
    """Answers any POST /api/interpreter with the small extract as Overpass JSON."""

    requests: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).requests.append((self.path, body))
        elements = [{"type": "node", "id": k, "lon": lon, "lat": lat}
                    for k, (lon, lat) in NODES.items()]
        elements += [{"type": "way", "id": wid, "nodes": refs, "tags": tags}
                     for wid, refs, tags in WAYS if network.way_allowed(tags, "walk")]
        self.send_json({"version": 0.6, "elements": elements})


@pytest.fixture
def overpass_server():
    """A loopback HTTP server standing in for the Overpass API; yields its base URL."""
    _OverpassHandler.requests = []
    with serve(_OverpassHandler) as url:
        yield url + "api"


def test_online_download_through_osmnx(overpass_server, tmp_path, osm_xml):
    import osmnx as ox

    url_before = ox.settings.overpass_url
    settings = get_settings(cache_dir=tmp_path / "c", offline=False, overpass_url=overpass_server)
    area = shapely.box(4.3490, 50.8480, 4.3560, 50.8530)
    net = network.walk_network(area, settings=settings)
    assert len(_OverpassHandler.requests) == 1
    path, body = _OverpassHandler.requests[0]
    assert path == "/api/interpreter" and "highway" in body
    assert ox.settings.overpass_url == url_before  # osmnx settings restored
    local = network.walk_network(osm_xml, cache=False)
    assert edge_table(net).keys() == edge_table(local).keys()
    for k, (length, _f, _b) in edge_table(net).items():
        # osmnx-projected coordinates: same projection, so the same lengths
        assert length == pytest.approx(edge_table(local)[k][0], rel=1e-9)
    again = network.walk_network(area, settings=settings)  # from the disk cache
    assert again.report.from_cache and len(_OverpassHandler.requests) == 1


@pytest.mark.integration
def test_brussels_2013_walk_network(brussels_walk, testbed):
    net = brussels_walk
    assert 20_000 < net.n_nodes < 30_000
    assert net.report.components_n == 1
    # simplification keeps the exact geometry length of the whole network
    raw = network.walk_network(testbed / PBF_2013, simplify=False, retain_all=True, cache=False,
                          crs=BRUSSELS_CRS)
    simple_all = network.walk_network(testbed / PBF_2013, retain_all=True, cache=False,
                                         crs=BRUSSELS_CRS)
    assert simple_all.edge_length_m.sum() == pytest.approx(raw.edge_length_m.sum(), rel=1e-12)
    assert raw.n_nodes - simple_all.n_nodes == simple_all.report.contracted_nodes_n
    geom_len = shapely.length(simple_all.edge_geometries)
    assert np.allclose(geom_len, simple_all.edge_length_m, rtol=1e-12, atol=1e-9)
    xmin, ymin, xmax, ymax = net.bounds  # Brussels region in Lambert 72
    assert 135_000 < xmin < xmax < 165_000 and 155_000 < ymin < ymax < 185_000
    assert math.isclose(net.speed_kmh, 4.8)


@pytest.mark.integration
def test_brussels_2013_bike_network(testbed):
    net = network.bike_network(testbed / PBF_2013, cache=False)
    one_way = ~(net.edge_forward & net.edge_backward)
    assert 1_000 < one_way.sum() < net.n_edges / 2


# --------------------------------------------------------------------------- nearest edges


def nearest_reference(net, x, y, *, max_dist_m=math.inf, main_only=True):
    """Independent reference: shapely/GEOS STRtree over the edge geometries.

    Returns, per point, the set of edges at the least distance (ties) and that distance
    (empty set and inf when no edge lies within ``max_dist_m``).
    """
    ok = np.flatnonzero(net.component[net.edge_u] == 0) if main_only else np.arange(
        net.n_edges)
    tree = shapely.STRtree(net.edge_geometries[ok])
    pts = shapely.points(x, y)
    kw = {} if math.isinf(max_dist_m) else {"max_distance": max_dist_m}
    (pi, ei), d = tree.query_nearest(pts, all_matches=True, return_distance=True, **kw)
    ties = [set() for _ in range(len(pts))]
    dist = np.full(len(pts), np.inf)
    for p, e, dd in zip(pi.tolist(), ok[ei].tolist(), d.tolist(), strict=True):
        ties[p].add(e)
        dist[p] = dd
    return ties, dist


def assert_nearest_like_shapely(net, x, y, edge, dist, **kw):
    ties, ref_d = nearest_reference(net, x, y, **kw)
    for k in range(len(x)):
        if not ties[k]:
            assert edge[k] == -1 and dist[k] == np.inf, k
        else:
            # same distance bit for bit; among ties, the lowest edge number
            assert dist[k] == ref_d[k], (k, dist[k], ref_d[k])
            assert edge[k] == min(ties[k]), (k, edge[k], ties[k])


def grid_net():
    """A 4 x 4 street grid (100 m blocks) plus a cut-off street 2 km east."""
    ids = {(i, j): 10 * i + j for i in range(4) for j in range(4)}
    x = {k: 100.0 * i for (i, j), k in ids.items()}
    y = {k: 100.0 * j for (i, j), k in ids.items()}
    u, v = [], []
    for (i, j), k in ids.items():
        if i < 3:
            u.append(k), v.append(ids[(i + 1, j)])
        if j < 3:
            u.append(k), v.append(ids[(i, j + 1)])
    x.update({100: 2300.0, 101: 2400.0})
    y.update({100: 150.0, 101: 150.0})
    u.append(100), v.append(101)
    return network.from_arrays(u, v, [100.0] * len(u), x=x, y=y)


def test_nearest_edges_equal_shapely_with_ties_and_limits():
    net = grid_net()
    assert net.report.components_n == 2
    rng = np.random.default_rng(7)
    # random points over and beyond the extent; grid nodes (2-4 edges tie there);
    # block centres (4 edges tie); points on edges; far away points
    rx, ry = rng.uniform(-400, 2800, 400), rng.uniform(-400, 700, 400)
    nx_, ny_ = np.meshgrid(np.arange(4) * 100.0, np.arange(4) * 100.0)
    cx, cy = np.meshgrid(np.arange(3) * 100.0 + 50, np.arange(3) * 100.0 + 50)
    x = np.concatenate([rx, nx_.ravel(), cx.ravel(), [50.0, 300.0, 2350.0, -5000.0, 9000.0]])
    y = np.concatenate([ry, ny_.ravel(), cy.ravel(), [0.0, 250.0, 150.0, 80_000.0, -3.0]])
    for max_d in (math.inf, 250.0, 50.0, 30.0):
        for main_only in (True, False):
            e, d = net.nearest_edges(x, y, max_dist_m=max_d, main_only=main_only)
            assert e.dtype == np.int64 and d.dtype == np.float64
            assert_nearest_like_shapely(net, x, y, e, d, max_dist_m=max_d,
                                        main_only=main_only)
    e, d = net.nearest_edges(x, y, max_dist_m=30.0)
    assert (e == -1).sum() > 100  # the limit matters
    # the cut-off street is found only when every component counts
    e_all, _ = net.nearest_edges([2350.0], [160.0], main_only=False)
    e_main, _ = net.nearest_edges([2350.0], [160.0])
    assert e_all[0] == net.n_edges - 1 and e_main[0] != e_all[0]
    # exactly at the limit counts as within (as shapely's max_distance)
    e, d = net.nearest_edges([150.0], [-40.0], max_dist_m=40.0)
    assert e[0] >= 0 and d[0] == 40.0


def test_nearest_edges_on_curved_edges_and_any_cell_size(osm_xml):
    from productivecity.network import _snapgrid

    net = network.walk_network(osm_xml, cache=False, retain_all=True)
    assert (np.diff(net.geom_offsets) > 2).any()  # contracted edges keep their bends
    xmin, ymin, xmax, ymax = net.bounds
    rng = np.random.default_rng(8)
    x = rng.uniform(xmin - 300, xmax + 300, 500)
    y = rng.uniform(ymin - 300, ymax + 300, 500)
    x = np.append(x, net.geom_xy[:, 0])  # every vertex: ties between edges meeting there
    y = np.append(y, net.geom_xy[:, 1])
    ok = np.ones(net.n_edges, bool)
    for cell_m in (3.0, 37.0, 400.0, 5000.0):
        grid = _snapgrid.build(net.geom_offsets, net.geom_xy, cell_m=cell_m)
        for max_d in (math.inf, 60.0):
            e, d = _snapgrid.nearest(grid, x, y, ok, max_d)
            assert_nearest_like_shapely(net, x, y, e, d, max_dist_m=max_d, main_only=False)


def test_nearest_edges_bad_input():
    net = grid_net()
    with pytest.raises(NetworkError, match="max_dist_m"):
        net.nearest_edges([0.0], [0.0], max_dist_m=-1)
    with pytest.raises(NetworkError, match="same length"):
        net.nearest_edges([0.0, 1.0], [0.0])
    e, d = net.nearest_edges([np.nan], [0.0])
    assert e[0] == -1 and d[0] == np.inf


@pytest.mark.integration
def test_nearest_edges_equal_shapely_on_brussels(brussels_walk):
    net = brussels_walk
    rng = np.random.default_rng(9)
    i = rng.integers(0, net.n_nodes, 3000)
    x = net.x[i] + rng.normal(0, 120, len(i))
    y = net.y[i] + rng.normal(0, 120, len(i))
    x[:300], y[:300] = net.x[i[:300]], net.y[i[:300]]  # on nodes: ties
    for max_d in (250.0, 40.0, math.inf):
        e, d = net.nearest_edges(x, y, max_dist_m=max_d)
        assert_nearest_like_shapely(net, x, y, e, d, max_dist_m=max_d)


def test_placeholder_street_names_are_no_names(tmp_path):
    """'No Name' (an OSM mapping error) names no site and labels no street."""
    import pandas as pd

    from productivecity.indicators.names import read_street_names
    from productivecity.sources.basemap import names_in

    ways = [(101, [1, 2, 3, 4], {"highway": "residential", "name": "Quay Street"}),
            (102, [4, 5], {"highway": "service", "name": "No Name"}),
            (103, [4, 6], {"highway": "footway", "name": " unnamed "}),
            (104, [1, 7], {"highway": "residential", "name": "No Name",
                           "name:fr": "Rue du Moulin"})]
    path = write_osm_xml(tmp_path / "names.osm", ways=ways)
    streets = read_street_names(path, "EPSG:31370")
    assert sorted(streets["name"]) == ["Quay Street"]
    assert sorted(read_street_names(path, "EPSG:31370", lang="fr")["name"]) == [
        "Quay Street", "Rue du Moulin"]
    frame = pd.DataFrame({"name": ["Quay Street", "No Name", "NONAME", None],
                          "name:fr": [None, "Rue du Moulin", None, None]})
    assert names_in(frame, "fr").tolist() == ["Quay Street", "Rue du Moulin", None, None]
    assert names_in(frame, "en").tolist() == ["Quay Street", None, None, None]
