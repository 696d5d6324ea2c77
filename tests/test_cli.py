"""The command line: main job on the sample, bad input gives one clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest
import shapely

from productivecity.cli import main
from productivecity.layers import LAYER_NAMES


def test_layers_on_sample(tmp_path, capsys):
    out = tmp_path / "sample.gpkg"
    assert main(["layers", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "industrial_zones" in printed and f"to {out}" in printed
    assert [str(n) for n in pyogrio.list_layers(out)[:, 0]] == list(LAYER_NAMES)


def test_refuses_existing_output(tmp_path, capsys):
    out = tmp_path / "x.gpkg"
    out.write_bytes(b"keep me")
    assert main(["layers", "-q", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "atlantis"], "unknown study area 'atlantis'"),
        (["--area", "brussels-vilvoorde", "--data-dir", "no/such/dir"], "no/such/dir"),
        (["--data-dir", "."], "without --area"),
        (["--area", "bbox:1,2"], "bounding box"),
    ],
)
def test_bad_input_one_line_no_output(tmp_path, capsys, args, message):
    out = tmp_path / "x.gpkg"
    assert main(["layers", "-q", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_hubs_file_without_coordinates(tmp_path, capsys):
    hubs = tmp_path / "hubs.csv"
    hubs.write_text("name,city\nMy Lab,Brussels\n")
    out = tmp_path / "x.gpkg"
    assert main(["layers", "-q", "--hubs", str(hubs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "hubs.csv" in err
    assert not out.exists()


def test_area_file_without_crs(tmp_path, capsys):
    path = tmp_path / "area.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(geometry=[shapely.box(146500, 169500, 147500, 170500)]).to_file(path)
    assert (
        main(
            [
                "layers",
                "-q",
                "--area",
                str(path),
                "--data-dir",
                "productivecity/data/sample",
                "--out",
                str(tmp_path / "x.gpkg"),
            ]
        )
        == 2
    )
    assert "area.shp has no CRS" in capsys.readouterr().err


def test_console_script_exits_nonzero_without_traceback(tmp_path):
    env = {**os.environ, "PRODUCTIVECITY_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "productivecity.cli",
            "layers",
            "--area",
            "nowhere",
            "--out",
            str(tmp_path / "x.gpkg"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0  # one line


_EXIT_SCRIPT = """
import atexit, pathlib, sys, threading, time
out = pathlib.Path(sys.argv[1])
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # as tqdm's monitor
if sys.argv[2] == "thread":  # a thread the interpreter waits for
    threading.Thread(target=lambda: (time.sleep(0.5), (out / "thread").write_text("done"))
                     ).start()
atexit.register(lambda: (out / "atexit").write_text("ran"))


class Heap:  # an object the interpreter frees at an ordinary exit, not at os._exit
    def __init__(self, path):
        self.path = path

    def __del__(self):
        self.path.write_text("freed")


heap = Heap(out / "freed")
sys.argv = ["productivecity", "cache", "info"]
from productivecity.cli import command
command()
"""


@pytest.mark.parametrize("other", ["daemon", "thread"])
def test_console_command_exits_at_once_unless_a_thread_runs(tmp_path, other):
    env = {**os.environ, "PRODUCTIVECITY_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, str(tmp_path), other],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "atexit").read_text() == "ran"  # the exit handlers ran either way
    # a daemon thread does not hold the exit (os._exit: nothing freed one by one); another
    # thread is waited for, in an ordinary exit
    assert (tmp_path / "thread").exists() == (other == "thread")
    if other == "daemon":
        assert not (tmp_path / "freed").exists()


def test_help_for_every_command():
    for cmd in ([], ["layers"]):
        with pytest.raises(SystemExit) as exc:
            main([*cmd, "--help"])
        assert exc.value.code == 0


@pytest.mark.integration
def test_layers_on_testbed(testbed, tmp_path, capsys):
    out = tmp_path / "bv.gpkg"
    assert (
        main(
            [
                "layers",
                "--area",
                "brussels-vilvoorde",
                "--data-dir",
                str(testbed),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    layers = {str(n) for n in pyogrio.list_layers(out)[:, 0]}
    assert layers == set(LAYER_NAMES)
    for name in LAYER_NAMES:
        info = pyogrio.read_info(out, layer=name)
        assert info["features"] > 0, name
        assert info["crs"] == "EPSG:31370", name
