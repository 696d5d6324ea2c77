"""Labour tables: Actiris job seekers, municipal rates, generic unit tables."""

from __future__ import annotations

import pytest

from productivecity import DataSourceError, SchemaError
from productivecity.sources.catalog import DataDir
from productivecity.sources.labour import name_key, read_unit_table
from productivecity.sources.regions.belgium import (
    actiris_years,
    read_actiris_jobseekers,
    read_municipal_rates,
)

HEADER = (
    "Année;Commune;Gemeente;Total commune;Total hommes;Total femmes;"
    'Total niveau d\'étude "faible";Total niveau d\'étude "moyen";'
    'Total niveau d\'étude "élevé";Total étrangers sans équivalence\n'
)


def _actiris(tmp_path, rows):
    path = tmp_path / "actiris.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8-sig")
    return path


def test_name_key_folds_accents_case_and_qualifiers():
    assert name_key("Vorst (Brussel-Hoofdstad)") == name_key("VORST") == "vorst"
    assert name_key("Molenbeek-Saint-Jean") == "molenbeeksaintjean"
    assert name_key("Étterbéek") == "etterbeek"


def test_actiris_by_french_or_dutch_name(tmp_path):
    path = _actiris(
        tmp_path,
        [
            "2024;Molenbeek-Saint-Jean;Sint-Jans-Molenbeek;9000.0;5000;4000;3000;2000;1000;3000\n",
            "2024;Forest;Vorst;2000.0;1000;1000;500;500;500;500\n",
            "2023;Forest;Vorst;1800.0;900;900;400;400;500;500\n",
        ],
    )
    out = read_actiris_jobseekers(path, year=2024)
    assert list(out.index) == ["21007", "21012"]
    assert out.loc["21012", "jobseekers_low_edu_n"] == 3000
    assert out.loc["21012", "low_edu_share_pct"] == pytest.approx(100 * 3000 / 9000)
    assert actiris_years(path) == [2023, 2024]


def test_actiris_unknown_year_lists_years(tmp_path):
    path = _actiris(tmp_path, ["2024;Forest;Vorst;2000.0;1000;1000;500;500;500;500\n"])
    with pytest.raises(SchemaError, match=r"year 2019.*\[2024\]"):
        read_actiris_jobseekers(path, year=2019)


def test_actiris_unmatched_names_are_listed(tmp_path):
    path = _actiris(tmp_path, ["2024;Atlantis;Atlantis;20.0;10;10;5;5;5;5\n"])
    with pytest.raises(SchemaError, match="Atlantis"):
        read_actiris_jobseekers(path, year=2024)
    out = read_actiris_jobseekers(path, year=2024, names={"99999": "Atlantis"})
    assert list(out.index) == ["99999"]


def test_actiris_duplicates_and_non_numeric(tmp_path):
    dup = _actiris(
        tmp_path, ["2024;Forest;Vorst;1.0;1;0;1;0;0;0\n", "2024;Forest;Vorst;1.0;1;0;1;0;0;0\n"]
    )
    with pytest.raises(SchemaError, match="more than once.*21007"):
        read_actiris_jobseekers(dup, year=2024)
    bad = _actiris(tmp_path, ["2024;Forest;Vorst;many;1;0;1;0;0;0\n"])
    with pytest.raises(SchemaError, match="Total commune.*'many'"):
        read_actiris_jobseekers(bad, year=2024)


def test_missing_column_lists_available(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("nis5,unemployed\n21001,12.5\n")
    with pytest.raises(SchemaError, match=r"\['edu'\].*available columns"):
        read_municipal_rates(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        read_municipal_rates(tmp_path / "nope.csv")


def test_unit_table_checks_codes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("code;jobs\n0101;5\n0102;7\n9999;1\n")
    out = read_unit_table(path, code_column="code", value_columns=["jobs"])
    assert list(out.index) == ["0101", "0102", "9999"]  # leading zeros kept
    with pytest.raises(SchemaError, match=r"1 code\(s\).*'9999'"):
        read_unit_table(
            path, code_column="code", value_columns=["jobs"], unit_codes=["0101", "0102"]
        )


@pytest.mark.integration
def test_actiris_real_regional_total(testbed):
    path = DataDir(testbed).require("labour_actiris")
    out = read_actiris_jobseekers(path, year=2024)
    assert len(out) == 19
    # PROVENANCE-part2: regional sum 2024 = 91,629 (monitoringdesquartiers.brussels quotes 91,628)
    assert out["jobseekers_n"].sum() == pytest.approx(91_629, abs=1)
    # the four education groups add up to the total within rounding (+-3 per municipality)
    parts = out[
        [
            "jobseekers_low_edu_n",
            "jobseekers_medium_edu_n",
            "jobseekers_high_edu_n",
            "jobseekers_foreign_edu_n",
        ]
    ].sum(axis=1)
    assert ((parts - out["jobseekers_n"]).abs() <= 3).all()
    assert actiris_years(path)[0] == 2011 and actiris_years(path)[-1] == 2025


@pytest.mark.integration
def test_municipal_rates_cover_the_study_area(testbed):
    rates = read_municipal_rates(DataDir(testbed).require("labour_municipal_rates"))
    assert len(rates) == 581
    # PROVENANCE-part2: Molenbeek 15.4 % (census-type rate, 2021)
    assert rates.loc["21012", "unemployment_rate_pct"] == pytest.approx(15.4, abs=0.1)
    assert {"23088", "23047"} <= set(rates.index)
