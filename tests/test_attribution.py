"""Attribution from what was read (issue 10, item 5).

Every reader declares the source and licence of what it read; the outputs credit
exactly those; a scenario replaces (``[outputs] attribution``) or extends
(``attribution_extra``) them. An OSM-only study area in Finland (a small OSM XML
written here, and the real Karhula extract) credits OpenStreetMap alone; the
Belgian test bed still credits its Belgian sources where they were read.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.text import Text
from test_pipeline import sample_config
from test_regions import BELGIAN

from productivecity import DataQualityWarning
from productivecity._errors import ConfigError, SchemaError
from productivecity.layers import load_layers
from productivecity.outputs import maps, webmap
from productivecity.outputs.attribution import (
    attribution,
    credit_date,
    dated_attribution,
    known_credits,
    layer_credits,
    resolve_credits,
)
from productivecity.siting.criteria import CriteriaSpec, Criterion
from productivecity.siting.scoring import score_sites
from productivecity.sources.catalog import sample_data_dir
from productivecity.sources.load_report import (
    OSM_CREDIT,
    SAMPLE_CREDIT,
    Credit,
    LayerReport,
    collect_credits,
    gtfs_credit,
    record_credit,
)
from productivecity.sources.source_dates import name_date, osm_xml_date, pbf_date, source_date
from productivecity.sources.transit import read_gtfs_stops
from productivecity.workflow.config import OUTPUT_FILES, load_config
from productivecity.workflow.run import run_pipeline

OSM_LINE = "© OpenStreetMap contributors (ODbL)"

# ------------------------------------------------------------------------------ the parts


def test_credit_line_and_report_keep_each_source_once():
    assert OSM_CREDIT.line() == OSM_LINE
    assert Credit("x", "X data (CC0)", "CC0").line() == "X data (CC0)"  # licence named once
    rep = LayerReport("poi")
    rep.credit(OSM_CREDIT, Credit("x", "X data"))
    rep.credit(OSM_CREDIT)
    assert [c.key for c in rep.credits] == ["osm", "x"]
    assert rep.as_dict()["credits"] == f"{OSM_LINE}; X data"
    # a report read back from the step cache (JSON dicts) has its credits again
    back = LayerReport(**json.loads(json.dumps(dataclasses.asdict(rep))))
    assert back.credits == rep.credits


def test_a_file_of_the_sample_credits_the_sample_only():
    rep = LayerReport("poi")
    rep.credit(OSM_CREDIT, source=sample_data_dir() / "osm" / "sample_canal_town.osm")
    assert rep.credits == [SAMPLE_CREDIT]
    # the synthetic OSM file states no date: its file's date, called so
    assert rep.credits[0].date_kind == "file" and rep.credits[0].date
    with collect_credits() as got:
        record_credit(Credit("x", "X office"), source=sample_data_dir() / "labour" / "x.csv")
        record_credit(Credit("y", "Y office"), source="/elsewhere/y.csv")
    assert [c.key for c in got] == ["sample", "y"]
    record_credit(OSM_CREDIT)  # no collector open: nothing to record, no error


def test_collectors_nest_and_close():
    with collect_credits() as outer:
        record_credit(OSM_CREDIT)
        with collect_credits() as inner:
            record_credit(Credit("y", "Y"))
        record_credit(Credit("z", "Z"))
    assert [c.key for c in outer] == ["osm", "y", "z"]
    assert [c.key for c in inner] == ["y"]


def test_gtfs_feed_credits_its_agency_else_its_folder(tmp_path):
    stops = "stop_id,stop_name,stop_lat,stop_lon\ns1,Tori,60.53,26.95\n"
    for name, agency in (("kotka_bus", "agency_id,agency_name\nA,Kotkan Citybus\n"),
                         ("feed_2", None)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "stops.txt").write_text(stops, encoding="utf-8")
        if agency:
            (folder / "agency.txt").write_text(agency, encoding="utf-8")
    _, rep = read_gtfs_stops(tmp_path / "kotka_bus")
    assert [c.line() for c in rep.credits] == ["Kotkan Citybus (GTFS)"]
    _, rep = read_gtfs_stops(tmp_path / "feed_2")
    assert [c.line() for c in rep.credits] == ["GTFS feed feed_2"]
    assert gtfs_credit(None, tmp_path / "feed_2") == rep.credits[0]


def test_attribution_orders_known_sources_first_and_checks_keys():
    gtfs = gtfs_credit("Kotkan Citybus", "x")
    assert attribution([gtfs, "statbel", OSM_CREDIT, "osm"]) == (
        f"{OSM_LINE}; Statbel; Kotkan Citybus (GTFS)")
    with pytest.raises(SchemaError, match="unknown data source key.*'google'.*known keys"):
        attribution(["google"])
    assert list(known_credits())[:2] == ["osm", "sample"]


# ------------------------------------------------------------------------------ scenario override


def test_override_replaces_or_extends():
    read = [OSM_CREDIT, gtfs_credit("Kotkan Citybus", "x")]
    assert attribution(resolve_credits(read)) == f"{OSM_LINE}; Kotkan Citybus (GTFS)"
    assert attribution(resolve_credits(read, extra="© Kotka (CC BY 4.0)")) == (
        f"{OSM_LINE}; Kotkan Citybus (GTFS); © Kotka (CC BY 4.0)")
    # a key stands for its standard line; other entries are the line itself
    assert attribution(resolve_credits(read, replace=["Kotka planning", "osm"])) == (
        f"{OSM_LINE}; Kotka planning")
    assert attribution(resolve_credits(read, replace="Kotka planning",
                                       extra=[" Tilastokeskus "])) == (
        "Kotka planning; Tilastokeskus")


@pytest.mark.parametrize(("key", "value", "match"), [
    ("attribution", [], r"\[outputs\] attribution is an empty list"),
    ("attribution", "  ", r"\[outputs\] attribution: every entry must be a non-empty"),
    ("attribution_extra", ["ok", ""], r"\[outputs\] attribution_extra: every entry"),
])
def test_empty_override_is_refused(key, value, match):
    with pytest.raises(ConfigError, match=match):
        resolve_credits([OSM_CREDIT], **{"replace" if key == "attribution" else "extra": value})


def test_bad_override_in_a_scenario_is_refused_before_any_step(tmp_path):
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache", outputs={"attribution": ""})
    with pytest.raises(ConfigError, match=r"\[outputs\] attribution: every entry"):
        run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache",
                        outputs={"attribution_extra": 3})
    with pytest.raises(ConfigError, match=r"attribution_extra must be a string or a list"):
        load_config(cfg)
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache",
                        outputs={"attributions": "mine"})
    with pytest.raises(ConfigError, match=r"unknown key 'attributions'.*attribution_extra"):
        load_config(cfg)


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """The sample scenario with an extra credit, then (steps cached) with its own credits."""
    base = tmp_path_factory.mktemp("attribution_runs")
    formats = ["webmap", "report", "csv"]
    extra = sample_config(base, cache_dir=base / "cache",
                          outputs={"formats": formats, "attribution_extra": "© Extra (CC0)"})
    first = run_pipeline(extra, out_dir=base / "extra", progress=False)
    (base / "second").mkdir()
    own = sample_config(base / "second", cache_dir=base / "cache",
                        outputs={"formats": formats, "attribution": ["Own credit", "osm"]})
    second = run_pipeline(own, out_dir=base / "own", progress=False)
    return first, second


def _texts(out_dir):
    return {name: (out_dir / OUTPUT_FILES[name]).read_text(encoding="utf-8")
            for name in ("webmap", "report")}


def _sources_line(text: str) -> str:
    """The credit line of a web map or report ("Sources: ... · " / "Sources: ...<br>")."""
    found = re.findall(r"Sources: (.*?)(?: · |<br>)", text)
    assert len(set(found)) == 1, found
    return html.unescape(found[0])


@pytest.mark.slow
def test_sample_run_credits_itself_plus_the_extra(sample_runs):
    first, _ = sample_runs
    m = first.manifest
    line = ("synthetic sample data of productivecity (not real data); productivecity hub "
            "catalogue (public sources, OpenStreetMap); © Extra (CC0)")
    assert m["attribution"] == line
    assert [c["key"] for c in m["credits"]] == ["sample", "hubs_catalogue", "text:© Extra (CC0)"]
    assert not BELGIAN.search(line)
    # the web map and the report date each source: the sample's files state no date
    sample_date = m["credits"][0]["date"]
    assert m["credits"][0]["date_kind"] == "file" and re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                                                                  sample_date)
    dated = line.replace("(not real data);", f"(not real data), file date {sample_date};")
    for name, text in _texts(first.out_dir).items():
        assert _sources_line(text) == dated, name
        # no "made" date unless the scenario gives one: never the inputs' copy date
        assert f"Made {m['date']}" not in text and f"Made {sample_date}" not in text, name
    assert "Made with productivecity" in _texts(first.out_dir)["report"]


@pytest.mark.slow
def test_scenario_attribution_replaces_what_was_read(sample_runs):
    _, second = sample_runs
    steps = {s["step"]: s["status"] for s in second.manifest["run"]["steps"]}
    assert steps["indicators"] == steps["demand"] == "cached"  # credits come from the cache
    assert second.manifest["attribution"] == f"{OSM_LINE}; Own credit"
    for name, text in _texts(second.out_dir).items():
        assert _sources_line(text) == f"{OSM_LINE}; Own credit", name


# ------------------------------------------------------------------------------ OSM only

LAT0, LON0 = 60.5300, 26.9500
M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))


def _lonlat(dx_m: float, dy_m: float) -> tuple[float, float]:
    return LON0 + dx_m / M_PER_DEG_LON, LAT0 + dy_m / M_PER_DEG_LAT


@pytest.fixture
def osm_only(tmp_path):
    """A data directory with one OSM XML file: an industrial area, a bus stop, a hackerspace."""
    nodes = {1: (0, 0), 2: (400, 0), 3: (400, 300), 4: (0, 300)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (dx, dy) in nodes.items():
        lon, lat = _lonlat(dx, dy)
        lines.append(f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}"/>')
    for nid, dx, dy, tags in ((10, 600, 100, {"highway": "bus_stop", "name": "Tori"}),
                              (11, 200, 500, {"leisure": "hackerspace", "name": "Kotka Lab"})):
        lon, lat = _lonlat(dx, dy)
        lines.append(f'<node id="{nid}" version="1" lat="{lat:.8f}" lon="{lon:.8f}">'
                     + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</node>")
    lines.append('<way id="100" version="1">' + "".join(
        f'<nd ref="{r}"/>' for r in (1, 2, 3, 4, 1)) + '<tag k="landuse" v="industrial"/></way>')
    lines.append("</osm>")
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "kotka.osm").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (x0, y0), (x1, y1) = _lonlat(-200, -200), _lonlat(800, 700)
    area = gpd.GeoDataFrame({"name": ["Kotka test"]}, geometry=[shapely.box(x0, y0, x1, y1)],
                            crs="EPSG:4326")
    return tmp_path, area


def _scored_sites(layers):
    """Square 100 m cells over the area, scored by their (real) industrial share."""
    area = layers["study_area"].geometry.iloc[0]
    xmin, ymin, xmax, ymax = area.bounds
    cells = [shapely.box(x, y, x + 100, y + 100) for x in np.arange(xmin, xmax, 100)
             for y in np.arange(ymin, ymax, 100)]
    cells = shapely.intersection(np.array(cells), area)
    sites = gpd.GeoDataFrame(geometry=cells, crs=layers["study_area"].crs,
                             index=[f"S{i:03d}" for i in range(len(cells))])
    sites.index.name = "site_id"
    ind = shapely.union_all(layers["industrial_zones"].geometry.values)
    sites["industrial_share_pct"] = 100 * shapely.area(
        shapely.intersection(sites.geometry.values, ind)) / shapely.area(sites.geometry.values)
    spec = CriteriaSpec(criteria=(Criterion("industrial", "industrial_share_pct", weight=1.0),))
    return sites.join(score_sites(sites, spec).table)


def test_osm_only_layers_and_outputs_credit_only_osm(osm_only, tmp_path):
    data_dir, area = osm_only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        layers = load_layers(area, data_dir=data_dir, skip_missing=True, progress=False)
    assert {"industrial_zones", "transit_stops", "hubs"} <= set(layers.layers)
    assert "units_municipalities" not in layers.layers  # left out: credits nothing
    for name in ("industrial_zones", "transit_stops", "hubs"):
        rep = next(r for r in layers.reports if r.layer == name)
        assert rep.credits == [OSM_CREDIT], name
    assert layer_credits(layers) == [OSM_CREDIT]
    assert attribution(layer_credits(layers)) == OSM_LINE
    # the map footer and the web map say so, with nothing Belgian
    sites = _scored_sites(layers)
    fig, _ = maps.plot_overview(sites, layers)
    footers = [t.get_text() for t in fig.findobj(Text) if t.get_text().startswith("Sources")]
    # the OSM file states no date and its name none: the file's date, called so
    copied = layer_credits(layers)[0].date
    assert footers and footers[0].splitlines()[0] == f"Sources: {OSM_LINE}, file date {copied}"
    assert not any(BELGIAN.search(t) for t in footers)
    path = webmap.write_web_map(sites, layers, tmp_path / "map.html")
    assert _sources_line(path.read_text(encoding="utf-8")) == f"{OSM_LINE}, file date {copied}"


@pytest.mark.integration
def test_karhula_credits_only_openstreetmap(karhula):
    area = gpd.GeoDataFrame({"name": ["Karhula"]},
                            geometry=[shapely.box(26.935, 60.522, 26.965, 60.538)],
                            crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        layers = load_layers(area, data_dir=karhula, skip_missing=True, progress=False)
    assert {"industrial_zones", "transit_stops"} <= set(layers.layers)
    assert layer_credits(layers) == [OSM_CREDIT]
    assert all(r.credits in ([], [OSM_CREDIT]) for r in layers.reports)


# ------------------------------------------------------------------------------ Belgian test bed


@pytest.mark.integration
def test_brussels_testbed_credits_the_belgian_sources_read(testbed):
    from productivecity.workflow.inputs import read_jobseekers, read_unit_rates

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        layers = load_layers("brussels-vilvoorde", data_dir=testbed, progress=False)
    keys = {r.layer: [c.key for c in r.credits] for r in layers.reports}
    assert keys["industrial_zones"] == keys["canal"] == ["osm"]
    assert keys["units_municipalities"] == ["file:gemeente.shp", "statbel"]
    assert keys["units_neighbourhoods"] == ["provincies", "statbel"]
    assert set(keys["transit_stops"]) == {"stib", "irail"}
    assert "hubs_catalogue" in keys["hubs"]
    line = attribution(layer_credits(layers))
    assert line.startswith(f"{OSM_LINE}; Statbel; Data & Analyse van de Vlaamse provincies; "
                           f"iRail (CC0); STIB-MIVB open data")
    assert "Actiris" not in line and "BEST-COST" not in line  # not read by the layers
    # the demand inputs of the indicators credit their own sources
    with collect_credits() as got:
        read_jobseekers(layers, testbed, year=2024)
        read_unit_rates(testbed)
    assert [c.line() for c in got] == ["Actiris / view.brussels", "BEST-COST / Sciensano"]


# ------------------------------------------------------------------------------ data dates


def _osm_xml(path, root="", elements=("", "")):
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6"{root}>\n'
        f'<node id="1" version="1" lat="60.5" lon="26.9"{elements[0]}/>\n'
        f'<node id="2" version="1" lat="60.6" lon="26.9"{elements[1]}/>\n</osm>\n',
        encoding="utf-8")
    return path


def test_osm_xml_is_dated_by_its_data_not_its_copy(tmp_path):
    newest = ' timestamp="2019-06-30T10:00:00Z"', ' timestamp="2018-01-02T00:00:00Z"'
    # the newest edit of its elements
    assert osm_xml_date(_osm_xml(tmp_path / "a.osm", elements=newest)) == "2019-06-30"
    assert source_date(tmp_path / "a.osm") == ("2019-06-30", "data")
    # the extract's own timestamp wins over the elements'
    stamped = _osm_xml(tmp_path / "b.osm", root=' timestamp="2020-02-29T23:59:59Z"',
                       elements=newest)
    assert source_date(stamped) == ("2020-02-29", "data")
    # no date inside: one in the name, else the file's date, each called so
    assert source_date(_osm_xml(tmp_path / "town_2015-07-01.osm")) == ("2015-07-01", "name")
    plain = source_date(_osm_xml(tmp_path / "town.osm"))
    assert plain is not None and plain[1] == "file"
    assert name_date("01_01_2013_brussels_capital_region.osm.pbf") == "2013-01-01"
    assert source_date(tmp_path / "missing.osm") is None


def test_pbf_header_date_is_read(tmp_path):
    import osmium

    header = osmium.io.Header()
    header.set("osmosis_replication_timestamp", "2024-03-05T21:00:00Z")
    path = tmp_path / "extract-latest.osm.pbf"
    writer = osmium.SimpleWriter(str(path), header=header)
    writer.add_node(osmium.osm.mutable.Node(id=1, location=(26.9, 60.5)))
    writer.close()
    assert pbf_date(path) == "2024-03-05"
    rep = LayerReport("streets")
    rep.credit(OSM_CREDIT, source=path)
    assert (rep.credits[0].date, rep.credits[0].date_kind) == ("2024-03-05", "data")


def test_dates_of_one_source_fold_and_the_footer_shows_them_apart_from_the_run():
    a = OSM_CREDIT.with_date("2013-01-01")
    b = OSM_CREDIT.with_date("2024-03-05")
    copy = OSM_CREDIT.with_date("2026-11-30", "file")
    assert a == OSM_CREDIT  # the same source, whatever its date
    with collect_credits() as got:
        record_credit(a)
        record_credit(copy)  # a file's date never hides the data's
        record_credit(b)
    assert [(c.date, c.date_kind) for c in got] == [("2013-01-01 – 2024-03-05", "data")]
    actiris = Credit("actiris", "Actiris / view.brussels").with_date(2024)
    assert credit_date(copy, "fr") == "date du fichier 2026-11-30"
    assert dated_attribution([actiris, a]) == (
        f"{OSM_LINE}, data of 2013-01-01; Actiris / view.brussels, data of 2024")
    text = maps.footer_text(date="2026-12-01", sources=[actiris, a], crs="EPSG:3067")
    assert text.splitlines()[0] == (
        f"Sources: {OSM_LINE}, data of 2013-01-01; Actiris / view.brussels, data of 2024")
    assert text.splitlines()[1].endswith("Made 2026-12-01 with productivecity")
    assert "Date:" not in text
    # many sources go on over more lines, broken between sources
    many = [Credit(f"k{i}", f"Source number {i}").with_date(2000 + i) for i in range(12)]
    lines = maps.footer_text(date="2026-12-01", sources=many, width_chars=120).splitlines()
    assert len(lines) == 5 and all(len(x) <= 120 for x in lines)
    assert lines[0].endswith("data of 2002;") and lines[1].startswith("Source number 3,")
    assert "; ".join(lines[:-1]).replace(";;", ";") == "Sources: " + dated_attribution(many)


def test_osm_only_outputs_date_the_osm_data(osm_only, tmp_path):
    data_dir, area = osm_only
    path = data_dir / "osm" / "kotka.osm"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'version="1"', 'version="1" timestamp="2021-09-14T08:00:00Z"'), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        layers = load_layers(area, data_dir=data_dir, skip_missing=True, progress=False)
    credits = layer_credits(layers)
    assert [(c.key, c.date, c.date_kind) for c in credits] == [("osm", "2021-09-14", "data")]
    fig, _ = maps.plot_overview(_scored_sites(layers), layers, date="2026-12-01")
    footer = next(t.get_text() for t in fig.findobj(Text)
                  if t.get_text().startswith("Sources"))
    assert footer.splitlines()[0] == f"Sources: {OSM_LINE}, data of 2021-09-14"
    assert "Made 2026-12-01 with productivecity" in footer.splitlines()[1]


@pytest.mark.integration
def test_testbed_streets_are_dated_2013_not_by_their_copy(testbed):
    pbf = next((testbed / "osm").rglob("*.osm.pbf"))
    assert pbf_date(pbf) is None  # this extract's header states no date
    assert source_date(pbf) == ("2013-01-01", "name")  # its name does
    from productivecity.workflow.inputs import read_jobseekers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        layers = load_layers("brussels-vilvoorde", data_dir=testbed, progress=False)
    osm = next(c for c in layer_credits(layers) if c.key == "osm")
    assert "2013-01-01" in osm.date
    with collect_credits() as got:
        read_jobseekers(layers, testbed, year=2024)
    assert [(c.key, c.date) for c in got] == [("actiris", "2024")]
