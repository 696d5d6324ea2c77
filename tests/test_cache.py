"""The step cache: code keys per step, LRU pruning under a size cap, info and clear."""

from __future__ import annotations

import ast
import itertools
import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from productivecity.settings import Settings, get_settings
from productivecity.workflow import cache
from productivecity.workflow.cache import (
    _StepCache,
    _unique_dir,
    cache_info,
    clear_cache,
    package_sources,
    step_code_hash,
    step_modules,
)

# --------------------------------------------------------------------------- code keys

#: A tiny package: step "a" runs a -> deep -> (function-local) c; step "b" runs b and,
#: through a method of _Run, net.
TOY = {
    "productivecity": '"""Toy package."""\n__version__ = "0"\n',
    "productivecity.workflow": "",
    "productivecity.workflow.steps": '''
"""Toy steps."""
from productivecity.b import helper


class _Run:
    def network(self):
        from productivecity.net import build
        return build()

    def step(self, name, parts, compute):
        from productivecity.unused import nothing
        return compute()


def a_step(run):
    """Step a."""
    from productivecity.a import f

    def compute():
        return f()
    return run.step("a", {}, compute)


def b_step(run):
    return helper(run.network())
''',
    "productivecity.a": "from productivecity import deep\n\ndef f():\n    return deep.g()\n",
    "productivecity.deep": ('def g():\n    """Docstring."""\n'
                            "    from productivecity.c import h  # imported where used\n"
                            "    return h()\n"),
    "productivecity.c": "def h():\n    return 1\n",
    "productivecity.b": "def helper(x):\n    return x\n",
    "productivecity.net": "from .c import h\n\ndef build():\n    return 2 + h()\n",
    "productivecity.unused": "nothing = None\n",
}


def test_step_modules_follow_imports_also_inside_functions():
    assert step_modules("a", TOY) == ["productivecity", "productivecity.a",
                                      "productivecity.c", "productivecity.deep"]
    # a method of _Run the step calls (run.network) and a top-level import it uses;
    # a relative import (from .c) is resolved; the cache machinery (_Run.step) is not code
    # of any step
    assert step_modules("b", TOY) == ["productivecity", "productivecity.b",
                                      "productivecity.c", "productivecity.net"]
    # an unknown step: the whole package
    assert step_modules("zzz", TOY) == sorted(TOY)


def _edit(sources: dict, module: str, old: str, new: str) -> dict:
    assert sources[module].count(old) == 1, (module, old)
    return {**sources, module: sources[module].replace(old, new)}


def test_toy_docstring_edit_keeps_and_code_edit_changes_the_key():
    key = {s: step_code_hash(s, TOY) for s in ("a", "b")}
    # docstrings and comments: no change
    for module, old, new in [("productivecity.deep", '"""Docstring."""', '"""Other words."""'),
                             ("productivecity.deep", "# imported where used", "# moved"),
                             ("productivecity.workflow.steps", '"""Step a."""', '"""A."""')]:
        edited = _edit(TOY, module, old, new)
        assert step_code_hash("a", edited) == key["a"], (module, old)
    # code of a module step a uses (imported inside a function of a module it imports)
    edited = _edit(TOY, "productivecity.c", "return 1", "return 2")
    assert step_code_hash("a", edited) != key["a"]
    assert step_code_hash("b", edited) != key["b"]  # net imports c too
    # code of the step function itself, and of a module step a does not use
    edited = _edit(TOY, "productivecity.workflow.steps", "return f()", "return f() + 1")
    assert step_code_hash("a", edited) != key["a"]
    assert step_code_hash("b", edited) == key["b"]
    edited = _edit(TOY, "productivecity.b", "return x", "return -x")
    assert step_code_hash("a", edited) == key["a"]
    assert step_code_hash("b", edited) != key["b"]


