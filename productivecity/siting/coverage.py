"""Data coverage of the scored sites per administrative unit (e.g. municipality).

Where a site is "not assessable" the data, not the site, is at fault: this table
says per unit how many sites are eligible, excluded by a rule or not assessable,
and which inputs are missing there, so a planner sees at once where the answer
is silent (e.g. a municipality without street or job-seeker data).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity import _i18n
from productivecity._validate import require_columns
from productivecity.crs import to_crs
from productivecity.siting.scoring import site_statuses

logger = logging.getLogger(__name__)

#: Row of the sites whose centroid lies in no unit.
OUTSIDE_UNITS = "outside the units"

#: Columns of :func:`data_coverage`, in order (index ``unit``).
COVERAGE_COLUMNS = ("sites_n", "eligible_n", "excluded_n", "not_assessable_n",
                    "missing_inputs", "missing_columns")


def data_coverage(ranked: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *,
                  name_column: str = "name", lang: str = "en") -> pd.DataFrame:
    """Count the sites' states and missing inputs per unit.

    Each site is assigned to the unit containing its centroid (on a shared
    edge, the first such unit in ``units`` order); sites in no unit are
    counted in a row named :data:`OUTSIDE_UNITS` (only when there are any).

    Parameters
    ----------
    ranked : GeoDataFrame
        Scored sites (:func:`productivecity.siting.scoring.score_sites` table
        with geometry): ``status`` (or ``excluded`` and ``score``, see
        :func:`~productivecity.siting.scoring.site_statuses`) and optionally
        ``missing_inputs`` (columns without a value, joined by ``"; "``).
    units : GeoDataFrame
        Polygons, e.g. the ``units_municipalities`` layer, with a name column;
        reprojected to the CRS of ``ranked`` when they differ.
    name_column : str, default "name"
        Column of ``units`` naming each unit.
    lang : {"en", "nl", "fr"}, default "en"
        Language of the input labels in ``missing_inputs``.

    Returns
    -------
    pandas.DataFrame
        One row per unit (index ``unit``: its name; units in ``units`` order,
        those without a site included with zeros), then the outside row.
        Columns: ``sites_n``, ``eligible_n``, ``excluded_n``,
        ``not_assessable_n`` (the three add up to ``sites_n``),
        ``missing_inputs`` (str: each input missing at any of the unit's
        sites, as its label and the share of the unit's sites without it,
        most missing first, e.g. ``"Job seekers within 20 min walk 100 %"``,
        joined by ``"; "``; "" if none) and ``missing_columns`` (the same
        inputs as column names, joined by ``"; "``).

    Raises
    ------
    SchemaError
        ``units`` lacks ``name_column``.
    CRSError
        Either layer has no CRS.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> units = gpd.GeoDataFrame({"name": ["A", "B"]},
    ...                          geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32631)
    >>> sites = gpd.GeoDataFrame(
    ...     {"status": ["eligible", "not assessable", "excluded"],
    ...      "missing_inputs": ["", "rail_time_min", "rail_time_min"]},
    ...     geometry=[box(1, 1, 2, 2), box(12, 1, 13, 2), box(30, 0, 31, 1)], crs=32631)
    >>> cov = data_coverage(sites, units)
    >>> cov[["sites_n", "eligible_n", "excluded_n", "not_assessable_n"]].to_numpy().tolist()
    [[1, 1, 0, 0], [1, 0, 0, 1], [1, 0, 1, 0]]
    >>> cov.index.tolist(), cov.loc["B", "missing_columns"]
    (['A', 'B', 'outside the units'], 'rail_time_min')
    """
    require_columns(units, [name_column], what="units (data coverage)")
    if len(units) and len(ranked):
        units = to_crs(units, ranked.crs, what="units (data coverage)")
    status = site_statuses(ranked).to_numpy()
    gaps = (ranked["missing_inputs"].fillna("").astype(str) if "missing_inputs" in ranked.columns
            else pd.Series("", index=ranked.index))
    # the unit containing each site's centroid (first in units order on an edge)
    unit_pos = np.full(len(ranked), -1, dtype=np.int64)
    if len(units) and len(ranked):
        geoms = ranked.geometry
        ok = (geoms.notna() & ~geoms.is_empty).to_numpy()
        where = np.flatnonzero(ok)
        centroids = geoms.iloc[where].centroid.to_numpy()
        hit_site, hit_unit = units.sindex.query(centroids, predicate="intersects")
        order = np.lexsort((hit_unit, hit_site))
        hit_site, hit_unit = hit_site[order], hit_unit[order]
        first = np.unique(hit_site, return_index=True)[1]
        unit_pos[where[hit_site[first]]] = hit_unit[first]
    names = units[name_column].astype(str).tolist()
    groups: list[tuple[str, np.ndarray]] = [
        (name, np.flatnonzero(unit_pos == i)) for i, name in enumerate(names)]
    outside = np.flatnonzero(unit_pos < 0)
    if len(outside):
        groups.append((OUTSIDE_UNITS, outside))
    rows = []
    for name, idx in groups:
        st = status[idx]
        missing = gaps.iloc[idx].str.split("; ").explode()
        missing = missing[missing.notna() & (missing != "")]
        counts = missing.value_counts().sort_index(kind="stable")
        counts = counts.sort_values(ascending=False, kind="stable")
        rows.append({
            "unit": name,
            "sites_n": int(len(idx)),
            "eligible_n": int((st == "eligible").sum()),
            "excluded_n": int((st == "excluded").sum()),
            "not_assessable_n": int((st == "not assessable").sum()),
            "missing_inputs": "; ".join(
                f"{_i18n.column_label(str(col), lang, unit=False)} {100 * n / len(idx):.0f} %"
                for col, n in counts.items()),
            "missing_columns": "; ".join(str(c) for c in counts.index),
        })
    out = pd.DataFrame(rows, columns=["unit", *COVERAGE_COLUMNS]).set_index("unit")
    if len(outside):
        logger.info("data coverage: %d site(s) lie in no unit (%s)", len(outside), OUTSIDE_UNITS)
    return out
