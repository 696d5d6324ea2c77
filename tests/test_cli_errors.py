"""Every bad input a user can give reaches the terminal as one line, never a traceback.

Each case drives ``productivecity.cli.main`` in-process on the synthetic sample
(offline) or on tiny files in ``tmp_path`` and checks: a non-zero exit status,
exactly one line on standard error, of the form ``productivecity <cmd>: error: ...``,
naming the file, layer, column or key at fault, no traceback, and no output
file left behind. One case runs the real ``python -m productivecity.cli`` in a
subprocess to show nothing else reaches the terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from productivecity.cli import main
from productivecity.sources.catalog import sample_data_dir

#: Two criteria on indicator columns (known to the config schema) of the tiny sites file.
CRITERIA = """\
name = "tiny"
method = "wlc"
[[criterion]]
name = "need"
column = "unemployment_rate_pct"
direction = "benefit"
standardisation = "minmax"
weight = 0.5
[[criterion]]
name = "vacant"
column = "vacant_poi_n"
direction = "benefit"
standardisation = "minmax"
weight = 0.5
"""


class Inputs:
    """Factory of small bad (and good) input files in one temporary folder."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def text(self, name: str, content: str) -> str:
        p = self.root / name
        p.write_text(content)
        return str(p)

    def sites(self, name: str = "sites.gpkg", **extra) -> str:
        """Three point sites in the sample town with the two criteria columns."""
        p = self.root / name
        gdf = gpd.GeoDataFrame(
            {
                "site_id": ["s1", "s2", "s3"],
                "unemployment_rate_pct": [10.0, 20.0, 30.0],
                "vacant_poi_n": [3.0, 1.0, 2.0],
                **extra,
            },
            geometry=[shapely.Point(146800 + 100 * i, 170000) for i in range(3)],
            crs="EPSG:31370",
        )
        gdf.to_file(p, layer="sites")
        return str(p)

    def ranked(self) -> str:
        """A ranked-sites file as 'productivecity rank' writes it (three eligible sites)."""
        p = self.root / "ranked.gpkg"
        gpd.GeoDataFrame(
            {
                "site_id": ["s1", "s2", "s3"],
                "score": [0.2, 0.9, 0.5],
                "rank": [3, 1, 2],
                "excluded": [False, False, False],
            },
            geometry=[shapely.Point(146800 + 100 * i, 170000) for i in range(3)],
            crs="EPSG:31370",
        ).to_file(p, layer="ranked_sites")
        return str(p)

    def no_crs(self, name: str) -> str:
        p = self.root / name
        with warnings.catch_warnings():  # geopandas warns (rightly) when writing no CRS
            warnings.simplefilter("ignore", UserWarning)
            gpd.GeoDataFrame(
                {"site_id": ["x"]}, geometry=[shapely.box(146500, 169500, 147500, 170500)]
            ).to_file(p)
        return str(p)

    def lines(self) -> str:
        p = self.root / "lines.gpkg"
        gpd.GeoDataFrame(
            {"site_id": ["l1"]},
            geometry=[shapely.LineString([(146800, 170000), (147000, 170100)])],
            crs="EPSG:31370",
        ).to_file(p)
        return str(p)

    def partial_sample(self) -> str:
        """The shipped sample without its osm/ folder (no zones, canal or poi source)."""
        d = self.root / "partial"
        shutil.copytree(sample_data_dir(), d, ignore=shutil.ignore_patterns("osm"))
        return str(d)


def _out(f: Inputs) -> list[str]:
    return ["--out", str(f.path("out.gpkg"))]


