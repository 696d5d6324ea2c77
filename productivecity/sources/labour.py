"""Labour-market tables: job seekers, unemployment rates, education levels.

All readers return a DataFrame indexed by the unit code (``nis5`` for
municipalities) with counts in ``*_n`` columns and shares in ``*_pct``
columns, and check what they read: unknown unit codes are listed, a year not
in the table lists the years it has, duplicate codes and non-numeric counts
are refused. Units without data stay missing (``<NA>``), never zero.

Readers
-------
:func:`read_actiris_jobseekers`
    Actiris annual averages of unemployed job seekers (DEI / NWWZ) by
    Brussels municipality, sex and education level (opendata.brussels.be).
    The file names municipalities, not codes: names are matched to NIS5
    codes (French or Dutch, accents and case ignored) through a names table.
:func:`read_municipal_rates`
    The 2021 census-type unemployment rate (% of the active population
    18-65) and the share of adults without an upper-secondary diploma for
    all Belgian municipalities (BEST-COST MDI indicators, Sciensano).
:func:`read_unit_table`
    Any user table keyed by municipality, neighbourhood or statistical
    sector code.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from productivecity._errors import DataSourceError, SchemaError
from productivecity._validate import require_columns, require_numeric
from productivecity.sources.units import normalise_nis5

logger = logging.getLogger(__name__)

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


def name_key(name: str) -> str:
    """Return a municipality name folded for matching: no accents, case, spaces or qualifiers.

    ``"Vorst (Brussel-Hoofdstad)"``, ``"VORST"`` and ``"vorst"`` give the same key.
    """
    s = unicodedata.normalize("NFKD", str(name))
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.split("(")[0].casefold()
    return "".join(c for c in s if c.isalnum())


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


def read_actiris_jobseekers(
    path: str | os.PathLike,
    *,
    year: int,
    names: Mapping[str, str | tuple[str, ...]] | pd.Series | None = None,
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

    Returns
    -------
    DataFrame
        Index ``nis5``; columns ``name``, ``year``, ``jobseekers_n``,
        ``jobseekers_men_n``, ``jobseekers_women_n``, ``jobseekers_low_edu_n``,
        ``jobseekers_medium_edu_n``, ``jobseekers_high_edu_n``,
        ``jobseekers_foreign_edu_n`` (annual averages, persons, float) and
        ``low_edu_share_pct`` (low-educated share of job seekers, %).
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
    out["low_edu_share_pct"] = 100.0 * out["jobseekers_low_edu_n"] / out["jobseekers_n"]
    return out.sort_index()


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
    return out


def read_unit_table(
    path: str | os.PathLike,
    *,
    code_column: str,
    value_columns: list[str],
    sep: str | None = None,
    unit_codes: pd.Index | None = None,
) -> pd.DataFrame:
    """Read any table keyed by a unit code (municipality, neighbourhood, statistical sector).

    Parameters
    ----------
    path : path-like
        CSV (separator sniffed unless ``sep``) or Excel file.
    code_column : str
        Column with the unit code (read as text, so leading zeros are kept).
    value_columns : list of str
        Numeric columns to keep.
    unit_codes : Index, optional
        Codes of the units the table must match; codes in the table that match
        none of them are listed in the error.

    Returns
    -------
    DataFrame
        Index named ``code_column``, the value columns as floats.
    """
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xls"}:
        if not path.exists():
            raise DataSourceError(f"file {path} does not exist")
        df = pd.read_excel(path, dtype={code_column: str})
    else:
        df = _read_csv(path, sep=sep, dtype={code_column: str})
    require_columns(df, [code_column, *value_columns], what=str(path))
    require_numeric(df, value_columns, what=str(path))
    codes = df[code_column].astype(str).str.strip()
    out = df[value_columns].apply(pd.to_numeric).astype(float)
    out.index = pd.Index(codes.to_numpy(), name=code_column)
    _refuse_duplicates(out.index, what=str(path))
    if unit_codes is not None:
        unknown = sorted(set(out.index) - set(map(str, unit_codes)))
        if unknown:
            raise SchemaError(
                f"{path}: {len(unknown)} code(s) in column {code_column!r} match no unit: "
                f"{unknown[:20]}{' ...' if len(unknown) > 20 else ''}"
            )
    return out


def _read_csv(path: Path, *, sep: str | None, dtype=None) -> pd.DataFrame:
    if not path.exists():
        raise DataSourceError(f"file {path} does not exist")
    try:
        return pd.read_csv(
            path,
            sep=sep,
            encoding="utf-8-sig",
            dtype=dtype,
            engine="python" if sep is None else "c",
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"could not read {path} as a CSV table: {exc}") from exc


def _refuse_duplicates(index: pd.Index, *, what: str) -> None:
    dup = index[index.duplicated()].unique().tolist()
    if dup:
        raise SchemaError(f"{what}: unit codes occur more than once: {dup}")
