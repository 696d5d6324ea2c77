"""The pipeline: one config, one command, every output; cache, determinism, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import rasterio
from PIL import Image

from productivecity._errors import ConfigError, OutputExistsError
from productivecity.cli import main
from productivecity.layers import load_layers
from productivecity.outputs import export
from productivecity.sites import grid_sites
from productivecity.workflow.config import FORMATS, OUTPUT_FILES, config_from_dict, load_config
from productivecity.workflow.run import run_pipeline

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "productivecity" / "data" / "scenarios"
CRITERIA = REPO / "productivecity" / "data" / "criteria" / "brussels-canal.toml"


def sample_config(tmp_path: Path, *, cache_dir: Path, weights: dict | None = None,
                  **sections) -> Path:
    """Write a copy of the shipped sample.toml with changed sections; return its path.

    ``weights`` changes criterion weights (inline criteria from brussels-canal.toml);
    ``sections`` update keys of a section, e.g. ``outputs={"formats": ["csv"]}``.
    """
    data = tomllib.loads((SCENARIOS / "sample.toml").read_text(encoding="utf-8"))
    data["run"]["cache_dir"] = str(cache_dir)
    if weights:
        crit = tomllib.loads(CRITERIA.read_text(encoding="utf-8"))
        for c in crit["criterion"]:
            c["weight"] = weights.get(c["name"], c["weight"])
        data["criteria"] = crit
    else:
        data["criteria"] = {"file": str(CRITERIA)}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = tmp_path / "scenario.toml"
    path.write_text(_toml(data), encoding="utf-8")
    return path


def _toml(data: dict) -> str:
    """Serialise the small configs of these tests as TOML (tables, arrays of tables)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines: list[str] = []

    def table(prefix: str, d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)
                   and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        lines.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append(f"\n[{prefix}{k}]")
                table(f"{prefix}{k}.", v)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    lines.append(f"\n[[{prefix}{k}]]")
                    table(f"{prefix}{k}.", item)

    table("", data)
    return "\n".join(lines) + "\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF from its page-tree root (``/Type /Pages ... /Count n``)."""
    data = path.read_bytes()
    counts = [int(m.group(1)) for m in re.finditer(
        rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data, flags=re.S)]
    counts += [int(m.group(1)) for m in re.finditer(
        rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", data, flags=re.S)]
    assert counts, "no page tree found"
    return max(counts)


def gpkg_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every layer of a GeoPackage as a table (geometry as WKB bytes)."""
    out = {}
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        if isinstance(df, gpd.GeoDataFrame):
            df = pd.DataFrame(df.drop(columns=df.geometry.name)).assign(
                wkb=df.geometry.to_wkb())
        out[str(name)] = df
    return out


#: The function doing each step's work (looked up at call time by the steps), and the
#: street network builder (``network``).
COMPUTING = {
    "layers": ("productivecity.layers", "load_layers"),
    "sites": ("productivecity.sites", "candidate_sites"),
    "demand": ("productivecity.workflow.inputs", "load_demand_surface"),
    "indicators": ("productivecity.indicators.table", "site_indicators"),
    "ranking": ("productivecity.siting.ranking", "rank_sites"),
    "allocation": ("productivecity.siting.allocation", "coverage_curve"),
    "isochrones": ("productivecity.accessibility.isochrone_polygons", "isochrones"),
    "network": ("productivecity.workflow.inputs", "street_network"),
}


def spy_computing(mp: pytest.MonkeyPatch) -> dict[str, list]:
    """Wrap the functions of :data:`COMPUTING`; return the arguments of each call by step."""
    import importlib

    calls: dict[str, list] = {name: [] for name in COMPUTING}
    for name, (module, attr) in COMPUTING.items():
        mod = importlib.import_module(module)
        real = getattr(mod, attr)

        def spy(*args, _real=real, _calls=calls[name], **kwargs):
            _calls.append((args, kwargs))
            return _real(*args, **kwargs)

        mp.setattr(mod, attr, spy)
    return calls


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The shipped sample scenario, run once into a fresh output folder and cache."""
    base = tmp_path_factory.mktemp("sample_run")
    # every format, the PNGs (asked for, not written by default) at a low resolution
    cfg = sample_config(base, cache_dir=base / "cache",
                        outputs={"formats": list(FORMATS), "dpi": 60})
    with pytest.MonkeyPatch.context() as mp:
        calls = spy_computing(mp)
        result = run_pipeline(cfg, out_dir=base / "out", progress=False)
    result.calls = calls
    result.config_path = cfg
    result.cache_dir = base / "cache"
    return result


# --------------------------------------------------------------------------- end to end


def test_shipped_scenarios_are_valid():
    for path in sorted(SCENARIOS.glob("*.toml")):
        cfg = load_config(path)
        assert cfg.name == path.stem
        assert cfg.criteria.criteria


def test_sample_run_writes_every_output(sample_run):
    out = sample_run.out_dir
    cfg = load_config(sample_run.config_path)
    # no work done twice: each step's computation runs once, each network is built once
    calls = sample_run.calls
    # isochrones: on foot, and by public transport (its stops seed a walk search)
    assert {k: len(v) for k, v in calls.items() if k != "network"} == {
        k: 2 if k == "isochrones" else 1 for k in COMPUTING if k != "network"}
    modes = [args[1] if len(args) > 1 else kw["mode"] for args, kw in calls["network"]]
    assert modes and sorted(modes) == sorted(set(modes))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in OUTPUT_FILES.values():
        assert (out / name).exists(), name
    # the sites: as many as an independently built grid over the sample study area
    sites, _ = grid_sites(load_layers("sample", progress=False)["study_area"], cell_m=250.0)
    csv = pd.read_csv(out / OUTPUT_FILES["csv"], dtype={"site_id": str})
    assert len(csv) == len(sites) and set(csv["site_id"]) == set(sites.index)
    parquet = gpd.read_parquet(out / OUTPUT_FILES["geoparquet"])
    assert parquet.crs.to_epsg() == 31370 and len(parquet) == len(sites)
    assert parquet["site_id"].tolist() == csv["site_id"].tolist()
    # tables for people: the CSV rounded (English: commas, decimal points), the GeoParquet
    # at full precision; the workbook with its sheets, the same sites, weights summing to 1
    assert (out / OUTPUT_FILES["csv"]).read_bytes().startswith(b"site_id,rank,score,")
    np.testing.assert_array_equal(csv["score"], parquet["score"].round(4))
    assert csv["jobseekers_low_edu_walk_20min_n"].dropna().eq(
        parquet["jobseekers_low_edu_walk_20min_n"].dropna().round()).all()
    assert (parquet["score"].dropna() != parquet["score"].dropna().round(4)).any()
    book = openpyxl.load_workbook(out / OUTPUT_FILES["xlsx"], read_only=True)
    assert book.sheetnames == ["places", "sites", "indicators", "criteria", "about"]
    sheet = {name: pd.DataFrame(list(book[name].values)[1:],
                                columns=next(book[name].values)) for name in book.sheetnames
             if name != "about"}
    book.close()
    assert sheet["sites"]["site_id"].tolist() == csv["site_id"].tolist()
    assert sheet["places"]["place_id"].tolist() == \
        pd.read_csv(out / "ranked_places.csv", dtype={"place_id": str})["place_id"].tolist()
    assert sheet["criteria"]["weight_used"].sum() == pytest.approx(1.0)
    assert set(sheet["criteria"]["column"]) <= set(sheet["indicators"]["indicator"])
    # public transport from the sample's GTFS, at least the walk alone, labelled by source
    assert (csv["jobseekers_transit_30min_n"] >= csv["jobseekers_walk_30min_n"] - 0.5).all()
    assert (csv["jobseekers_transit_45min_n"] > csv["jobseekers_transit_30min_n"]).any()
    assert manifest["results"]["indicators_report"]["transit"]["source"] == "timetable"
    assert sheet["indicators"].set_index("indicator").loc[
        "transit_time_canal_districts_min", "definition"].startswith("[timetable]")

    # atlas: cover, overview, a card per top place, new hubs, one page per criterion
    # column that discriminates (the sample's job seekers by bike do not), isochrones;
    # every page numbered
    crit = sheet["criteria"]
    columns = set(crit.loc[crit["discriminating"].astype(bool), "column"])
    assert crit.loc[crit["criterion"] == "jobseekers_bike", "discriminating"].item() is False
    assert "jobseekers_bike_30min_n" not in columns
    places = pd.read_csv(out / "ranked_places.csv", dtype={"place_id": str})
    cards = places.loc[places["rank"] <= cfg["outputs"]["top_k"], "place_id"].tolist()
    assert len(cards) == cfg["outputs"]["top_k"] == 5
    assert manifest["results"]["allocation"] is not None  # the new-hubs page is drawn
    n_pages = 1 + 1 + len(cards) + 1 + len(columns) + 1 + 1  # + transit isochrones
    assert pdf_page_count(out / OUTPUT_FILES["atlas"]) == n_pages
    pngs = sorted((out / OUTPUT_FILES["png"]).glob("*.png"))
    assert {p.stem for p in pngs} == ({"cover", "overview", "new_hubs", "isochrones",
                                       "transit_isochrones"}
                                      | {f"place_{c}" for c in cards}
                                      | {f"indicator_{c}" for c in columns})

    def pdf_text(page: int) -> str:
        return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page),
                               str(out / OUTPUT_FILES["atlas"]), "-"],
                              capture_output=True, text=True, check=True).stdout

    first, card, last = pdf_text(1), pdf_text(3), pdf_text(n_pages)
    assert cfg.criteria.description.split(":")[0] in first  # the question, as the title
    assert f"Page 1 / {n_pages}" in first and f"Page {n_pages} / {n_pages}" in last
    assert "Criteria and weights" in first and "Data coverage per municipality" in first
    assert "Same value at every eligible site, so no weight and no map" in first
    assert "Why this place" in card and str(places.loc[0, "street_name"]) in card
    with Image.open(out / "maps" / "overview.png") as im:
        assert im.info["dpi"] == pytest.approx((60, 60), abs=0.01)
        # A3 landscape (the renderer rounds down to whole pixels)
        assert np.allclose(im.size, (420 / 25.4 * 60, 297 / 25.4 * 60), atol=1)

    with rasterio.open(out / OUTPUT_FILES["geotiff"]) as src:
        assert src.crs.to_epsg() == 31370
        assert src.nodata == -9999.0
        assert src.overviews(1)
        band = src.read(1, masked=True)
        assert band.count() > 0
        top_score = parquet.loc[parquet["rank"] == 1, "score"].iloc[0]  # CSV: rounded
        assert float(band.max()) == pytest.approx(top_score, rel=1e-6)

    layers = {str(n) for n, _ in pyogrio.list_layers(out / OUTPUT_FILES["gpkg"])}
    assert {"sites", "study_area", "industrial_zones", "hubs", "canal_zone", "new_hubs",
            "demand_units", "isochrones", "coverage_curve", "criteria",
            "sensitivity_one_at_a_time", "indicator_definitions"} <= layers
    curve = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="coverage_curve")
    assert curve["k"].tolist() == list(range(cfg["allocation"]["k"] + 1))
    assert (np.diff(curve["covered_demand_n"]) >= -1e-6).all()  # more hubs never cover less

    top = csv.loc[csv["rank"] <= 10, "site_id"]
    report = (out / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    webmap = (out / OUTPUT_FILES["webmap"]).read_text(encoding="utf-8")
    assert len(top) >= 10 and all(sid in webmap for sid in top)
    # the report lists the top places (by their best cell), the manifest too
    places = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="places")
    best = places.sort_values("rank")["best_site_id"].head(cfg["outputs"]["top_k"])
    assert len(best) == cfg["outputs"]["top_k"] and all(sid in report for sid in best)
    assert [p["best_site_id"] for p in manifest["results"]["top_places"]] == best.tolist()
    assert csv["place_id"].dropna().isin(places["place_id"]).all()

    # manifest: keys, input hashes and dates, versions, step times
    assert {"config", "inputs", "environment", "files", "results", "run", "date"} <= set(manifest)
    assert manifest["config"]["resolved"]["sites"]["cell_m"] == 250.0
    roles = {r["role"] for r in manifest["inputs"]}
    assert {"config", "criteria", "data"} <= roles
    data_dir = Path(manifest["data_dir"])
    for rec in manifest["inputs"]:
        path = data_dir / rec["path"] if rec["role"] == "data" else Path(rec["path"])
        assert rec["sha256"] == sha256(path), rec["path"]
        assert rec["modified"][:10] <= manifest["date"] or rec["role"] in ("config", "criteria")
    data_files = {r["path"] for r in manifest["inputs"] if r["role"] == "data"}
    assert "osm/sample_canal_town.osm" in data_files
    assert "README.md" not in data_files  # only files the package reads
    env = manifest["environment"]
    assert env["packages"]["geopandas"] == gpd.__version__
    assert env["packages"]["rasterio"] == rasterio.__version__
    steps = {s["step"]: s for s in manifest["run"]["steps"]}
    assert {"layers", "sites", "indicators", "ranking", "allocation", "isochrones",
            "outputs"} <= set(steps)
    assert all(steps[s]["status"] == "computed" for s in ("layers", "indicators", "ranking"))
    assert sorted(manifest["files"]) == sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
        and p.name != "manifest.json")
    assert not list(out.parent.glob(f".{out.name}.*"))  # no temporary folder left


