"""Inputs, versions and results of a run, written as ``manifest.json``."""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import functools
import hashlib
import importlib.metadata
import logging
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from productivecity import __version__
from productivecity.io import file_sha256
from productivecity.workflow.config import _jsonable

if TYPE_CHECKING:
    from productivecity.workflow.steps import _Run

logger = logging.getLogger(__name__)


def _file_record(path: Path, *, role: str, root: Path | None = None,
                 kinds: list[str] | None = None) -> dict:
    st = path.stat()
    rec = {
        "path": path.relative_to(root).as_posix() if root is not None else str(path),
        "role": role,
        "sha256": file_sha256(path),
        "size_bytes": st.st_size,
        "modified": _dt.datetime.fromtimestamp(st.st_mtime, tz=_dt.UTC)
        .replace(microsecond=0).isoformat(),
    }
    if kinds is not None:
        rec["kinds"] = kinds
    return rec


def data_files(data_dir: str | os.PathLike) -> dict[Path, list[str]]:
    """Return the files of a data directory that the package reads, with their kinds.

    Every file the catalogue (:data:`productivecity.sources.catalog.SOURCES`)
    finds, plus the side files of a shapefile (``.dbf``, ``.shx``, ``.prj``,
    ...) and the other files of a folder source (a GTFS feed).

    Parameters
    ----------
    data_dir : path-like

    Returns
    -------
    dict of Path to list of str
        File (sorted by path) to the source kinds it serves.
    """
    from productivecity.sources.catalog import SOURCES, DataDir

    dd = DataDir(data_dir)
    files: dict[Path, list[str]] = {}
    for kind in SOURCES:
        for p in dd.find_all(kind):
            group = [p]
            if p.suffix.lower() == ".shp":
                group += sorted(q for q in p.parent.iterdir() if q.is_file()
                                and q.stem == p.stem and q != p)
            if SOURCES[kind].folder:
                group += sorted(q for q in p.parent.iterdir() if q.is_file() and q != p)
            for q in group:
                kinds = files.setdefault(q, [])
                if kind not in kinds:
                    kinds.append(kind)
    return dict(sorted(files.items()))


@functools.cache
def _code_sha256() -> str:
    """Hash of the package's Python sources, recorded in the manifest.

    The step cache keys use :func:`productivecity.workflow.cache.step_code_key`
    (the code each step runs, without docstrings) instead.
    """
    root = Path(__file__).resolve().parent.parent  # the package, not only workflow/
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _versions() -> dict:
    """Versions of Python, the package, its dependencies and the C libraries."""
    return copy.deepcopy(_versions_once())


def prepare() -> None:
    """Work out what every manifest records of this process (a run does it while it waits)."""
    _versions_once()
    _code_sha256()


@functools.cache
def _versions_once() -> dict:
    pkgs: dict[str, str] = {"productivecity": __version__}
    try:
        reqs = importlib.metadata.requires("productivecity") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        reqs = []
    for req in reqs:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]
        try:
            pkgs[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pkgs[name] = None
    libs = {}
    try:
        import pyogrio
        import pyproj
        import rasterio
        import shapely

        libs = {"gdal": pyogrio.__gdal_version_string__, "gdal_rasterio": rasterio.__gdal_version__,
                "proj": pyproj.proj_version_str, "geos": shapely.geos_version_string}
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": dict(sorted(pkgs.items())), "libraries": libs}


def _manifest(run: _Run, ranked, *, files, date, started, t_start, sites_report, ind_report,
              rank_meta, alloc_meta, out, sources, missing_inputs=None,
              failed_sources=(), places=None) -> dict:
    from productivecity.outputs.attribution import attribution

    config = run.config
    from productivecity.siting.scoring import site_statuses

    status = site_statuses(ranked)
    top = ranked.loc[status.eq("eligible")].head(config["outputs"]["top_k"])
    top_sites = [{"site_id": str(sid),
                  "name": (str(row["place_name"]) if "place_name" in row
                           and pd.notna(row["place_name"]) else str(sid)),
                  "rank": int(row["rank"]), "score": float(row["score"]),
                  "topk_share": (float(row["topk_share"]) if "topk_share" in row
                                 and pd.notna(row["topk_share"]) else None)}
                 for sid, row in top.iterrows()]
    results = {"sites_n": int(len(ranked)), "eligible_n": int(status.eq("eligible").sum()),
               "excluded_n": int(status.eq("excluded").sum()),
               "not_assessable_n": int(status.eq("not assessable").sum()),
               "top_sites": top_sites,
               "top_places": _top_places(places, config["outputs"]["top_k"]),
               "monte_carlo": rank_meta["monte_carlo"],
               "allocation": alloc_meta["summary"] if alloc_meta else None,
               "sites_report": sites_report, "indicators_report": ind_report,
               "missing_inputs": ([] if missing_inputs is None else
                                  missing_inputs.reset_index().to_dict("records")),
               # how each street network was built: ways cut at the extract's edge, pieces
               # left out, ... (networks of this run only; cached steps need none). Not
               # where it was built from nor whether from the cache: the file is among the
               # inputs (with its hash), and the same inputs give the same manifest.
               "networks": {mode: {"crs": net.crs,
                                   **{k: v for k, v in dataclasses.asdict(net.report).items()
                                      if k not in ("source", "from_cache")}}
                            for mode, net in sorted(run._networks.items())},
               "failed_sources": list(failed_sources)}
    total = time.perf_counter() - t_start
    return _jsonable({
        "productivecity": __version__,
        "name": config.name,
        "description": config["run"]["description"],
        "date": date,
        "attribution": attribution(sources) if sources else "",
        "credits": [dataclasses.asdict(c) for c in sources],
        "config": {"path": str(config.path) if config.path else None,
                   "as_given": config.raw,
                   "resolved": config.sections,
                   "criteria": config.criteria_data},
        "data_dir": str(run.data_dir) if run.data_dir else None,
        "inputs": run.inputs,
        "environment": _versions(),
        "code_sha256": _code_sha256(),
        "files": files,
        "results": results,
        "run": {"started_utc": started, "total_s": round(total, 3),
                "out_dir": str(out),
                "cache_dir": str(run.cache.root) if run.cache.root else None,
                "steps": [{**r, "time_s": round(r["time_s"], 3)} for r in run.records]},
    })


def _top_places(places, top_k: int) -> list[dict] | None:
    """Return the best ``top_k`` places: name, best site, score, rank, cells, stability."""
    if places is None:
        return None
    out = []
    for pid, row in places.sort_values("rank", kind="stable").head(top_k).iterrows():
        name = row.get("place_name")
        share = row.get("topk_share")
        out.append({"place_id": str(pid),
                    "name": str(name) if name is not None and pd.notna(name) else str(pid),
                    "best_site_id": str(row["best_site_id"]), "rank": int(row["rank"]),
                    "score": float(row["score"]), "cells_n": int(row["cells_n"]),
                    "topk_share": float(share) if share is not None and pd.notna(share)
                    else None})
    return out