def test_package_steps_keys_docstring_vs_code_edit(tmp_path):
    """On a copy of the installed package's sources: the real step functions and modules."""
    src = package_sources()
    assert {"productivecity.sites", "productivecity.workflow.steps"} <= set(src)
    assert "productivecity.sites" in step_modules("sites", src)
    assert "productivecity.sites" not in step_modules("layers", src)
    assert "productivecity.layers" in step_modules("layers", src)
    assert "productivecity.siting.ranking" in step_modules("ranking", src)
    assert "productivecity.siting.allocation" in step_modules("allocation", src)
    assert "productivecity.network.streets" in step_modules("indicators", src)
    assert "productivecity.outputs.maps" not in step_modules("indicators", src)
    key_sites, key_layers = step_code_hash("sites", src), step_code_hash("layers", src)

    doc = src["productivecity.sites"].split('"""', 2)[1]
    edited = {**src, "productivecity.sites": src["productivecity.sites"].replace(
        doc, doc + "\nA new paragraph of the module docstring.\n", 1)}
    edited["productivecity.sites"] += "\n# a comment at the end\n"
    assert edited["productivecity.sites"] != src["productivecity.sites"]
    assert step_code_hash("sites", edited) == key_sites

    edited = {**src, "productivecity.sites": src["productivecity.sites"]
              + "\n\nNEW_CONSTANT = 1\n"}
    assert step_code_hash("sites", edited) != key_sites
    assert step_code_hash("layers", edited) == key_layers  # layers do not use sites.py


def test_step_code_key_covers_library_versions(monkeypatch):
    versions = cache._library_versions()
    for lib in ("geos", "proj", "gdal", "shapely", "pyproj", "pyogrio", "numpy", "pandas",
                "geopandas", "numba", "highspy"):
        assert lib in versions
    assert versions["geos"] == shapely.geos_version_string
    key = cache.step_code_key.__wrapped__("sites")
    assert cache.step_code_key("sites") == key
    monkeypatch.setattr(cache, "_library_versions", lambda: {**versions, "geos": "0.0.0"})
    assert cache.step_code_key.__wrapped__("sites") != key


# --------------------------------------------------------------------------- entries


def _frames(i: int) -> dict:
    rng = np.random.default_rng(i)
    x, y = rng.random(200), rng.random(200)
    return {"sites": gpd.GeoDataFrame({"v": np.arange(200) + i},
                                      geometry=gpd.points_from_xy(x, y), crs=31370),
            "table": pd.DataFrame({"a": rng.random(200)})}


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the cache's use times: 1000, 1001, ..."""
    ticks = itertools.count(1000)
    monkeypatch.setattr(cache, "_now", lambda: float(next(ticks)))


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def test_store_load_and_touch_on_read(tmp_path, clock):
    c = _StepCache(tmp_path, max_mb=1000)
    c.store("sites", "k1", _frames(1), {"report": {"n": 1}})
    folder = c.entry("sites", "k1")
    assert folder == tmp_path / "sites" / "k1"
    frames, meta = _StepCache.load(folder)
    assert meta["report"] == {"n": 1} and meta["created_s"] == 1000.0
    assert meta["last_used_s"] == 1001.0  # the store at 1000, the lookup at 1001
    pd.testing.assert_frame_equal(frames["table"], _frames(1)["table"])
    assert frames["sites"].geometry.equals(_frames(1)["sites"].geometry)
    assert c.entry("sites", "nope") is None
    assert _meta(c.entry("sites", "k1"))["last_used_s"] == 1002.0
    assert not [p for p in (tmp_path / "sites").iterdir() if p.name.startswith(".")]


def test_prune_evicts_least_recently_used(tmp_path, clock):
    first = _StepCache(tmp_path, max_mb=1000)  # an earlier run, no cap reached
    first.store("sites", "a", _frames(1), {})
    first.store("sites", "b", _frames(2), {})
    first.store("indicators", "c", _frames(3), {})
    size = cache._folder_size(tmp_path / "sites" / "a")
    assert size > 0
    # a second run reads a and c: b is now the least recently used
    second = _StepCache(tmp_path, max_mb=1000)
    assert second.entry("sites", "a") is not None
    assert second.entry("indicators", "c") is not None
    third = _StepCache(tmp_path, max_mb=3.5 * size / 1e6)
    third.store("ranking", "d", _frames(4), {})  # 4 entries > 3.5 x size: one goes
    assert not (tmp_path / "sites" / "b").exists()
    for step, key in (("sites", "a"), ("indicators", "c"), ("ranking", "d")):
        assert (tmp_path / step / key / "meta.json").is_file(), key
    info = cache_info(tmp_path)
    assert info["entries_n"].to_dict() == {"indicators": 1, "ranking": 1, "sites": 1}
    assert info["size_mb"].sum() * 1e6 <= 3.5 * size


