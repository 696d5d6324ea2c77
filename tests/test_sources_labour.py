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


# --------------------------------------------------------------------------- target group

SPLIT = (
    'Hommes - Niveau d’études "faible";Femmes - Niveau d’études "faible";'
    'Hommes - Niveau d’études "moyen";Femmes - Niveau d’études "moyen";'
    'Hommes - Niveau d’études "élevé";Femmes - Niveau d’études "élevé";'
    "Hommes étrangers sans équivalence;Femmes étrangères sans équivalence"
)


def _actiris_split(tmp_path):
    """Forest 2024: 2000 job seekers; low 500 (300 men), foreign 900 (400 men)."""
    path = tmp_path / "actiris_split.csv"
    path.write_text(HEADER.rstrip("\n") + ";" + SPLIT + "\n"
                    + "2024;Forest;Vorst;2000.0;1000;1000;500;300;300;900;"
                      "300;200;100;200;100;200;400;500\n", encoding="utf-8-sig")
    return path


def test_target_group_adds_the_chosen_categories_and_says_so(tmp_path):
    path = _actiris_split(tmp_path)
    default = read_actiris_jobseekers(path, year=2024)
    assert default.loc["21007", "jobseekers_low_edu_n"] == 500
    assert default.attrs["target_group"] == (
        "unemployed job seekers (Actiris, annual average 2024) with education: low; all sexes")
    both = read_actiris_jobseekers(
        path, year=2024, target_group={"education": ["low", "foreign_unrecognised"]})
    assert both.loc["21007", "jobseekers_low_edu_n"] == 1400
    assert "education: low, foreign diploma not recognised; all sexes" in \
        both.attrs["target_group"]
    women = read_actiris_jobseekers(
        path, year=2024, target_group={"education": ["low", "foreign_unrecognised"],
                                       "sex": ["women"]})
    assert women.loc["21007", "jobseekers_low_edu_n"] == 200 + 500
    assert women.attrs["target_group"].endswith("sex: women")
    assert women.loc["21007", "jobseekers_n"] == 2000  # all job seekers unchanged


def test_target_group_categories_the_table_lacks_are_one_error(tmp_path):
    path = _actiris_split(tmp_path)
    with pytest.raises(SchemaError, match=r"'education = unknown', 'age \(no such breakdown\)'"
                                          r".*it has: education: low, medium, high, "
                                          r"foreign_unrecognised; sex: men, women"):
        read_actiris_jobseekers(path, year=2024,
                                target_group={"education": ["unknown"], "age": ["18-24"]})
    # a table without the education-by-sex split (like the sample's) has no sex breakdown
    flat = _actiris(tmp_path, ["2024;Forest;Vorst;2000.0;1000;1000;500;500;500;500\n"])
    with pytest.raises(SchemaError, match=r"sex \(no such breakdown\).*it has: education: "
                                          r"low, medium, high, foreign_unrecognised$"):
        read_actiris_jobseekers(flat, year=2024, target_group={"sex": ["women"]})


def test_target_group_vocabulary_is_checked():
    from productivecity import ParameterError
    from productivecity.sources.labour import check_target_group

    with pytest.raises(ParameterError, match=r"unknown key 'gender' \(known keys: education, "
                                             r"sex, age\)"):
        check_target_group({"gender": ["women"]})
    with pytest.raises(ParameterError, match=r"unknown category \['none'\] \(known: low, "):
        check_target_group({"education": ["none"]})
    assert check_target_group(None) == {"education": ["low"]}
    assert check_target_group({"sex": "men"}) == {"sex": ["men"]}


@pytest.mark.integration
def test_actiris_real_target_group_totals(testbed):
    path = DataDir(testbed).require("labour_actiris")
    both = read_actiris_jobseekers(
        path, year=2024, target_group={"education": ["low", "foreign_unrecognised"]})
    assert both["jobseekers_low_edu_n"].sum() == 15_907 + 40_032
    # by sex: the men's and women's columns add up to the totals
    men = read_actiris_jobseekers(
        path, year=2024, target_group={"education": ["low", "foreign_unrecognised"],
                                       "sex": ["men"]})
    women = read_actiris_jobseekers(
        path, year=2024, target_group={"education": ["low", "foreign_unrecognised"],
                                       "sex": ["women"]})
    assert (men["jobseekers_low_edu_n"] + women["jobseekers_low_edu_n"]).sum() == 55_939
    # 2025, Elsene: 2,647 of 6,363 have a foreign diploma that is not recognised
    y25 = read_actiris_jobseekers(path, year=2025, target_group={
        "education": ["foreign_unrecognised"]})
    assert y25.loc["21009", "jobseekers_low_edu_n"] == 2647
    assert y25.loc["21009", "jobseekers_n"] == 6363
