"""Statistical and administrative units: municipalities and neighbourhoods.

Municipalities are keyed by their 5-digit NIS code (``nis5``, a string such
as ``"21012"``). Readers accept the Statbel / Provincies in Cijfers
shapefile (``geoitem``, ``naam``), the Belgian municipalities TopoJSON
(``nis``, ``name_fr``, ``name_nl``) or any vector file with a NIS code column.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from productivecity._errors import AreaError, DataSourceError, EmptyLayerError, SchemaError
from productivecity._geom import area_ha, repair_geometries
from productivecity._validate import to_project_crs
from productivecity.report import LayerReport
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import DataDir

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


# --------------------------------------------------------------------------------------------
# Study-area helpers shared by the loaders of this package's sources
# --------------------------------------------------------------------------------------------

#: Default share of a unit's own area (in %) that must lie inside the study area for the
#: unit to be kept; smaller overlaps are slivers along shared borders (simplified geometry).
MIN_OVERLAP_PCT = 1.0


def _area_geometry(area, *, what: str = "area"):
    """Return the union of ``area`` (GeoDataFrame/GeoSeries, any CRS) in EPSG:31370.

    Raises :class:`CRSError` for an area without CRS and :class:`AreaError`
    for an empty one.
    """
    if not isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise AreaError(
            f"{what} must be a GeoDataFrame or GeoSeries of polygons, got {type(area).__name__}"
        )
    geoms = to_project_crs(area, what=what).geometry
    geoms = geoms[~(geoms.isna() | geoms.is_empty)]
    if geoms.empty:
        raise AreaError(f"{what} has no (non-empty) geometry")
    poly = shapely.union_all(np.asarray(geoms.values))
    if poly.area <= 0:
        raise AreaError(f"{what} has no area (points or lines given instead of polygons)")
    return poly


def _overlap_pct(gdf: gpd.GeoDataFrame, poly) -> np.ndarray:
    """Share (%) of each polygon's own area lying inside ``poly``."""
    geoms = np.asarray(gdf.geometry.values)
    shapely.prepare(poly)
    hit = shapely.intersects(poly, geoms)
    pct = np.zeros(len(gdf))
    own = shapely.area(geoms)
    if hit.any():
        inter = shapely.area(shapely.intersection(geoms[hit], poly))
        with np.errstate(divide="ignore", invalid="ignore"):
            pct[hit] = np.where(own[hit] > 0, 100.0 * inter / own[hit], 0.0)
    return pct


def _keep_overlapping(gdf, area, report: LayerReport, *, min_overlap_pct: float, what: str):
    """Keep the units overlapping ``area`` by more than ``min_overlap_pct``; count the rest."""
    if area is None:
        return gdf
    poly = _area_geometry(area)
    pct = _overlap_pct(gdf, poly)
    touching = (pct > 0) & (pct <= min_overlap_pct)
    keep = pct > min_overlap_pct
    report.outside_area_n += int((~keep).sum())
    if touching.any():
        report.notes.append(
            f"{int(touching.sum())} {what} overlapping the area by at most {min_overlap_pct:g}% of "
            f"their own area (border slivers) counted as outside"
        )
    kept = gdf.loc[keep]
    if kept.empty:
        raise EmptyLayerError(
            f"no {what} overlap the study area by more than {min_overlap_pct:g}% "
            f"({len(gdf)} read from {', '.join(report.sources)}); is the area in the file's coverage?"
        )
    return kept


def _resolve(kind: str, path, data_dir, *, what: str) -> Path:
    """Return ``path`` or the file of ``kind`` found in ``data_dir``; one clear error otherwise."""
    if path is not None:
        return Path(path)
    if data_dir is None:
        raise DataSourceError(
            f"no {what} file given: pass path=... or data_dir=... (a folder laid out as described "
            f"in productivecity.sources.catalog)"
        )
    return DataDir(data_dir).require(kind)


