"""Shared input checks: CRS, required columns, numeric columns.

Checks collect every problem they find and raise once, naming the source
(file, layer) and column and saying what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from productivecity._errors import ParameterError, SchemaError
from productivecity.crs import require_metric


def check_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str, suggest=None) -> None:
    """Raise :class:`CRSError` unless ``gdf`` has a projected (metric) CRS.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Data about to be used for distances or areas.
    what : str
        Name of the input in the message (file, layer or argument name).
    suggest : optional
        The CRS to suggest (the run's); default the data's UTM zone.
    """
    require_metric(gdf, what=what, suggest=suggest)


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


def check_limit_min(value, *, name: str = "limit_min", allow_inf: bool = False) -> float:
    """Return a travel-time limit in minutes as a float, or raise :class:`ParameterError`.

    The one check of the time limit, from the scenario file and the command line
    (``[allocation] limit_min``, ``--limit-min``) to the engine (``limit_min`` of the
    accessibility measures and the location models).

    Examples
    --------
    >>> check_limit_min(20)
    20.0
    >>> check_limit_min(-1)
    Traceback (most recent call last):
    ...
    productivecity._errors.ParameterError: limit_min must be a positive number of minutes, got -1
    """
    ok = (not isinstance(value, bool) and isinstance(value, int | float)
          and not math.isnan(value) and value > 0 and (allow_inf or math.isfinite(value)))
    if not ok:
        try:
            import numpy as np

            ok = (isinstance(value, np.number) and not np.isnan(value) and value > 0
                  and (allow_inf or np.isfinite(value)))
        except ImportError:  # pragma: no cover
            ok = False
    if not ok:
        inf = " (inf allowed)" if allow_inf else ""
        raise ParameterError(f"{name} must be a positive number of minutes{inf}, got {value!r}")
    return float(value)
