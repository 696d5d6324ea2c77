"""The step cache: one folder per step and key, written atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from productivecity.workflow.config import _jsonable

logger = logging.getLogger(__name__)


_CACHE_VERSION = 1


def _hash(parts: Mapping[str, Any]) -> str:
    text = json.dumps(_jsonable(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path)


def _read_frame(path: Path) -> pd.DataFrame:
    meta = pq.read_schema(path).metadata or {}
    return gpd.read_parquet(path) if b"geo" in meta else pd.read_parquet(path)


class _StepCache:
    """Folders ``<root>/<step>/<key>/`` holding a step's frames and ``meta.json``."""

    def __init__(self, root: Path | None):
        self.root = root

    def entry(self, step: str, key: str) -> Path | None:
        if self.root is None:
            return None
        folder = self.root / step / key
        return folder if (folder / "meta.json").is_file() else None

    def store(self, step: str, key: str, frames: Mapping[str, pd.DataFrame], meta: dict) -> None:
        if self.root is None:
            return
        final = self.root / step / key
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-{os.getpid()}-", dir=final.parent))
        try:
            for name, df in frames.items():
                _write_frame(df, tmp / f"{name}.parquet")
            (tmp / "meta.json").write_text(json.dumps(_jsonable(
                {**meta, "frames": list(frames), "step": step, "key": key,
                 "cache_version": _CACHE_VERSION}), indent=1, sort_keys=True), encoding="utf-8")
            if final.exists() and not (final / "meta.json").is_file():
                shutil.rmtree(final)  # not a complete entry (never renamed into place whole)
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / "meta.json").is_file():
                    raise
                logger.debug("%s: entry %s stored meanwhile by another run", step, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def load(folder: Path) -> tuple[dict[str, pd.DataFrame], dict]:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        frames = {name: _read_frame(folder / f"{name}.parquet") for name in meta["frames"]}
        return frames, meta

