"""Shared input checks: CRS, required columns, numeric columns.

Checks collect every problem they find and raise once, naming the source
(file, layer) and column and saying what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import pyproj

from productivecity._errors import CRSError, SchemaError
from productivecity.settings import PROJECT_CRS


def check_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` has a projected (metric) CRS.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Data about to be used for distances or areas.
    what : str
        Name of the input in the message (file, layer or argument name).
    """
    crs = gdf.crs
    if crs is None:
        raise CRSError(
            f"{what} has no CRS; set one first (for example gdf.set_crs('EPSG:4326') for "
            f"longitude/latitude) and project it with gdf.to_crs('{PROJECT_CRS}')"
        )
    if not pyproj.CRS.from_user_input(crs).is_projected:
        raise CRSError(
            f"{what} is in the geographic CRS {crs.to_string()}; distances and areas need a "
            f"projected CRS in metres: use gdf.to_crs('{PROJECT_CRS}')"
        )


def to_project_crs(gdf: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in :data:`PROJECT_CRS`; refuse data without a CRS.

    Data without a CRS are never guessed to be longitude/latitude.
    """
    if gdf.crs is None:
        raise CRSError(
            f"{what} has no CRS (no .prj / CRS metadata); say which CRS its coordinates are in, "
            f"e.g. gdf.set_crs('EPSG:4326'), or re-export the file with its CRS"
        )
    if pyproj.CRS.from_user_input(gdf.crs).equals(pyproj.CRS.from_user_input(PROJECT_CRS)):
        return gdf
    return gdf.to_crs(PROJECT_CRS)


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise :class:`SchemaError` listing every missing column and the available ones."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        available = [str(c) for c in df.columns if c != "geometry"]
        raise SchemaError(
            f"{what} lacks required column(s) {missing}; available columns: {available}"
        )


def require_numeric(df: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise :class:`SchemaError` for columns that hold non-numeric values, with examples."""
    problems = []
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df.loc[values.isna() & df[col].notna(), col]
        if len(bad):
            examples = ", ".join(repr(v) for v in bad.head(3))
            problems.append(f"column {col!r}: {len(bad)} non-numeric value(s), e.g. {examples}")
    if problems:
        raise SchemaError(f"{what}: expected numbers; " + "; ".join(problems))