def test_sample_run_backtests_the_existing_hubs(sample_run):
    """Every hub of the sample is placed on a site; manifest, GeoPackage and report say so."""
    out = sample_run.out_dir
    hubs = load_layers("sample", progress=False)["hubs"]
    bt = sample_run.manifest["results"]["backtest"]
    assert bt["hubs_n"] == len(hubs)
    assert {h["hub_id"] for h in bt["hubs"]} == set(hubs.index)
    ranked = sample_run.ranked
    for h in bt["hubs"]:
        if h["status"] == "eligible":
            assert ranked.loc[h["site_id"], "rank"] == h["rank"]
            assert 0 < h["percentile_pct"] <= 100
        elif h["status"] == "excluded":
            assert h["excluded_reason"] and ranked.loc[h["site_id"], "excluded"]
    table = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="backtest")
    assert sorted(table["hub_id"]) == sorted(hubs.index)
    report = (out / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert "<h2>Back-test" in report and str(hubs["name"].iloc[0]) in report


def test_sample_run_states_the_demand(sample_run):
    """The target group's definition and total, in the manifest and the report."""
    res = sample_run.manifest["results"]
    assert res["demand_definition"] == ("unemployed job seekers (Actiris, annual average 2024) "
                                        "with education: low "
                                        "(actiris_sample_commune_education.csv)")
    sample_data = Path(__file__).resolve().parent.parent / "productivecity" / "data" / "sample"
    table = pd.read_csv(sample_data / "labour" / "actiris_sample_commune_education.csv",
                        sep=";", encoding="utf-8-sig")
    low = table.loc[table["Année"] == 2024, 'Total niveau d\'étude "faible"'].sum()
    assert res["demand_total_n"] == pytest.approx(low)
    report = (sample_run.out_dir / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert "Demand (target group):</b> unemployed job seekers" in report
    assert f"{low:,.0f} persons" in report
    # no reference building stock in the sample: every municipality listed as unchecked
    comp = res["completeness"]
    assert len(comp) == 3 and {c["status"] for c in comp} == {"unchecked"}
    assert all(c["weights"] in ("buildings", "population", "area") for c in comp)
    assert "Building data completeness per municipality" in report


def test_sample_report_travels(sample_run):
    """One file: the maps embedded, the new hubs and the sensitivity in sections of their own."""
    report = (sample_run.out_dir / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    refs = re.findall(r"""(?:src|href)=['"]([^'"]*)""", report)
    assert refs and all(r.startswith(("data:", "#")) for r in refs)
    assert "<h2>New hubs</h2>" in report and "<svg" in report
    alloc = sample_run.manifest["results"]["allocation"]
    assert f"With {alloc['k']} new hubs" in report
    assert "<h2>Sensitivity of the ranking</h2>" in report and "Top site changes" in report
    assert " x " not in re.sub("<[^>]+>", " ", report.split("Excluded because")[1][:3000])


def test_same_inputs_same_bytes(sample_run, tmp_path):
    """A second run with an empty cache recomputes everything and gives the same outputs."""
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache2",
                        outputs={"formats": list(FORMATS), "dpi": 60})  # as sample_run
    again = run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    assert (again.steps.loc[["layers", "indicators", "ranking", "allocation"], "status"]
            == "computed").all()
    a, b = sample_run.out_dir, again.out_dir
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix in (".png", ".pdf", ".csv", ".tif", ".html", ".parquet", ".xlsx"):
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ta, tb = gpkg_tables(a / OUTPUT_FILES["gpkg"]), gpkg_tables(b / OUTPUT_FILES["gpkg"])
    assert list(ta) == list(tb)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)
    ma, mb = (json.loads((d / "manifest.json").read_text(encoding="utf-8")) for d in (a, b))
    for m in (ma, mb):
        del m["run"]  # timings and cached steps differ by nature
        m["config"].pop("path")  # each run's copy of the config sits in its own folder
        m["config"]["resolved"]["run"].pop("cache_dir")
        m["config"]["as_given"]["run"].pop("cache_dir")
        m["inputs"] = [r for r in m["inputs"] if r["role"] != "config"]
    assert ma == mb


# --------------------------------------------------------------------------- cache


def test_changed_weight_reuses_layers_and_indicators(sample_run, tmp_path):
    cfg = sample_config(tmp_path, cache_dir=sample_run.cache_dir,
                        weights={"jobseekers_walk": 0.05, "brownfield": 0.30},
                        outputs={"formats": ["csv"], "isochrone_top_k": 0})
    with pytest.MonkeyPatch.context() as mp:
        calls = spy_computing(mp)
        result = run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    status = result.steps["status"]
    assert (status[["layers", "sites", "demand", "indicators"]] == "cached").all()
    assert status["ranking"] == "computed"
    assert [len(calls[k]) for k in ("layers", "sites", "demand", "indicators", "ranking")] == [
        0, 0, 0, 0, 1]
    assert status["isochrones"] == "skipped"
    manifest = json.loads((result.out_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [s["status"] for s in manifest["run"]["steps"][:5]] == ["cached"] * 4 + ["computed"]
    old = pd.read_csv(sample_run.out_dir / OUTPUT_FILES["csv"], index_col="site_id")
    new = pd.read_csv(result.out_dir / OUTPUT_FILES["csv"], index_col="site_id")
    assert sorted(old.index) == sorted(new.index)
    ranks_old = old["rank"].reindex(new.index)
    assert not ranks_old.equals(new["rank"])  # the weights moved sites
    # the indicators are the cached ones, identical to the first run
    pd.testing.assert_series_equal(old["brownfield_share_pct"].reindex(new.index),
                                   new["brownfield_share_pct"])
    # the contributions follow the new weights; the sample's jobseekers_bike (weight 0.10) is
    # 7079 at every site, so it does not discriminate and its weight goes to the others
    assert (new["contrib_jobseekers_bike"].dropna() == 0).all()
    assert result.ranked["contrib_brownfield"].max() == pytest.approx(0.30 / 0.90, abs=1e-9)
    assert new["contrib_brownfield"].max() == round(0.30 / 0.90, 4)  # the CSV: rounded


def test_rerun_unchanged_is_all_cached(sample_run, tmp_path):
    # other output formats do not touch the computing steps
    cfg = sample_config(tmp_path, cache_dir=sample_run.cache_dir, outputs={"formats": ["csv"]})
    with pytest.MonkeyPatch.context() as mp:
        calls = spy_computing(mp)
        result = run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    computing = ["layers", "sites", "indicators", "ranking", "allocation", "isochrones"]
    assert (result.steps.loc[computing, "status"] == "cached").all()
    # nothing recomputed: no step's computation ran, no network was built
    assert {k: len(v) for k, v in calls.items()} == dict.fromkeys(COMPUTING, 0)


# --------------------------------------------------------------------------- bad input


def _base() -> dict:
    return {"criteria": {"file": str(CRITERIA)}}


def test_config_lists_every_problem():
    data = {**_base(), "sites": {"cell_m": "250", "kind": "grid", "shapes": "hex"},
            "allocation": {"k": 2.5, "mode": "car"}, "ouputs": {"lang": "nl"},
            "outputs": {"formats": ["atlas", "pdf"], "paper": "A3"}}
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, source="x.toml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("x.toml: 6 problem(s)")
    assert "unknown section [ouputs]" in msg and "known sections: area, sites" in msg
    assert "[sites] unknown key 'shapes'" in msg and "shape = a string (hex | square)" in msg
    assert "[sites] cell_m must be a number > 0, got '250' (str)" in msg
    assert "[allocation] k must be an integer >= 1, got 2.5 (float)" in msg
    assert "[allocation] mode must be a string (walk | bike), got 'car'" in msg
    assert "[outputs] formats must be a list of strings (atlas | png" in msg
    assert isinstance(err.value, ValueError)


def test_config_criteria_problems_are_listed(tmp_path):
    bad = {"criteria": {"criterion": [{"name": "a", "column": "area_ha", "wieght": 1.0}]},
           "sites": {"cell_m": -1}}
    with pytest.raises(ConfigError) as err:
        config_from_dict(bad, source="c.toml")
    assert "wieght" in str(err.value) and "cell_m must be a number > 0" in str(err.value)
    with pytest.raises(ConfigError, match="no_such_column"):
        config_from_dict({"criteria": {"criterion": [{"name": "a", "column": "no_such_column",
                                                      "weight": 1.0}]}})
    with pytest.raises(ConfigError, match="cannot read criteria file"):
        config_from_dict({"criteria": {"file": "missing.toml"}}, base_dir=tmp_path)


def test_config_paths_resolve_against_the_config_folder(tmp_path):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = config_from_dict({**_base(), "area": {"preset": "sample", "data_dir": "../data"},
                            "outputs": {"date": "2025-03-01"}}, base_dir=sub)
    assert cfg["area"]["data_dir"] == (tmp_path / "a" / "data").resolve()
    assert cfg["outputs"]["date"] == "2025-03-01"
    assert cfg["sites"]["cell_m"] == 250.0 and cfg["run"]["cache"] is True


def test_cli_bad_config_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(f'[criteria]\nfile = "{CRITERIA}"\n[sites]\ncellm = 250\n'
                    f'[allocation]\nk = "ten"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unknown key 'cellm'" in err and "cell_m = a number > 0" in err
    assert "[allocation] k must be an integer >= 1, got 'ten' (str)" in err
    assert not out.exists()
    path.write_text("[sites\n", encoding="utf-8")
    assert main(["run", str(path), "-q", "--out", str(out)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_a_run_from_python_frees_its_objects(sample_run, tmp_path):
    """Only the ``productivecity`` command (its process ends after) keeps a run's objects."""
    import gc

    from productivecity.workflow import run as run_module

    frozen = gc.get_freeze_count()
    cfg = sample_config(tmp_path, cache_dir=sample_run.cache_dir, outputs={"formats": ["csv"]})
    run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    assert run_module._KEEP_UNTIL_EXIT is None
    assert gc.get_freeze_count() == frozen  # nothing left out of the collections


def test_cli_subprocess_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[area]\npreset = 3\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "productivecity.cli", "run", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "[area] preset must be a string" in proc.stderr
    assert "missing section [criteria]" in proc.stderr


def test_existing_output_folder_refused_and_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache")
    assert main(["run", str(cfg), "-q", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists and is not empty" in err and "--overwrite" in err
    # --overwrite replaces only the folder of an earlier run (it has a manifest.json)
    assert main(["run", str(cfg), "-q", "--out", str(out), "--overwrite"]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(OutputExistsError, match="is or contains"):
        run_pipeline(cfg, out_dir=tmp_path, overwrite=True, progress=False)


def test_overwrite_replaces_an_earlier_run(sample_run, tmp_path, capsys):
    out = tmp_path / "out"
    cfg = sample_config(tmp_path, cache_dir=sample_run.cache_dir,
                        outputs={"formats": ["csv"], "isochrone_top_k": 0})
    assert main(["run", str(cfg), "-q", "--out", str(out)]) == 0
    (out / "stale.txt").write_text("from before", encoding="utf-8")
    (out / "manifest.json").touch()
    assert main(["run", str(cfg), "-q", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "ranked_places.csv",
                                                     "ranked_sites.csv"]
    assert not list(tmp_path.glob(".out.*"))
    capsys.readouterr()


def test_interrupted_run_leaves_nothing_and_resumes(tmp_path, monkeypatch):
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache",
                        outputs={"formats": ["gpkg", "geotiff", "csv"], "isochrone_top_k": 2})
    out = tmp_path / "out"

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash while writing the CSV")

    monkeypatch.setattr(export, "write_sites_csv", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_pipeline(cfg, out_dir=out, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "scenario.toml"]
    monkeypatch.undo()
    result = run_pipeline(cfg, out_dir=out, progress=False)
    steps = result.steps["status"]
    assert (steps[["layers", "sites", "indicators", "ranking", "allocation",
                   "isochrones"]] == "cached").all()
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json", "ranked_places.csv", "ranked_sites.csv", "results.gpkg",
        "suitability.tif"]


def test_killed_run_temporary_folder_is_removed(tmp_path):
    """A temporary folder of a process that no longer exists is cleaned up by the next run."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    stale = tmp_path / f".out.tmp-{dead}-abc123"
    stale.mkdir()
    (stale / "half.gpkg").write_bytes(b"half")
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache",
                        outputs={"formats": ["csv"], "isochrone_top_k": 0},
                        allocation={"enabled": False})
    result = run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    assert not stale.exists()
    assert result.steps.loc["allocation", "status"] == "skipped"


# --------------------------------------------------------------------------- test bed


@pytest.mark.integration
def test_brussels_vilvoorde_scenario(testbed, tmp_path, caplog):
    """The test-bed scenario as shipped (250 m hexagons of the canal zone), every output."""
    cfg = load_config(SCENARIOS / "brussels-vilvoorde.toml")
    with caplog.at_level("WARNING", logger="productivecity"):
        result = run_pipeline(cfg, data_dir=testbed, out_dir=tmp_path / "bv", progress=False)
    # a calm console: each warning once, each snapping warning names its layer
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == len(set(warned)), warned
    unsnapped = [m for m in warned if "not snapped" in m]
    assert unsnapped and all(re.match(r"[a-z][\w ,()-]*: \d+ of \d+ ", m)
                             and not m.startswith(("items", "facilities")) for m in unsnapped)
    out = result.out_dir
    for fmt, name in OUTPUT_FILES.items():  # every default format (PNGs only on request)
        assert (out / name).exists() == (fmt != "png"), name
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # inputs: the test bed's own checksums agree with the manifest
    sums = dict(reversed(line.split(maxsplit=1)) for line in
                (testbed / "SHA256SUMS.txt").read_text(encoding="utf-8").splitlines()
                if line.strip())
    sums = {k.strip().removeprefix("./").removeprefix("*"): v for k, v in sums.items()}
    data = [r for r in manifest["inputs"] if r["role"] == "data"]
    assert any(r["path"].endswith(".osm.pbf") for r in data)
    checked = [r for r in data if r["path"] in sums]
    assert len(checked) >= 10
    assert all(sums[r["path"]] == r["sha256"] for r in checked)
    # sites: the canal-zone grid, ranked, with some in the top inside Brussels' streets
    csv = pd.read_csv(out / OUTPUT_FILES["csv"], dtype={"site_id": str})
    res = manifest["results"]
    assert len(csv) == res["sites_n"] > 200 and res["eligible_n"] >= 10
    assert "Brussels canal zone" in (out / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    # the demand: low-educated job seekers and those whose foreign diploma is not recognised
    assert "education: low, foreign diploma not recognised; all sexes" in \
        res["demand_definition"]
    assert res["demand_total_n"] == pytest.approx(15_907 + 40_032, abs=0.5)
    # footprints against Statbel's building stock: where too few are mapped, demand falls back
    comp = {c["name"]: c for c in res["completeness"]}
    assert comp["Schaarbeek"]["status"] == "incomplete"
    assert comp["Schaarbeek"]["footprint_share_pct"] == pytest.approx(4.0, abs=0.5)
    assert comp["Schaarbeek"]["weights"] in ("population", "residential land", "area")
    assert comp["Etterbeek"]["status"] == "complete" and comp["Etterbeek"]["weights"] in (
        "buildings", "population")
    checked = [c["completeness"] for c in res["completeness"]
               if c["unit"].startswith("21")]  # the 19 Brussels municipalities
    assert len(checked) == 19 and 0.10 < float(np.median(checked)) < 0.20
    assert manifest["results"]["allocation"]["covered_demand_n"] >= \
        manifest["results"]["allocation"]["baseline_covered_demand_n"]
    # the ten best are ten distinct named places, their best cells at least 500 m apart
    top = res["top_places"]
    assert len(top) == 10 and len({p["name"] for p in top}) == 10
    cent = csv.set_index("site_id").loc[[p["best_site_id"] for p in top],
                                        ["centroid_x_m", "centroid_y_m"]].to_numpy()
    gaps = np.hypot(*(cent[:, None, :] - cent[None, :, :]).transpose(2, 0, 1))
    assert gaps[np.triu_indices(10, 1)].min() >= 500 - 0.01  # centroids rounded to 1 cm
    # three states: Vilvoorde and Machelen have no job-seeker counts: every site there is
    # "not assessable" (never "excluded") with the missing inputs, in the coverage table
    # (manifest, GeoPackage, report)
    assert res["eligible_n"] + res["excluded_n"] + res["not_assessable_n"] == res["sites_n"]
    cov = {c["unit"]: c for c in res["coverage"]}
    assert sum(c["sites_n"] for c in cov.values()) == res["sites_n"]
    for unit in ("Vilvoorde", "Machelen"):
        assert cov[unit]["sites_n"] > 0 and cov[unit]["not_assessable_n"] == cov[unit]["sites_n"]
        assert "jobseekers_low_edu_walk_20min_n" in cov[unit]["missing_columns"]
    assert cov["Vilvoorde"]["sites_n"] > 20
    # honest numbers: equal values (to the indicator's precision) get equal contributions,
    # and an indicator that does not discriminate contributes nothing
    criteria = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="criteria")
    eligible = result.ranked[result.ranked["status"] == "eligible"]
    for row in criteria.itertuples():
        contrib = eligible[f"contrib_{row.criterion}"]
        if not row.discriminating:
            assert (contrib == 0).all(), row.criterion
        key = (eligible[row.column] / row.precision).round()
        assert (contrib.groupby(key).nunique() == 1).all(), row.criterion
    # the report states the demand definition and back-tests the existing hubs
    report_html = (out / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert "foreign diploma not recognised" in report_html and "55,939" in report_html
    assert "<h2>Back-test" in report_html and "Atelier Groot Eiland" in report_html
    na = csv[csv["status"] == "not assessable"]
    assert (~na["excluded"].astype(bool)).all() and na["missing_inputs"].str.len().gt(0).all()
    assert na["score"].isna().all() and (csv["excluded"] == (csv["status"] == "excluded")).all()
    assert "Data coverage per municipality" in \
        (out / OUTPUT_FILES["report"]).read_text(encoding="utf-8")
    assert len(pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="data_coverage")) == \
        len(cov)
    with rasterio.open(out / OUTPUT_FILES["geotiff"]) as src:
        assert src.crs.to_epsg() == 31370 and src.overviews(1)
    # cover, overview, a card per top place, new hubs, one page per criterion that
    # discriminates, isochrones on foot and by public transport (estimated from the lines)
    crit = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="criteria")
    assert pdf_page_count(out / OUTPUT_FILES["atlas"]) == 1 + 1 + cfg["outputs"]["top_k"] + 1 + \
        crit.loc[crit["discriminating"].astype(bool), "column"].nunique() + 1 + 1
    tiso = pyogrio.read_dataframe(out / OUTPUT_FILES["gpkg"], layer="transit_isochrones")
    assert set(tiso["source"]) == {"estimated from line topology"}


def test_commands_one_after_another_equal_run(sample_run, tmp_path, capsys):
    """layers -> indicators -> rank -> allocate on the command line give run's tables.

    The commands read the same scenario (``--config``) without the step cache, so
    nothing is shared with the run but the code.
    """
    cfg = str(sample_run.config_path)
    common = ["--config", cfg, "--set", "run.cache=false", "-q"]
    assert main(["layers", "--out", str(tmp_path / "layers.gpkg"), *common]) == 0
    assert main(["indicators", "--out", str(tmp_path / "sites.gpkg"), *common]) == 0
    assert main(["rank", str(tmp_path / "sites.gpkg"), "--out", str(tmp_path / "ranked.gpkg"),
                 *common]) == 0
    assert main(["allocate", str(tmp_path / "ranked.gpkg"), "--out",
                 str(tmp_path / "alloc.gpkg"), *common]) == 0
    assert capsys.readouterr().err == ""
    run_tables = gpkg_tables(sample_run.out_dir / "results.gpkg")
    cli_layers = gpkg_tables(tmp_path / "layers.gpkg")
    shared = [n for n in cli_layers if n in run_tables]
    assert {"study_area", "industrial_zones", "canal_zone", "hubs"} <= set(shared)
    for name in shared:
        run_table = run_tables[name]
        if name == "study_area":  # the run names the area on maps ([area] name)
            run_table = run_table.drop(columns="name")
            cli_layers[name] = cli_layers[name].drop(columns="name")
        pd.testing.assert_frame_equal(cli_layers[name], run_table, check_like=True)
    # the indicator table of the command line and the ranked sites of the run
    ranked_cli = pyogrio.read_dataframe(tmp_path / "ranked.gpkg", layer="ranked_sites")
    ranked_cli = ranked_cli.set_index("site_id").sort_index()
    ranked_run = sample_run.ranked.sort_index()
    ranked_run.index = ranked_run.index.astype(str)
    assert list(ranked_cli.index) == list(ranked_run.index)
    columns = [c for c in ranked_run.columns if c in ranked_cli.columns and c != "geometry"]
    assert {"score", "rank", "excluded", "jobseekers_walk_20min_n"} <= set(columns)
    for col in columns:
        a = pd.to_numeric(ranked_cli[col], errors="coerce")
        b = pd.to_numeric(ranked_run[col], errors="coerce")
        if a.notna().any() or b.notna().any():
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12,
                                       atol=0, equal_nan=True, err_msg=col)
        else:
            assert list(ranked_cli[col].astype(str)) == list(ranked_run[col].astype(str)), col
    # the allocation: the same new hubs and the same coverage curve
    alloc = sample_run.manifest["results"]["allocation"]
    chosen = pyogrio.read_dataframe(tmp_path / "alloc.gpkg", layer="chosen_sites")
    assert sorted(chosen["site_id"].astype(str)) == sorted(alloc["selected"])
    curve_cli = pyogrio.read_dataframe(tmp_path / "alloc.gpkg", layer="coverage_curve")
    curve_run = run_tables["coverage_curve"]
    np.testing.assert_allclose(curve_cli["covered_demand_n"], curve_run["covered_demand_n"],
                               rtol=1e-12)


def test_networks_prefetched_in_a_second_process_equal_those_built_here(tmp_path):
    """The second process writes the networks (and buildings) the run then loads from cache."""
    from productivecity.network.streets import bike_network, network_cache_file, walk_network
    from productivecity.settings import get_settings
    from productivecity.sources.catalog import DataDir, sample_data_dir
    from productivecity.workflow.config import build_config
    from productivecity.workflow.steps import _Run

    settings = get_settings(cache_dir=tmp_path / "cache")
    run = _Run(build_config(), data_dir=None, settings=settings, progress=False)
    osm = DataDir(sample_data_dir()).find("osm_xml")
    assert run.prefetch_networks(["walk", "bike", "walk"]) == ["walk", "bike"]
    nets = {m: run.network(m) for m in ("walk", "bike")}  # waits for the second process
    for mode, build in (("walk", walk_network), ("bike", bike_network)):
        crs = run.area_crs()  # the sample preset's own
        assert crs == "EPSG:31370"
        assert network_cache_file(osm, mode=mode, crs=crs, settings=settings).is_file(), mode
        assert nets[mode].report.from_cache, mode  # written by the other process
        ref = build(osm, cache=False, crs=crs, settings=settings)
        for name in ("node_id", "x", "y", "edge_u", "edge_v", "edge_length_m", "arc_time_min"):
            np.testing.assert_array_equal(getattr(nets[mode], name), getattr(ref, name))
    assert run.prefetch_networks(["walk", "bike"]) == []  # cached: nothing to start


def test_two_tiers_of_new_hubs(sample_run, tmp_path):
    """[allocation] tiers: neighbourhood hubs on foot, city-wide hubs by public transport."""
    tiers = {"neighbourhood": {"k": 2, "mode": "walk", "limit_min": 10.0},
             "city-wide": {"k": 1, "mode": "transit", "limit_min": 20.0}}
    cfg = sample_config(tmp_path, cache_dir=sample_run.cache_dir,
                        allocation={"tiers": tiers}, outputs={"formats": ["gpkg"]})
    result = run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    gpkg = tmp_path / "out" / OUTPUT_FILES["gpkg"]
    hubs = pyogrio.read_dataframe(gpkg, layer="tier_new_hubs")
    assert sorted(hubs["tier"]) == ["city-wide", "neighbourhood", "neighbourhood"]
    assert hubs["site_id"].is_unique  # one new hub per site
    table = pyogrio.read_dataframe(gpkg, layer="allocation_tiers").set_index("tier")
    assert table.loc["city-wide", "mode"] == "transit"
    # conservation per tier, and new hubs never cover less than the existing ones alone
    np.testing.assert_allclose(table["covered_demand_n"] + table["uncovered_demand_n"],
                               table["total_demand_n"])
    assert (table["covered_demand_n"] >= table["baseline_covered_demand_n"] - 1e-9).all()
    summary = result.manifest["results"]["allocation"]["tiers"]
    assert summary["tiers"]["city-wide"]["selected"] == \
        hubs.loc[hubs["tier"] == "city-wide", "site_id"].tolist()
    assert any("public transport timetable" in n for n in summary["notes"])


def test_isochrones_from_the_second_process_equal_those_computed_here(tmp_path):
    """The second process computes the isochrones while the run goes on: the same frames."""
    from geopandas.testing import assert_geodataframe_equal

    from productivecity.settings import get_settings
    from productivecity.workflow.config import build_config
    from productivecity.workflow.steps import (
        _Run,
        isochrones_step,
        layers_step,
        request_isochrones,
    )

    def new_run(cache: str) -> _Run:
        run = _Run(build_config(), data_dir=None, settings=get_settings(cache_dir=tmp_path / cache),
                   progress=False)
        run.keys["indicators"] = "indicators of the test"
        return run

    run = new_run("there")
    layers = layers_step(run)
    hubs = layers["hubs"]  # three origins, ranked
    ranked = hubs.assign(score=1.0, rank=np.arange(1, len(hubs) + 1))
    assert run.prefetch_networks(["walk", "bike"]) == ["walk", "bike"]
    # the timetable not built in the run (indicators from the cache): not sent there, so
    # that its warnings are shown here
    assert request_isochrones(run, ranked, layers) is None
    run.transit_timetable(layers)  # as the indicators step builds it
    pending = request_isochrones(run, ranked, layers)
    assert pending is not None
    there = isochrones_step(run, ranked, layers, pending=pending)
    assert run.records[-1]["parts_s"]["second_process"] > 0  # computed there
    here = isochrones_step(new_run("here"), ranked, layers)  # no second process
    assert set(there) == set(here) == {"isochrones", "transit_isochrones"}
    for name in here:
        assert_geodataframe_equal(there[name], here[name], check_less_precise=False)
    # the second process gone before it answers: the run computes them itself
    run = new_run("gone")
    run.prefetch_networks(["walk"])
    run.transit_timetable(layers)
    pending = request_isochrones(run, ranked, layers)
    run._helper.proc.kill()
    again = isochrones_step(run, ranked, layers, pending=pending)
    assert "second_process" not in (run.records[-1].get("parts_s") or {})
    assert_geodataframe_equal(again["isochrones"], here["isochrones"])


_FORKED_SCRIPT = """
import pickle, sys
import numpy as np
from productivecity.settings import get_settings
from productivecity.workflow.config import build_config
from productivecity.workflow import steps

def new_run(cache):
    run = steps._Run(build_config(), data_dir=None, settings=get_settings(cache_dir=cache),
                     progress=False)
    run.keys["indicators"] = "indicators of the test"
    return run

run = new_run(sys.argv[1] + "/there")
assert steps._can_fork_helper()  # a fresh interpreter: numba's threads not started
assert run.prefetch_networks(["walk", "bike"]) == ["walk", "bike"]
assert isinstance(run._helper.proc, steps._ForkedHelper)
# the code keys worked out there are those of this process
from productivecity.workflow.cache import step_code_key
keys = run._helper.code_keys()
assert keys and keys == {s: step_code_key(s) for s in steps._KEYED_THERE}, keys
layers = steps.layers_step(run)
run.request_timetable(layers)
assert run._transit_pending is not None
sites, _ = steps.sites_step(run, layers)
demand = steps.demand_step(run, layers)
run.request_transit(sites, layers, demand)
assert run._transit_values is not None
run.request_basemap(layers)
assert run._basemap_pending is not None
here_calls = []  # the transit indicators computed in this process (not in the forked one)
compute = steps._transit_values
steps._transit_values = lambda *a, **k: here_calls.append(1) or compute(*a, **k)
table, _ = steps.indicators_step(run, sites, layers, demand)  # the transit part from there
assert run._transit_values is None and here_calls == [], here_calls
timetable = run.transit_timetable(layers)  # answered there
basemap = run.basemap(layers)  # read there
hubs = layers["hubs"]
ranked = hubs.assign(score=1.0, rank=np.arange(1, len(hubs) + 1))
pending = steps.request_isochrones(run, ranked, layers)
there = steps.isochrones_step(run, ranked, layers, pending=pending)
assert "second_process" in run.records[-1]["parts_s"]
run.close_helper()
here = new_run(sys.argv[1] + "/here")  # no second process: built and computed here
steps.layers_step(here)
steps.sites_step(here, layers)
steps.demand_step(here, layers)
table_here, _ = steps.indicators_step(here, sites, layers, demand)
assert here_calls == [1]
sys.stdout.buffer.write(pickle.dumps(((timetable, there, table, basemap),
                                      (here.transit_timetable(layers),
                                       steps.isochrones_step(here, ranked, layers),
                                       table_here, here.basemap(layers)))))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks")
def test_forked_second_process_gives_what_the_run_computes(tmp_path):
    """A run forks its second process: the timetable and isochrones built there are equal."""
    import pickle

    from geopandas.testing import assert_geodataframe_equal

    proc = subprocess.run([sys.executable, "-c", _FORKED_SCRIPT, str(tmp_path)],
                          capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    (tt_there, iso_there, table_there, bm_there), (tt_here, iso_here, table_here, bm_here) = \
        pickle.loads(proc.stdout)
    assert len(bm_here.streets) and bm_there.languages == bm_here.languages
    for name in ("streets", "rail", "water", "green", "places"):
        assert_geodataframe_equal(getattr(bm_there, name), getattr(bm_here, name))
    assert bm_there.report.notes == bm_here.report.notes
    assert_geodataframe_equal(table_there, table_here, check_less_precise=False)
    transit_cols = [c for c in table_here.columns if "transit" in c]
    assert transit_cols and table_here[transit_cols].notna().any().all()
    assert tt_there[0] is not None and tt_there[1]["source"] == "timetable"
    assert pickle.dumps(tt_there) == pickle.dumps(tt_here)
    assert set(iso_there) == set(iso_here) == {"isochrones", "transit_isochrones"}
    for name in iso_here:
        assert_geodataframe_equal(iso_there[name], iso_here[name], check_less_precise=False)


def test_warnings_of_the_second_process_are_shown_here(caplog):
    import logging
    import warnings

    from productivecity._errors import DataQualityWarning
    from productivecity.workflow.steps import _caught, _replay

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes the capture
        with _caught() as (caught, records):
            for _ in range(3):  # one place: shown once, as a warning from here would be
                warnings.warn("stops off the network", DataQualityWarning, stacklevel=1)
            logging.getLogger("productivecity.indicators").info("transfers walked %s", "here")
    assert len(caught) == 3 and len(records) == 1
    with caplog.at_level(logging.INFO, logger="productivecity"):
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("default")
            assert _replay("result", caught, records) == "result"
    assert [(w.category, str(w.message)) for w in shown] == [
        (DataQualityWarning, "stops off the network")]
    assert shown[0].filename == __file__  # from the place it was raised
    assert "transfers walked here" in caplog.text


def _children() -> set[int]:
    out = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            out |= {int(p) for p in f.read().split()}
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_failed_run_leaves_no_second_process(tmp_path, monkeypatch):
    from productivecity.workflow import run as run_module

    before = _children()
    cfg = sample_config(tmp_path, cache_dir=tmp_path / "cache", outputs={"formats": ["csv"]})

    def fail(*args, **kwargs):
        raise ConfigError("simulated problem in the ranking")

    monkeypatch.setattr(run_module, "ranking_step", fail)
    with pytest.raises(ConfigError, match="simulated problem"):
        run_pipeline(cfg, out_dir=tmp_path / "out", progress=False)
    assert _children() <= before  # the network process was started, and is gone


def test_a_step_computed_before_its_key_is_stored_under_its_inputs_as_given(tmp_path):
    import pandas as pd

    from productivecity.settings import get_settings
    from productivecity.workflow.config import build_config
    from productivecity.workflow.steps import _Run

    run = _Run(build_config(), data_dir=None, settings=get_settings(cache_dir=tmp_path),
               progress=False)
    parts = {"options": {"radius_m": 500}}
    expected = run.step_key("sites", parts)

    def compute():  # a step that changes its own inputs (it should not, but if it did)
        parts["options"]["radius_m"] = 900
        return {"t": pd.DataFrame({"a": [1]})}, {}

    run.step("sites", parts, compute)  # an empty cache: computed first, keyed after
    assert run.keys["sites"] == expected
    assert run.records[-1]["status"] == "computed"
    again = _Run(build_config(), data_dir=None, settings=get_settings(cache_dir=tmp_path),
                 progress=False)
    frames, _ = again.step("sites", {"options": {"radius_m": 500}}, compute)
    assert again.records[-1]["status"] == "cached" and frames["t"]["a"].tolist() == [1]
