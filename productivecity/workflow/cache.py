"""The step cache: one folder per step and key, written atomically, pruned by size.

A step's key (:func:`step_code_key` plus the step's own parts, see
:meth:`productivecity.workflow.steps._Run.step`) covers

* the code the step runs: the package modules its step function imports (also
  inside functions), followed transitively through their ``productivecity``
  imports, and the step functions themselves, each hashed from its syntax tree
  with the docstrings removed, so that a docstring or comment edit keeps the
  entries and an edit of the code a step uses invalidates that step only;
* ``productivecity.__version__`` and the versions of the libraries results depend
  on (shapely and GEOS, pyproj and PROJ, pyogrio and GDAL, numpy, pandas,
  geopandas, scipy, numba, highspy, pyarrow).

Entries record when they were last used (``last_used_s`` in ``meta.json``,
updated on every cache hit). After each store the cache is pruned to
``Settings.cache_max_mb`` (``PRODUCTIVECITY_CACHE_MAX_MB``, default 2048 MB):
least recently used entries first, never one the current run used or stored.
:func:`cache_info` and :func:`clear_cache` list and remove entries (also the
street networks cached by :mod:`productivecity.network`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import secrets
import shutil
import sys
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from productivecity.settings import Settings, get_settings
from productivecity.workflow.config import _jsonable

logger = logging.getLogger(__name__)


_CACHE_VERSION = 1
_PACKAGE = "productivecity"
_STEPS_MODULE = "productivecity.workflow.steps"
#: Methods of ``_Run`` that are the cache machinery, not a step's work (versioned by
#: ``_CACHE_VERSION``).
_MACHINERY = frozenset({"step", "skipped"})
#: Temporary folders (of a write or a removal) older than this are left-overs of a crash.
_STALE_TMP_S = 24 * 3600.0


def _hash(parts: Mapping[str, Any]) -> str:
    text = json.dumps(_jsonable(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# --------------------------------------------------------------------------- code keys


def package_sources(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Return the source of every module of the package, by module name.

    Parameters
    ----------
    root : path-like, optional
        The package folder (default: the installed ``productivecity``).

    Returns
    -------
    dict of str to str
        ``"productivecity.layers"`` (``layers.py``), ``"productivecity.sources"``
        (``sources/__init__.py``), ... to the file's text.
    """
    root = Path(root) if root is not None else Path(__file__).resolve().parent.parent
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = [_PACKAGE, *p.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p.read_text(encoding="utf-8")
    return out


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:]
    return tree


def _code_digest(node: ast.AST) -> str:
    """Hash of a syntax tree without docstrings (comments and layout are not in it).

    ``node`` is left as it is (its docstrings are stripped from a copy).
    """
    import copy

    tree = _strip_docstrings(copy.deepcopy(node))
    return hashlib.sha256(ast.dump(tree, annotate_fields=True).encode()).hexdigest()


def _code_object_digest(code: types.CodeType) -> str:
    """Hash of a compiled module: its bytecode, names and constants, not its line numbers.

    The code is compiled with ``optimize=2``, so docstrings (and ``assert`` statements)
    are not in it; comments and layout never are. Sets among the constants are hashed
    in sorted order (their iteration order changes with the string hash seed).
    """
    h = hashlib.sha256()

    def const(c) -> str:
        if isinstance(c, frozenset):
            return "frozenset(" + ",".join(sorted(const(x) for x in c)) + ")"
        if isinstance(c, tuple):
            return "(" + ",".join(const(x) for x in c) + ")"
        return f"{type(c).__name__}:{c!r}"

    def walk(co: types.CodeType) -> None:
        h.update(f"\0{co.co_qualname if hasattr(co, 'co_qualname') else co.co_name}"
                 f"\0{co.co_argcount},{co.co_posonlyargcount},{co.co_kwonlyargcount},"
                 f"{co.co_flags}\0{co.co_names}\0{co.co_varnames}\0{co.co_freevars}"
                 f"\0{co.co_cellvars}\0".encode())
        h.update(co.co_code)
        h.update(getattr(co, "co_exceptiontable", b""))
        for c in co.co_consts:
            if isinstance(c, types.CodeType):
                walk(c)
            else:
                h.update(f"\0{const(c)}".encode())

    walk(code)
    return h.hexdigest()


# an import statement at the start of a line (in a module, a class or a function body):
# ``from <dots><module> import <names or (names)>`` or ``import <modules>``
_IMPORT_RE = re.compile(
    r"^([ \t]*)(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+([^\n#;]*))", re.M)
