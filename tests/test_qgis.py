"""The QGIS project beside the outputs (issue 14): its XML, and QGIS itself opening it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pyogrio
import pyproj
import pytest
from matplotlib import colors as mcolors
from PIL import Image
from test_pipeline import sample_config

from productivecity._errors import ConfigError, SchemaError
from productivecity.outputs.qgis import PROJECT_FILE, SCORE_CMAP, write_qgis_project
from productivecity.workflow.config import OUTPUT_FILES, load_config
from productivecity.workflow.run import run_pipeline

SYSTEM_PYTHON = Path("/usr/bin/python3")
CHECK = Path(__file__).with_name("_qgis_check.py")


@pytest.fixture(scope="module")
def qgis_run(tmp_path_factory):
    """The sample scenario run once, writing only the GeoPackage and the QGIS project."""
    base = tmp_path_factory.mktemp("qgis_run")
    cfg = sample_config(base, cache_dir=base / "cache", outputs={"formats": ["gpkg", "qgis"]})
    run_pipeline(cfg, out_dir=base / "out", progress=False)
    return base / "out"


def _project(out: Path) -> ET.Element:
    with zipfile.ZipFile(out / OUTPUT_FILES["qgis"]) as zf:
        names = zf.namelist()
        assert names == ["project.qgs"]
        return ET.fromstring(zf.read(names[0]))


def _gpkg_layers(out: Path) -> dict[str, dict]:
    path = out / OUTPUT_FILES["gpkg"]
    return {str(n): pyogrio.read_info(path, layer=str(n)) for n, _ in pyogrio.list_layers(path)}


def _maplayers(root: ET.Element) -> dict[str, ET.Element]:
    return {m.findtext("id"): m for m in root.find("projectlayers")}


def _tree_ids(root: ET.Element) -> list[str]:
    return [n.get("id") for n in root.find("layer-tree-group").iter("layer-tree-layer")]


# --------------------------------------------------------------------------- the XML


def test_run_writes_the_project_beside_the_gpkg(qgis_run):
    assert OUTPUT_FILES["qgis"] == PROJECT_FILE
    assert sorted(p.name for p in qgis_run.iterdir()) == [
        "manifest.json", "project.qgz", "results.gpkg"]


def test_every_gpkg_layer_is_in_the_project_with_a_relative_source(qgis_run):
    root = _project(qgis_run)
    layers = _gpkg_layers(qgis_run)
    assert {"sites", "places", "hubs", "canal_zone", "criteria", "coverage_curve"} <= set(layers)
    sources = [m.findtext("datasource") for m in root.find("projectlayers")]
    assert all(s.startswith("./results.gpkg|layername=") for s in sources), sources
    assert {s.split("layername=")[1] for s in sources} == set(layers)
    tree_sources = {n.get("source") for n in root.iter("layer-tree-layer")}
    assert tree_sources == set(sources)
    assert root.find("properties/Paths/Absolute").text == "false"
    # the tree and the drawing order name the same layers, each once
    ids = _tree_ids(root)
    assert len(ids) == len(set(ids)) == len(sources)
    assert [e.get("id") for e in root.find("layerorder")] == ids
    # tables without geometry are tables
    for m in root.find("projectlayers"):
        table = m.findtext("datasource").split("layername=")[1]
        spatial = layers[table]["geometry_type"] is not None
        assert (m.get("wkbType") == "NoGeometry") != spatial, table


def test_project_crs_and_view_are_the_runs(qgis_run):
    root = _project(qgis_run)
    crs = pyproj.CRS.from_user_input(_gpkg_layers(qgis_run)["sites"]["crs"])
    srs = root.find("projectCrs/spatialrefsys")
    assert srs.findtext("authid") == f"EPSG:{crs.to_epsg()}"
    assert pyproj.CRS.from_wkt(srs.findtext("wkt")) == crs
    view = root.find("ProjectViewSettings/DefaultViewExtent")
    area = pyogrio.read_info(qgis_run / "results.gpkg", layer="study_area",
                             force_total_bounds=True)["total_bounds"]
    x0, y0, x1, y1 = (float(view.get(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
    assert x0 < area[0] < area[2] < x1 and y0 < area[1] < area[3] < y1


def test_styles_follow_the_atlas(qgis_run):
    root = _project(qgis_run)
    layers = _maplayers(root)
    by_table = {}
    for lid, m in layers.items():
        by_table.setdefault(m.findtext("datasource").split("layername=")[1], []).append(lid)
    score = next(layers[i] for i in by_table["sites"] if "score" in i)
    status = next(layers[i] for i in by_table["sites"] if "status" in i)
    # the score ramp: graduated on score, the atlas colour map, covering every score
    ren = score.find("renderer-v2")
    assert (ren.get("type"), ren.get("attr")) == ("graduatedSymbol", "score")
    ranges = ren.findall("ranges/range")
    values = pyogrio.read_dataframe(qgis_run / "results.gpkg", layer="sites",
                                    columns=["score"], read_geometry=False)["score"].dropna()
    assert float(ranges[0].get("lower")) <= values.min()
    assert float(ranges[-1].get("upper")) >= values.max()
    colours = [_fill_colour(s) for s in ren.findall("symbols/symbol")]
    cmap = mpl.colormaps[SCORE_CMAP]
    n = len(ranges)
    assert colours[0] == _rgb(cmap(0.5 / n)) and colours[-1] == _rgb(cmap(1 - 0.5 / n))
    # excluded hatched, not assessable dotted: a rule-based renderer on status
    ren = status.find("renderer-v2")
    assert ren.get("type") == "RuleRenderer"
    rules = {r.get("filter"): r.get("symbol") for r in ren.iter("rule")}
    symbols = {s.get("name"): s for s in ren.find("symbols")}
    classes = {f: [la.get("class") for la in symbols[s].findall("layer")]
               for f, s in rules.items()}
    assert classes["\"status\" = 'excluded'"] == ["SimpleFill", "LinePatternFill"]
    assert classes["\"status\" = 'not assessable'"] == ["SimpleFill", "PointPatternFill"]
    # hubs: the atlas's diamonds; place names as labels
    hub = layers[by_table["hubs"][0]].find("renderer-v2/symbols/symbol/layer")
    assert _option(hub, "name") == "diamond"
    assert _option(hub, "color") == _rgba_text("#d1495b")
    places = layers[by_table["places"][0]]
    assert places.get("labelsEnabled") == "1"
    assert "place_name" in places.find("labeling/settings/text-style").get("fieldName")
    # the atlas order: places on top, scores over the excluded sites, the study area's
    # fill at the bottom of the map, the tables last
    ids = _tree_ids(root)
    pos = {lid: i for i, lid in enumerate(ids)}
    assert ids[0] in by_table["places"]
    assert pos[score.findtext("id")] < pos[status.findtext("id")] < \
        pos[by_table["industrial_zones"][0]]
    fill = next(i for i in by_table["study_area"] if "fill" in i)
    assert all(pos[fill] > pos[i] for i in ids if layers[i].get("wkbType") != "NoGeometry"
               and i != fill)
    assert all(pos[i] > pos[fill] for i in ids if layers[i].get("wkbType") == "NoGeometry")


def test_written_twice_the_same_bytes(qgis_run, tmp_path):
    shutil.copy(qgis_run / "results.gpkg", tmp_path / "results.gpkg")
    a = write_qgis_project(tmp_path / "results.gpkg", tmp_path / "a.qgz", lang="nl")
    first = a.read_bytes()
    write_qgis_project(tmp_path / "results.gpkg", a, lang="nl", overwrite=True)
    assert a.read_bytes() == first
    with zipfile.ZipFile(a) as zf:
        xml = zf.read("a.qgs").decode("utf-8")
    assert "Geschiktheidsscore" in xml  # layer names in the run's language


def test_project_needs_its_gpkg_folder(qgis_run, tmp_path):
    with pytest.raises(SchemaError, match="must be in the folder of"):
        write_qgis_project(qgis_run / "results.gpkg", tmp_path / "project.qgz")
    with pytest.raises(SchemaError, match=r"\.qgz"):
        write_qgis_project(qgis_run / "results.gpkg", qgis_run / "project.qgs")


def test_qgis_without_gpkg_is_a_config_error(tmp_path):
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache",
                        outputs={"formats": ["csv", "qgis"]})
    with pytest.raises(ConfigError, match=r"'qgis'.*add 'gpkg'"):
        load_config(cfg)


# --------------------------------------------------------------------------- QGIS itself


@pytest.fixture(scope="module")
def system_qgis() -> Path:
    """Debian's Python with QGIS's bindings (.ci/run installs them); CI fails without."""
    ok = SYSTEM_PYTHON.exists() and subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import qgis.core"], capture_output=True,
        env=_qgis_env(), timeout=120).returncode == 0
    if not ok:
        msg = f"{SYSTEM_PYTHON} cannot import qgis (apt-get install qgis python3-qgis)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(msg)
        pytest.skip(msg)
    return SYSTEM_PYTHON


def _qgis_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _open_in_qgis(python: Path, project: Path, png: Path) -> dict:
    proc = subprocess.run([str(python), str(CHECK), str(project), str(png)],
                          capture_output=True, text=True, env=_qgis_env(), timeout=300,
                          cwd=png.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_qgis_opens_the_project_and_draws_the_score_ramp(qgis_run, system_qgis, tmp_path):
    png = tmp_path / "canvas.png"
    report = _open_in_qgis(system_qgis, qgis_run / PROJECT_FILE, png)
    assert report["read"] and not report["errors"]
    crs = pyproj.CRS.from_user_input(_gpkg_layers(qgis_run)["sites"]["crs"])
    assert report["crs"] == f"EPSG:{crs.to_epsg()}"
    assert report["absolute_paths"] is False
    gpkg = _gpkg_layers(qgis_run)
    root = _project(qgis_run)
    assert [e["id"] for e in report["layers"]] == _tree_ids(root)
    for entry in report["layers"]:
        assert entry["loaded"] and entry["valid"], entry
        table = entry["source"].split("layername=")[1]
        assert entry["features"] == gpkg[table]["features"], entry
        if entry["spatial"]:
            assert entry["features"] > 0 and entry["renderer"], entry
    renderers = {e["id"].rsplit("_", 1)[0]: e["renderer"] for e in report["layers"]}
    assert renderers["sites_score"] == "graduatedSymbol"
    assert renderers["sites_status"] == "RuleRenderer"
    # the canvas shows the ramp's low and high classes (drawn at 90 % over the area's fill)
    score = next(m for m in root.find("projectlayers") if m.findtext("id").startswith(
        "sites_score"))
    colours = [_fill_colour(s) for s in score.findall("renderer-v2/symbols/symbol")]
    alpha = float(score.findtext("layerOpacity"))
    img = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    under = np.array(_rgb("#f3f1ec"), dtype=float)
    for colour in (colours[0], colours[-1]):
        seen = alpha * np.array(colour, dtype=float) + (1 - alpha) * under
        near = np.linalg.norm(img - seen, axis=2) < 12
        assert near.sum() > 300, (colour, int(near.sum()))


def test_qgis_opens_the_project_in_a_moved_folder(qgis_run, system_qgis, tmp_path):
    moved = tmp_path / "mailed" / "to someone"
    moved.mkdir(parents=True)
    for name in ("results.gpkg", PROJECT_FILE):
        shutil.copy(qgis_run / name, moved / name)
    report = _open_in_qgis(system_qgis, moved / PROJECT_FILE, tmp_path / "moved.png")
    assert report["read"]
    for entry in report["layers"]:
        assert entry["valid"], entry
        assert Path(entry["source"].split("|")[0]) == moved / "results.gpkg", entry


# --------------------------------------------------------------------------- helpers


def _option(layer: ET.Element, name: str) -> str | None:
    for opt in layer.iter("Option"):
        if opt.get("name") == name:
            return opt.get("value")
    return None


def _rgb(colour) -> tuple[int, int, int]:
    return tuple(int(round(v * 255)) for v in mcolors.to_rgb(colour))


def _rgba_text(colour) -> str:
    return ",".join(str(v) for v in (*_rgb(colour), 255))


def _fill_colour(symbol: ET.Element) -> tuple[int, int, int]:
    text = _option(symbol.find("layer"), "color")
    return tuple(int(v) for v in text.split(",")[:3])


def _gdal_infos(path) -> dict:
    """Every layer's information as GDAL reads it, one open of the file per layer."""
    out = {}
    for name, _ in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=str(name), force_total_bounds=True)
        out[str(name)] = {"geometry_type": info["geometry_type"],
                          "fields": [str(f) for f in info["fields"]],
                          "features": int(info["features"]), "crs": info["crs"],
                          "total_bounds": info.get("total_bounds")}
    return out


