"""Demand data in any shape: a table of counts per unit, or a population grid.

The labour indicators and the allocation count persons (residents, job
seekers, low-educated job seekers) spread over the land. Any country's
statistics give these in one of two shapes, read here without knowing the
country:

:func:`read_demand_table`
    A CSV or Excel table with one unit code per row (or one row per unit and
    category, e.g. per education level); the user says which column is the
    code and which columns hold the counts of the package's measures
    (:data:`MEASURES`), and which category values add up to a measure.
:func:`join_demand_table`
    Joins such a table to any unit layer (:func:`demand_units`: the study's
    municipalities or neighbourhoods, or a polygon file with a code column).
    Codes that match no unit are listed; units without a row are missing
    (NaN), never zero.
:func:`read_raster_cells`
    A GeoTIFF grid of counts (e.g. a 100 m or 1 km population grid) cut by
    polygons (the study area, or units): each cell's count is shared by the
    share of its area inside each polygon, so the total within the polygons
    is conserved; nodata cells are unknown, not zero. :func:`raster_points`
    gives the same as points (cell centres; for cells cut by a boundary, a
    point of the part inside).

Counts are persons (floats) in ``*_n`` columns; everything is returned in
the CRS of the unit layer or study area given (a metric CRS). What was left
out or could not be matched is counted in a
:class:`~productivecity.sources.load_report.LayerReport`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import (
    CRSError,
    DataSourceError,
    EmptyLayerError,
    ParameterError,
    SchemaError,
)
from productivecity.crs import as_crs, crs_label, require_metric
from productivecity.sources.load_report import LayerReport

logger = logging.getLogger(__name__)

#: The measures a demand source can give (persons).
MEASURES = ("jobseekers_n", "jobseekers_low_edu_n", "population_n")

#: The measures a raster can hold.
RASTER_MEASURES = ("population_n", "jobseekers_n")

#: Unit layers of a study area a demand table can be joined to.
UNIT_LAYERS = {"municipalities": "units_municipalities",
               "neighbourhoods": "units_neighbourhoods"}

_LIST_MAX = 20


def _listed(items: Sequence) -> str:
    items = list(items)
    more = f" ... ({len(items)} in all)" if len(items) > _LIST_MAX else ""
    return f"{items[:_LIST_MAX]}{more}"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _clean_codes(values: pd.Series) -> pd.Series:
    """Return unit codes as stripped strings (``285.0``, a number read from Excel: ``285``)."""
    s = values.astype("string").str.strip()
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return s.mask(s == "")


def _read_frame(path: Path, *, code_column: str, sheet, sep, na_values) -> pd.DataFrame:
    if not path.is_file():
        raise DataSourceError(f"demand table {path} does not exist")
    na = list(na_values)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            with pd.ExcelFile(path) as xl:
                sheets = xl.sheet_names
                if sheet is not None and sheet not in sheets:
                    raise DataSourceError(f"demand table {path} has no sheet {sheet!r}; its "
                                          f"sheets are {sheets}")
                return pd.read_excel(xl, sheet_name=sheet if sheet is not None else 0,
                                     dtype={code_column: str}, na_values=na)
        if sheet is not None:
            raise ParameterError(f"sheet = {sheet!r} is given but {path} is not an Excel file "
                                 f"(.xlsx)")
        return pd.read_csv(path, sep=sep, engine="python" if sep is None else "c",
                           encoding="utf-8-sig", dtype={code_column: str}, na_values=na)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError,
            ValueError, OSError) as exc:
        if isinstance(exc, DataSourceError | ParameterError):
            raise
        raise DataSourceError(f"could not read demand table {path}: {exc}") from exc


def _as_column_list(value, *, what: str) -> list[str]:
    cols = [value] if isinstance(value, str) else list(value)
    if not cols or not all(isinstance(c, str) and c for c in cols):
        raise ParameterError(f"{what} must name a column or a list of columns, got {value!r}")
    return cols


def _numeric(df: pd.DataFrame, col: str, *, path: Path) -> pd.Series:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = num.isna() & raw.notna()
    if bad.any():
        examples = [f"row {i + 2}: {raw.iloc[i]!r}" for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise SchemaError(f"{path}: column {col!r} has {int(bad.sum())} value(s) that are not "
                          f"numbers ({', '.join(examples)}); give the markers of suppressed "
                          f"or missing values as na_values (e.g. ['..', 'x'])")
    if (num < 0).any():
        i = int(np.flatnonzero((num < 0).to_numpy())[0])
        raise SchemaError(f"{path}: column {col!r} has negative counts (row {i + 2}: "
                          f"{raw.iloc[i]!r}); counts of persons are >= 0")
    return num


def read_demand_table(
    path: str | os.PathLike,
    *,
    code_column: str,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    category_column: str | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
    category_count: str | None = None,
    sheet: str | None = None,
    sep: str | None = None,
    na_values: Sequence[str] = (),
) -> tuple[pd.DataFrame, LayerReport]:
    """Read a table of persons per unit (CSV or Excel) into the package's measures.

    Parameters
    ----------
    path : path-like
        CSV (separator sniffed unless ``sep``) or Excel file (``.xlsx``).
    code_column : str
        Column with the unit code (read as text: leading zeros are kept).
    columns : mapping, optional
        Measure (:data:`MEASURES`) → column, or list of columns added up
        (e.g. ``{"jobseekers_low_edu_n": ["edu_none", "edu_primary"]}``).
    category_column : str, optional
        Column telling what group of persons a row counts (e.g. the education
        level). With it, a unit may have several rows: each mapped measure is
        the sum over the unit's rows.
    categories : mapping, optional
        Measure → category values whose rows add up to it, e.g.
        ``{"jobseekers_low_edu_n": ["low", "none"]}`` (needs ``category_column``).
        A unit with rows but none of these categories counts 0 (and is noted).
    category_count : str, optional
        The column summed for ``categories`` (default: the column mapped to
        ``jobseekers_n``).
    sheet : str, optional
        Excel sheet (default: the first).
    sep : str, optional
        CSV separator (default: sniffed).
    na_values : sequence of str
        Cell texts meaning "no value" (e.g. ``".."`` for suppressed counts);
        empty cells are always missing.

    Returns
    -------
    table : DataFrame
        Index: the unit code (str, named ``code``); one float column per
        measure given, persons; NaN where the table has no value.
    report : LayerReport
        Layer ``demand table``: rows read, rows without a code skipped, notes.

    Raises
    ------
    DataSourceError
        The file is missing or unreadable, or has no such sheet.
    SchemaError
        A named column is missing, counts are not numbers or negative, or a
        code occurs twice in a table without a category column.
    ParameterError
        A measure is not one of :data:`MEASURES`, or categories without a
        category column.
    """
    path = Path(path)
    columns = dict(columns or {})
    categories = {k: list(v) for k, v in (categories or {}).items()}
    unknown = sorted(set(columns) - set(MEASURES)) + sorted(set(categories) - set(MEASURES))
    if unknown:
        raise ParameterError(f"demand table {path}: {unknown} are not measures; the measures "
                             f"are {list(MEASURES)}")
    both = sorted(set(columns) & set(categories))
    if both:
        raise ParameterError(f"demand table {path}: {both} given both as a column and as "
                             f"categories; give each measure once")
    if not columns and not categories:
        raise ParameterError(f"demand table {path}: say which column holds which measure "
                             f"(columns = {{jobseekers_n = \"<column>\", ...}})")
    if categories and category_column is None:
        raise ParameterError(f"demand table {path}: categories {categories} need the "
                             f"category_column that holds them")
    if categories and category_count is None:
        if "jobseekers_n" not in columns:
            raise ParameterError(f"demand table {path}: say which column the categories "
                                 f"{list(categories)} add up (category_count, or a column "
                                 f"for jobseekers_n)")
    mapped = {m: _as_column_list(c, what=f"column of {m}") for m, c in columns.items()}
    if categories:
        count_cols = (_as_column_list(category_count, what="category_count")
                      if category_count is not None else mapped["jobseekers_n"])
    else:
        count_cols = []

    df = _read_frame(path, code_column=code_column, sheet=sheet, sep=sep, na_values=na_values)
    needed = [code_column, *(c for cols in mapped.values() for c in cols), *count_cols]
    if category_column is not None:
        needed.append(category_column)
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise SchemaError(f"demand table {path} lacks the column(s) {missing}; its columns are "
                          f"{list(map(str, df.columns))}")
    report = LayerReport("demand table", sources=[str(path)], read_n=len(df))
    codes = _clean_codes(df[code_column])
    no_code = codes.isna().to_numpy()
    report.skip("no code", int(no_code.sum()))
    df = df.loc[~no_code]
    codes = codes[~no_code].astype(str).to_numpy()
    values = {c: _numeric(df, c, path=path) for c in dict.fromkeys(needed[1:])
              if c != category_column}

    def total(cols: list[str], rows=None) -> pd.Series:
        # NaN in any added column makes the sum NaN: unknown, never zero
        parts = [values[c] if rows is None else values[c].where(rows, 0.0) for c in cols]
        s = parts[0]
        for p in parts[1:]:
            s = s + p
        return s

    out = pd.DataFrame({m: total(cols).to_numpy() for m, cols in mapped.items()},
                       index=pd.Index(codes, name="code"))
    if category_column is None:
        dup = out.index[out.index.duplicated()].unique().tolist()
        if dup:
            raise SchemaError(f"demand table {path}: codes occur more than once in column "
                              f"{code_column!r}: {_listed(dup)}; give the category_column if "
                              f"the rows are groups of a unit")
    else:
        cat = df[category_column].astype("string").str.strip()
        for measure, wanted in categories.items():
            rows = cat.isin([str(v).strip() for v in wanted]).fillna(False)
            out[measure] = total(count_cols, rows).to_numpy()
        # a unit's rows add up; NaN in any row of a unit makes its sum unknown
        summed = out.groupby(level=0, sort=False).sum(min_count=1)
        unknown = out.isna().groupby(level=0, sort=False).any()
        out = summed.mask(unknown.reindex(summed.index))
        seen = cat.dropna().unique().tolist()
        for measure, wanted in categories.items():
            absent = [v for v in wanted if str(v).strip() not in seen]
            if absent:
                report.notes.append(f"category value(s) {absent} of {measure} occur nowhere in "
                                    f"column {category_column!r} (values: {_listed(seen)})")
            has = pd.Series(cat.isin([str(v).strip() for v in wanted]).fillna(False).to_numpy(),
                            index=codes).groupby(level=0).any()
            n_none = int((~has).sum())
            if n_none:
                report.notes.append(f"{n_none} unit(s) have no row of {wanted} in "
                                    f"{category_column!r}: {measure} counted 0 there")
        out.index.name = "code"
    report.features_n = len(out)
    for m in out.columns:
        n_na = int(out[m].isna().sum())
        if n_na:
            report.notes.append(f"{n_na} unit(s) without a value of {m} (missing, not zero)")
    return out[[m for m in MEASURES if m in out.columns]], report


def _match_codes(table_codes: pd.Index, unit_codes: pd.Index) -> dict[str, str]:
    """Table code → unit code: exact, else equal as numbers (``"91"`` and ``"091"``)."""
    units = set(unit_codes)
    match = {c: c for c in table_codes if c in units}
    by_number: dict[int, list[str]] = {}
    for u in unit_codes:
        if u.isdigit():
            by_number.setdefault(int(u), []).append(u)
    for c in table_codes:
        if c not in match and c.isdigit():
            cands = by_number.get(int(c), [])
            if len(cands) == 1:
                match[c] = cands[0]
    return match


def join_demand_table(
    table: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    report: LayerReport | None = None,
    what: str = "the demand table",
) -> tuple[pd.DataFrame, LayerReport]:
    """Join a table of measures per unit code to a unit layer.

    Parameters
    ----------
    table : DataFrame
        From :func:`read_demand_table` (index: unit code).
    units : GeoDataFrame
        Units indexed by their code (:func:`demand_units`).
    report : LayerReport, optional
        The table's report, completed here (default: a new one).
    what : str
        Name of the table in messages.

    Returns
    -------
    totals : DataFrame
        Aligned to ``units.index``: the measures of ``table``; NaN for units
        without a row (missing, never zero).
    report : LayerReport
        ``skipped["code matches no unit"]`` counts the table's codes that
        match no unit, listed in the notes (and logged as a warning);
        codes written without leading zeros (``91`` for ``091``) are matched
        and noted.
    """
    report = report if report is not None else LayerReport("demand table")
    unit_codes = pd.Index(units.index.astype(str))
    if unit_codes.has_duplicates:
        dup = unit_codes[unit_codes.duplicated()].unique().tolist()
        raise SchemaError(f"the units joined to {what} have duplicate codes: {_listed(dup)}")
    tcodes = pd.Index(table.index.astype(str))
    match = _match_codes(tcodes, unit_codes)
    loose = sorted(c for c, u in match.items() if c != u)
    if loose:
        report.notes.append(f"{len(loose)} code(s) matched ignoring leading zeros, e.g. "
                            f"{loose[:5]}")
    unmatched = [c for c in tcodes if c not in match]
    if unmatched:
        report.skip("code matches no unit", len(unmatched))
        note = (f"{len(unmatched)} code(s) of {what} match no unit of the layer (not used): "
                f"{_listed(unmatched)}")
        report.notes.append(note)
        logger.warning("%s", note)
    keep = [c in match for c in tcodes]
    t = table.loc[keep].copy()
    t.index = pd.Index([match[c] for c in tcodes[keep]], name=units.index.name)
    if t.index.has_duplicates:
        dup = t.index[t.index.duplicated()].unique().tolist()
        raise SchemaError(f"{what}: several codes match the same unit(s) {_listed(dup)} (e.g. "
                          f"'91' and '091'); write each unit once")
    totals = t.reindex(unit_codes)
    totals.index = units.index
    without = [str(u) for u, ok in zip(units.index, totals.notna().any(axis=1), strict=True)
               if not ok]
    if without:
        report.notes.append(f"{len(without)} of {len(units)} unit(s) have no row in {what} "
                            f"(missing, not zero): {_listed(without)}")
    report.features_n = len(units) - len(without)
    return totals, report


def demand_units(
    layers=None,
    *,
    units: str = "municipalities",
    path: str | os.PathLike | None = None,
    code_column: str | None = None,
    area: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Return the unit polygons a demand table is joined to, indexed by code (str).

    Parameters
    ----------
    layers : LayerSet, optional
        The study area's layers (needed for ``units`` layers, and for the area).
    units : {"municipalities", "neighbourhoods"}
        Which unit layer of ``layers`` (``units_municipalities`` /
        ``units_neighbourhoods``, indexed by their code); ignored with ``path``.
    path : path-like, optional
        A polygon file of units instead (any vector format), with ``code_column``.
    code_column : str, optional
        The code column of ``path``.
    area : GeoDataFrame, optional
        The study area (default: ``layers["study_area"]``); the units of
        ``path`` that overlap it are kept (whole, as the municipality layers
        are) and projected to its CRS.

    Returns
    -------
    units : GeoDataFrame
        Index: the code (str); the area's CRS.
    name : str
        Name of the units in notes.
    """
    if area is None and layers is not None:
        area = layers["study_area"]
    if path is None:
        if units not in UNIT_LAYERS:
            raise ParameterError(f"units must be one of {list(UNIT_LAYERS)} or a file, got "
                                 f"{units!r}")
        if layers is None:
            raise ParameterError("the unit layers come from a study area's layers: give layers")
        name = UNIT_LAYERS[units]
        gdf = layers[name]
        out = gdf[[gdf.geometry.name]].copy()
        out.index = pd.Index(gdf.index.astype(str), name=gdf.index.name or "code")
        return out, f"layer {name}"
    from productivecity._geom import repair_geometries
    from productivecity.sources._read import read_vector
    from productivecity.sources.units import _keep_overlapping

    path = Path(path)
    if code_column is None:
        raise ParameterError(f"units file {path}: say which column holds the unit code "
                             f"(units_code_column)")
    gdf = read_vector(path)
    if code_column not in gdf.columns:
        raise SchemaError(f"units file {path} has no column {code_column!r}; its columns are "
                          f"{[c for c in gdf.columns if c != gdf.geometry.name]}")
    report = LayerReport("demand units", sources=[str(path)], read_n=len(gdf))
    codes = _clean_codes(gdf[code_column])
    ok = codes.notna().to_numpy() & ~gdf.geometry.isna().to_numpy()
    report.skip("no code", int((~ok).sum()))
    gdf = gdf.loc[ok]
    gdf = gpd.GeoDataFrame(geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
                           index=pd.Index(codes[ok].astype(str).to_numpy(), name="code"))
    if gdf.index.has_duplicates:
        dup = gdf.index[gdf.index.duplicated()].unique().tolist()
        raise SchemaError(f"units file {path}: codes occur more than once in {code_column!r}: "
                          f"{_listed(dup)}")
    gdf, report.repaired_n = repair_geometries(gdf)
    if area is not None:
        gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=1.0, what="units")
    report.features_n = len(gdf)
    report.log()
    return gdf, f"units of {path.name}"


