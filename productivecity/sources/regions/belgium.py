"""Belgium: Statbel and NIS codes, Provincies in Cijfers, UrbIS, Actiris, BEST-COST, STIB, iRail.

The region plug-in of Belgium and of the Brussels–Vilvoorde test bed
(:data:`REGION`, registered in :mod:`productivecity.sources.regions`). It
holds every Belgian file format, code list and operator; the generic readers
(:mod:`productivecity.sources.units`, :mod:`~productivecity.sources.transit`,
:mod:`~productivecity.sources.labour`, :mod:`~productivecity.sources.catalog`,
:mod:`productivecity.area`) reach it only through the registry.

Municipalities are keyed by their 5-digit NIS code (``nis5``, a string such
as ``"21012"``). Readers accept the Statbel / Provincies in Cijfers
shapefile (``geoitem``, ``naam``), the Belgian municipalities TopoJSON
(``nis``, ``name_fr``, ``name_nl``) or any vector file with a NIS code column.

Presets
-------
``brussels-vilvoorde``
    The 19 municipalities of the Brussels-Capital Region (NIS 21001-21019),
    Vilvoorde (23088) and Machelen (23047), dissolved from municipality
    boundaries (a ``municipalities`` file of the data directory, or
    downloaded through osmnx when online).
``gent``, ``kortrijk``, ``genk``, ``leuven``
    The municipalities of Gent (44021), Kortrijk (34022), Genk (71016) and
    Leuven (24062), the cities of the seeds' hubs, from the same sources.

Every Belgian preset is in Belgian Lambert 72 (:data:`BELGIAN_CRS`,
EPSG:31370) with Dutch outputs by default (``lang="nl"``).

Units
-----
:func:`read_population`
    Statbel population per municipality (REFNIS codes, aggregate rows).
:func:`read_ggw7`, :func:`read_statsec_lookup`, :func:`read_sector_population`
    The "gemeentegedragen wijken" of Provincies in Cijfers, with population
    summed from Statbel statistical sectors.
:func:`read_urbis_quarters`
    The UrbIS "Monitoring des Quartiers" quarters of Brussels.

Labour
------
:func:`read_actiris_jobseekers`
    Actiris annual averages of unemployed job seekers (DEI / NWWZ) by
    Brussels municipality, sex and education level (opendata.brussels.be).
    The file names municipalities, not codes: names are matched to NIS5
    codes (French or Dutch, accents and case ignored) through a names table.
:func:`read_municipal_rates`
    The 2021 census-type unemployment rate (% of the active population
    18-65) and the share of adults without an upper-secondary diploma for
    all Belgian municipalities (BEST-COST MDI indicators, Sciensano).

Transit
-------
* The STIB 2023 partial GTFS of the test bed has no trips or stop times;
  its ``stops_by_line.csv`` (line short name → ordered stop ids, ids without
  leading zeros) links stops to lines instead (:data:`STOPS_BY_LINE`).
* The STIB 2026 JSON export (:func:`read_stib_json`): ``stop_shape_index.json``
  (line short name → stops) links stops to the 90 lines of ``routes.json``,
  whose ``type`` is the GTFS route type. ``stop_sequences.json`` holds
  the ordered sequences, without line ids: :func:`read_stib_line_topology`
  gives them to lines for a timetable estimated from line topology. Without
  ``trips.json`` no frequency is derivable. It has no ``location_type``: a stop served by no
  line is a station or entrance (2026: 313, the same number as stations +
  entrances in the 2023 GTFS).
* SNCB (iRail ``stations.csv``, :func:`read_sncb_stations`,
  :func:`read_sncb_line_topology` for links inferred between stations):
  ``avg_stop_times`` is the average number of trains stopping per day; iRail
  writes 0 for stations without stops in its timetable (foreign or closed
  stations): read as <NA> and counted.

When two sources hold the same operator (the test bed's STIB 2023 GTFS and
2026 JSON), :func:`~productivecity.sources.transit.transit_stops` keeps the
one with the newest feed date.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from productivecity._errors import DataSourceError, ParameterError, SchemaError
from productivecity._geom import repair_geometries
from productivecity._validate import require_columns, require_numeric
from productivecity.area import Preset
from productivecity.sources._read import read_vector
from productivecity.sources.catalog import SourceKind
from productivecity.sources.labour import (
    _read_csv,
    _refuse_duplicates,
    describe_target_group,
    name_key,
    select_target_group,
    table_categories,
)
from productivecity.sources.load_report import Credit, LayerReport, record_credit
from productivecity.sources.regions import (
    GtfsLineTable,
    LineTopologyReader,
    NeighbourhoodFormat,
    Region,
    SourcePatterns,
    TransitFormat,
    UnitCodes,
)
from productivecity.sources.transit import (
    _best_mode,
    _coords,
    _dedupe,
    _frame,
    _line_columns,
    _load_json,
    _natural_key,
    route_type_mode,
)
from productivecity.sources.units import (
    _drop_duplicate_codes,
    _first_present,
    _largest_overlap,
    normalise_code,
    read_municipalities,
)

if TYPE_CHECKING:  # the line-topology model is imported where it is built
    from productivecity.network.line_topology import LineTopology

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# NIS codes and municipality names
# --------------------------------------------------------------------------------------------

#: Column names recognised as the municipality NIS code, in order of preference.
NIS_COLUMNS = ("nis5", "nis", "NIS", "NIS5", "niscode", "nis_code", "geoitem", "CD_MUNTY_REFNIS")


#: Column names recognised as the municipality name, in order of preference.
NAME_COLUMNS = ("name", "naam", "name_nl", "name_fr", "NAME", "TX_MUNTY_DESCR_NL", "gemeente")


def normalise_nis5(values: pd.Series) -> pd.Series:
    """Return NIS codes as 5-character strings (``21001``; ints and floats such as 21001.0 too)."""
    s = values.astype("string").str.strip()
    s = s.str.replace(r"\.0+$", "", regex=True)
    return s.str.zfill(5)


#: Names of the 19 Brussels municipalities (French, Dutch) by NIS5 code; public Statbel facts.
BRUSSELS_NAMES: dict[str, tuple[str, str]] = {
    "21001": ("Anderlecht", "Anderlecht"),
    "21002": ("Auderghem", "Oudergem"),
    "21003": ("Berchem-Sainte-Agathe", "Sint-Agatha-Berchem"),
    "21004": ("Bruxelles", "Brussel"),
    "21005": ("Etterbeek", "Etterbeek"),
    "21006": ("Evere", "Evere"),
    "21007": ("Forest", "Vorst"),
    "21008": ("Ganshoren", "Ganshoren"),
    "21009": ("Ixelles", "Elsene"),
    "21010": ("Jette", "Jette"),
    "21011": ("Koekelberg", "Koekelberg"),
    "21012": ("Molenbeek-Saint-Jean", "Sint-Jans-Molenbeek"),
    "21013": ("Saint-Gilles", "Sint-Gillis"),
    "21014": ("Saint-Josse-ten-Noode", "Sint-Joost-ten-Node"),
    "21015": ("Schaerbeek", "Schaarbeek"),
    "21016": ("Uccle", "Ukkel"),
    "21017": ("Watermael-Boitsfort", "Watermaal-Bosvoorde"),
    "21018": ("Woluwe-Saint-Lambert", "Sint-Lambrechts-Woluwe"),
    "21019": ("Woluwe-Saint-Pierre", "Sint-Pieters-Woluwe"),
}


def names_table(names: Mapping[str, str | tuple[str, ...]] | pd.Series | None = None) -> dict:
    """Return a ``{name_key: nis5}`` lookup from NIS5 → name(s), plus the Brussels names.

    Parameters
    ----------
    names : mapping or Series, optional
        NIS5 code to one name or a tuple of names (e.g. the ``name`` column of
        a municipalities layer). The built-in :data:`BRUSSELS_NAMES` are always
        included.
    """
    table: dict[str, str] = {}
    items = list(BRUSSELS_NAMES.items())
    if names is not None:
        items += list(names.items())
    for code, value in items:
        for n in (value,) if isinstance(value, str) else value:
            table[name_key(n)] = normalise_nis5(pd.Series([code])).iloc[0]
    return table


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
    except (UnicodeDecodeError, csv.Error, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:  # csv.Error: empty, separator not found
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    report = LayerReport("population_municipalities", sources=[str(path)], read_n=len(df))
    report.credit(CREDITS["statbel"], source=path)
    code_col = code_column or _first_present(df, _POP_CODE_COLUMNS)
    pop_col = population_column or _first_present(df, POPULATION_COLUMNS)
    missing = []
    if code_col is None or code_col not in df.columns:
        missing.append(repr(code_column) if code_column
                       else f"a NIS code column (one of {list(_POP_CODE_COLUMNS)})")
    if pop_col is None or pop_col not in df.columns:
        missing.append(repr(population_column) if population_column
                       else f"a population column (one of {list(POPULATION_COLUMNS)})")
    if missing:
        raise SchemaError(
            f"{path} lacks {' and '.join(missing)}; available columns: {list(df.columns)}"
        )
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
# Neighbourhoods: ggw7 wijken (Flanders + Brussels) and UrbIS Monitoring des Quartiers
# --------------------------------------------------------------------------------------------

def read_statsec_lookup(path: str | os.PathLike) -> pd.Series:
    """Read a statistical sector → ggw7 wijk lookup (``statsec_ggw7.xlsx``, or CSV).

    Returns
    -------
    Series
        Index ``statsec`` (str, sector code), values ``ggw7`` (str, wijk code).
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"sector lookup {path} does not exist")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(path, dtype=str, engine="openpyxl")
        else:
            df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except Exception as exc:  # openpyxl / pandas raise many kinds for a bad file
        raise DataSourceError(f"could not read the sector lookup {path}: {exc}") from exc
    missing = [c for c in ("statsec", "ggw7") if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{path} lacks column(s) {missing}; available columns: {list(df.columns)}"
        )
    df = df.dropna(subset=["statsec", "ggw7"])
    return pd.Series(df["ggw7"].str.strip().to_numpy(),
                     index=pd.Index(df["statsec"].str.strip().to_numpy(), name="statsec"),
                     name="ggw7")


