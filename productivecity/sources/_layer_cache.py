"""Disk cache of decoded source layers, as GeoParquet keyed by the source file's content.

Decoding a PMTiles archive or an OSM PBF is most of a cold run; the decoded
frames are kept under ``<cache_dir>/layers/`` (``cache_dir`` from
:func:`productivecity.settings.get_settings`), one GeoParquet file per
(source file SHA-256, reader parameters, reader version). A changed source
file has another hash, so it never meets a stale entry. Entries are written
atomically (temporary file + ``os.replace``); an entry that cannot be read
back is logged, removed and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from productivecity.io import atomic_path, file_sha256
from productivecity.settings import Settings, get_settings

logger = logging.getLogger(__name__)

#: Sub-folder of the cache directory holding decoded layers.
SUBDIR = "layers"


def cache_path(kind: str, source: str | os.PathLike, params: dict, version: int,
               settings: Settings | None = None) -> Path:
    """Path of the cache entry for ``source`` read by reader ``kind`` with ``params``."""
    settings = settings or get_settings()
    key = json.dumps({"sha256": file_sha256(source), "params": params, "version": version},
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(settings.cache_dir) / SUBDIR / f"{kind}-{Path(source).name}-{digest}.parquet"


def cached_geoparquet(kind: str, source: str | os.PathLike, params: dict, version: int,
                      compute: Callable[[], gpd.GeoDataFrame], *,
                      settings: Settings | None = None,
                      restore: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
                      ) -> gpd.GeoDataFrame:
    """Return ``compute()``, cached as GeoParquet keyed by the source file's hash.

    Parameters
    ----------
    kind : str
        Reader name (part of the file name, for humans).
    source : path-like
        The source file whose content keys the entry.
    params : dict
        The reader's parameters (JSON-serialisable); part of the key.
    version : int
        The reader's version: bump it when the decoded output changes.
    compute : callable
        Decodes the source; called on a miss or a corrupt entry.
    settings : Settings, optional
        Cache folder (default :func:`get_settings`).
    restore : callable, optional
        Applied to a frame read back from the cache (e.g. to restore dtypes
        that Parquet does not keep).
    """
    try:
        path = cache_path(kind, source, params, version, settings)
    except OSError as exc:  # source unreadable: let the reader raise its own error
        logger.debug("layer cache: cannot hash %s (%s)", source, exc)
        return compute()
    if path.is_file():
        try:
            frame = gpd.read_parquet(path)
            return restore(frame) if restore is not None else frame
        except Exception as exc:  # corrupt or incompatible entry: recompute
            logger.warning("layer cache entry %s unreadable (%s); decoding again", path, exc)
            try:
                path.unlink()
            except OSError:
                pass
    frame = compute()
    try:
        _write_atomic(frame, path)
    except Exception as exc:  # a cache that cannot be written must not fail the run
        logger.warning("could not write layer cache entry %s: %s", path, exc)
    return frame


def _write_atomic(frame: gpd.GeoDataFrame, path: Path) -> None:
    with atomic_path(path, overwrite=True) as tmp:
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_parquet(tmp, index=True)
        else:
            pd.DataFrame(frame).to_parquet(tmp, index=True)
