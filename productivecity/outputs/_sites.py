"""The check every output makes of a site table (without importing matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd

from productivecity._errors import EmptyLayerError, SchemaError
from productivecity._validate import require_columns
from productivecity.crs import metric_crs_of, to_crs


def _check_sites(sites: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Return ``sites`` in its metric CRS, checked to be a non-empty table with ``columns``."""
    if not isinstance(sites, gpd.GeoDataFrame):
        raise SchemaError(f"sites must be a GeoDataFrame, got {type(sites).__name__}")
    require_columns(sites, columns, what="candidate sites")
    if not len(sites):
        raise EmptyLayerError("candidate sites: the table is empty; nothing to map")
    return to_crs(sites, metric_crs_of(sites, what="candidate sites"), what="candidate sites")
