"""Data completeness: mapped building footprints against a reference building count.

The dasymetric demand surface (:mod:`productivecity.indicators.labour`) puts
each unit's job seekers where its residential footprints are. Where the map
has only a fraction of the buildings (older OSM extracts often map whole
blocks, or nothing, in some municipalities), that puts them where the
mappers happened to work. :func:`building_completeness` compares the mapped
buildings of each unit with a reference count (a statistics office's
building stock, read by a region plug-in:
:func:`productivecity.sources.regions.building_stock_readers`):

* ``completeness`` = mapped buildings / reference buildings;
* ``footprint_share_pct`` = mapped footprint area / unit area (%).

Units below the threshold are ``"incomplete"``: the demand surface does not
weight them by footprints but falls back (neighbourhood population where a
finer population layer has it, then residential land where given, else
area). Units the reference does not cover are ``"unchecked"`` (listed, never
passed as complete; their footprints are used as before).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import ParameterError
from productivecity._validate import check_projected
from productivecity.crs import to_crs

logger = logging.getLogger(__name__)

#: Default least share of the reference buildings that must be mapped in a unit.
DEFAULT_MIN_COMPLETENESS = 0.5

#: Columns of :func:`building_completeness`.
COMPLETENESS_COLUMNS = ("name", "mapped_n", "reference_n", "completeness",
                        "footprint_share_pct", "status")


def building_completeness(
    units: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    reference: pd.Series | None,
    *,
    min_completeness: float = DEFAULT_MIN_COMPLETENESS,
) -> pd.DataFrame:
    """Compare mapped building footprints per unit with a reference building count.

    Parameters
    ----------
    units : GeoDataFrame
        Unit polygons indexed by code (metric CRS), with ``name`` if known.
    buildings : GeoDataFrame or None
        Mapped footprints; each counts in the unit holding its representative
        point. None: nothing is mapped.
    reference : Series or None
        Reference buildings per unit code (``buildings_n``). Codes of units not
        in it (or NaN, or 0) make those units ``"unchecked"``.
    min_completeness : float, default 0.5
        Units with ``mapped_n / reference_n`` below it are ``"incomplete"``.

    Returns
    -------
    DataFrame
        Index: the unit code (str); ``name``, ``mapped_n``, ``reference_n``
        (NaN where unchecked), ``completeness`` (NaN where unchecked),
        ``footprint_share_pct`` and ``status`` (``"complete"``,
        ``"incomplete"`` or ``"unchecked"``). ``attrs["outside_n"]``: reference
        units that are not among ``units`` (not checked, not an error).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> units = gpd.GeoDataFrame({"name": ["A", "B"]}, index=["1", "2"], crs="EPSG:3857",
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    >>> houses = gpd.GeoDataFrame(geometry=[shapely.box(10, 10, 20, 20)], crs="EPSG:3857")
    >>> table = building_completeness(units, houses, pd.Series({"1": 4.0}))
    >>> table["completeness"].tolist(), table["status"].tolist()
    ([0.25, nan], ['incomplete', 'unchecked'])
    """
    check_projected(units, what="units")
    try:
        ok = bool(np.isfinite(min_completeness) and min_completeness >= 0)
    except TypeError:
        ok = False
    if not ok:
        raise ParameterError(f"min_completeness must be a share >= 0, got {min_completeness!r}")
    codes = pd.Index([str(u) for u in units.index], name=units.index.name or "unit")
    geoms = np.asarray(units.geometry.values)
    mapped = np.zeros(len(units), dtype=float)
    footprint = np.zeros(len(units), dtype=float)
    if buildings is not None and len(buildings):
        b = to_crs(buildings, units.crs, what="buildings")
        bgeom = np.asarray(b.geometry.values)
        pts = shapely.point_on_surface(bgeom)
        ui, bi = shapely.STRtree(geoms).query(pts, predicate="within")[::-1]
        first = ~pd.Series(bi).duplicated().to_numpy()  # a point on a shared edge counts once
        ui, bi = ui[first], bi[first]
        mapped = np.bincount(ui, minlength=len(units)).astype(float)
        footprint = np.bincount(ui, weights=shapely.area(bgeom[bi]), minlength=len(units))
    ref = pd.Series(np.nan, index=codes, dtype=float)
    outside = 0
    if reference is not None:
        r = pd.to_numeric(pd.Series(reference), errors="coerce").astype(float)
        r.index = [str(c) for c in r.index]
        ref = r.reindex(codes).where(lambda s: s > 0)
        outside = len(set(r.index) - set(codes))
    completeness = pd.Series(mapped, index=codes) / ref
    status = np.where(ref.isna(), "unchecked",
                      np.where(completeness < min_completeness, "incomplete", "complete"))
    names = (units["name"].astype(str).to_numpy() if "name" in units.columns
             else codes.to_numpy())
    out = pd.DataFrame({"name": names, "mapped_n": mapped, "reference_n": ref.to_numpy(),
                        "completeness": completeness.to_numpy(),
                        "footprint_share_pct": 100.0 * footprint / shapely.area(geoms),
                        "status": status}, index=codes)
    out.attrs["outside_n"] = outside
    out.attrs["min_completeness"] = float(min_completeness)
    return out


def completeness_notes(table: pd.DataFrame) -> list[str]:
    """Return the notes of a completeness table: where footprints were not used, and why."""
    notes = []
    thr = table.attrs.get("min_completeness", DEFAULT_MIN_COMPLETENESS)
    low = table.loc[table["status"] == "incomplete"]
    if len(low):
        listed = ", ".join(f"{r['name']} {r['completeness']:.0%}" for _, r in low.iterrows())
        notes.append(f"building footprints incomplete (mapped < {thr:.0%} of the reference) in "
                     f"{len(low)} unit(s), demand spread without them: {listed}")
    unchecked = table.loc[table["status"] == "unchecked", "name"].tolist()
    if unchecked:
        notes.append(f"building completeness unchecked (no reference count) in "
                     f"{len(unchecked)} unit(s): {unchecked}")
    return notes


__all__ = ["COMPLETENESS_COLUMNS", "DEFAULT_MIN_COMPLETENESS", "building_completeness",
           "completeness_notes"]