# Each case: id -> (build argv from the Inputs factory, substrings the one line must contain).
CASES = {
    # missing files and folders
    "missing data dir": (
        lambda f: [
            "layers",
            "--area",
            "brussels-vilvoorde",
            "--data-dir",
            str(f.path("no_such_dir")),
            *_out(f),
        ],
        ["no_such_dir", "does not exist"],
    ),
    "missing sites file": (
        lambda f: ["indicators", "--sites", str(f.path("no_sites.gpkg")), *_out(f)],
        ["no_sites.gpkg", "does not exist"],
    ),
    "missing hubs file": (
        lambda f: ["layers", "--hubs", str(f.path("no_hubs.csv")), *_out(f)],
        ["no_hubs.csv", "does not exist"],
    ),
    "missing sites to rank": (
        lambda f: [
            "rank",
            str(f.path("no_such.gpkg")),
            "--criteria",
            f.text("c.toml", CRITERIA),
            *_out(f),
        ],
        ["no_such.gpkg", "does not exist"],
    ),
    "missing criteria file": (
        lambda f: ["rank", f.sites(), "--criteria", str(f.path("no_criteria.toml")), *_out(f)],
        ["no_criteria.toml"],
    ),
    "unknown scenario": (
        lambda f: ["run", "no-such-scenario", "--out", str(f.path("run"))],
        ["no-such-scenario", "shipped scenarios"],
    ),
    # unreadable or malformed files
    "text file as GeoPackage": (
        lambda f: [
            "rank",
            f.text("not_a.gpkg", "this is not a GeoPackage\n"),
            "--criteria",
            f.text("c.toml", CRITERIA),
            *_out(f),
        ],
        ["not_a.gpkg", "could not open"],
    ),
    "empty hubs CSV": (
        lambda f: ["layers", "--hubs", f.text("empty.csv", ""), *_out(f)],
        ["empty.csv", "could not read"],
    ),
    "binary hubs CSV": (
        lambda f: ["layers", "--hubs", _binary(f.path("binary.csv")), *_out(f)],
        ["binary.csv", "could not read"],
    ),
    "missing layer in file": (
        lambda f: [
            "rank",
            f.sites(),
            "--layer",
            "no_such_layer",
            "--criteria",
            f.text("c.toml", CRITERIA),
            *_out(f),
        ],
        ["sites.gpkg", "no_such_layer"],
    ),
    "scenario not TOML": (
        lambda f: ["run", f.text("broken.toml", "[area\npreset = \n"), "--out", str(f.path("r"))],
        ["broken.toml", "TOML"],
    ),
    # files without CRS, columns or usable features
    "sites file without CRS": (
        lambda f: ["indicators", "--sites", f.no_crs("no_crs.gpkg"), *_out(f)],
        ["no_crs.gpkg", "no CRS"],
    ),
    "area file without CRS": (
        lambda f: [
            "layers",
            "--area",
            f.no_crs("area.gpkg"),
            "--data-dir",
            str(sample_data_dir()),
            *_out(f),
        ],
        ["area.gpkg", "no CRS"],
    ),
    "hubs CSV without lon/lat": (
        lambda f: [
            "layers",
            "--hubs",
            f.text("hubs.csv", "name,city\nMy Lab,Brussels\n"),
            *_out(f),
        ],
        ["hubs.csv", "'lon'", "'lat'"],
    ),
    "sites file of lines only": (
        lambda f: ["indicators", "--sites", f.lines(), *_out(f)],
        ["lines.gpkg", "polygon or point"],
    ),
    # areas
    "unknown area preset": (
        lambda f: ["layers", "--area", "atlantis", *_out(f)],
        ["atlantis", "preset"],
    ),
    "area outside the data": (  # in the Atlantic, far from Sample Canal Town's streets
        lambda f: [
            "indicators",
            "--area",
            "bbox:-30,40,-29.9,40.1",
            "--data-dir",
            str(sample_data_dir()),
            *_out(f),
        ],
        ["lies outside the street network of", "sample_canal_town.osm"],
    ),
    # outputs
    "existing output": (
        lambda f: ["layers", "--out", _existing(f.path("exists.gpkg"))],
        ["exists.gpkg", "--overwrite"],
    ),
    # configuration and criteria
    "scenario with unknown keys and wrong types": (
        lambda f: [
            "run",
            f.text(
                "bad.toml",
                '[area]\npreset = "sample"\ncanal_buffer_m = "wide"\n'
                'colour = 1\n[allocation]\nk = "five"\n[nosuch]\nx = 1\n',
            ),
            "--out",
            str(f.path("run")),
        ],
        [
            "bad.toml",
            "5 problem",
            "[nosuch]",
            "'colour'",
            "canal_buffer_m",
            "missing section [criteria]",
            "'wide'",
            "k ",
            "'five'",
        ],
    ),
    "bad --set": (
        lambda f: ["layers", "--set", "nodot", *_out(f)],
        ["nodot", "section.key=value"],
    ),
    "negative weight": (
        lambda f: [
            "rank",
            f.sites(),
            "--criteria",
            f.text("neg.toml", CRITERIA.replace("weight = 0.5", "weight = -0.5", 1)),
            *_out(f),
        ],
        ["neg.toml", "criterion 'need'", "weight", "-0.5"],
    ),
    "criterion on an unknown column": (
        lambda f: [
            "rank",
            f.sites(),
            "--criteria",
            f.text("col.toml", CRITERIA.replace('"vacant_poi_n"', '"no_such_column"')),
            *_out(f),
        ],
        ["criterion 'vacant'", "no_such_column"],
    ),
    "criterion column not in the sites file": (
        lambda f: [
            "rank",
            f.sites(),
            "--criteria",
            f.text("col.toml", CRITERIA.replace('"vacant_poi_n"', '"rail_station_walk_time_min"')),
            *_out(f),
        ],
        ["rail_station_walk_time_min", "lacks"],
    ),
    "AHP matrix not reciprocal": (
        lambda f: [
            "rank",
            f.sites(),
            "--criteria",
            f.text(
                "ahp.toml",
                CRITERIA.replace("weight = 0.5\n", "")
                + '[ahp]\ncriteria = ["need", "vacant"]\nmatrix = [[1, 3], [3, 1]]\n',
            ),
            *_out(f),
        ],
        ["ahp.toml", "AHP matrix", "reciprocal"],
    ),
    "AHP matrix inconsistent": (
        lambda f: ["rank", f.sites(), "--criteria", f.text("ahp3.toml", AHP3), *_out(f)],
        ["ahp3.toml", "consistency ratio"],
    ),
    # allocation
    "k larger than the candidates": (
        lambda f: ["allocate", f.ranked(), "--k", "50", *_out(f)],
        ["k = 50", "only 3 candidate"],
    ),
    # a layer left out, then needed
    "--skip-missing then a step needs the layer": (
        lambda f: [
            "indicators",
            "--area",
            "sample",
            "--data-dir",
            f.partial_sample(),
            "--skip-missing",
            "--sites",
            "zones",
            *_out(f),
        ],
        ["'industrial_zones' is needed here but was not loaded", "missing input",
         "loaded layers: study_area"],
    ),
}

