"""Who to credit: the attribution line of the data sources behind a map or table."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from productivecity._errors import SchemaError

logger = logging.getLogger(__name__)


#: Attribution text of each data source, by key (pass the keys used as ``sources``).
ATTRIBUTIONS: dict[str, str] = {
    "osm": "© OpenStreetMap contributors (ODbL)",
    "statbel": "Statbel",
    "actiris": "Actiris / view.brussels",
    "urbis": "UrbIS®© – Paradigm",
    "provincies": "Data & Analyse van de Vlaamse provincies",
    "irail": "iRail (CC0)",
    "stib": "STIB-MIVB open data",
    "bestcost": "BEST-COST / Sciensano",
    "sample": "synthetic sample data of productivecity (not real data)",
}


_OSM_LAYERS = ("industrial_zones", "canal", "canal_zone", "poi")


def attribution(sources: Iterable[str]) -> str:
    """Return the attribution line for the data source keys in ``sources``.

    Parameters
    ----------
    sources : iterable of str
        Keys of :data:`ATTRIBUTIONS` (``"osm"``, ``"statbel"``, ...); order and
        repeats do not matter.

    Returns
    -------
    str
        The attributions joined by ``"; "`` in :data:`ATTRIBUTIONS` order.

    Raises
    ------
    SchemaError
        An unknown key (the message lists the known ones).

    Examples
    --------
    >>> attribution(["statbel", "osm"])
    '© OpenStreetMap contributors (ODbL); Statbel'
    """
    keys = set(sources)
    unknown = sorted(keys - set(ATTRIBUTIONS))
    if unknown:
        raise SchemaError(
            f"unknown data source key(s) {unknown}; known keys: {list(ATTRIBUTIONS)}"
        )
    return "; ".join(text for key, text in ATTRIBUTIONS.items() if key in keys)


def _source_keys(source: str) -> set[str]:
    """Attribution keys for one file path or URL of a layer report."""
    s = str(source).replace("\\", "/").lower()
    name = s.rsplit("/", 1)[-1]
    keys = set()
    if "/data/sample/" in s:
        return {"sample"}
    if ("/osm/" in s or name.endswith((".osm", ".pbf", ".pmtiles")) or "openstreetmap" in s
            or "overpass" in s or "osmnx" in s):
        keys.add("osm")
    if "provincies" in s or name in {"gemeente.shp", "ggw7.shp", "statsec_ggw7.xlsx"}:
        keys.add("provincies")
    if "statbel" in s or "/stats/" in s or "/population/" in s:
        keys.add("statbel")
    if "urbis" in s:
        keys.add("urbis")
    if "irail" in s:
        keys.add("irail")
    if "stib" in s:
        keys.add("stib")
    if "actiris" in s:
        keys.add("actiris")
    if "bestcost" in s or "best-cost" in s:
        keys.add("bestcost")
    return keys


def attribution_keys(layers, *, names: Iterable[str] | None = None) -> list[str]:
    """Infer the data source keys of the layers drawn, from the layer reports.

    Parameters
    ----------
    layers : LayerSet or mapping of str to GeoDataFrame
        With a :class:`~productivecity.layers.LayerSet`, the file names in its
        reports decide (e.g. ``.../osm/...`` → ``"osm"``, ``gemeente.shp`` →
        ``"provincies"``, the shipped sample → ``"sample"``). A plain mapping has
        no reports: its OpenStreetMap layers (industrial zones, canal, canal
        zone, POI) give ``"osm"``.
    names : iterable of str, optional
        Only these layers (default: all).

    Returns
    -------
    list of str
        Keys of :data:`ATTRIBUTIONS`, in that order.
    """
    wanted = set(names) if names is not None else None
    keys: set[str] = set()
    reports = getattr(layers, "reports", None)
    if reports is not None:
        for rep in reports:
            if wanted is not None and rep.layer not in wanted:
                continue
            if rep.layer not in getattr(layers, "layers", {}):
                continue
            for src in rep.sources:
                keys |= _source_keys(src)
    else:
        present = set(layers) if wanted is None else set(layers) & wanted
        if present & set(_OSM_LAYERS):
            keys.add("osm")
    return [k for k in ATTRIBUTIONS if k in keys]

