"""A planner outside Belgium with OpenStreetMap alone: Karhula (Kotka, Finland), end to end.

The real extract ``../shared/data/karhula`` (cut by a bounding box) plus an area polygon and
nothing else: ``productivecity run`` with a scenario written for Kotka must give ranked sites
and every output, in the Finnish national grid, true to scale, with the missing inputs listed.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import rasterio
import shapely

from productivecity import CriteriaWarning
from productivecity.cli import main
from productivecity.workflow.config import OUTPUT_FILES, load_config
from productivecity.workflow.inputs import street_network
from productivecity.workflow.run import run_pipeline

pytestmark = pytest.mark.integration

GEOD = pyproj.Geod(ellps="WGS84")
#: The study area: Karhula's industrial riverside and the centre, inside the extract.
AREA_LONLAT = shapely.Polygon([(26.935, 60.522), (26.965, 60.522), (26.965, 60.538),
                               (26.935, 60.538)])

SCENARIO = """
[run]
name = "kotka-karhula"
[area]
file = "area.geojson"
name = "Karhula, Kotka"
data_dir = "{data}"
crs = "EPSG:3067"                 # ETRS-TM35FIN, the Finnish national grid
[sites]
cell_m = 250.0
[criteria]
file = "industrial-reuse"         # shipped with the package
[allocation]
mode = "walk"
limit_min = 10.0
[outputs]
dpi = 80
isochrone_times_min = [5.0, 10.0]
"""

#: Words of Belgian sources, labels and CRSs that must not appear on outputs of Finland.
BELGIAN = re.compile(r"statbel|actiris|best-cost|sciensano|urbis|lambert|31370|brussel|belg",
                     re.IGNORECASE)


@pytest.fixture(scope="module")
def scenario(karhula, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kotka")
    gpd.GeoDataFrame({"name": ["Karhula"]}, geometry=[AREA_LONLAT], crs=4326).to_file(
        folder / "area.geojson", driver="GeoJSON")
    path = folder / "kotka.toml"
    path.write_text(SCENARIO.format(data=karhula.as_posix()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kotka(scenario):
    # criteria whose indicator no site has are dropped, with one warning naming them
    with pytest.warns(CriteriaWarning, match=r"criteria dropped: .*'jobseekers_walk'"):
        return run_pipeline(load_config(scenario), out_dir=scenario.parent / "out",
                            progress=False)


def test_ranked_sites_and_every_output(kotka):
    ranked = kotka.ranked
    eligible = ranked.loc[ranked["status"].eq("eligible")]  # not excluded, not "no data"
    assert len(ranked) > 30 and len(eligible) >= 10
    assert sorted(eligible["rank"].astype(int))[0] == 1 and eligible["score"].notna().all()
    for fmt, name in OUTPUT_FILES.items():  # every default format (PNGs only on request)
        assert (kotka.out_dir / name).exists() == (fmt != "png"), fmt
    assert (kotka.out_dir / "manifest.json").is_file()
    # OSM gives land, vacancy proxies and stops: their indicators are there
    for col in ("industrial_share_pct", "brownfield_share_pct", "unbuilt_industrial_ha",
                "stops_walk_10min_n"):
        assert ranked[col].notna().any(), col
    assert (ranked["stops_walk_10min_n"].fillna(0) > 0).any()  # OSM bus stops


def test_every_output_is_in_the_finnish_grid(kotka):
    gpkg = kotka.out_dir / OUTPUT_FILES["gpkg"]
    for name, geom_type in pyogrio.list_layers(gpkg):
        if geom_type is not None:
            assert pyogrio.read_info(gpkg, layer=name)["crs"] == "EPSG:3067", name
    assert gpd.read_parquet(kotka.out_dir / OUTPUT_FILES["geoparquet"]).crs.to_epsg() == 3067
    with rasterio.open(kotka.out_dir / OUTPUT_FILES["geotiff"]) as src:
        assert src.crs.to_epsg() == 3067
    manifest = json.loads((kotka.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["resolved"]["area"]["crs"] == "EPSG:3067"
    report = (kotka.out_dir / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert "EPSG:3067 (ETRS89 / TM35FIN(E,N))" in report


def test_areas_and_lengths_within_half_a_percent_of_geodesic(kotka, karhula):
    sites = gpd.read_parquet(kotka.out_dir / OUTPUT_FILES["geoparquet"])
    # the cells partition the study area: their areas add up to its geodesic area
    geodesic_ha = abs(GEOD.geometry_area_perimeter(AREA_LONLAT.segmentize(0.0005))[0]) / 1e4
    assert sites["area_ha"].sum() == pytest.approx(geodesic_ha, rel=5e-3)
    # each street edge: its length on the network against its geodesic length
    walk = street_network(karhula, "walk", crs="EPSG:3067")
    assert walk.crs == "EPSG:3067"
    to_ll = pyproj.Transformer.from_crs(walk.crs, 4326, always_xy=True)
    geodesic = np.array([GEOD.line_length(*to_ll.transform(*np.asarray(g.coords).T))
                         for g in walk.edge_geometries])
    assert walk.edge_length_m.sum() == pytest.approx(geodesic.sum(), rel=5e-3)
    np.testing.assert_allclose(walk.edge_length_m, geodesic, rtol=5e-3, atol=0.01)


def test_missing_inputs_listed_at_once(kotka):
    missing = kotka.missing_inputs
    for name in ("canal", "units_municipalities", "units_neighbourhoods", "demand"):
        assert name in missing.index, name
    assert (missing.loc[["canal", "demand"], "status"] == "missing").all()
    dropped = missing.index[missing["status"] == "dropped"]
    assert any("jobseekers_walk" in d for d in dropped)  # no job-seeker data: dropped, named
    assert kotka.failed_sources == []
    manifest = json.loads((kotka.out_dir / "manifest.json").read_text(encoding="utf-8"))
    listed = {r["input"] for r in manifest["results"]["missing_inputs"]}
    assert listed == set(missing.index)
    report = (kotka.out_dir / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert "Inputs the run went without" in report and "units_municipalities" in report
    # missing is missing, never zero
    assert kotka.ranked["jobseekers_walk_20min_n"].isna().all()
    assert kotka.ranked["canal_quay_walk_time_min"].isna().all()
    # the allocation needs demand: skipped, with the reason in the steps
    assert kotka.steps.loc["allocation", "status"] == "skipped"


def test_no_belgian_text_on_the_outputs_of_finland(kotka):
    for fmt in ("report", "webmap"):
        text = (kotka.out_dir / OUTPUT_FILES[fmt]).read_text(encoding="utf-8")
        # the web map embeds Leaflet; look at the visible panels only
        panel = re.findall(r"pc-(?:attr|title|legend)'>(.*?)</div>", text) if fmt == "webmap" \
            else [text]
        hits = [m.group(0) for p in panel for m in BELGIAN.finditer(p)]
        assert not hits, (fmt, hits[:5])
    manifest = json.loads((kotka.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["attribution"].startswith("© OpenStreetMap contributors (ODbL)")
    assert not BELGIAN.search(manifest["attribution"])


@pytest.mark.filterwarnings("ignore::productivecity.CriteriaWarning")
def test_cli_prints_the_missing_inputs_and_exits_zero(kotka, scenario, capsys):
    code = main(["run", str(scenario), "--out", str(scenario.parent / "csv_only"), "-q",
                 "--set", 'outputs.formats=["csv"]'])
    assert code == 0
    code = main(["run", str(scenario), "--out", str(scenario.parent / "csv_only"),
                 "--overwrite", "--set", 'outputs.formats=["csv"]'])
    out = capsys.readouterr().out
    assert code == 0
    assert "inputs the run went without" in out and "missing  canal" in out


# ---------------------------------------------------------------- with demand data added

DEMAND = """
[demand]
raster = "population_100m.tif"     # residents per 100 m cell (a made-up grid for the test)
raster_measure = "population_n"
table = "tyonhakijat.csv"          # job seekers per postcode area
code_column = "postinumero"
columns = { jobseekers_n = "hakijat", jobseekers_low_edu_n = "perusaste" }
units_file = "postinumeroalueet.gpkg"
units_code_column = "posti_alue"
"""


@pytest.fixture(scope="module")
def kotka_with_demand(scenario, kotka):
    """The same scenario with a population raster and a job-seeker table by postcode area."""
    folder = scenario.parent
    # a 100 m population grid in the Finnish grid covering the area: 12 persons per cell
    area = gpd.GeoSeries([AREA_LONLAT], crs=4326).to_crs(3067)
    x0, y0 = np.floor(area.total_bounds[:2] / 100) * 100
    x1, y1 = np.ceil(area.total_bounds[2:] / 100) * 100
    width, height = int((x1 - x0) / 100), int((y1 - y0) / 100)
    grid = np.full((height, width), 12.0, dtype="float32")
    with rasterio.open(folder / "population_100m.tif", "w", driver="GTiff", width=width,
                       height=height, count=1, dtype="float32", crs="EPSG:3067",
                       transform=rasterio.Affine(100.0, 0.0, x0, 0.0, -100.0, y1),
                       nodata=-1.0) as dst:
        dst.write(grid, 1)
    # two postcode areas: west and east halves of the study area (and beyond it)
    mid = (x0 + x1) / 2
    units = gpd.GeoDataFrame({"posti_alue": ["48600", "48601"]},
                             geometry=[shapely.box(x0 - 500, y0 - 500, mid, y1 + 500),
                                       shapely.box(mid, y0 - 500, x1 + 500, y1 + 500)],
                             crs=3067)
    units.to_file(folder / "postinumeroalueet.gpkg")
    (folder / "tyonhakijat.csv").write_text(
        "postinumero;hakijat;perusaste\n48600;180;70\n48601;120;40\n99999;5;1\n",
        encoding="utf-8")
    path = folder / "kotka_demand.toml"
    path.write_text(scenario.read_text(encoding="utf-8").replace('name = "kotka-karhula"',
                                                                 'name = "kotka-demand"')
                    + DEMAND, encoding="utf-8")
    with pytest.warns(CriteriaWarning, match="criteria dropped"):
        return run_pipeline(load_config(path), out_dir=folder / "out_demand", progress=False)


def test_labour_indicators_appear_with_a_demand_table_and_raster(kotka_with_demand):
    ranked = kotka_with_demand.ranked
    for col in ("jobseekers_walk_20min_n", "jobseekers_low_edu_walk_20min_n",
                "jobseekers_bike_30min_n", "residents_bike_15min_n"):
        assert ranked[col].notna().any(), col
    # nobody reaches more job seekers than the table holds (conservation: 180 + 120)
    assert ranked["jobseekers_bike_30min_n"].max() <= 300 + 1e-6
    assert (ranked["jobseekers_low_edu_walk_20min_n"] <= ranked["jobseekers_walk_20min_n"]
            + 1e-9).all()
    missing = kotka_with_demand.missing_inputs
    assert "demand" not in missing.index
    dropped = " ".join(missing.index[missing["status"] == "dropped"])
    assert "jobseekers_walk" not in dropped and "residents" not in dropped
    # the allocation runs now; without a neighbourhood layer on 250 m demand cells
    assert kotka_with_demand.steps.loc["allocation", "status"] == "computed"
    manifest = kotka_with_demand.manifest
    notes = " ".join(manifest["results"]["indicators_report"]["notes"])
    assert "99999" in notes  # a table code that matches no unit is listed


# ---------------------------------------------------------------- bad input, as users make it

def test_a_truncated_extract_under_skip_missing_exits_1_and_names_the_sources(
        karhula, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "osm").mkdir(parents=True)
    pbf = (karhula / "karhula_kotka_finland.osm.pbf").read_bytes()
    (data / "osm" / "karhula.osm.pbf").write_bytes(pbf[:60_000])  # a download cut short
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[AREA_LONLAT], crs=4326).to_file(area, driver="GeoJSON")
    args = ["layers", "--area", str(area), "--data-dir", str(data), "-q"]
    assert main([*args, "--out", str(tmp_path / "a.gpkg")]) == 2  # an error, naming the file
    err = capsys.readouterr().err
    assert "karhula.osm.pbf" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main([*args, "--skip-missing", "--out", str(tmp_path / "b.gpkg")]) == 1
    err = capsys.readouterr().err
    assert "failed and were left out: industrial_zones" in err
    # the scenario may accept it
    assert main([*args, "--skip-missing", "--out", str(tmp_path / "c.gpkg"), "--set",
                 'run.allow_failed=["industrial_zones", "canal", "hubs", "transit_stops", '
                 '"poi"]']) == 0


def test_lonlat_area_declared_in_metres_is_one_clear_error(karhula, tmp_path, capsys):
    path = tmp_path / "karhula_area.gpkg"
    gpd.GeoDataFrame(geometry=[AREA_LONLAT], crs=32635).to_file(path)  # wrong CRS declared
    code = main(["layers", "--area", str(path), "--data-dir", str(karhula), "-q",
                 "--out", str(tmp_path / "x.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "karhula_area.gpkg" in err and "look like longitude/latitude" in err
    assert not (tmp_path / "x.gpkg").exists()


def test_a_demand_table_that_cannot_be_used_is_an_error_not_missing(scenario, kotka, capsys):
    folder = scenario.parent
    (folder / "bad_demand.csv").write_text("postinumero;hakijat\n48600;180\n", encoding="utf-8")
    path = folder / "kotka_bad_demand.toml"
    path.write_text(scenario.read_text(encoding="utf-8").replace(
        'name = "kotka-karhula"', 'name = "kotka-bad-demand"')
        + '\n[demand]\ntable = "bad_demand.csv"\ncode_column = "postinumero"\n'
          'columns = { jobseekers_n = "hakijat" }\n', encoding="utf-8")
    code = main(["run", str(path), "--out", str(folder / "bad_demand_out"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "[demand]" in err and "units_file" in err  # says what to give


def test_an_area_outside_the_extract_says_so(karhula, tmp_path, capsys):
    code = main(["indicators", "--area", "bbox:24.90,60.15,24.95,60.17",  # Helsinki
                 "--data-dir", str(karhula), "-q", "--out", str(tmp_path / "x.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "lies outside the street network of" in err and "karhula_kotka_finland" in err
