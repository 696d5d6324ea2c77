"""Exception and warning classes: exported, built-in bases kept, messages, DataQualityWarning."""

from __future__ import annotations

import inspect
import shutil
import warnings

import geopandas as gpd
import pytest
import shapely

import productivecity
from productivecity import _errors, network
from productivecity import accessibility as acc
from productivecity._errors import (
    DataQualityWarning,
    MissingLayerError,
    ParameterError,
    ParameterTypeError,
    ProductiveCityError,
    ProductiveCityWarning,
    UnknownKeyError,
)
from productivecity.layers import load_layers
from productivecity.sites import grid_sites, read_sites, zone_sites
from productivecity.sources.catalog import sample_data_dir
from productivecity.sources.load_report import LayerReport


def _classes() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(_errors).items()
        if inspect.isclass(obj) and obj.__module__ == _errors.__name__
    }


def test_every_class_is_listed_and_exported():
    classes = _classes()
    assert sorted(_errors.__all__) == sorted(classes)
    for name, cls in classes.items():
        assert getattr(productivecity, name) is cls, name
        assert name in productivecity.__all__, name


def test_every_error_is_a_productivecity_error_and_a_builtin():
    for name, cls in _classes().items():
        if issubclass(cls, Warning):
            assert issubclass(cls, ProductiveCityWarning), name
            continue
        assert issubclass(cls, ProductiveCityError), name
        if cls is not ProductiveCityError:  # also a built-in a caller would catch
            assert any(b.__module__ == "builtins" and b is not Exception for b in cls.__mro__), name


def test_key_errors_print_their_message_plainly():
    exc = MissingLayerError("layer 'canal' was not loaded")
    assert isinstance(exc, KeyError) and isinstance(exc, UnknownKeyError)
    assert str(exc) == "layer 'canal' was not loaded"  # KeyError would add quotes


def test_missing_layer_says_why_and_what_is_there(tmp_path):
    """A layer left out with skip_missing names the reason and the loaded layers."""
    data = tmp_path / "data"
    data.mkdir()
    for sub in ("boundaries", "stats", "labour", "transit"):  # no osm/: no zones, canal, poi
        shutil.copytree(sample_data_dir() / sub, data / sub)
    ls = load_layers("sample", data_dir=data, skip_missing=True, progress=False)
    with pytest.raises(MissingLayerError, match="industrial_zones") as info:
        ls["industrial_zones"]
    msg = str(info.value)
    assert "was not loaded" in msg and "missing input" in msg and "osm" in msg.lower()
    assert "loaded layers: study_area" in msg and "hubs" in msg
    assert not msg.startswith("'")
    with pytest.raises(KeyError, match="not a layer name"):  # a typo is a KeyError as before
        ls["industrial_zone"]


def test_converted_argument_errors_keep_their_builtin():
    area = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000)], crs="EPSG:31370")
    with pytest.raises(ParameterError, match="shape must be one of"):
        grid_sites(area, cell_m=100, shape="triangle")
    with pytest.raises(ValueError, match="min_share_pct must be a number"):
        grid_sites(area, cell_m=100, within=area, min_share_pct="half")
    with pytest.raises(ParameterTypeError, match="zones must be a GeoDataFrame, got list"):
        zone_sites([(0, 0)])
    with pytest.raises(TypeError):
        zone_sites([(0, 0)])


# --------------------------------------------------------------------------- DataQualityWarning


def test_layer_report_warns_about_defects_not_about_design():
    rep = LayerReport("hubs", sources=["my_hubs.csv"])
    rep.skip("no coordinates", 2)
    rep.repaired_n = 1
    with pytest.warns(
        DataQualityWarning,
        match=r"hubs \(my_hubs.csv\): 1 invalid geometry "
        r"repaired; 2 record\(s\) skipped: no coordinates",
    ):
        rep.warn()
    by_design = LayerReport("transit_stops", outside_area_n=5)
    by_design.skip("not a boarding stop: entrance", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_design.warn()  # nothing to warn about


def test_load_layers_warns_about_hubs_without_coordinates(tmp_path):
    hubs = tmp_path / "hubs.csv"
    hubs.write_text("name,lon,lat\nGood Lab,4.35,50.86\nNo Lab,,50.86\nBad Lab,east,50.86\n")
    with pytest.warns(DataQualityWarning, match=r"2 record\(s\) skipped: no coordinates") as rec:
        load_layers("sample", hubs_path=hubs, progress=False)
    hits = [w for w in rec if issubclass(w.category, DataQualityWarning)]
    assert len(hits) == 1
    assert hits[0].filename == __file__  # stacklevel: points at the caller of load_layers


def test_read_sites_warns_about_unusable_features(tmp_path):
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(
        {"site_id": ["poly", "line"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.LineString([(0, 0), (50, 50)])],
        crs="EPSG:31370",
    ).to_file(path)
    with pytest.warns(DataQualityWarning, match=r"1 record\(s\) skipped: not a polygon or point"):
        sites, report = read_sites(path)
    assert list(sites.index) == ["poly"]
    assert report.skipped == {"not a polygon or point (e.g. lines, multipoints)": 1}


def test_snap_reports_unsnapped_items_without_a_warning(caplog):
    """Unsnapped items are counted in the log and the Snapping (no warning: snap runs often)."""
    net = network.from_arrays([0], [1], [1000.0], x={0: 0.0, 1: 1000.0}, y={0: 0.0, 1: 0.0})
    pts = gpd.GeoSeries(
        [shapely.Point(500, 10), shapely.Point(500, 900), None],
        index=["ok", "far", "empty"],
        crs="EPSG:31370",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("WARNING", logger="productivecity"):
            s = acc.snap(net, pts, max_snap_m=250)
    assert list(s.unsnapped.index) == ["far", "empty"]
    assert any("2 of 3 items not snapped" in r.getMessage() for r in caplog.records)
