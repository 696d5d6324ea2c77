"""Names of candidate sites: where a planner would say a site is.

A site id (``hex250-q199-r784``) is a key, not a name. :func:`site_names` names
each site by its municipality, its neighbourhood and the nearest named street,
from the study area's own layers and the street data of the run (OSM
``highway=*`` ways with a ``name``); in the output language where the data has
it (``name:nl``, ``name:fr``, ``name:en``). Every human output shows the name;
the id stays the key of every table.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity.crs import to_crs

logger = logging.getLogger(__name__)

#: Columns :func:`site_names` adds (strings; <NA> where unknown).
NAME_COLUMNS = ("municipality_name", "neighbourhood_name", "street_name", "place_name")

#: Street names are taken within this distance of a site's representative point (m).
MAX_STREET_M = 250.0


def read_street_names(path: str | os.PathLike, crs, *, lang: str | None = None
                      ) -> gpd.GeoDataFrame | None:
    """Return the named streets of an OSM file (``highway=*`` lines with a name) in ``crs``.

    Parameters
    ----------
    path : path-like
        OSM PBF or XML file (read with
        :func:`productivecity.sources.osm.read_osm_file`, cached).
    crs
        The study area's metric CRS.
    lang : {"nl", "fr", "en"}, optional
        Prefer ``name:<lang>`` where the data has it.

    Returns
    -------
    GeoDataFrame or None
        Column ``name`` (str) and the line geometry; None when the file has no
        named street.
    """
    from productivecity.sources.osm import read_osm_file

    lines = read_osm_file(Path(path), geometry="lines", tags={"highway": True})
    if "name" not in lines.columns:
        return None
    from productivecity.sources.osm import drop_placeholder_names

    name = drop_placeholder_names(lines["name"]).astype("string")
    key = f"name:{lang}" if lang else None
    if key and key in lines.columns:
        name = drop_placeholder_names(lines[key]).astype("string").fillna(name)
    keep = name.notna() & (name.str.strip() != "") & lines.geometry.notna()
    if not keep.any():
        return None
    out = gpd.GeoDataFrame({"name": name[keep].str.strip().to_numpy()},
                           geometry=lines.geometry[keep].to_numpy(), crs=lines.crs)
    return to_crs(out, crs, what=f"streets of {path}")


def site_names(
    sites: gpd.GeoDataFrame,
    layers,
    *,
    streets: gpd.GeoDataFrame | None = None,
    max_street_m: float = MAX_STREET_M,
) -> pd.DataFrame:
    """Name each site by its municipality, neighbourhood and nearest named street.

    Parameters
    ----------
    sites : GeoDataFrame
        Candidate sites (index ``site_id``).
    layers : LayerSet or mapping
        The study area's layers; ``units_municipalities`` and
        ``units_neighbourhoods`` (with ``name``) are used where present.
    streets : GeoDataFrame, optional
        Named streets (:func:`read_street_names`).
    max_street_m : float, default 250
        A street farther than this from the site's representative point is not
        its name.

    Returns
    -------
    DataFrame
        Aligned to ``sites``: :data:`NAME_COLUMNS`. ``place_name`` reads
        "street, neighbourhood, municipality" (parts that are unknown or repeat
        the previous one left out); the site id where nothing is known.

    Examples
    --------
    >>> import productivecity as pc
    >>> from productivecity.indicators.names import site_names
    >>> layers = pc.load_layers("sample", progress=False)
    >>> sites, _ = pc.candidate_sites(layers, "zones")
    >>> names = site_names(sites, layers)
    >>> bool(names["municipality_name"].notna().all())
    True
    """
    data = getattr(layers, "layers", layers)
    pts = np.asarray(sites.geometry.representative_point().values)
    out = pd.DataFrame(index=sites.index, columns=list(NAME_COLUMNS), dtype="string")
    for layer, col in (("units_municipalities", "municipality_name"),
                       ("units_neighbourhoods", "neighbourhood_name")):
        units = data.get(layer)
        if units is None or not len(units) or "name" not in units.columns:
            continue
        units = to_crs(units, sites.crs, what=layer)
        tree = shapely.STRtree(np.asarray(units.geometry.values))
        pi, ui = tree.query(pts, predicate="within")
        first = ~pd.Series(pi).duplicated().to_numpy()
        names = units["name"].astype("string").to_numpy()
        out.iloc[pi[first], out.columns.get_loc(col)] = names[ui[first]]
    if streets is not None and len(streets):
        streets = to_crs(streets, sites.crs, what="streets")
        tree = shapely.STRtree(np.asarray(streets.geometry.values))
        pi, si = tree.query_nearest(pts, max_distance=max_street_m, all_matches=False)
        out.iloc[pi, out.columns.get_loc("street_name")] = \
            streets["name"].astype("string").to_numpy()[si]
    out["place_name"] = [_compose(row, sid) for sid, row in out.iterrows()]
    return out


def _compose(row: pd.Series, site_id) -> str:
    parts: list[str] = []
    for col in ("street_name", "neighbourhood_name", "municipality_name"):
        value = row[col]
        # a part already said (e.g. "Kuregem Bara (Sint-Gillis)" then "Sint-Gillis") is left out
        if pd.notna(value) and str(value) and not any(str(value) in p for p in parts):
            parts.append(str(value))
    return ", ".join(parts) if parts else str(site_id)
