"""Statistical and administrative units: municipalities and neighbourhoods.

Municipalities are keyed by their 5-digit NIS code (``nis5``, a string such
as ``"21012"``). Readers accept the Statbel / Provincies in Cijfers
shapefile (``geoitem``, ``naam``), the Belgian municipalities TopoJSON
(``nis``, ``name_fr``, ``name_nl``) or any vector file with a NIS code column.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

from productivecity._errors import SchemaError
from productivecity.sources._read import read_vector

logger = logging.getLogger(__name__)

#: Column names recognised as the municipality NIS code, in order of preference.
NIS_COLUMNS = ("nis5", "nis", "NIS", "NIS5", "niscode", "nis_code", "geoitem", "CD_MUNTY_REFNIS")
#: Column names recognised as the municipality name, in order of preference.
NAME_COLUMNS = ("name", "naam", "name_nl", "name_fr", "NAME", "TX_MUNTY_DESCR_NL", "gemeente")


def read_municipalities(
    path: str | os.PathLike,
    *,
    layer: str | None = None,
    code_column: str | None = None,
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read municipality polygons keyed by NIS5 code, in EPSG:31370.

    Parameters
    ----------
    path : path-like
        Any vector file of municipalities. For TopoJSON files the layer
        ``municipalities`` is read by default.
    layer : str, optional
        Layer to read.
    code_column, name_column : str, optional
        Columns with the NIS5 code and the name; default: detected from
        :data:`NIS_COLUMNS` and :data:`NAME_COLUMNS`.

    Returns
    -------
    GeoDataFrame
        Index ``nis5`` (str, 5 digits, unique); columns ``name`` (str) and
        ``geometry`` (MultiPolygon/Polygon, EPSG:31370). One row is one
        municipality. Rows whose code is not a 5-digit number (e.g. regions in
        mixed files) are left out and logged.
    """
    path = Path(path)
    if layer is None and "topojson" in path.name.lower():
        layer = "municipalities"
    gdf = read_vector(path, layer=layer)
    what = f"{path}" + (f" (layer {layer!r})" if layer else "")
    code_col = code_column or _first_present(gdf, NIS_COLUMNS)
    name_col = name_column or _first_present(gdf, NAME_COLUMNS)
    missing = []
    if code_col is None or code_col not in gdf.columns:
        missing.append(f"a NIS5 code column (one of {list(NIS_COLUMNS)})"
                       if code_column is None else repr(code_column))
    if name_col is None or name_col not in gdf.columns:
        missing.append(f"a name column (one of {list(NAME_COLUMNS)})"
                       if name_column is None else repr(name_column))
    if missing:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks {' and '.join(missing)}; available columns: {available}")
    codes = normalise_nis5(gdf[code_col])
    ok = codes.str.fullmatch(r"\d{5}").fillna(False).astype(bool)
    if (~ok).any():
        logger.info("%s: %d rows without a 5-digit NIS code left out", what, int((~ok).sum()))
    out = gpd.GeoDataFrame(
        {"name": gdf.loc[ok, name_col].astype(str).to_numpy()},
        geometry=gdf.geometry[ok].to_numpy(),
        index=pd.Index(codes[ok].to_numpy(), name="nis5"),
        crs=gdf.crs,
    )
    dup = out.index[out.index.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(f"{what}: NIS5 codes occur more than once in column {code_col!r}: {dup}")
    return out


def normalise_nis5(values: pd.Series) -> pd.Series:
    """Return NIS codes as 5-character strings (``21001``; ints and floats such as 21001.0 too)."""
    s = values.astype("string").str.strip()
    s = s.str.replace(r"\.0+$", "", regex=True)
    return s.str.zfill(5)


def _first_present(df: pd.DataFrame, candidates) -> str | None:
    for c in candidates:
        if c in df.columns:
            return c
    return None