def read_sector_population(path: str | os.PathLike) -> pd.Series:
    """Read population per statistical sector (``sector_code_2020``, ``population_total_c2019``).

    Other accepted column names: ``statsec``/``CD_SECTOR`` for the code and
    ``population``/``TOTAL``/``MS_POPULATION`` for the count.

    Returns
    -------
    Series
        Index sector code (str), values persons (float).
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"sector population file {path} does not exist")
    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, csv.Error, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read the sector population file {path} as a CSV "
                              f"table: {exc}") from exc
    code_col = _first_present(df, ("sector_code_2020", "statsec", "CD_SECTOR", "sector_code"))
    pop_col = _first_present(df, ("population_total_c2019", "population", "TOTAL", "MS_POPULATION",
                                  "population_n"))
    if code_col is None or pop_col is None:
        raise SchemaError(
            f"{path} lacks a sector code column (sector_code_2020, statsec, CD_SECTOR) or a "
            f"population column (population_total_c2019, population, TOTAL, MS_POPULATION); "
            f"available columns: {list(df.columns)}"
        )
    values = pd.to_numeric(df[pop_col], errors="coerce")
    s = pd.Series(values.to_numpy(), index=pd.Index(df[code_col].str.strip(), name="statsec"))
    return s.groupby(level=0).sum(min_count=1)


def sector_population_by_wijk(
    sector_population: pd.Series, lookup: pd.Series
) -> tuple[pd.Series, dict[str, float]]:
    """Sum sector populations into ggw7 wijken.

    Sector codes change between editions (2020 population, 2025 lookup: a
    sector ``23088A02-`` was split into ``23088A02K/L/M``). A sector is
    matched on its exact code, else on its first 8 characters (NIS5 +
    section + sector number) when every lookup sector with that prefix lies
    in one wijk. The rest is unassigned and returned in the tally, so that
    assigned + unassigned = total (nothing lost silently).

    Returns
    -------
    Series
        Persons per wijk code (float).
    dict
        ``{"exact": persons, "prefix": persons, "unassigned": persons,
        "unassigned_sectors": n, "unassigned_by_nis5": Series}``.
    """
    exact = sector_population.index.isin(lookup.index)
    wijk = pd.Series(pd.NA, index=sector_population.index, dtype="object")
    wijk[exact] = lookup.reindex(sector_population.index[exact]).to_numpy()
    prefix8 = pd.Series(lookup.index.str[:8], index=lookup.index)
    unique_by_prefix = lookup.groupby(prefix8.to_numpy()).agg(
        lambda v: v.iloc[0] if v.nunique() == 1 else pd.NA
    )
    rest = ~exact
    via_prefix = pd.Series(sector_population.index[rest].str[:8]).map(unique_by_prefix)
    wijk[rest] = via_prefix.to_numpy()
    matched_prefix = rest & wijk.notna().to_numpy()
    pops = sector_population.fillna(0.0)
    lost = wijk.isna().to_numpy()
    tally = {
        "exact": float(pops[exact].sum()),
        "prefix": float(pops[matched_prefix].sum()),
        "unassigned": float(pops[lost].sum()),
        "unassigned_sectors": int(lost.sum()),
        "unassigned_by_nis5": pops[lost].groupby(pops.index[lost].str[:5]).sum(),
    }
    assigned = wijk.notna().to_numpy()
    sums = pops[assigned].groupby(wijk[assigned].to_numpy()).sum()
    return sums, tally


def read_ggw7(
    path: str | os.PathLike,
    *,
    lookup: str | os.PathLike | None = None,
    sector_population: str | os.PathLike | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the "gemeentegedragen wijken" (``ggw7.shp``, Provincies in Cijfers).

    Population comes from summing sector populations (``sector_population``)
    into wijken through the sector → wijk ``lookup``
    (:func:`sector_population_by_wijk`). A wijk gets a population only when
    its municipality appears in the sector table (the test bed's table covers
    Flanders only, so Brussels wijken stay <NA>); there a wijk without any
    listed sector has 0 persons (the table lists populated sectors only).

    Returns
    -------
    GeoDataFrame
        Index ``code`` (e.g. ``23088W01``); columns ``name``, ``nis5`` (first
        five characters of the code), ``population_n`` (Int64 persons or
        <NA>), ``source`` (``"ggw7"``), ``area_ha``, ``geometry`` (the file's CRS).
    LayerReport
        Layer ``neighbourhoods``.
    """
    path = Path(path)
    gdf = read_vector(path)
    what = str(path)
    code_col = _first_present(gdf, ("code", "geoitem"))
    name_col = _first_present(gdf, ("name", "naam"))
    if code_col is None or name_col is None:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks a wijk code column (code, geoitem) or a name column "
                          f"(name, naam); available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[what], read_n=len(gdf))
    report.credit(CREDITS["provincies"], source=path)
    codes = gdf[code_col].astype("string").str.strip()
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype(str).to_numpy(),
         "nis5": codes.str[:5].to_numpy()},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.Index(codes.to_numpy(), name="code"),
    )
    out = _drop_duplicate_codes(out, report, what=what)
    out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if (lookup is None) != (sector_population is None):
        given, other = (("lookup", "sector_population") if lookup is not None
                        else ("sector_population", "lookup"))
        raise ParameterError(f"neighbourhood population needs both lookup= and "
                             f"sector_population= (or neither); {given}= was given "
                             f"without {other}=")
    if lookup is not None:
        lk = read_statsec_lookup(lookup)
        sp = read_sector_population(sector_population)
        report.sources += [str(lookup), str(sector_population)]
        report.credit(CREDITS["statbel"], source=sector_population)
        sums, tally = sector_population_by_wijk(sp, lk)
        covered = set(sp.index.str[:5])
        in_cov = out["nis5"].isin(covered).to_numpy()
        vals = sums.reindex(out.index[in_cov]).fillna(0.0).round()
        out.loc[in_cov, "population_n"] = pd.array(vals.to_numpy(), dtype="Int64")
        report.notes.append(
            f"population summed from sectors: {tally['exact']:.0f} persons by exact sector code, "
            f"{tally['prefix']:.0f} by 8-character code prefix, {tally['unassigned']:.0f} persons "
            f"in {tally['unassigned_sectors']} sectors not assignable to a wijk"
        )
        out.attrs["unassigned_sector_population"] = tally["unassigned_by_nis5"]
        if (~in_cov).any():
            report.notes.append(f"{int((~in_cov).sum())} wijken in municipalities without sector "
                                f"population (e.g. Brussels): population_n <NA>")
    out["source"] = "ggw7"
    report.features_n = len(out)
    return out, report