# --------------------------------------------------------------------------------------------
# Rasters
# --------------------------------------------------------------------------------------------


def read_raster_cells(
    path: str | os.PathLike,
    polygons: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    measure: str = "population_n",
    band: int = 1,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Cut a grid of counts (GeoTIFF) by polygons, sharing each cell by its area inside.

    Each valid cell (not nodata, not NaN) that meets a polygon gives one
    piece per polygon: the part of the cell inside it, carrying the cell's
    count times the share of the cell's area inside. The pieces of a cell
    add up to its count where the cell lies wholly inside the polygons, so
    the total within the polygons is conserved. Cells are carried into the
    polygons' CRS corner by corner (their sides stay straight: exact between
    metric CRSs up to the curvature of the projection over one cell).

    Parameters
    ----------
    path : path-like
        A single-band (or ``band``) GeoTIFF of counts (persons per cell),
        any CRS; its nodata value is honoured.
    polygons : GeoDataFrame or GeoSeries
        The study area or units, in a metric CRS (the result's).
    measure : {"population_n", "jobseekers_n"}
        Name of the count column.
    band : int, default 1

    Returns
    -------
    cells : GeoDataFrame
        Index ``cell_id`` (``"<row>_<col>"`` of the raster, ``"<unit>:<row>_<col>"``
        when ``polygons`` has several rows); columns ``unit`` (index label of the
        polygon), ``measure`` (persons), ``share_inside`` (0-1, the cell's area
        share in that polygon), ``cell_m2`` (the cell's area); geometry: the
        piece of the cell inside the polygon.
    report : LayerReport
        Layer ``raster <measure>``: cells read, cells outside, nodata cells
        inside the polygons (unknown, not zero), the total and the CRS.
    """
    import rasterio
    import rasterio.windows
    from rasterio.warp import transform_bounds

    if measure not in RASTER_MEASURES:
        raise ParameterError(f"raster measure must be one of {list(RASTER_MEASURES)}, got "
                             f"{measure!r}")
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"raster {path} does not exist")
    if isinstance(polygons, gpd.GeoSeries):
        polygons = gpd.GeoDataFrame(geometry=polygons)
    target = require_metric(polygons, what="the polygons the raster is cut by")
    polys = np.asarray(polygons.geometry.values)
    labels = [str(i) for i in polygons.index]
    report = LayerReport(f"raster {measure}", sources=[str(path)])
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataSourceError(f"could not read raster {path}: {exc}") from exc
    with src:
        if src.crs is None:
            raise CRSError(f"raster {path} has no CRS; add the CRS of its grid (e.g. gdal_edit "
                           f"-a_srs EPSG:<code>)")
        if not 1 <= band <= src.count:
            raise ParameterError(f"raster {path} has {src.count} band(s), not band {band}")
        rcrs = as_crs(src.crs.to_wkt(), what=f"raster {path}")
        if not src.transform.is_rectilinear:
            raise SchemaError(f"raster {path} is rotated; warp it to a north-up grid first")
        minx, miny, maxx, maxy = shapely.total_bounds(polys)
        bounds = transform_bounds(target, rcrs, minx, miny, maxx, maxy, densify_pts=21)
        t = src.transform
        cols_b = sorted(((bounds[0] - t.c) / t.a, (bounds[2] - t.c) / t.a))
        rows_b = sorted(((bounds[1] - t.f) / t.e, (bounds[3] - t.f) / t.e))
        c_lo = max(int(np.floor(cols_b[0])) - 1, 0)
        c_hi = min(int(np.ceil(cols_b[1])) + 1, src.width)
        r_lo = max(int(np.floor(rows_b[0])) - 1, 0)
        r_hi = min(int(np.ceil(rows_b[1])) + 1, src.height)
        if c_hi <= c_lo or r_hi <= r_lo:
            raise EmptyLayerError(f"raster {path} ({crs_label(rcrs)}) does not cover the "
                                  f"study area: its bounds {tuple(src.bounds)} miss the "
                                  f"area's {tuple(round(b, 6) for b in bounds)}")
        win = rasterio.windows.Window(c_lo, r_lo, c_hi - c_lo, r_hi - r_lo)
        data = src.read(band, window=win, masked=True).astype(float)
        r0, c0 = r_lo, c_lo
        # the window's transform, without affine's deprecated operators
        wtr = type(t)(t.a, t.b, t.c + t.a * c0 + t.b * r0, t.d, t.e, t.f + t.d * c0 + t.e * r0)
        res = f"{abs(src.transform.a):g} x {abs(src.transform.e):g} ({crs_label(rcrs)})"
    valid = ~np.ma.getmaskarray(data) & np.isfinite(data.filled(np.nan))
    vals = data.filled(np.nan)
    if (vals[valid] < 0).any():
        raise SchemaError(f"raster {path} has negative counts (e.g. {vals[valid].min():g}) that "
                          f"are not its nodata value; set its nodata value (gdal_edit "
                          f"-a_nodata)")
    rows, cols = np.indices(vals.shape)
    rows, cols = rows.ravel(), cols.ravel()
    # every cell of the window as a quadrilateral in the target CRS
    from pyproj import Transformer

    tr = Transformer.from_crs(rcrs, target, always_xy=True)
    corners_c = np.stack([cols, cols + 1, cols + 1, cols], axis=1).astype(float)
    corners_r = np.stack([rows, rows, rows + 1, rows + 1], axis=1).astype(float)
    xs = wtr.a * corners_c + wtr.b * corners_r + wtr.c
    ys = wtr.d * corners_c + wtr.e * corners_r + wtr.f
    xs, ys = tr.transform(xs, ys)
    ring = np.stack([xs, ys], axis=2)
    quads = shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))
    cell_m2 = shapely.area(quads)
    tree = shapely.STRtree(quads)
    pi, ci = tree.query(polys, predicate="intersects")
    hit = np.zeros(len(quads), bool)
    hit[ci] = True
    flat_valid = valid.ravel()
    flat_vals = vals.ravel()
    report.read_n = int(flat_valid.sum())
    report.outside_area_n = int((flat_valid & ~hit).sum())
    inside_nodata = hit & ~flat_valid
    sel = flat_valid[ci]
    pi, ci = pi[sel], ci[sel]
    shapely.prepare(polys)
    whole = shapely.contains_properly(polys[pi], quads[ci])
    pieces = quads[ci].copy()
    cut = ~whole
    if cut.any():
        pieces[cut] = shapely.intersection(quads[ci[cut]], polys[pi[cut]])
    piece_m2 = np.where(whole, cell_m2[ci], shapely.area(pieces))
    share = np.clip(piece_m2 / cell_m2[ci], 0.0, 1.0)
    keep = piece_m2 > 0
    pi, ci, pieces, share = pi[keep], ci[keep], pieces[keep], share[keep]
    value = flat_vals[ci] * share
    gr, gc = rows[ci] + r0, cols[ci] + c0
    ids = [f"{r}_{c}" for r, c in zip(gr, gc, strict=True)]
    if len(polys) > 1:
        ids = [f"{labels[p]}:{i}" for p, i in zip(pi, ids, strict=True)]
    out = gpd.GeoDataFrame(
        {"unit": [labels[p] for p in pi], measure: value, "share_inside": share,
         "cell_m2": cell_m2[ci]},
        geometry=pieces, crs=target, index=pd.Index(ids, name="cell_id"))
    report.features_n = len(out)
    n_cut = int((share < 1 - 1e-9).sum())
    total = float(value.sum())
    report.notes.append(f"{total:,.1f} {measure} in {len(out)} cell piece(s) of {res}; "
                        f"{n_cut} cell(s) cut by the boundary counted by their area share")
    if not rcrs.equals(as_crs(target)):
        report.notes.append(f"cells reprojected from {crs_label(rcrs)} to {crs_label(target)}")
    n_nd = int(inside_nodata.sum())
    if n_nd:
        report.notes.append(f"{n_nd} nodata cell(s) within the polygons: no count there "
                            f"(unknown, not zero)")
    if not len(out):
        raise EmptyLayerError(f"raster {path}: no valid cell within the study area ({n_nd} "
                              f"nodata cell(s) there)")
    report.log()
    return out, report


def raster_points(
    path: str | os.PathLike,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    measure: str = "population_n",
    band: int = 1,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the counts of a grid (GeoTIFF) within the area as points, in the area's CRS.

    The cells of :func:`read_raster_cells` cut by the area, each as one
    point: the cell centre where the cell lies wholly inside, else a point of
    the part inside (its count weighted by the share of the cell inside).
    The points' counts add up to the raster's total within the area.

    Returns
    -------
    points : GeoDataFrame
        Index ``cell_id``; ``unit``, ``measure``, ``share_inside``; point geometry.
    report : LayerReport
    """
    cells, report = read_raster_cells(path, area, measure=measure, band=band)
    return cells_to_points(cells), report


def cells_to_points(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cell pieces of :func:`read_raster_cells` as points (centres of whole cells)."""
    geoms = np.asarray(cells.geometry.values)
    whole = cells["share_inside"].to_numpy() >= 1 - 1e-12
    pts = np.where(whole, shapely.centroid(geoms), shapely.point_on_surface(geoms))
    out = gpd.GeoDataFrame(cells.drop(columns=[cells.geometry.name, "cell_m2"]),
                           geometry=pts, crs=cells.crs)
    return out


def raster_sums(cells: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *, measure: str
                ) -> pd.Series:
    """Sum the raster cell pieces of :func:`read_raster_cells` per unit (aligned to ``units``).

    Units that no valid cell meets get NaN (unknown, not zero).
    """
    s = cells.groupby("unit")[measure].sum()
    out = s.reindex([str(u) for u in units.index])
    out.index = units.index
    return out.rename(measure)


__all__ = [
    "MEASURES",
    "RASTER_MEASURES",
    "demand_units",
    "join_demand_table",
    "cells_to_points",
    "raster_points",
    "raster_sums",
    "read_demand_table",
    "read_raster_cells",
]