# --------------------------------------------------------------------------------------------
# Population per municipality (Statbel)
# --------------------------------------------------------------------------------------------

#: Column names recognised as the total population, in order of preference.
POPULATION_COLUMNS = ("population_n", "population", "Totaal", "Total", "TOTAL", "totaal",
                      "MS_POPULATION", "pop")
_POP_CODE_COLUMNS = ("NIS code", "nis5", "NIS5", "nis", "NIS", "CD_REFNIS", "niscode", "nis_code")
_POP_NAME_COLUMNS = ("Woonplaats", "name", "naam", "TX_DESCR_NL", "TX_DESCR_FR", "gemeente")


def read_population(
    path: str | os.PathLike,
    *,
    year: int | None = None,
    code_column: str | None = None,
    population_column: str | None = None,
) -> tuple[pd.DataFrame, LayerReport]:
    """Read population per municipality from a Statbel-style CSV.

    Handles the quirks of the Statbel "bevolking per gemeente" export: UTF-8
    byte-order mark, Windows line ends, ``,`` or ``;`` separators, NIS codes
    with lost leading zeros, and aggregate rows (country ``01000``, regions
    ``02000``-``04000``, provinces and arrondissements: every code ending in
    ``000``), which are left out and counted. Rows sharing a code are summed
    (Statbel long-format files have one row per sex/age class).

    Parameters
    ----------
    path : path-like
        The CSV file.
    year : int, optional
        Reference year; default: the first ``19xx``/``20xx`` in the file name.
    code_column, population_column : str, optional
        Columns with the NIS5 code and the total population; default detected
        (``NIS code``/``CD_REFNIS``/``nis5``..., ``Totaal``/``MS_POPULATION``/...).

    Returns
    -------
    DataFrame
        Index ``nis5`` (str); columns ``name`` (str, may be empty),
        ``population_n`` (Int64, persons) and ``population_year`` (Int64).
    LayerReport
        Counts of rows read and left out.
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"population file {path} does not exist")
    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    report = LayerReport("population_municipalities", sources=[str(path)], read_n=len(df))
    code_col = code_column or _first_present(df, _POP_CODE_COLUMNS)
    pop_col = population_column or _first_present(df, POPULATION_COLUMNS)
    missing = []
    if code_col is None or code_col not in df.columns:
        missing.append(repr(code_column) if code_column else f"a NIS code column (one of {list(_POP_CODE_COLUMNS)})")
    if pop_col is None or pop_col not in df.columns:
        missing.append(repr(population_column) if population_column
                       else f"a population column (one of {list(POPULATION_COLUMNS)})")
    if missing:
        raise SchemaError(f"{path} lacks {' and '.join(missing)}; available columns: {list(df.columns)}")
    codes = normalise_nis5(df[code_col])
    values = pd.to_numeric(
        df[pop_col].str.strip().str.replace(r"[\s\u202f]", "", regex=True), errors="coerce"
    )
    bad_value = values.isna() & df[pop_col].notna()
    if bad_value.any():
        examples = ", ".join(repr(v) for v in df.loc[bad_value, pop_col].head(3))
        raise SchemaError(f"{path}: column {pop_col!r} holds non-numeric values, e.g. {examples}")
    valid_code = codes.str.fullmatch(r"\d{5}").fillna(False).astype(bool)
    aggregate = valid_code & codes.str.endswith("000")
    report.skip("no 5-digit NIS code", int((~valid_code).sum()))
    report.skip("aggregate rows (country, region, province, arrondissement)", int(aggregate.sum()))
    report.skip("no population value", int((valid_code & ~aggregate & values.isna()).sum()))
    keep = valid_code & ~aggregate & values.notna()
    name_col = _first_present(df, _POP_NAME_COLUMNS)
    names = df[name_col].fillna("").astype(str) if name_col else pd.Series("", index=df.index)
    table = pd.DataFrame({"nis5": codes[keep], "name": names[keep], "population_n": values[keep]})
    n_rows = len(table)
    table = table.groupby("nis5", sort=True).agg(name=("name", "first"),
                                                 population_n=("population_n", "sum"))
    if len(table) < n_rows:
        report.notes.append(f"{n_rows - len(table)} rows summed into rows of the same NIS code")
    if year is None:
        found = re.search(r"(19|20)\d\d", path.name)
        year = int(found.group(0)) if found else None
    out = pd.DataFrame(
        {
            "name": table["name"],
            "population_n": table["population_n"].round().astype("Int64"),
            "population_year": pd.array([year] * len(table), dtype="Int64"),
        },
        index=table.index.rename("nis5"),
    )
    report.features_n = len(out)
    report.log()
    return out, report


# --------------------------------------------------------------------------------------------
# Municipalities layer
# --------------------------------------------------------------------------------------------


def municipalities(
    area=None,
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    population: str | os.PathLike | None = None,
    min_overlap_pct: float = MIN_OVERLAP_PCT,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Return the municipalities of the study area with population, in EPSG:31370.

    Parameters
    ----------
    area : GeoDataFrame or GeoSeries, optional
        Study-area polygon(s) in any CRS; None keeps every municipality.
    data_dir : path-like, optional
        Data directory searched for the ``municipalities`` and
        ``population_municipalities`` sources (see
        :mod:`productivecity.sources.catalog`).
    path : path-like, optional
        Municipality polygons (overrides ``data_dir``), read with
        :func:`read_municipalities`.
    population : path-like, optional
        Population CSV (overrides ``data_dir``), read with :func:`read_population`.
        Without one, ``population_n`` is <NA> and the report says so.
    min_overlap_pct : float, default 1.0
        A municipality is kept when more than this share (%) of its own area
        lies in ``area``; touching neighbours (border slivers of simplified
        boundaries) are counted as outside.

    Returns
    -------
    GeoDataFrame
        Index ``nis5`` (str); columns ``name`` (str), ``population_n``
        (Int64 persons, <NA> where the table has no row for the code, e.g.
        municipalities created by the 2025 mergers against a 2020 table),
        ``population_year`` (Int64), ``area_ha`` (float, hectares) and
        ``geometry`` (polygons, EPSG:31370).
    LayerReport
        Layer ``municipalities``.
    """
    src = _resolve("municipalities", path, data_dir, what="municipality boundaries")
    gdf = read_municipalities(src)
    report = LayerReport("municipalities", sources=[str(src)], read_n=len(gdf))
    gdf, n_rep = repair_geometries(gdf)
    report.repaired_n = n_rep
    gdf = _keep_overlapping(gdf, area, report, min_overlap_pct=min_overlap_pct,
                            what="municipalities")
    pop_path = Path(population) if population is not None else (
        DataDir(data_dir).find("population_municipalities") if data_dir is not None else None)
    out = gdf[["name"]].copy()
    if pop_path is not None:
        pop, _ = read_population(pop_path)
        report.sources.append(str(pop_path))
        joined = pop.reindex(out.index)
        out["population_n"] = joined["population_n"].astype("Int64")
        out["population_year"] = joined["population_year"].astype("Int64")
        n_missing = int(out["population_n"].isna().sum())
        if n_missing:
            report.notes.append(
                f"{n_missing} municipalities have no population in {pop_path.name} "
                f"(codes absent from the table, e.g. after municipal mergers): population_n <NA>"
            )
    else:
        out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["population_year"] = pd.array([pd.NA] * len(out), dtype="Int64")
        report.notes.append("no population table given or found: population_n is <NA>")
    out["area_ha"] = area_ha(gdf.geometry)
    out = gpd.GeoDataFrame(out, geometry=gdf.geometry, crs=gdf.crs)
    report.features_n = len(out)
    report.log()
    return out, report
