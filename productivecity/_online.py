"""Online access: osmnx configuration, HTTP downloads and the on-disk cache.

Every download lands in ``settings.cache_dir`` under a name made from a hash
of the sorted request, so the same request is served from disk next time,
also offline. With ``settings.offline`` nothing touches the network and a
cache miss raises :class:`DataSourceError` saying what would provide the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd

from productivecity._errors import DataSourceError
from productivecity.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def request_key(*parts) -> str:
    """Return a stable SHA-256 hex key of JSON-serialisable request parts (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_path(kind: str, key: str, suffix: str, *, settings: Settings | None = None) -> Path:
    """Return the cache file for ``kind`` (a sub-folder) and ``key``; the folder is created."""
    settings = settings or get_settings()
    folder = settings.cache_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}{suffix}"


def require_online(what: str, *, settings: Settings | None = None, alternative: str = "") -> None:
    """Raise :class:`DataSourceError` if offline mode forbids fetching ``what``."""
    settings = settings or get_settings()
    if settings.offline:
        extra = f" {alternative}" if alternative else ""
        raise DataSourceError(
            f"{what} is not in the cache ({settings.cache_dir}) and offline mode is on "
            f"(PRODUCTIVECITY_OFFLINE / --offline); run once with network access to download "
            f"it.{extra}"
        )


def cached_frame(
    kind: str,
    key_parts: tuple,
    produce: Callable[[], gpd.GeoDataFrame],
    *,
    what: str,
    settings: Settings | None = None,
    alternative: str = "",
) -> gpd.GeoDataFrame:
    """Return a GeoDataFrame from the cache, or ``produce()`` it online and cache it.

    Parameters
    ----------
    kind : str
        Cache sub-folder (e.g. ``"overpass"``).
    key_parts : tuple
        JSON-serialisable description of the request (hashed into the file name).
    produce : callable
        Downloads and returns the frame; only called on a cache miss when online.
    what : str
        Description for messages (e.g. ``"OSM landuse for area 'x'"``).
    alternative : str
        What local file would serve instead, for the offline error message.
    """
    settings = settings or get_settings()
    path = cache_path(kind, request_key(kind, *key_parts), ".gpkg", settings=settings)
    if path.exists():
        logger.info("%s: from cache %s", what, path)
        return gpd.read_file(path, engine="pyogrio")
    require_online(what, settings=settings, alternative=alternative)
    gdf = produce()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.gpkg")
    try:
        # the layer name must not come from the dotted temporary file name (GPKG refuses it)
        gdf.to_file(tmp, driver="GPKG", engine="pyogrio", layer=kind)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    logger.info("%s: downloaded and cached in %s", what, path)
    return gdf


def download(url: str, *, settings: Settings | None = None, suffix: str = "") -> Path:
    """Download ``url`` into the cache (once) and return the local file.

    Offline, a cached copy serves; a miss raises :class:`DataSourceError`.
    """
    import requests

    settings = settings or get_settings()
    path = cache_path("http", request_key("GET", url), suffix, settings=settings)
    if path.exists():
        logger.info("using cached download of %s (%s)", url, path)
        return path
    require_online(f"download of {url}", settings=settings)
    logger.info("downloading %s", url)
    try:
        resp = requests.get(
            url, timeout=settings.timeout_s, headers={"User-Agent": settings.user_agent}
        )
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise DataSourceError(f"download of {url} failed: {exc}") from exc
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(resp.content)
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def osmnx_configured(settings: Settings | None = None) -> Iterator[None]:
    """Point osmnx at the configured endpoints and cache for the duration of a block.

    osmnx keeps its settings as module attributes; they are restored on exit.
    """
    import osmnx as ox

    settings = settings or get_settings()
    require_online("an osmnx (Overpass/Nominatim) request", settings=settings)
    new = {
        "overpass_url": settings.overpass_url.rstrip("/"),
        "nominatim_url": settings.nominatim_url,
        "cache_folder": str(settings.cache_dir / "osmnx"),
        "use_cache": True,
        "requests_timeout": settings.timeout_s,
        "http_user_agent": settings.user_agent,
        "log_console": False,
        # the Overpass /status check makes no sense against a local mirror or test server
        "overpass_rate_limit": not _is_loopback(settings.overpass_url),
    }
    old = {k: getattr(ox.settings, k) for k in new}
    try:
        for k, v in new.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")