#: Three criteria compared in a cycle (a > b > c > a): as inconsistent as it gets.
AHP3 = (
    CRITERIA.replace("weight = 0.5\n", "")
    + '[[criterion]]\nname = "need_cost"\ncolumn = "unemployment_rate_pct"\n'
    'direction = "cost"\nstandardisation = "minmax"\n'
    '[ahp]\ncriteria = ["need", "vacant", "need_cost"]\n'
    'matrix = [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]]\n'
)


def _binary(path: Path) -> str:
    path.write_bytes(bytes(range(256)) * 4)
    return str(path)


def _existing(path: Path) -> str:
    path.write_bytes(b"keep me")
    return str(path)


def _one_error_line(err: str, command: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"productivecity {command}: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line(case, tmp_path, capsys):
    build, expected = CASES[case]
    f = Inputs(tmp_path)
    argv = build(f)
    before = {p for p in tmp_path.rglob("*")}
    status = main([*argv, "-q"])
    err = capsys.readouterr().err
    assert status == 2, err
    line = _one_error_line(err, argv[0])
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"
    assert not f.path("out.gpkg").exists()
    assert {p for p in tmp_path.rglob("*")} - before == set()  # no partial output
    if case == "existing output":
        assert f.path("exists.gpkg").read_bytes() == b"keep me"


def test_internal_error_is_one_line_and_points_to_verbose(tmp_path, capsys, monkeypatch):
    """A bug (not a user error) also gives one line, exit 1, and says -v shows more."""
    from productivecity.workflow import steps

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(steps, "layers_step", boom)
    out = str(tmp_path / "out.gpkg")
    assert main(["layers", "-q", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        "productivecity layers: internal error: RuntimeError: simulated bug "
        "(run with -v to see the traceback)"
    ]
    assert main(["layers", "-v", "--out", out]) == 1
    assert "Traceback" in capsys.readouterr().err  # -v shows it


def test_terminal_sees_one_line_from_the_real_command(tmp_path):
    """The installed entry point, not just main(): exit 2, one line, no traceback."""
    bad = tmp_path / "not_a.gpkg"
    bad.write_text("this is not a GeoPackage\n")
    criteria = tmp_path / "c.toml"
    criteria.write_text(CRITERIA)
    env = {**os.environ, "PRODUCTIVECITY_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "productivecity.cli",
            "rank",
            str(bad),
            "--criteria",
            str(criteria),
            "--out",
            str(tmp_path / "out.gpkg"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr, "rank")
    assert "not_a.gpkg" in line
    assert proc.stdout == ""