_TYPE_CHECKING_RE = re.compile(
    r"^([ \t]*)if[ \t]+(?:[\w.]+\.)?TYPE_CHECKING[ \t]*:[ \t]*(?:#.*)?$", re.M)
_INDENTED_LINE_RE = re.compile(r"^([ \t]*)(\S)", re.M)


def _type_checking_spans(source: str) -> list[tuple[int, int]]:
    """Character spans of the bodies of ``if TYPE_CHECKING:`` blocks (imports that never run)."""
    spans = []
    for m in _TYPE_CHECKING_RE.finditer(source):
        indent = len(m.group(1).expandtabs())
        end = len(source)
        for line in _INDENTED_LINE_RE.finditer(source, m.end()):
            if line.group(2) != "#" and len(line.group(1).expandtabs()) <= indent:
                end = line.start()
                break
        spans.append((m.end(), end))
    return spans


def _text_imports(source: str) -> list[tuple[int, str, list[str]]]:
    """Return the import statements of a module's text: ``(level, module, names)``.

    ``import a.b as c, d`` gives ``(0, "a.b", [])`` and ``(0, "d", [])``;
    ``from ..x import (y, z as w)`` gives ``(2, "x", ["y", "z"])``. Statements in
    ``if TYPE_CHECKING:`` blocks are left out. The same statements as a walk of the
    module's syntax tree (a line inside a string that reads like an import counts
    too: a module more is covered, never one less).
    """
    skip = _type_checking_spans(source)
    out = []
    for m in _IMPORT_RE.finditer(source):
        if any(a <= m.start() < b for a, b in skip):
            continue
        if m.group(5) is not None:  # import a.b [as c], d
            for part in m.group(5).split(","):
                name = part.split()[0] if part.split() else ""
                if name:
                    out.append((0, name, []))
            continue
        text = re.sub(r"#[^\n]*", "", m.group(4)).strip().strip("()").replace("\\", " ")
        names = [p.split()[0] for p in text.split(",") if p.split() and p.split()[0] != "*"]
        out.append((len(m.group(2)), m.group(3), names))
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _walk_code(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` skipping ``if TYPE_CHECKING:`` blocks (imports that never run)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, ast.If) and _is_type_checking(n.test):
            todo.extend(n.orelse)
            continue
        todo.extend(ast.iter_child_nodes(n))


class _Graph:
    """The package's modules and their ``productivecity`` imports.

    Only the steps module is parsed into a syntax tree (its step functions are
    followed one by one); every other module is read as text for its imports and
    compiled for its digest, which takes a fraction of the time.
    """

    def __init__(self, sources: Mapping[str, str]):
        self.sources = dict(sources)
        self._steps_tree: ast.Module | None = None
        self._digests: dict[str, str] = {}
        self._module_imports: dict[str, set[str]] = {}

    @property
    def steps_tree(self) -> ast.Module | None:
        if self._steps_tree is None and _STEPS_MODULE in self.sources:
            self._steps_tree = ast.parse(self.sources[_STEPS_MODULE])
        return self._steps_tree

    def is_package(self, name: str) -> bool:
        return any(m.startswith(name + ".") for m in self.sources)

    def with_parents(self, name: str) -> list[str]:
        """``name`` and the packages above it that exist (their ``__init__`` runs first)."""
        parts = name.split(".")
        return [m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if m in self.sources]

    def imports(self, node: ast.AST, module: str) -> set[str]:
        """Package modules imported by name anywhere under ``node`` (code of ``module``).

        ``from a import b`` imports the module ``a.b`` if there is one, else (a
        name defined in) ``a``; the packages above are not counted (their
        ``__init__`` runs, but its imports are not used through this import).
        """
        statements = []
        for n in _walk_code(node):
            if isinstance(n, ast.Import):
                statements.extend((0, a.name, []) for a in n.names)
            elif isinstance(n, ast.ImportFrom):
                statements.append((n.level, n.module or "", [a.name for a in n.names]))
        return self._resolve(statements, module)

    def module_imports(self, module: str) -> set[str]:
        """Package modules a whole module imports (from its text: :func:`_text_imports`)."""
        if module not in self._module_imports:
            self._module_imports[module] = self._resolve(_text_imports(self.sources[module]),
                                                         module)
        return self._module_imports[module]

    def _resolve(self, statements: Iterable[tuple[int, str, list[str]]],
                 module: str) -> set[str]:
        found: set[str] = set()
        for level, base, names in statements:
            if not names and not level:  # import a.b
                if base in self.sources:
                    found.add(base)
                continue
            if level:
                anchor = module if self.is_package(module) else module.rpartition(".")[0]
                anchor_parts = anchor.split(".")
                anchor_parts = anchor_parts[:len(anchor_parts) - (level - 1)]
                base = ".".join([*anchor_parts, *([base] if base else [])])
            if base not in self.sources:
                continue
            for name in names:
                sub = f"{base}.{name}"
                found.add(sub if sub in self.sources else base)
        return found

    def closure(self, seeds: Iterable[str]) -> set[str]:
        """Return the seed modules, every package module they import, transitively.

        The packages above each module are included too (their ``__init__`` runs
        on import) without following their own imports.
        """
        done: set[str] = set()
        todo = [s for s in seeds if s in self.sources]
        while todo:
            m = todo.pop()
            if m in done:
                continue
            done.add(m)
            todo.extend(self.module_imports(m) - done)
        return done | {p for m in done for p in self.with_parents(m)}

    def digest(self, module: str) -> str:
        if module not in self._digests:
            code = compile(self.sources[module], f"<{module}>", "exec", dont_inherit=True,
                           optimize=2)
            self._digests[module] = _code_object_digest(code)
        return self._digests[module]


def _step_functions(graph: _Graph) -> dict[str, ast.FunctionDef]:
    tree = graph.steps_tree
    if tree is None:
        return {}
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _step_code(graph: _Graph, step: str) -> tuple[list[tuple[str, ast.AST]], set[str]]:
    """Return the functions of the steps module a step runs and the package modules it uses.

    From the step function (``<step>_step``), every module-level function of the
    steps module it names and every method of ``_Run`` it calls on ``run``/``self``
    (except the cache machinery ``step``/``skipped``) are followed. The modules
    are those these functions import (also inside functions), those the steps
    module imports at its top for names they use and, when they read an
    attribute of ``run.config`` (derived options), the configuration module.
    """
    funcs = _step_functions(graph)
    entry = funcs.get(f"{step}_step") or funcs.get(f"_{step}_step")
    if entry is None:
        return [], set()
    tree = graph.steps_tree
    methods = {}
    for n in tree.body:
        if isinstance(n, ast.ClassDef) and n.name == "_Run":
            methods = {m.name: m for m in n.body if isinstance(m, ast.FunctionDef)}
    top_names: dict[str, str] = {}  # name bound by a top-level import -> package module
    for n in tree.body:
        if isinstance(n, ast.Import):
            for alias in n.names:
                if alias.name.split(".")[0] == _PACKAGE:
                    top_names[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else _PACKAGE)
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            for alias in n.names:
                sub = f"{n.module}.{alias.name}"
                top_names[alias.asname or alias.name] = sub if sub in graph.sources else n.module
    reached: dict[str, ast.AST] = {}
    todo: list[tuple[str, ast.AST]] = [(entry.name, entry)]
    modules: set[str] = set()
    while todo:
        qual, fn = todo.pop()
        if qual in reached:
            continue
        reached[qual] = fn
        modules |= graph.imports(fn, _STEPS_MODULE)
        for n in _walk_code(fn):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                if n.id in funcs and n.id != entry.name:
                    todo.append((n.id, funcs[n.id]))
                elif n.id in top_names and top_names[n.id] in graph.sources:
                    modules.add(top_names[n.id])
            elif (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                  and n.value.id in ("run", "self")):
                if n.attr in methods and n.attr not in _MACHINERY:
                    todo.append((f"_Run.{n.attr}", methods[n.attr]))
            elif (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
                  and n.value.attr == "config" and isinstance(n.value.value, ast.Name)
                  and n.value.value.id in ("run", "self")):
                modules.add("productivecity.workflow.config")
    return sorted(reached.items()), modules


def step_modules(step: str, sources: Mapping[str, str] | None = None) -> list[str]:
    """Return the package modules whose code a step's key covers.

    Parameters
    ----------
    step : str
        A step name (``"layers"``, ``"indicators"``, ...).
    sources : mapping of str to str, optional
        Module name to source (default :func:`package_sources`).

    Returns
    -------
    list of str
        Sorted module names; every module of the package when the steps module
        has no function for ``step``.
    """
    graph = _graph(None) if sources is None else _Graph(sources)
    return sorted(_modules(graph, step))


def _modules(graph: _Graph, step: str) -> set[str]:
    funcs, seeds = _step_code(graph, step)
    if not funcs:  # not a step of the steps module: the whole package, to be safe
        return set(graph.sources)
    return graph.closure(seeds)


@functools.cache
def _graph(root: str | None) -> _Graph:
    return _Graph(package_sources(root))


@functools.cache
def _library_versions() -> dict[str, str | None]:
    """Versions of the libraries the steps' results depend on (and their C libraries)."""
    out: dict[str, str | None] = {"python": ".".join(map(str, sys.version_info[:2]))}
    for name in ("numpy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "scipy",
                 "numba", "highspy", "pyarrow"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    import pyogrio
    import pyproj
    import shapely

    out["geos"] = shapely.geos_version_string
    out["proj"] = pyproj.proj_version_str
    out["gdal"] = pyogrio.__gdal_version_string__
    return out


def step_code_hash(step: str, sources: Mapping[str, str] | None = None) -> str:
    """Hash of the code a step runs (docstrings and comments do not count).

    Parameters
    ----------
    step : str
    sources : mapping of str to str, optional
        Module name to source (default: the installed package, read once).

    Returns
    -------
    str
        sha256 hex digest over the step's functions of the steps module (each from its
        syntax tree without docstrings) and the modules of :func:`step_modules` (each
        compiled without docstrings and asserts; line numbers do not count).
    """
    graph = _graph(None) if sources is None else _Graph(sources)
    funcs, _ = _step_code(graph, step)
    h = hashlib.sha256(step.encode())
    for qual, fn in funcs:
        h.update(f"\0{qual}\0{_code_digest(fn)}".encode())
    for m in sorted(_modules(graph, step)):
        h.update(f"\0{m}\0{graph.digest(m)}".encode())
    return h.hexdigest()


@functools.cache
def step_code_key(step: str) -> str:
    """Return the code part of a step's key: its code, package and library versions."""
    from productivecity import __version__

    return _hash({"code": step_code_hash(step), "productivecity": __version__,
                  "libraries": _library_versions()})


# --------------------------------------------------------------------------- entries


def _now() -> float:
    return time.time()


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path)


def _read_frame(path: Path) -> pd.DataFrame:
    meta = pq.read_schema(path).metadata or {}
    return gpd.read_parquet(path) if b"geo" in meta else pd.read_parquet(path)


def _unique_dir(parent: Path, prefix: str) -> Path:
    """Create a new folder ``<parent>/<prefix><random>``.

    Made with mode 0o777, which the process umask restricts as for any folder (no
    process-wide state is read or changed).
    """
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        return path


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(_jsonable(data), indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _folder_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except FileNotFoundError:  # removed meanwhile
                pass
    return total


@dataclasses.dataclass(frozen=True)
class _Entry:
    step: str
    path: Path
    size_bytes: int
    last_used_s: float


def _step_entries(root: Path) -> Iterator[_Entry]:
    """Complete entries ``<root>/<step>/<key>/`` (with a ``meta.json``)."""
    if not root.is_dir():
        return
    for step_dir in sorted(root.iterdir()):
        if not step_dir.is_dir() or step_dir.name.startswith("."):
            continue
        try:
            folders = sorted(step_dir.iterdir())
        except FileNotFoundError:
            continue
        for folder in folders:
            meta_file = folder / "meta.json"
            if folder.name.startswith(".") or not meta_file.is_file():
                continue
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                last = float(meta["last_used_s"])
            except (OSError, ValueError, KeyError, TypeError):  # older or damaged entry
                try:
                    last = meta_file.stat().st_mtime
                except FileNotFoundError:
                    continue
            yield _Entry(step_dir.name, folder, _folder_size(folder), last)


def _network_entries(folder: Path) -> Iterator[_Entry]:
    """Street networks built by :func:`productivecity.network.build_network`."""
    if not folder.is_dir():
        return
    for p in sorted(folder.glob("*.npz")):
        if p.name.startswith(".") or p.name.endswith(".tmp.npz"):
            continue
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        yield _Entry("networks", p, st.st_size, st.st_mtime)


def _remove(path: Path) -> bool:
    """Remove an entry; first renamed aside, so no reader sees a half-removed entry."""
    aside = path.parent / f".{path.name}.del-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:  # removed meanwhile by another process
        return False
    if aside.is_dir():
        shutil.rmtree(aside, ignore_errors=True)
    else:
        aside.unlink(missing_ok=True)
    return True


def _remove_stale_tmp(root: Path) -> None:
    """Remove temporary folders of writes or removals a crash left behind (over a day old)."""
    if not root.is_dir():
        return
    now = time.time()
    for step_dir in root.iterdir():
        if not step_dir.is_dir() or step_dir.name.startswith("."):
            continue
        for p in step_dir.iterdir():
            if p.name.startswith(".") and (".tmp-" in p.name or ".del-" in p.name):
                try:
                    old = now - p.stat().st_mtime > _STALE_TMP_S
                except FileNotFoundError:
                    continue
                if old:
                    shutil.rmtree(p, ignore_errors=True)


def prune(root: str | os.PathLike, max_bytes: float, *, keep: Iterable[Path] = ()) -> int:
    """Remove least recently used entries until the cache holds at most ``max_bytes``.

    Parameters
    ----------
    root : path-like
        The step cache folder (``<root>/<step>/<key>/``).
    max_bytes : float
        Size cap in bytes.
    keep : iterable of Path
        Entry folders never removed (those of the current run); the cache may stay
        over the cap because of them.

    Returns
    -------
    int
        Entries removed.
    """
    root = Path(root)
    _remove_stale_tmp(root)
    entries = list(_step_entries(root))
    total = sum(e.size_bytes for e in entries)
    if total <= max_bytes:
        return 0
    keep = {Path(p) for p in keep}
    removed = 0
    for e in sorted(entries, key=lambda e: e.last_used_s):
        if total <= max_bytes:
            break
        if e.path in keep:
            continue
        if _remove(e.path):
            removed += 1
            logger.info("cache: evicted %s/%s (%.1f MB, last used %s)", e.step, e.path.name,
                        e.size_bytes / 1e6, pd.Timestamp(e.last_used_s, unit="s", tz="UTC"))
        total -= e.size_bytes
    if total > max_bytes:
        logger.info("cache: %.0f MB after pruning, over the cap of %.0f MB: entries of this "
                    "run are kept", total / 1e6, max_bytes / 1e6)
    return removed


class _StepCache:
    """Folders ``<root>/<step>/<key>/`` holding a step's frames and ``meta.json``.

    ``max_mb`` caps the cache (default ``Settings.cache_max_mb``); entries found
    or stored through this object (the current run's) are never evicted.
    """

    def __init__(self, root: Path | None, *, max_mb: float | None = None):
        self.root = root
        self.max_mb = max_mb
        self.in_use: set[Path] = set()

    def has_entries(self, step: str) -> bool:
        """Whether the cache holds any entry of ``step`` (whatever its key)."""
        if self.root is None:
            return False
        try:
            return any((d / "meta.json").is_file() for d in (self.root / step).iterdir()
                       if not d.name.startswith("."))
        except OSError:  # no folder for the step yet
            return False

    def entry(self, step: str, key: str) -> Path | None:
        if self.root is None:
            return None
        folder = self.root / step / key
        if not (folder / "meta.json").is_file():
            return None
        self.in_use.add(folder)
        self.touch(folder)
        return folder

    @staticmethod
    def touch(folder: Path) -> None:
        """Record that the entry was used now (``last_used_s`` in its ``meta.json``)."""
        meta_file = folder / "meta.json"
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            _write_json(meta_file, {**meta, "last_used_s": _now()})
        except (OSError, ValueError) as exc:  # removed meanwhile, read-only cache, damaged
            logger.debug("cache: could not record the use of %s: %s", folder, exc)

    def store(self, step: str, key: str, frames: Mapping[str, pd.DataFrame], meta: dict) -> None:
        if self.root is None:
            return
        final = self.root / step / key
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _unique_dir(final.parent, f".{key}.tmp-{os.getpid()}-")
        try:
            for name, df in frames.items():
                _write_frame(df, tmp / f"{name}.parquet")
            now = _now()
            _write_json(tmp / "meta.json", {
                **meta, "frames": list(frames), "step": step, "key": key,
                "cache_version": _CACHE_VERSION, "created_s": now, "last_used_s": now})
            if final.exists() and not (final / "meta.json").is_file():
                shutil.rmtree(final)  # not a complete entry (never renamed into place whole)
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / "meta.json").is_file():
                    raise
                logger.debug("%s: entry %s stored meanwhile by another run", step, final)
                self.touch(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self.in_use.add(final)
        self.prune()

    def prune(self) -> int:
        """Prune the cache to its cap, keeping this run's entries; return entries removed."""
        if self.root is None:
            return 0
        max_mb = self.max_mb if self.max_mb is not None else get_settings().cache_max_mb
        return prune(self.root, max_mb * 1e6, keep=self.in_use)

    @staticmethod
    def load(folder: Path) -> tuple[dict[str, pd.DataFrame], dict]:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        frames = {name: _read_frame(folder / f"{name}.parquet") for name in meta["frames"]}
        return frames, meta


# --------------------------------------------------------------------------- public


def _roots(root, settings: Settings | None) -> tuple[Path, Path | None]:
    """Return the step cache folder and, for the default one, the street-network folder."""
    if root is not None:
        return Path(root), None
    settings = settings or get_settings()
    return settings.cache_dir / "pipeline", settings.cache_dir / "networks"


def cache_info(root: str | os.PathLike | None = None, *,
               settings: Settings | None = None) -> pd.DataFrame:
    """Summarise the step cache: entries, size and use per step.

    Parameters
    ----------
    root : path-like, optional
        The step cache folder (``[run] cache_dir``). Default
        ``<Settings.cache_dir>/pipeline``, and then the street networks
        (``<Settings.cache_dir>/networks``) are listed too, as step ``networks``.
    settings : Settings, optional
        Default :func:`get_settings`.

    Returns
    -------
    DataFrame
        Index ``step``; ``entries_n``, ``size_mb``, ``newest_use``,
        ``oldest_use`` (UTC timestamps: last use of an entry; for street
        networks when they were built). No rows for an empty cache.
    """
    steps_root, networks = _roots(root, settings)
    entries = list(_step_entries(steps_root))
    if networks is not None:
        entries += list(_network_entries(networks))
    columns = ["entries_n", "size_mb", "newest_use", "oldest_use"]
    if not entries:
        return pd.DataFrame(
            {"entries_n": pd.Series(dtype="int64"), "size_mb": pd.Series(dtype="float64"),
             "newest_use": pd.Series(dtype="datetime64[ns, UTC]"),
             "oldest_use": pd.Series(dtype="datetime64[ns, UTC]")},
            index=pd.Index([], name="step", dtype=object))
    df = pd.DataFrame({"step": [e.step for e in entries],
                       "size": [e.size_bytes for e in entries],
                       "used": pd.to_datetime([e.last_used_s for e in entries], unit="s",
                                              utc=True)})
    out = df.groupby("step", sort=False).agg(entries_n=("size", "size"), size_b=("size", "sum"),
                                              newest_use=("used", "max"),
                                              oldest_use=("used", "min"))
    out["size_mb"] = out.pop("size_b") / 1e6
    return out[columns]


def _known_steps() -> set[str]:
    from productivecity.workflow.config import STEPS

    funcs = _step_functions(_graph(None))
    named = {n.strip("_").removesuffix("_step") for n in funcs if n.endswith("_step")}
    return set(STEPS) | named


def clear_cache(root: str | os.PathLike | None = None, *, step: str | None = None,
                settings: Settings | None = None) -> int:
    """Remove cached entries; return how many were removed.

    Parameters
    ----------
    root : path-like, optional
        The step cache folder. Default ``<Settings.cache_dir>/pipeline``, and
        then the street networks (``<Settings.cache_dir>/networks``) are removed
        too.
    step : str, optional
        Only this step's entries (``"networks"``: only the street networks).
    settings : Settings, optional
        Default :func:`get_settings`.

    Returns
    -------
    int
        Entries removed (a step's result, or a street network).

    Raises
    ------
    ValueError
        ``step`` is not a step name (nor a folder of the cache).
    """
    steps_root, networks = _roots(root, settings)
    if step is not None:
        present = {p.name for p in steps_root.iterdir()} if steps_root.is_dir() else set()
        known = _known_steps() | present | {"networks"}
        if step not in known:
            raise ValueError(f"unknown step {step!r}; expected one of {sorted(known)}")
    if step == "networks" and networks is None:
        networks = (settings or get_settings()).cache_dir / "networks"
    entries = []
    if step != "networks":
        entries += [e for e in _step_entries(steps_root) if step is None or e.step == step]
        _remove_stale_tmp(steps_root)
    if networks is not None and step in (None, "networks"):
        entries += list(_network_entries(networks))
    n = sum(_remove(e.path) for e in entries)
    logger.info("cache: removed %d entr%s", n, "y" if n == 1 else "ies")
    return n