def test_prune_never_evicts_the_current_runs_entries(tmp_path, clock):
    run1 = _StepCache(tmp_path, max_mb=0)
    run1.store("layers", "a", _frames(1), {})
    run1.store("sites", "b", _frames(2), {})
    # over the cap, but both are this run's
    assert (tmp_path / "layers" / "a" / "meta.json").is_file()
    assert (tmp_path / "sites" / "b" / "meta.json").is_file()
    run2 = _StepCache(tmp_path, max_mb=0)
    assert run2.entry("layers", "a") is not None  # used again by the next run
    run2.store("indicators", "c", _frames(3), {})
    assert (tmp_path / "layers" / "a" / "meta.json").is_file()
    assert (tmp_path / "indicators" / "c" / "meta.json").is_file()
    assert not (tmp_path / "sites" / "b").exists()


def test_prune_cap_from_settings(tmp_path, clock, monkeypatch):
    monkeypatch.setenv("PRODUCTIVECITY_CACHE_MAX_MB", "0")
    old = _StepCache(tmp_path)  # max_mb=None: from the settings
    old.store("sites", "a", _frames(1), {})
    _StepCache(tmp_path).store("sites", "b", _frames(2), {})
    assert sorted(p.name for p in (tmp_path / "sites").iterdir()) == ["b"]