def read_urbis_quarters(
    path: str | os.PathLike,
    *,
    municipalities: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read the UrbIS "Monitoring des Quartiers" quarters (145 in Brussels).

    Parameters
    ----------
    path : path-like
        UrbIS-Adm ``MD`` layer (GeoPackage; fields ``mdrc``, ``name_fr``,
        ``name_nl``, ``name_bil``).
    municipalities : GeoDataFrame, optional
        Municipalities indexed by ``nis5`` (:func:`read_municipalities`);
        each quarter gets the municipality holding most of its area (quarters
        may straddle municipal borders). Without it ``nis5`` is <NA>.

    Returns
    -------
    GeoDataFrame
        Index ``code`` (the ``mdrc`` quarter code as string); columns
        ``name`` (bilingual), ``nis5``, ``population_n`` (<NA>: no quarter
        population in the UrbIS layer), ``source`` (``"urbis_md"``),
        ``area_ha``, ``geometry`` (the file's CRS).
    LayerReport
        Layer ``neighbourhoods``.
    """
    path = Path(path)
    gdf = read_vector(path)
    what = str(path)
    code_col = _first_present(gdf, ("mdrc", "code"))
    name_col = _first_present(gdf, ("name_bil", "name", "name_fr", "name_nl"))
    if code_col is None or name_col is None:
        available = [c for c in gdf.columns if c != "geometry"]
        raise SchemaError(f"{what} lacks a quarter code column (mdrc, code) or a name column "
                          f"(name_bil, name_fr, name_nl); available columns: {available}")
    report = LayerReport("neighbourhoods", sources=[what], read_n=len(gdf))
    report.credit(CREDITS["urbis"], source=path)
    codes = normalise_code(gdf[code_col])
    out = gpd.GeoDataFrame(
        {"name": gdf[name_col].astype(str).to_numpy()},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs,
        index=pd.Index(codes.to_numpy(), name="code"),
    )
    out = _drop_duplicate_codes(out, report, what=what)
    out, n_rep = repair_geometries(out)
    report.repaired_n += n_rep
    out["nis5"] = _largest_overlap(out, municipalities)
    out["population_n"] = pd.array([pd.NA] * len(out), dtype="Int64")
    report.notes.append("UrbIS quarters carry no population: population_n <NA>")
    out["source"] = "urbis_md"
    report.features_n = len(out)
    return out, report


# --------------------------------------------------------------------------------------------
# Labour: Actiris job seekers, BEST-COST municipal rates
# --------------------------------------------------------------------------------------------

# Actiris column -> our column (count columns; the % columns are derived from these)
_ACTIRIS_COUNTS = {
    "Total commune": "jobseekers_n",
    "Total hommes": "jobseekers_men_n",
    "Total femmes": "jobseekers_women_n",
    'Total niveau d\'étude "faible"': "jobseekers_low_edu_n",
    'Total niveau d\'étude "moyen"': "jobseekers_medium_edu_n",
    'Total niveau d\'étude "élevé"': "jobseekers_high_edu_n",
    "Total étrangers sans équivalence": "jobseekers_foreign_edu_n",
}

# Actiris education levels -> the generic target-group categories
# (productivecity.sources.labour.TARGET_GROUP_DIMENSIONS)
_ACTIRIS_EDUCATION = {"faible": "low", "moyen": "medium", "élevé": "high",
                      "sans équivalence": "foreign_unrecognised"}
# (education, sex) -> Actiris column, where the table splits education by sex
_ACTIRIS_EDU_BY_SEX = {
    **{(edu, sex): f'{fr_sex} - Niveau d’études "{fr}"'
       for fr, edu in list(_ACTIRIS_EDUCATION.items())[:3]
       for sex, fr_sex in (("men", "Hommes"), ("women", "Femmes"))},
    ("foreign_unrecognised", "men"): "Hommes étrangers sans équivalence",
    ("foreign_unrecognised", "women"): "Femmes étrangères sans équivalence",
}
_ACTIRIS_EDU_TOTAL = {"low": 'Total niveau d\'étude "faible"',
                      "medium": 'Total niveau d\'étude "moyen"',
                      "high": 'Total niveau d\'étude "élevé"',
                      "foreign_unrecognised": "Total étrangers sans équivalence"}


def _actiris_categories(df: pd.DataFrame) -> pd.DataFrame:
    """Return counts per (education, sex), or per education level without a sex split."""
    if all(c in df.columns for c in _ACTIRIS_EDU_BY_SEX.values()):
        cols = pd.MultiIndex.from_tuples(list(_ACTIRIS_EDU_BY_SEX), names=["education", "sex"])
        data = {k: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
                for k, c in _ACTIRIS_EDU_BY_SEX.items()}
        return pd.DataFrame(data, columns=cols)
    cols = pd.Index(list(_ACTIRIS_EDU_TOTAL), name="education")
    return pd.DataFrame({k: pd.to_numeric(df[c]).to_numpy(dtype=float)
                         for k, c in _ACTIRIS_EDU_TOTAL.items()}, columns=cols)


def read_actiris_jobseekers(
    path: str | os.PathLike,
    *,
    year: int,
    names: Mapping[str, str | tuple[str, ...]] | pd.Series | None = None,
    target_group: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Read Actiris job seekers by municipality for one year.

    Parameters
    ----------
    path : path-like
        The Actiris CSV (``;``-separated, UTF-8 with BOM, columns ``Année``,
        ``Commune``, ``Gemeente``, ``Total commune``, ``Total niveau d'étude
        "faible"``, ...).
    year : int
        Year of the annual average.
    names : mapping or Series, optional
        Extra NIS5 → name(s) for municipalities outside the built-in Brussels list.
    target_group : mapping, optional
        The job seekers counted in ``jobseekers_low_edu_n``: ``education`` (Actiris
        ``faible`` → ``low``, ``moyen`` → ``medium``, ``élevé`` → ``high``,
        ``étrangers sans équivalence`` → ``foreign_unrecognised``) and ``sex``
        (``men``, ``women``; where the table splits education by sex).
        Default: ``{"education": ["low"]}``. Categories the table does not have
        raise SchemaError listing those it has.

    Returns
    -------
    DataFrame
        Index ``nis5``; columns ``name``, ``year``, ``jobseekers_n``,
        ``jobseekers_men_n``, ``jobseekers_women_n``, ``jobseekers_low_edu_n``
        (the target group), ``jobseekers_medium_edu_n``, ``jobseekers_high_edu_n``,
        ``jobseekers_foreign_edu_n`` (annual averages, persons, float) and
        ``low_edu_share_pct`` (the target group's share of job seekers, %).
        ``attrs["target_group"]``: the target group's definition in words.
    """
    path = Path(path)
    df = _read_csv(path, sep=";")
    require_columns(df, ["Année", "Commune", "Gemeente", *_ACTIRIS_COUNTS], what=str(path))
    years = sorted(int(y) for y in pd.to_numeric(df["Année"], errors="coerce").dropna().unique())
    if int(year) not in years:
        raise SchemaError(f"{path}: no rows for year {year}; the table has years {years}")
    df = df.loc[pd.to_numeric(df["Année"], errors="coerce") == int(year)]
    require_numeric(df, list(_ACTIRIS_COUNTS), what=f"{path} (year {year})")
    lookup = names_table(names)
    codes, unmatched = [], []
    for fr, nl in zip(df["Commune"], df["Gemeente"], strict=True):
        code = lookup.get(name_key(fr)) or lookup.get(name_key(nl))
        codes.append(code)
        if code is None:
            unmatched.append(f"{fr} / {nl}")
    if unmatched:
        raise SchemaError(
            f"{path}: municipalities {unmatched} match no NIS5 code; pass names={{nis5: name}} "
            f"for them (known names: {sorted(n[0] for n in BRUSSELS_NAMES.values())})"
        )
    out = pd.DataFrame(
        {new: pd.to_numeric(df[old]).to_numpy(dtype=float) for old, new in _ACTIRIS_COUNTS.items()},
        index=pd.Index(codes, name="nis5"),
    )
    _refuse_duplicates(out.index, what=f"{path} (year {year})")
    out.insert(0, "year", int(year))
    out.insert(0, "name", df["Gemeente"].astype(str).to_numpy())
    cells = _actiris_categories(df)
    cells.index = out.index
    out["jobseekers_low_edu_n"] = select_target_group(cells, target_group,
                                                      what=f"{path} (year {year})")
    out.attrs["target_group"] = describe_target_group(
        f"unemployed job seekers (Actiris, annual average {int(year)})", target_group,
        dimensions=list(table_categories(cells)))
    out["low_edu_share_pct"] = 100.0 * out["jobseekers_low_edu_n"] / out["jobseekers_n"]
    record_credit(CREDITS["actiris"].with_date(int(year)), source=path)
    return out.sort_index()


def read_building_stock(path: str | os.PathLike) -> pd.Series:
    """Read Statbel's building stock (gebouwenpark): buildings per municipality.

    Parameters
    ----------
    path : path-like
        One ``<GEMEENTE>.json`` of the Statbel building-stock export (``facts``
        with ``CD_REFNIS``, ``CD_STAT_TYPE``, ``MS_VALUE``), or its folder: every
        ``*.json`` of the folder is read (one municipality each).

    Returns
    -------
    Series
        ``buildings_n`` (all building types, statistic ``T1`` "Aantal gebouwen",
        float) indexed by ``nis5``.

    Raises
    ------
    SchemaError
        A file without ``facts``, a fact without those keys, a count that is not
        a number, or a municipality in two files.
    """
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise DataSourceError(f"no building-stock JSON files in {path}")
    counts: dict[str, float] = {}
    for f in files:
        try:
            facts = json.loads(f.read_text(encoding="utf-8"))["facts"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SchemaError(f"{f}: not a Statbel building-stock file with 'facts' "
                              f"({exc.__class__.__name__}: {exc})") from exc
        found: dict[str, float] = {}
        for i, fact in enumerate(facts):
            try:
                if fact["CD_STAT_TYPE"] != "T1" or str(fact.get("CD_REFNIS_LVL", "5")) != "5":
                    continue
                code, value = str(fact["CD_REFNIS"]).strip(), float(fact["MS_VALUE"])
            except (KeyError, TypeError, ValueError) as exc:
                raise SchemaError(f"{f}: fact {i} lacks CD_STAT_TYPE, CD_REFNIS or a numeric "
                                  f"MS_VALUE ({exc!r})") from exc
            found[code] = found.get(code, 0.0) + value
        dup = sorted(set(found) & set(counts))
        if dup:
            raise SchemaError(f"{f}: municipality {dup} is in another file of {path} too")
        counts.update(found)
    record_credit(CREDITS["statbel"], source=path)
    return pd.Series(counts, name="buildings_n", dtype=float).rename_axis("nis5").sort_index()


def actiris_years(path: str | os.PathLike) -> list[int]:
    """Return the years present in an Actiris job-seeker table."""
    df = _read_csv(Path(path), sep=";")
    require_columns(df, ["Année"], what=str(path))
    return sorted(int(y) for y in pd.to_numeric(df["Année"], errors="coerce").dropna().unique())


def read_municipal_rates(path: str | os.PathLike) -> pd.DataFrame:
    """Read municipal unemployment rates and low-education shares (BEST-COST MDI, 2021).

    Parameters
    ----------
    path : path-like
        CSV with a NIS5 code column (``id`` or ``nis5``), ``unemployed`` (% of
        the active population aged 18-65) and ``edu`` (% of people 18+ without
        an upper-secondary diploma).

    Returns
    -------
    DataFrame
        Index ``nis5``; columns ``unemployment_rate_pct``, ``low_edu_adults_pct``,
        ``year`` (2021, the reference year of the source).
    """
    path = Path(path)
    df = _read_csv(path, sep=",", dtype={"id": str, "nis5": str})
    code = "nis5" if "nis5" in df.columns else "id"
    require_columns(df, [code, "unemployed", "edu"], what=str(path))
    require_numeric(df, ["unemployed", "edu"], what=str(path))
    out = pd.DataFrame(
        {
            "unemployment_rate_pct": pd.to_numeric(df["unemployed"]).to_numpy(dtype=float),
            "low_edu_adults_pct": pd.to_numeric(df["edu"]).to_numpy(dtype=float),
        },
        index=pd.Index(normalise_nis5(df[code]).to_numpy(), name="nis5"),
    )
    _refuse_duplicates(out.index, what=str(path))
    out["year"] = 2021
    record_credit(CREDITS["bestcost"].with_date(2021), source=path)
    return out


# --------------------------------------------------------------------------------------------
# Transit: STIB-MIVB (GTFS line table, JSON export), SNCB stations (iRail)
# --------------------------------------------------------------------------------------------

def stib_json_feed_dates(folder: str | os.PathLike) -> tuple[date | None, date | None]:
    """Return the (start, end) dates recorded in the export's ``meta.json`` (None if absent)."""
    meta = Path(folder) / "meta.json"
    if not meta.is_file():
        return None, None
    m = _load_json(meta)
    out = []
    for key in ("feed_start_date", "feed_end_date"):
        v = pd.to_datetime(str(m.get(key, "")), format="%Y%m%d", errors="coerce")
        out.append(None if pd.isna(v) else v.date())
    return out[0], out[1]


def read_stib_json(
    folder: str | os.PathLike,
    *,
    boarding_only: bool = True,
    prefix: str = "stib",
    operator: str = "STIB-MIVB",
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read STIB-MIVB stops from the JSON export (``stops.json`` and friends).

    Parameters
    ----------
    folder : path-like
        Folder with ``stops.json`` (``{stop_id: {name, lat, lon}}``), and
        optionally ``routes.json`` (``{route_id: {short_name, type, ...}}``)
        and ``stop_shape_index.json`` (``{line short name: {stop_id: ...}}``)
        that link stops to lines.
    boarding_only : bool, default True
        Leave out stops served by no line (stations and entrances), counted.
        Only applied when the line index is present.
    prefix, operator : str
        ``stop_id`` prefix and operator name.

    Returns
    -------
    GeoDataFrame
        The stop schema of this module (index ``stop_id``), in longitude/latitude.
    LayerReport
        Layer ``transit_stops``.
    """
    folder = Path(folder)
    stops_json = folder / "stops.json" if folder.is_dir() else folder
    folder = stops_json.parent
    if not stops_json.is_file():
        raise DataSourceError(f"STIB stops file {stops_json} does not exist")
    raw = _load_json(stops_json)
    if not isinstance(raw, dict):
        raise SchemaError(f"{stops_json}: expected an object {{stop_id: {{name, lat, lon}}}}, "
                          f"got {type(raw).__name__}")
    stops = pd.DataFrame.from_dict(raw, orient="index")
    stops.index = stops.index.astype(str)
    if len(stops):
        require_columns(stops, ["name", "lat", "lon"], what=str(stops_json))
    else:
        stops = pd.DataFrame(columns=["name", "lat", "lon"])
    report = LayerReport("transit_stops", sources=[str(stops_json)], read_n=len(stops))
    report.credit(CREDITS["stib"], source=stops_json)

    lines_by_stop: dict[str, set] = {}
    mode_by_line: dict[str, str] = {}
    index_json, routes_json = folder / "stop_shape_index.json", folder / "routes.json"
    known = index_json.is_file()
    if routes_json.is_file():
        for rid, r in _load_json(routes_json).items():
            lab = str(r.get("short_name") or rid)
            mode_by_line[lab] = _best_mode([mode_by_line.get(lab, "unknown"),
                                            route_type_mode(r.get("type"))])
    if known:
        for line, members in _load_json(index_json).items():
            for sid in members:
                lines_by_stop.setdefault(str(sid), set()).add(str(line))
        report.notes.append("stops linked to lines through stop_shape_index.json; no trips, "
                            "so no frequencies")
        unknown_lines = sorted(set().union(*lines_by_stop.values()) - set(mode_by_line),
                               key=_natural_key) if lines_by_stop else []
        if unknown_lines:
            report.notes.append(f"lines without route type (mode unknown): {unknown_lines}")
    else:
        report.notes.append("no stop_shape_index.json: mode unknown, routes_n <NA>")

    keep = np.ones(len(stops), dtype=bool)
    if boarding_only and known:
        served = stops.index.isin(list(lines_by_stop))
        report.skip("served by no line (station or entrance)", int((~served).sum()))
        keep &= served
    lon, lat, ok = _coords(stops, "lon", "lat", report)
    keep &= ok
    stops, lon, lat = stops[keep], lon[keep], lat[keep]
    ids = stops.index.tolist()
    modes, routes_n, lines = _line_columns(ids, lines_by_stop, mode_by_line, known=known)
    gdf = _frame(
        [f"{prefix}:{i}" for i in ids], stops["name"].astype(str).tolist(), modes,
        [operator] * len(ids), [str(folder)] * len(ids), routes_n, lines, [pd.NA] * len(ids),
        lon.to_numpy(), lat.to_numpy(),
    )
    report.features_n = len(gdf)
    return gdf, report


def read_sncb_stations(
    path: str | os.PathLike,
    *,
    prefix: str = "sncb",
    operator: str = "SNCB/NMBS",
) -> tuple[gpd.GeoDataFrame, LayerReport]:
    """Read SNCB/NMBS stations from iRail's ``stations.csv``.

    Parameters
    ----------
    path : path-like
        CSV with columns ``URI`` (``http://irail.be/stations/NMBS/008814001``),
        ``name``, ``longitude``, ``latitude`` and optionally
        ``avg_stop_times`` (average trains stopping per day).

    Returns
    -------
    GeoDataFrame
        The stop schema of this module; ``stop_id`` is ``sncb:`` + the
        9-digit station code; ``mode`` ``rail``; ``routes_n`` <NA>;
        ``daily_stops_n`` = ``avg_stop_times`` (a 0 is read as <NA>: iRail
        writes 0 for stations without stops in its timetable).
    LayerReport
        Layer ``transit_stops``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceError(f"SNCB stations file {path} does not exist")
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc
    require_columns(df, ["URI", "name", "longitude", "latitude"], what=str(path))
    report = LayerReport("transit_stops", sources=[str(path)], read_n=len(df))
    report.credit(CREDITS["irail"], source=path)
    lon, lat, ok = _coords(df, "longitude", "latitude", report)
    codes = df["URI"].astype(str).str.rstrip("/").str.rsplit("/", n=1).str[-1]
    keep = ok & _dedupe(codes, report)
    df, lon, lat, codes = df[keep], lon[keep], lat[keep], codes[keep]
    if "avg_stop_times" in df.columns:
        daily = pd.to_numeric(df["avg_stop_times"], errors="coerce")
        zero = daily == 0
        if zero.any():
            report.notes.append(f"{int(zero.sum())} stations with avg_stop_times 0 (no stops in "
                                f"iRail's timetable): daily_stops_n <NA>")
        daily = daily.mask(zero)
    else:
        daily = pd.Series(np.nan, index=df.index)
        report.notes.append("no avg_stop_times column: daily_stops_n <NA>")
    n = len(df)
    gdf = _frame(
        [f"{prefix}:{c}" for c in codes], df["name"].tolist(), ["rail"] * n, [operator] * n,
        [str(path)] * n, [pd.NA] * n, [""] * n,
        pd.array(daily.to_numpy(), dtype="Float64"), lon.to_numpy(), lat.to_numpy(),
    )
    report.features_n = len(gdf)
    return gdf, report


def read_stops_by_line(folder: Path, stop_ids: pd.Series) -> dict[str, set] | None:
    """Link GTFS stops to lines through STIB's ``stops_by_line.csv`` (None if absent).

    The table (``;``-separated, columns ``lineId`` and ``points``, a JSON list
    of ``{"id": ...}``) writes stop ids without leading zeros; they are
    matched to the feed's ids with their zeros stripped.
    """
    sbl = Path(folder) / "stops_by_line.csv"
    if not sbl.is_file():
        return None
    table = pd.read_csv(sbl, sep=";", dtype=str, encoding="utf-8-sig")
    require_columns(table, ["lineId", "points"], what=str(sbl))
    lines_by_stop: dict[str, set] = {}
    by_stripped: dict[str, list[str]] = {}
    for sid in stop_ids:
        by_stripped.setdefault(sid.lstrip("0"), []).append(sid)
    for line, points in zip(table["lineId"], table["points"], strict=True):
        try:
            pts = json.loads(points)
        except (TypeError, json.JSONDecodeError) as exc:
            raise DataSourceError(f"{sbl}: line {line!r} has unreadable points: {exc}") from exc
        for p in pts:
            for sid in by_stripped.get(str(p.get("id", "")).lstrip("0"), ()):
                lines_by_stop.setdefault(sid, set()).add(str(line).strip())
    return lines_by_stop


#: STIB's line → stops table beside a partial GTFS feed.
STOPS_BY_LINE = GtfsLineTable(
    file="stops_by_line.csv",
    how="stops_by_line.csv (STIB line → stops)",
    read=read_stops_by_line,
)


def _stib_json_sources(dd) -> list:
    p = dd.find("stib_json")
    return [(*read_stib_json(p.parent), stib_json_feed_dates(p.parent)[1])] if p else []


def _sncb_sources(dd) -> list:
    p = dd.find("sncb_stations")
    return [(*read_sncb_stations(p), None)] if p else []


def _stib_mode(short_name: str, route_type) -> str:
    """GTFS mode of a STIB line; Noctis night buses (``N`` + number) are ``night_bus``."""
    mode = route_type_mode(route_type)
    if mode == "bus" and re.fullmatch(r"N\d+", short_name):
        return "night_bus"
    return mode


def read_stib_line_topology(
    folder: str | os.PathLike,
    *,
    prefix: str = "stib",
    operator: str = "STIB-MIVB",
    min_new_share: float = 0.25,
) -> LineTopology:
    """Read STIB-MIVB line sequences (both directions, in order) from the JSON export.

    ``stop_sequences.json`` lists the distinct stop sequences of the feed's
    trips, in running order (checked on the 2026 export: the median hop
    between consecutive stops is 378 m, 95 % are under 720 m), without line
    ids. Each sequence is given to the line(s) of ``stop_shape_index.json``
    (line short name → ``{stop_id: [shape_id, km along the shape]}``) holding
    all its stops. Per line, sequences are taken longest first: one whose
    stop-to-stop hops (in its direction) are new for at least
    ``min_new_share`` of them is kept whole (both directions, branches);
    of one with fewer new hops (a variant ending at another platform, a
    detour) only the runs of new hops are kept, so that the shared section
    does not get the line's service twice; short turns (no new hop) are left
    out (counted). The distance between consecutive stops is measured
    along the route shape where both stops lie on the same shape of the line
    index with increasing km (the index gives one shape per stop, so not
    every hop has one). Modes come from ``routes.json``; Noctis lines
    (``N`` + number) are ``night_bus``.

    Parameters
    ----------
    folder : path-like
        The export's folder (``stops.json``, ``routes.json``,
        ``stop_sequences.json``, ``stop_shape_index.json``).
    prefix, operator : str
        As in :func:`read_stib_json` (the stop ids match its layer).
    min_new_share : float, default 0.25

    Returns
    -------
    LineTopology
        Stops of :func:`read_stib_json` and the kept sequences; report layer
        ``transit_lines`` (``read_n``: sequences read; left out, by reason).
    """
    from productivecity.network.line_topology import LineSequence, LineTopology

    folder = Path(folder)
    seq_json, index_json = folder / "stop_sequences.json", folder / "stop_shape_index.json"
    for f in (seq_json, index_json):
        if not f.is_file():
            raise DataSourceError(f"STIB line topology: {f} does not exist")
    stops, stop_report = read_stib_json(folder, prefix=prefix, operator=operator)
    raw_seqs = _load_json(seq_json)
    index = _load_json(index_json)
    if not isinstance(raw_seqs, list) or not all(isinstance(q, list) for q in raw_seqs):
        raise SchemaError(f"{seq_json}: expected a list of stop-id lists")
    if not isinstance(index, dict):
        raise SchemaError(f"{index_json}: expected an object {{line: {{stop_id: [shape, km]}}}}")
    report = LayerReport("transit_lines", sources=[str(seq_json), str(index_json)],
                         read_n=len(raw_seqs))
    report.credit(CREDITS["stib"], source=seq_json)
    for reason, n in stop_report.skipped.items():
        report.skip(f"stop: {reason}", n)
    mode_by_line: dict[str, str] = {}
    routes_json = folder / "routes.json"
    if routes_json.is_file():
        for rid, r in _load_json(routes_json).items():
            lab = str(r.get("short_name") or rid)
            mode_by_line[lab] = _stib_mode(lab, r.get("type"))
    all_ids = set(_load_json(folder / "stops.json"))
    known = {sid.split(":", 1)[1] for sid in stops.index}
    members = {str(line): {str(k): v for k, v in m.items()} for line, m in index.items()}
    by_line: dict[str, list[tuple[str, ...]]] = {}
    unknown_ids = no_coords = short = no_line = 0
    for q in raw_seqs:
        q = [str(s) for s in q]
        unknown_ids += sum(s not in all_ids for s in q)
        no_coords += sum(s in all_ids and s not in known for s in q)
        lines = sorted((ln for ln, m in members.items() if all(s in m for s in q)),
                       key=_natural_key)
        kept = tuple(s for s in q if s in known)
        if len(kept) < 2:
            short += 1
            continue
        if not lines:
            no_line += 1
            continue
        for ln in lines:
            by_line.setdefault(ln, []).append(kept)
    report.skip("sequence stop id not in stops.json (stop removed from the sequence)",
                unknown_ids)
    report.skip("sequence stop without coordinates or served by no line (removed)", no_coords)
    report.skip("sequence with fewer than two located stops", short)
    report.skip("sequence on no line of stop_shape_index.json", no_line)
    out: list[LineSequence] = []
    turns = partial = 0
    no_mode = []
    for ln in sorted(by_line, key=_natural_key):
        covered: set[tuple[str, str]] = set()
        m = members[ln]
        mode = mode_by_line.get(ln, "unknown")
        if ln not in mode_by_line:
            no_mode.append(ln)
        k = 0
        for q in sorted(set(by_line[ln]), key=lambda q: (-len(q), q)):
            pairs = list(zip(q, q[1:], strict=False))
            new = [p not in covered for p in pairs]
            if not any(new):
                turns += 1
                continue
            covered |= set(pairs)
            runs = [q]
            if sum(new) < min_new_share * len(pairs):
                partial += 1
                runs, cur = [], []
                for (a, b), is_new in zip(pairs, new, strict=True):
                    if is_new:
                        cur = cur or [a]
                        cur.append(b)
                    elif cur:
                        runs.append(cur)
                        cur = []
                if cur:
                    runs.append(cur)
            for run in runs:
                hop_m = []
                for a, b in zip(run, run[1:], strict=False):
                    (sa, ka), (sb, kb) = m[a][:2], m[b][:2]
                    ok = sa == sb and kb > ka
                    hop_m.append((float(kb) - float(ka)) * 1000 if ok else float("nan"))
                out.append(LineSequence(f"{prefix}:{ln}", tuple(f"{prefix}:{s}" for s in run),
                                        mode, variant=str(k), hop_m=tuple(hop_m)))
                k += 1
    report.skip("sequence whose hops a longer one of its line runs (short turn)", turns)
    if partial:
        report.notes.append(f"{partial} variants mostly on a longer sequence of their line: "
                            f"only their own sections kept")
    if no_mode:
        report.notes.append(f"lines without route type (mode unknown): {no_mode}")
    report.features_n = len({s.line_id for s in out})
    report.notes.append(f"{report.features_n} lines, {len(out)} sequences (directions and "
                        f"branches) from stop_sequences.json; no trips, so no frequencies")
    return LineTopology(stops=stops, lines=out, report=report)


def read_sncb_line_topology(path: str | os.PathLike) -> LineTopology:
    """SNCB/NMBS stations with daily stop counts, for links inferred between them.

    iRail's station list has no line sequences: the generic model links
    consecutive stations (:func:`~productivecity.network.line_topology.station_links`).
    """
    from productivecity.network.line_topology import LineTopology

    stops, stop_report = read_sncb_stations(path)
    report = LayerReport("transit_lines")
    report.absorb(stop_report)
    report.notes.append("no line sequences: links inferred between consecutive stations, "
                        "frequencies from avg_stop_times")
    return LineTopology(stops=stops, lines=[], report=report, link_stations=True)


def _stib_line_topology_sources(dd) -> list:
    p = dd.find("stib_json")
    if p is None or not (p.parent / "stop_sequences.json").is_file():
        return []
    return [read_stib_line_topology(p.parent)]


def _sncb_line_topology_sources(dd) -> list:
    p = dd.find("sncb_stations")
    return [read_sncb_line_topology(p)] if p else []


# --------------------------------------------------------------------------------------------
# Neighbourhood formats (dispatched from units.neighbourhoods)
# --------------------------------------------------------------------------------------------


def _read_urbis_in_data_dir(src: Path, dd) -> tuple[gpd.GeoDataFrame, LayerReport]:
    munis = None
    mpath = dd.find("municipalities") if dd is not None else None
    if mpath is not None:
        munis = read_municipalities(mpath)
    gdf, report = read_urbis_quarters(src, municipalities=munis)
    if munis is None:
        report.notes.append("no municipalities file: nis5 of UrbIS quarters is <NA>")
    return gdf, report


def _read_ggw7_in_data_dir(src: Path, dd) -> tuple[gpd.GeoDataFrame, LayerReport]:
    lookup = dd.find("statsec_ggw7") if dd is not None else None
    secpop = dd.find("population_sectors") if dd is not None else None
    if lookup is None or secpop is None:
        lookup = secpop = None
    gdf, report = read_ggw7(src, lookup=lookup, sector_population=secpop)
    if lookup is None:
        report.notes.append("no sector lookup and sector population found: population_n <NA>")
    return gdf, report


def _ggw7_after_clip(gdf: gpd.GeoDataFrame, report: LayerReport, attrs: Mapping) -> None:
    unassigned = attrs.get("unassigned_sector_population")
    if unassigned is None:
        return
    here = unassigned.reindex(gdf["nis5"].dropna().unique()).dropna()
    here = here[here > 0]
    if len(here):
        report.notes.append(
            "sector population not assignable to one wijk (sectors split between wijken "
            "since the population's edition), so wijk totals are lower bounds in: "
            + ", ".join(f"{k} ({v:.0f} persons)" for k, v in here.items())
        )


NEIGHBOURHOOD_FORMATS = (
    NeighbourhoodFormat("urbis_md", lambda cols: "mdrc" in cols, _read_urbis_in_data_dir),
    NeighbourhoodFormat("ggw7", lambda cols: "geoitem" in cols and "code" not in cols,
                        _read_ggw7_in_data_dir, after_clip=_ggw7_after_clip),
)


# --------------------------------------------------------------------------------------------
# Data-directory catalogue
# --------------------------------------------------------------------------------------------

#: Belgian patterns and hints added to the generic catalogue kinds.
SOURCE_PATTERNS = {
    "municipalities": SourcePatterns(
        before=("boundaries/**/gemeente.shp",),
        provides="municipality polygons with NIS5 codes",
        hint="Statbel / Provincies in Cijfers 'gemeente.shp' (field geoitem = NIS5)",
    ),
    "neighbourhoods": SourcePatterns(
        before=("boundaries/**/ggw7.shp",),
        after=("boundaries/**/*quartiers*.gpkg",),
        hint="Provincies in Cijfers 'ggw7.shp' (wijken), UrbIS 'Monitoring des Quartiers' (MD) "
             "GeoPackage",
    ),
}

#: Belgian source kinds of the data-directory catalogue.
SOURCES: dict[str, SourceKind] = {
    "stib_json": SourceKind(
        ("transit/stib/**/stops.json", "transit/**/stops.json"),
        "STIB-MIVB stops as JSON ({stop_id: {name, lat, lon}})",
        "STIB-MIVB open-data stops exported as transit/stib/stops.json",
        folder=True,  # stops.json with the stop sequences per line beside it
    ),
    "sncb_stations": SourceKind(
        ("transit/**/irail_stations.csv", "transit/**/stations.csv"),
        "SNCB/NMBS stations with average daily stop counts (iRail)",
        "iRail's stations.csv (github.com/iRail/stations) saved as transit/sncb/irail_stations.csv",
    ),
    "population_municipalities": SourceKind(
        ("stats/*population*municipalit*.csv", "stats/*bevolking*gemeente*.csv"),
        "population per municipality (Statbel)",
        "Statbel population by place of residence per municipality (NIS code, Totaal)",
    ),
    "statbel_building_stock": SourceKind(
        ("stats/*gebouwenpark*/*.json",),
        "buildings per municipality (Statbel building stock), the reference of the "
        "footprint completeness check",
        "Statbel 'gebouwenpark' per municipality as JSON, saved as "
        "stats/statbel_gebouwenpark_<year>/<GEMEENTE>.json",
        folder=True,  # one file per municipality: the folder is the table
    ),
    "population_sectors": SourceKind(
        ("population/*statsec*population*.csv", "population/*sector*.csv"),
        "population per statistical sector",
        "Statbel OPENDATA_SECTOREN population per statistical sector",
    ),
    "statsec_ggw7": SourceKind(
        ("boundaries/**/statsec_ggw7.xlsx", "boundaries/**/statsec_ggw7.csv"),
        "a statistical sector → ggw7 wijk lookup (columns statsec, ggw7)",
        "Provincies in Cijfers 'statsec_ggw7.xlsx' (aggregatietabellen) saved under boundaries/",
    ),
    "urbis_quarters": SourceKind(
        ("boundaries/**/*monitoring_quartiers*.gpkg", "boundaries/**/*urbadm_md*.gpkg"),
        "the UrbIS 'Monitoring des Quartiers' quarters of Brussels (mdrc codes)",
        "the UrbIS-Adm MD layer (paradigm.brussels) saved as boundaries/urbis_md.gpkg",
    ),
    "labour_actiris": SourceKind(
        ("labour/actiris*commune*education*.csv", "labour/actiris*.csv"),
        "Actiris job seekers by municipality, year, sex and education level",
        "opendata.brussels.be 'evolution-moyenne-annuelle-demandeurs-d-emploi-inoccupes-par-"
        "commune-genre-niveau-etudes-rbc' CSV",
    ),
    "labour_municipal_rates": SourceKind(
        ("labour/bestcost*municipalities*.csv", "labour/*unemployment*.csv"),
        "unemployment rate and low-education share for all municipalities",
        "BEST-COST MDI municipal indicators (healthiar exdat_prepare_mdi) as CSV",
    ),
}


# --------------------------------------------------------------------------------------------
# Presets: the Brussels–Vilvoorde test bed and the cities of the seeds' hubs
# --------------------------------------------------------------------------------------------

#: Belgian Lambert 72, the national metric grid of the Belgian presets.
BELGIAN_CRS = "EPSG:31370"

#: The Brussels–Vilvoorde test bed: the 19 Brussels municipalities, Vilvoorde and Machelen.
BRUSSELS_VILVOORDE = Preset(
    name="brussels-vilvoorde",
    title="Brussels-Capital Region, Vilvoorde and Machelen",
    codes=(*BRUSSELS_NAMES, "23088", "23047"),
    place_queries=(
        *(f"{fr}, Brussels-Capital, Belgium" for fr, _ in BRUSSELS_NAMES.values()),
        "Vilvoorde, Flemish Brabant, Belgium",
        "Machelen, Flemish Brabant, Belgium",
    ),
    crs=BELGIAN_CRS,
    lang="nl",
)


def _city(name: str, title: str, nis5: str, province: str) -> Preset:
    """Return the one-municipality preset of a Flemish city (Dutch outputs, Lambert 72)."""
    return Preset(name=name, title=title, codes=(nis5,),
                  place_queries=(f"{title}, {province}, Belgium",), crs=BELGIAN_CRS, lang="nl")


#: The cities of the seeds' hubs, one municipality each (NIS5 codes unchanged by the 2019
#: and 2025 mergers).
GENT = _city("gent", "Gent", "44021", "East Flanders")
KORTRIJK = _city("kortrijk", "Kortrijk", "34022", "West Flanders")
GENK = _city("genk", "Genk", "71016", "Limburg")
LEUVEN = _city("leuven", "Leuven", "24062", "Flemish Brabant")

#: Credit lines of the Belgian sources, by key (``[outputs] attribution`` may name the keys).
ATTRIBUTION = {
    "statbel": "Statbel",
    "actiris": "Actiris / view.brussels",
    "urbis": "UrbIS®© – Paradigm",
    "provincies": "Data & Analyse van de Vlaamse provincies",
    "irail": "iRail (CC0)",
    "stib": "STIB-MIVB open data",
    "bestcost": "BEST-COST / Sciensano",
}
#: The same as credits, declared by the readers of this module.
CREDITS = {key: Credit(key, text) for key, text in ATTRIBUTION.items()}

#: The region plug-in.
REGION = Region(
    name="belgium",
    title="Belgium",
    extent=(2.5, 49.45, 6.45, 51.55),
    presets=(BRUSSELS_VILVOORDE, GENT, KORTRIJK, GENK, LEUVEN),
    sources=SOURCES,
    source_patterns=SOURCE_PATTERNS,
    municipality_codes=UnitCodes(
        label="NIS5", columns=NIS_COLUMNS, name_columns=NAME_COLUMNS,
        normalise=normalise_nis5, pattern=r"\d{5}",
    ),
    population_reader=read_population,
    neighbourhood_formats=NEIGHBOURHOOD_FORMATS,
    transit_formats=(
        TransitFormat("stib_json", _stib_json_sources),
        TransitFormat("sncb_stations", _sncb_sources),
    ),
    gtfs_line_tables=(STOPS_BY_LINE,),
    line_topology_readers=(
        LineTopologyReader("STIB-MIVB stop_sequences.json", _stib_line_topology_sources),
        LineTopologyReader("SNCB/NMBS stations with avg_stop_times",
                           _sncb_line_topology_sources),
    ),
    labour_readers={
        "labour_actiris": read_actiris_jobseekers,
        "labour_municipal_rates": read_municipal_rates,
    },
    labour_roles={"jobseekers": "labour_actiris", "unit_rates": "labour_municipal_rates"},
    building_stock_readers={"statbel_building_stock": lambda path: read_building_stock(
        Path(path).parent)},
    attribution=ATTRIBUTION,
    compat={
        "productivecity.sources.units": {
            "NIS_COLUMNS": NIS_COLUMNS, "NAME_COLUMNS": NAME_COLUMNS,
            "normalise_nis5": normalise_nis5, "POPULATION_COLUMNS": POPULATION_COLUMNS,
            "read_statsec_lookup": read_statsec_lookup,
            "read_sector_population": read_sector_population,
            "sector_population_by_wijk": sector_population_by_wijk,
            "read_ggw7": read_ggw7, "read_urbis_quarters": read_urbis_quarters,
        },
        "productivecity.sources.labour": {
            "BRUSSELS_NAMES": BRUSSELS_NAMES, "names_table": names_table,
            "read_actiris_jobseekers": read_actiris_jobseekers, "actiris_years": actiris_years,
            "read_municipal_rates": read_municipal_rates,
        },
        "productivecity.sources.transit": {
            "read_stib_json": read_stib_json, "stib_json_feed_dates": stib_json_feed_dates,
            "read_sncb_stations": read_sncb_stations,
        },
    },
)
