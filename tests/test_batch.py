"""scripts/run_scenarios.py: batch runs of scenario configs and the comparison of top sites."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "run_scenarios.py"
CRITERIA = REPO_ROOT / "productivecity" / "data" / "criteria" / "brussels-canal.toml"


@pytest.fixture(scope="module")
def batch():
    """The script imported as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("run_scenarios", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_scenarios"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["run_scenarios"]


def run_script(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


# a small, quick scenario on the shipped sample: canal-zone sites, only the CSV output
_COMMON = """
[area]
preset = "sample"
[sites]
kind = "grid"
cell_m = 250.0
within = "canal_zone"
[allocation]
k = 2
limit_min = 10.0
mode = "walk"
[outputs]
formats = ["csv"]
isochrone_top_k = 0
"""

_TRANSIT_CRITERIA = """
[criteria]
name = "transit-first"
[[criteria.criterion]]
name = "tram_metro"
column = "tram_metro_stop_walk_time_min"
direction = "cost"
weight = 0.6
[[criteria.criterion]]
name = "jobseekers_walk"
column = "jobseekers_low_edu_walk_20min_n"
weight = 0.4
[[criteria.constraint]]
column = "open_land_share_pct"
max = 50.0
[criteria.sensitivity]
runs = 100
"""


def expected_top(ranked: pd.DataFrame, k: int) -> list[str]:
    """Top k by hand: eligible sites by rank, then score (desc), then id."""
    ok = ranked.loc[~ranked["excluded"].astype(bool)].reset_index()
    ok = ok.sort_values(["rank", "score", "site_id"], ascending=[True, False, True])
    return ok["site_id"].astype(str).head(k).tolist()


# --------------------------------------------------------------------------- comparison logic


def test_comparison_hand_worked(batch):
    a = pd.DataFrame({"rank": [1, 2, 3, None], "score": [0.9, 0.8, 0.7, None],
                      "excluded": [False, False, False, True]},
                     index=pd.Index(["s1", "s2", "s3", "s4"], name="site_id"))
    # s2 and s5 tie on rank 2: the higher score (s5) comes first; s1 is excluded
    b = pd.DataFrame({"rank": [None, 2, 1, 2, 4], "score": [None, 0.5, 0.9, 0.6, 0.1],
                      "excluded": [True, False, False, False, False]},
                     index=pd.Index(["s1", "s2", "s3", "s5", "s6"], name="site_id"))
    for df in (a, b):
        df["rank"] = df["rank"].astype("Int64")
    tables = batch.compare({"A": a, "B": b}, 2)
    assert tables["top_k"].loc["A"].tolist() == ["s1", "s2"]
    assert tables["top_k"].loc["B"].tolist() == ["s3", "s5"]
    # {s1, s2} vs {s3, s5}: nothing shared
    assert tables["jaccard"].loc["A", "B"] == 0.0 == tables["jaccard"].loc["B", "A"]
    assert (tables["jaccard"].to_numpy().diagonal() == 1.0).all()
    ranks = tables["ranks"]
    assert sorted(ranks.index) == ["s1", "s2", "s3", "s5"]
    assert ranks.loc["s1", "A"] == 1 and pd.isna(ranks.loc["s1", "B"])  # excluded in B
    assert ranks.loc["s5", "B"] == 2 and pd.isna(ranks.loc["s5", "A"])  # absent in A
    assert ranks.loc["s3", "A"] == 3 and ranks.loc["s3", "B"] == 1
    assert ranks["in_top_k_n"].tolist() == [1, 1, 1, 1]
    assert ranks.loc["s3", "best_rank"] == 1
    # top 3: {s1, s2, s3} vs {s3, s5, s2} share s2 and s3 of four sites
    assert batch.compare({"A": a, "B": b}, 3)["jaccard"].loc["A", "B"] == pytest.approx(2 / 4)
    # fewer eligible sites than k: the set is shorter, the table padded
    top = batch.compare({"A": a}, 5)["top_k"].loc["A"].tolist()
    assert top == ["s1", "s2", "s3", "", ""]


def test_read_ranked_refuses_bad_tables(batch, tmp_path):
    with pytest.raises(batch.BatchError, match="no ranked sites"):
        batch.read_ranked(tmp_path)
    (tmp_path / "ranked_sites.csv").write_text("site_id,rank,score\na,1,0.5\n")
    with pytest.raises(batch.BatchError, match=r"missing column\(s\) \['excluded'\]"):
        batch.read_ranked(tmp_path)
    (tmp_path / "ranked_sites.csv").write_text(
        "site_id,rank,score,excluded\na,1,0.5,maybe\n")
    with pytest.raises(batch.BatchError, match="true/false"):
        batch.read_ranked(tmp_path)


def test_usage_errors(tmp_path):
    proc = run_script(tmp_path / "none", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_script(tmp_path / "empty", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2 and "no scenario configs" in proc.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_batch_runs_in_parallel_and_compares(tmp_path):
    scen = tmp_path / "scenarios"
    scen.mkdir()
    (scen / "balanced.toml").write_text(_COMMON + f'[criteria]\nfile = "{CRITERIA.as_posix()}"\n')
    (scen / "transit.toml").write_text(_COMMON + _TRANSIT_CRITERIA)
    (scen / "broken.toml").write_text("[area\npreset = 'sample'\n")  # not TOML
    out = tmp_path / "out"
    proc = run_script(scen, "--out", out, "--jobs", "2", "--top-k", "5", "--offline",
                      cwd=tmp_path)
    # one run failed: non-zero exit, the failed config listed with its log
    assert proc.returncode == 1, proc.stderr
    assert f"{scen / 'broken.toml'}: exit status 2" in proc.stderr
    assert "balanced.toml" not in proc.stderr and "transit.toml" not in proc.stderr
    assert "not valid TOML" in (out / "broken" / "run.log").read_text()
    for name in ("balanced", "transit"):
        log = (out / name / "run.log").read_text()
        assert "# exit status 0" in log and "productivecity.cli run" in log
        assert (out / name / "manifest.json").is_file()
    runs = pd.read_csv(out / "runs.csv", index_col="scenario")
    assert runs["status"].to_dict() == {"balanced": "ok", "broken": "failed", "transit": "ok"}
    assert runs.loc["broken", "exit_code"] == 2

    # the comparison against the runs' own CSVs, recomputed here
    ranked = {name: pd.read_csv(out / name / "ranked_sites.csv", dtype={"site_id": str},
                                index_col="site_id") for name in ("balanced", "transit")}
    tops = {name: expected_top(df, 5) for name, df in ranked.items()}
    assert all(len(t) == 5 for t in tops.values())
    assert tops["balanced"] != tops["transit"]  # the weights matter
    top_table = pd.read_csv(out / "comparison_top_k.csv", index_col="scenario")
    for name, ids in tops.items():
        assert top_table.loc[name].tolist() == ids
    jac = pd.read_csv(out / "comparison_jaccard.csv", index_col="scenario")
    shared = set(tops["balanced"]) & set(tops["transit"])
    either = set(tops["balanced"]) | set(tops["transit"])
    assert jac.loc["balanced", "transit"] == pytest.approx(len(shared) / len(either), abs=1e-6)
    assert jac.loc["transit", "balanced"] == jac.loc["balanced", "transit"]
    ranks = pd.read_csv(out / "comparison_ranks.csv", index_col="site_id")
    assert set(ranks.index) == either
    for name, df in ranked.items():
        for site in either:
            want = df.loc[site, "rank"] if not df.loc[site, "excluded"] else None
            got = ranks.loc[site, name]
            assert (pd.isna(got) and pd.isna(want)) or got == want, (name, site)
        assert ranks[name].notna().sum() >= 5
    assert (ranks["in_top_k_n"] == 2).sum() == len(shared)
    assert "Overlap of the top 5" in proc.stdout

    # a second batch into the same folder is refused, and leaves the results alone
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    proc = run_script(scen, "--out", out, "--offline", cwd=tmp_path)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


@pytest.mark.slow
def test_compare_only_on_rank_geopackages(tmp_path):
    """Results of 'productivecity indicators' + 'productivecity rank' compare the same way."""
    cli = [sys.executable, "-m", "productivecity.cli"]
    sites = tmp_path / "sites.gpkg"
    subprocess.run([*cli, "indicators", "--within", "canal_zone", "--out", sites, "-q"],
                   check=True, cwd=tmp_path)
    transit = tmp_path / "transit-criteria.toml"
    transit.write_text(_TRANSIT_CRITERIA.replace("[criteria]\n", "").replace("criteria.", ""))
    scen, out = tmp_path / "scenarios", tmp_path / "out"
    scen.mkdir()
    for name, criteria in (("balanced", CRITERIA), ("transit", transit)):
        (scen / f"{name}.toml").write_text("# results made by productivecity rank\n")
        (out / name).mkdir(parents=True)
        subprocess.run([*cli, "rank", sites, "--criteria", criteria,
                        "--out", out / name / "ranked.gpkg", "-q"], check=True, cwd=tmp_path)
    proc = run_script(scen, "--out", out, "--compare-only", "--top-k", "4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    top_table = pd.read_csv(out / "comparison_top_k.csv", index_col="scenario")
    for name in ("balanced", "transit"):
        ranked = pyogrio.read_dataframe(out / name / "ranked.gpkg", layer="ranked_sites",
                                        read_geometry=False)
        assert top_table.loc[name].tolist() == expected_top(ranked.set_index("site_id"), 4)
    runs = pd.read_csv(out / "runs.csv", index_col="scenario")
    assert set(runs["status"]) == {"not run"}