def test_settings_cache_max_mb(monkeypatch):
    assert Settings().cache_max_mb == 2048
    monkeypatch.setenv("PRODUCTIVECITY_CACHE_MAX_MB", "512.5")
    assert get_settings().cache_max_mb == 512.5
    monkeypatch.setenv("PRODUCTIVECITY_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="PRODUCTIVECITY_CACHE_MAX_MB"):
        get_settings()
    with pytest.raises(ValueError, match="cache_max_mb"):
        Settings(cache_max_mb=-1)
    with pytest.raises(ValueError, match="cache_max_mb"):
        Settings(cache_max_mb=True)


# --------------------------------------------------------------------------- info, clear


def _fill(settings: Settings) -> None:
    root = settings.cache_dir / "pipeline"
    c = _StepCache(root, max_mb=1000)
    c.store("layers", "l1", _frames(1), {})
    c.store("sites", "s1", _frames(2), {})
    c.store("sites", "s2", _frames(3), {})
    networks = settings.cache_dir / "networks"
    networks.mkdir(parents=True)
    (networks / "walk-abc.npz").write_bytes(b"x" * 5000)
    (networks / "walk-def.npz.123.tmp.npz").write_bytes(b"x" * 10)  # a build in progress


def test_cache_info(tmp_path, clock, monkeypatch):
    settings = Settings(cache_dir=tmp_path)
    empty = cache_info(settings=settings)
    assert empty.empty and list(empty.columns) == ["entries_n", "size_mb", "newest_use",
                                                    "oldest_use"]
    _fill(settings)
    info = cache_info(settings=settings)
    assert info.index.name == "step"
    assert info["entries_n"].to_dict() == {"layers": 1, "sites": 2, "networks": 1}
    sites = tmp_path / "pipeline" / "sites"
    expect = sum(p.stat().st_size for p in sites.rglob("*") if p.is_file()) / 1e6
    assert info.loc["sites", "size_mb"] == pytest.approx(expect)
    assert info.loc["networks", "size_mb"] == pytest.approx(5000 / 1e6)
    assert info.loc["sites", "oldest_use"] == pd.Timestamp(1001, unit="s", tz="UTC")
    assert info.loc["sites", "newest_use"] == pd.Timestamp(1002, unit="s", tz="UTC")
    # an explicit root: that folder only (no street networks)
    assert list(cache_info(tmp_path / "pipeline").index) == ["layers", "sites"]
    # the default root comes from the settings of the environment
    monkeypatch.setenv("PRODUCTIVECITY_CACHE_DIR", str(tmp_path))
    assert cache_info()["entries_n"].sum() == 4


def test_clear_cache(tmp_path):
    settings = Settings(cache_dir=tmp_path)
    _fill(settings)
    with pytest.raises(ValueError, match="unknown step 'site'"):
        clear_cache(step="site", settings=settings)
    assert clear_cache(step="ranking", settings=settings) == 0  # a step with no entries
    assert clear_cache(step="sites", settings=settings) == 2
    assert sorted(p.name for p in (tmp_path / "pipeline").iterdir()) == ["layers", "sites"]
    assert not list((tmp_path / "pipeline" / "sites").iterdir())
    assert clear_cache(step="networks", settings=settings) == 1
    assert clear_cache(tmp_path / "pipeline") == 1  # the layers entry; no networks there
    assert cache_info(settings=settings).empty
    _fill(Settings(cache_dir=tmp_path / "again"))
    assert clear_cache(settings=Settings(cache_dir=tmp_path / "again")) == 4


# --------------------------------------------------------------------------- no umask


def _umask() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    pytest.skip("no /proc/self/status")


def test_unique_dir_is_an_ordinary_folder_and_leaves_the_umask(tmp_path, monkeypatch):
    umask = _umask()

    def no_umask(*args):
        raise AssertionError("os.umask changes process-wide state")

    monkeypatch.setattr(os, "umask", no_umask)
    a = _unique_dir(tmp_path, ".out.tmp-1-")
    b = _unique_dir(tmp_path, ".out.tmp-1-")
    assert a != b and a.is_dir() and b.is_dir()
    assert a.name.startswith(".out.tmp-1-")
    assert a.stat().st_mode & 0o777 == 0o777 & ~umask
    monkeypatch.undo()
    assert _umask() == umask


def _ast_imports(source: str) -> list[tuple[int, str, list[str]]]:
    """The import statements of a module by a walk of its syntax tree (the reference)."""
    out = []
    for n in cache._walk_code(ast.parse(source)):
        if isinstance(n, ast.Import):
            out.extend((0, a.name, []) for a in n.names)
        elif isinstance(n, ast.ImportFrom):
            out.append((n.level, n.module or "", [a.name for a in n.names]))
    return out


def test_text_imports_equal_the_syntax_tree_on_every_module():
    """The modules' imports are read from their text; a syntax-tree walk is the reference."""
    src = package_sources()
    graph = cache._Graph(src)
    for module, source in src.items():
        assert graph.module_imports(module) == graph._resolve(_ast_imports(source), module), \
            module
    tricky = '''
from typing import TYPE_CHECKING
from productivecity import (a,  # the first, with a comment
                            b as bee)
import productivecity.c as c, productivecity.d

if TYPE_CHECKING:
    from productivecity import never

    # a comment at the block's level or below does not end it
from . import e
def f():
    from .g import h
'''
    got = sorted(cache._text_imports(tricky))
    assert got == sorted(_ast_imports(tricky))
    assert (0, "productivecity", ["never"]) not in got


def test_module_digest_ignores_docstrings_comments_and_line_numbers():
    # (adding or removing a docstring may change the digest: a NOP takes its place)
    base = {"productivecity": "", "productivecity.m": ('"""M."""\ndef f(x):\n    """D."""\n'
                                                       '    return {1, "a", "b"}\n')}
    same = {**base, "productivecity.m": ('"""Module,\n\nlonger."""\n\n# a comment\n\n\n'
                                         'def f(x):\n    """Doc."""\n\n'
                                         '    return {"b", 1, "a"}  # set\n')}
    other = {**base, "productivecity.m": base["productivecity.m"].replace('"b"', '"c"')}
    digest = [cache._Graph(s).digest("productivecity.m") for s in (base, same, other)]
    assert digest[0] == digest[1] != digest[2]


def test_a_step_without_any_entry_is_known_before_its_key(tmp_path):
    c = _StepCache(tmp_path, max_mb=1000)
    assert not c.has_entries("layers") and not _StepCache(None).has_entries("layers")
    (tmp_path / "layers" / ".k1.tmp-1-x").mkdir(parents=True)  # a write never finished
    assert not c.has_entries("layers")
    c.store("layers", "k1", {"t": pd.DataFrame({"a": [1]})}, {})
    assert c.has_entries("layers") and not c.has_entries("sites")
