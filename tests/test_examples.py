"""Scenario and criteria files shipped as package data; ``productivecity init``'s copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from productivecity._errors import DataSourceError, OutputExistsError
from productivecity.siting.criteria import load_criteria
from productivecity.workflow.config import load_config
from productivecity.workflow.examples import (
    criteria_names,
    example_path,
    resolve_config_path,
    scenario_names,
    write_examples,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_shipped_files_are_package_data():
    assert scenario_names() == ["brussels-vilvoorde", "brussels-vilvoorde-citywide",
                                "brussels-vilvoorde-neighbourhood", "brussels-vilvoorde-people",
                                "brussels-vilvoorde-reuse", "sample"]
    assert criteria_names() == ["brussels-canal", "canal-making", "city-wide",
                                "industrial-reuse", "neighbourhood"]
    for name in scenario_names():
        path = example_path(name)
        assert path.parent.name == "scenarios" and path.parent.parent.name == "data"
        assert load_config(path).name == name
    spec = load_criteria(example_path("brussels-canal", kind="criteria"))
    assert spec.criteria
    # declared in pyproject's package-data, so a wheel carries them
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["productivecity"]
    assert "data/scenarios/*.toml" in patterns and "data/criteria/*.toml" in patterns


def test_example_path_names_the_shipped_files_when_unknown():
    assert example_path("sample.toml") == example_path("sample")
    with pytest.raises(DataSourceError, match="scenario files: brussels-vilvoorde, "):
        example_path("samples")
    with pytest.raises(DataSourceError):
        example_path("../scenarios/sample")
    with pytest.raises(DataSourceError, match="criteria files: brussels-canal"):
        example_path("sample", kind="criteria")


def test_resolve_config_path(tmp_path, monkeypatch):
    assert resolve_config_path("sample") == example_path("sample")
    assert resolve_config_path("sample.toml") == example_path("sample")
    # a file of that name wins over the shipped scenario
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample").write_text("[run]\n", encoding="utf-8")
    assert resolve_config_path("sample") == Path("sample")
    own = tmp_path / "mine.toml"
    own.write_text("[run]\n", encoding="utf-8")
    assert resolve_config_path(own) == own
    with pytest.raises(DataSourceError, match=r"shipped scenarios: brussels-vilvoorde, "
                                              r"brussels-vilvoorde-citywide, "
                                              r"brussels-vilvoorde-neighbourhood, "
                                              r"brussels-vilvoorde-people, "
                                              r"brussels-vilvoorde-reuse, sample"):
        resolve_config_path("missing.toml")
    with pytest.raises(DataSourceError, match="is a folder"):
        resolve_config_path(tmp_path)


def test_write_examples_sample(tmp_path, monkeypatch):
    out = tmp_path / "my-study"
    written = write_examples(out)
    assert written == [out / "sample.toml", out / "brussels-canal.toml"]
    text = written[0].read_text(encoding="utf-8")
    assert text.startswith("# Written by `productivecity init`")
    assert 'file = "brussels-canal.toml"' in text
    assert "# weights, standardisation" in text  # the documentation is kept
    assert written[1].read_bytes() == example_path("brussels-canal").read_bytes()
    # the copy is a valid scenario whose criteria are the copied file, from any folder
    monkeypatch.chdir(tmp_path.parent)
    cfg = load_config(written[0])
    assert cfg.name == "sample"
    assert [c.name for c in cfg.criteria.criteria] == [
        c.name for c in load_criteria(example_path("brussels-canal")).criteria]
    # edits of the copy take effect; the shipped files stay as they were
    written[1].write_text(written[1].read_text(encoding="utf-8").replace(
        'name = "brussels-canal"', 'name = "my-criteria"', 1), encoding="utf-8")
    assert load_config(written[0]).criteria.name == "my-criteria"
    assert load_criteria(example_path("brussels-canal")).name == "brussels-canal"


def test_write_examples_refuses_to_overwrite(tmp_path):
    written = write_examples(tmp_path)
    written[0].write_text("# mine\n", encoding="utf-8")
    (tmp_path / "brussels-canal.toml").unlink()
    with pytest.raises(OutputExistsError, match="sample.toml"):
        write_examples(tmp_path)
    # nothing was written: not even the missing criteria file
    assert written[0].read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "brussels-canal.toml").exists()
    assert write_examples(tmp_path, overwrite=True) == written
    assert written[0].read_text(encoding="utf-8") != "# mine\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_examples_rewrites_relative_paths(tmp_path):
    shipped = tomllib.loads(example_path("brussels-vilvoorde").read_text(encoding="utf-8"))
    target = (example_path("brussels-vilvoorde").parent / shipped["area"]["data_dir"]).resolve()
    out = tmp_path / "a" / "b"
    scen, crit = write_examples(out, scenario="brussels-vilvoorde")
    data = tomllib.loads(scen.read_text(encoding="utf-8"))
    assert (scen.parent / data["criteria"]["file"]).resolve() == crit.resolve()
    if target.exists():  # the test bed beside a clone: the copy points at it too
        assert (scen.parent / data["area"]["data_dir"]).resolve() == target
    else:  # nothing there: the key is left for the user to set
        assert "data_dir" not in data["area"]
        assert "# data_dir = " in scen.read_text(encoding="utf-8")
    # criteria given inline: only the scenario is written
    assert write_examples(tmp_path / "c", scenario="brussels-vilvoorde-reuse") == [
        tmp_path / "c" / "brussels-vilvoorde-reuse.toml"]
    with pytest.raises(DataSourceError, match="sample"):
        write_examples(tmp_path / "d", scenario="brussels")
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_wheel_carries_scenarios_and_criteria(tmp_path):
    """A wheel built from the tree holds the shipped files, and they work from it."""
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "productivecity", src / "productivecity",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nb[ic]"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, src / name)
    # no build isolation: setuptools and wheel come with the test extras (works offline)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
         str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("productivecity-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    for name in scenario_names():
        assert f"productivecity/data/scenarios/{name}.toml" in names
    for name in criteria_names():
        assert f"productivecity/data/criteria/{name}.toml" in names
    assert "productivecity/workflow/examples.py" in names
    assert "productivecity/data/sample/osm/sample_canal_town.osm" in names
    # the installed package (not this tree) resolves 'sample' and writes an editable copy
    code = (
        "import productivecity, sys\n"
        "from productivecity.workflow.examples import resolve_config_path, write_examples\n"
        "from productivecity.workflow.config import load_config\n"
        "path = resolve_config_path('sample')\n"
        "assert load_config(path).name == 'sample'\n"
        "copy = write_examples('my-study')[0]\n"
        "assert load_config(copy).criteria.criteria\n"
        "print(productivecity.__file__)\n"
        "print(path)\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    init_file, sample = proc.stdout.split()
    assert Path(init_file).is_relative_to(tmp_path / "site")
    assert Path(sample).is_relative_to(tmp_path / "site")
    assert (work / "my-study" / "brussels-canal.toml").is_file()