def test_layer_information_read_from_the_gpkg_tables_is_gdals(qgis_run, tmp_path):
    import geopandas as gpd
    import pandas as pd
    import shapely

    from productivecity.outputs import qgis

    path = qgis_run / "results.gpkg"
    assert len(qgis._gpkg_tables(path)) > 10  # the run's layers, read from its tables
    assert qgis._layer_infos(path) == _gdal_infos(path)
    # what the tables do not say plainly is left to GDAL: no features, 3D, a CRS of no
    # authority; and a layer name with a quote
    odd = tmp_path / "odd.gpkg"
    crs = pyproj.CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=27 +k=1 +x_0=500000 +units=m")
    frames = {
        "points": gpd.GeoDataFrame({"n": [1, 2]}, geometry=[shapely.Point(1, 2),
                                                            shapely.Point(3, 5)], crs=3067),
        "empty": gpd.GeoDataFrame({"n": pd.Series([], dtype=int)},
                                  geometry=gpd.GeoSeries([], crs=3067)),
        "with z": gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(1, 2, 3)], crs=3067),
        'own "crs"': gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.box(0, 0, 2, 1)],
                                      crs=crs),
    }
    for name, frame in frames.items():
        frame.to_file(odd, layer=name, driver="GPKG", engine="pyogrio")
    pyogrio.write_dataframe(pd.DataFrame({"a": [1.5], "b": ["x"]}), odd, layer="table",
                            driver="GPKG")
    assert set(qgis._gpkg_tables(odd)) == {"points", "table"}
    assert qgis._layer_infos(odd) == _gdal_infos(odd)
