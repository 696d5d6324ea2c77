"""The HTML report travels: one file, no placeholder, numbers for people, new hubs, sensitivity."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _outputs_data import SPEC, scored_sites

from productivecity import _i18n
from productivecity.outputs import report


class _Refs(HTMLParser):
    """Every URL-valued attribute and tag of a page."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action"):
                self.refs.append((tag, name, value or ""))


def _tables(text: str) -> list[str]:
    return re.findall(r"<table.*?</table>", text, flags=re.S)


@pytest.fixture(scope="module")
def run_inputs(tmp_path_factory):
    """A small scored grid with names, a figure, a PNG file, allocation and sensitivity."""
    sites, _, mc = scored_sites()
    sites["place_name"] = [f"Rue {i}, Quartier {i % 3}" for i in range(len(sites))]
    ranks = pd.to_numeric(sites["rank"], errors="coerce")
    best = ranks.sort_values().index[:3].tolist()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    png = tmp_path_factory.mktemp("maps") / "overview.png"
    fig.savefig(png, dpi=50)
    curve = pd.DataFrame({"k": [0, 1, 2, 3],
                          "covered_demand_n": [1000.4, 40000.0, 55939.2, 56000.0],
                          "covered_share_pct": [1.6, 64.0, 89.5, 89.6],
                          "marginal_gain_n": [np.nan, 38999.6, 15939.2, 60.8],
                          "selected": ["", best[1], f"{best[1]};{best[2]}",
                                       f"{best[1]};{best[2]};{best[0]}"]})
    hubs = sites.loc[[best[1], best[2], best[0]], ["rank", "score"]].copy()
    hubs["first_chosen_k"] = pd.array([1, 2, 3], dtype="Int64")
    rows = []
    for c in SPEC.criteria:
        for w in (0.0, 0.5, 1.0):
            top1 = best[1] if (c.name == "canal" and w == 1.0) else best[0]
            rows.append({"criterion": c.name, "weight": w, "base_weight": c.weight,
                         "topk_overlap_share": 0.6 if w == 1.0 else 1.0,
                         "top1_site_id": str(top1), "rank_change_mean": 3.25 * w})
    kw = dict(stability=mc, spec=SPEC, top_k=3, date="2026-05-01",
              figures={"overview": fig, "indicator_canal_distance_m": png}, figure_dpi=30,
              allocation={"curve": curve, "new_hubs": hubs},
              sensitivity=pd.DataFrame(rows))
    yield sites, kw, best
    plt.close(fig)


@pytest.fixture(scope="module")
def pages(run_inputs, tmp_path_factory):
    sites, kw, _ = run_inputs
    out = tmp_path_factory.mktemp("report")
    return {lang: report.write_report(sites, out / f"{lang}.html", lang=lang, **kw)
            .read_text(encoding="utf-8") for lang in ("en", "nl", "fr")}


def test_the_report_is_one_file_without_external_references(pages):
    for text in pages.values():
        parser = _Refs()
        parser.feed(text)
        assert parser.refs, "the figures should be embedded images"
        outside = [r for r in parser.refs if not (r[2].startswith("data:")
                                                  or r[2].startswith("#"))]
        assert outside == []
        assert "link" not in parser.tags and "iframe" not in parser.tags
        assert not re.search(r"url\((?!data:)", text)  # no CSS fetch either
        imgs = [r for r in parser.refs if r[0] == "img"]
        assert len(imgs) == 2 and all(r[2].startswith("data:image/png;base64,") for r in imgs)
    # captions say what a page shows, not its file name
    en = pages["en"]
    assert "overview.png" not in en and "indicator_canal_distance_m" not in en
    assert "the 3 best places numbered" in en
    assert _i18n.column_label("canal_distance_m", "en") + " at each candidate site" in en


def test_exclusion_rows_show_the_rule_and_its_limit_never_a_placeholder(pages, run_inputs):
    sites, _, _ = run_inputs
    excl = sites["excluded_reason"].fillna("").ne("")
    assert excl.any()
    en = pages["en"]
    table = next(t for t in _tables(en) if "Excluded because" in t)
    rows = re.findall(r"<tr><td>(.*?)</td><td class='n'>(\d+)</td><td class='n'>(.*?)</td>",
                      table)
    assert rows, table
    rule, n, span = rows[0]
    assert rule == "cut-off cell (Site area &lt; 2 ha)"
    assert int(n) == int(excl.sum())  # each site once
    values = pd.to_numeric(sites.loc[excl, "area_ha"])
    lo, hi = (_i18n.format_number(v, "en", "area_ha") for v in (values.min(), values.max()))
    assert span == (lo if lo == hi else f"{lo} – {hi}")
    assert "e-" not in span and hi != "2.00"  # the failing values, below the limit
    for text in pages.values():
        rows_text = " ".join(t for t in _tables(text) if "&lt; 2" in t)
        assert rows_text and not re.search(r"(^|\s)x(\s|$)", re.sub("<[^>]+>", " ", rows_text))
    assert "(Oppervlakte &lt; 2 ha)" in pages["nl"]


@pytest.mark.parametrize(("value", "unit", "en", "nl", "fr"), [
    (55939.4, "persons", "55,939", "55.939", "55\u202f939"),
    (0.678, "share", "0.68", "0,68", "0,68"),
    (12.345, "rail_station_walk_time_min", "12.3", "12,3", "12,3"),
    (48.66, "pct", "48.7", "48,7", "48,7"),
    (0.60712, "score", "0.607", "0,607", "0,607"),
    (1.58e-07, None, "< 0.001", "< 0,001", "< 0,001"),
    (7.9e-05, "score", "< 0.001", "< 0,001", "< 0,001"),
    (1234567.0, None, "1,234,567", "1.234.567", "1\u202f234\u202f567"),
    (-0.04, "pct", "> -0.1", "> -0,1", "> -0,1"),
    (float("nan"), "pct", "–", "–", "–"),
])
def test_numbers_are_written_for_people_in_each_language(value, unit, en, nl, fr):
    got = [_i18n.format_number(value, lang, unit) for lang in ("en", "nl", "fr")]
    assert got == [en, nl, fr]
    assert not any(re.search(r"\de[-+]?\d", g) for g in got)


def test_the_report_has_no_exponent_and_uses_the_language_marks(pages):
    for text in pages.values():
        body = re.sub(r"data:image/png;base64,[^']+", "", text)
        body = re.sub(r"<style>.*?</style>|<svg.*?</svg>", "", body, flags=re.S)
        assert not re.search(r"\d\.?\d*e-\d", body)
    assert "55,939" in pages["en"] and "55.939" in pages["nl"]
    assert "55\u202f939" in pages["fr"]
    assert "89.5" in pages["en"] and "89,5" in pages["nl"] and "89,5" in pages["fr"]


def test_new_hubs_and_sensitivity_sections(pages, run_inputs):
    sites, kw, best = run_inputs
    en = pages["en"]
    hubs = en[en.index("<h2>New hubs</h2>"):]
    assert "<svg" in hubs  # the coverage curve, drawn in the page
    assert "the existing hubs alone reach 1,000 (1.6\u00a0%)" in hubs  # no break before %
    assert "From k = 3 on" in hubs  # the last hub adds 0.1 %
    names = [sites.at[s, "place_name"] for s in best]
    curve = re.findall(r"<tr><td class='n'>(\d)</td>.*?</tr>", hubs[:hubs.index("The 3 new")])
    assert len(curve) == 4  # k = 0..3, each row naming only what changed against k - 1
    k3 = re.search(r"<tr><td class='n'>3</td>.*?</tr>", hubs).group(0)
    assert f"+ {names[0]}" in k3 and names[1] not in k3
    chosen = hubs[hubs.index("The 3 new hubs"):]
    assert [chosen.index(n) for n in (names[1], names[2], names[0])] == sorted(
        chosen.index(n) for n in names)  # in the order they were chosen
    sens = en[en.index("<h2>Sensitivity of the ranking</h2>"):]
    assert "varied at random 200 times" in sens and "±10\u00a0%" in sens
    assert f"at weight 1.00: {names[1]}" in sens  # the criterion that changes the top site
    assert sens.count("never") == len(SPEC.criteria) - 1
    assert "<h2>Nieuwe hubs</h2>" in pages["nl"]
    assert "<h2>Sensibilité du classement</h2>" in pages["fr"]
    # without the inputs, no empty sections
    plain = report.allocation_section(None, sites) + report.sensitivity_section(None, sites)
    assert plain == []


def test_captions_say_what_an_atlas_page_shows():
    places = pd.DataFrame({"place_id": ["P01", "P02"], "rank": [1, 2],
                           "place_name": ["Quai des Usines", None]})
    cap = report.figure_caption("place_P01", "en", places=places)
    assert cap.startswith("Place 1, Quai des Usines:")
    assert report.figure_caption("place_P02", "nl", places=places).startswith("Plek 2, P02:")
    assert "new hubs" in report.figure_caption("new_hubs", "en")
    assert report.figure_caption("overview", "fr", sites_n=1234, top_k=5) == (
        "Score d'aptitude des 1\u202f234 sites candidats ; les 5 meilleurs lieux numérotés")
    assert report.figure_caption("some_page") == "Some page"


def test_criteria_get_distinct_colours_and_the_top_table_fits(pages):
    names = [f"c{i}" for i in range(12)]
    colours = report.criterion_colours(names)
    assert len(set(colours.values())) == 12
    en = pages["en"]
    key = re.search(r"<p class='key'>(.*?)</p>", en).group(1)
    used = re.findall(r"background:(#[0-9a-f]{6})", key)
    assert len(used) == len(SPEC.criteria) == len(set(used))
    top = next(t for t in _tables(en) if "class='top'" in t)
    assert top.split("</tr>")[0].count("<th>") <= 8  # indicators in a table of their own
    ind = next(t for t in _tables(en) if "class='ind'" in t)
    assert _i18n.column_label("canal_distance_m", "en") in ind
    assert "@media print" in en and "A4 portrait" in en


def test_allocation_section_names_units_of_unknown_demand():
    sites = pd.DataFrame({"place_name": ["Quay Street"]}, index=pd.Index(["s1"], name="site_id"))
    curve = pd.DataFrame({"k": [0, 1], "covered_demand_n": [10.0, 30.0],
                          "covered_share_pct": [25.0, 75.0], "marginal_gain_n": [np.nan, 20.0],
                          "selected": ["", "s1"]})
    units = pd.DataFrame({"jobseekers_low_edu_n": [10.0, 30.0, 0.0],
                          "no_data": [False, False, True]})
    html_en = "".join(report.allocation_section({"curve": curve, "demand_units": units}, sites))
    assert "1 of the 3 demand units lie where there are no job-seeker data" in html_en
    html_nl = "".join(report.allocation_section({"curve": curve, "demand_units": units}, sites,
                                                "nl"))
    assert "1 van de 3 vraageenheden" in html_nl
    known = units.assign(no_data=False)
    assert "no job-seeker data" not in "".join(
        report.allocation_section({"curve": curve, "demand_units": known}, sites))


def test_allocation_section_shows_the_two_tiers():
    sites = pd.DataFrame({"place_name": ["Quay Street", "Mill Road", "Dock Lane"]},
                         index=pd.Index(["s1", "s2", "s3"], name="site_id"))
    curve = pd.DataFrame({"k": [0, 1], "covered_demand_n": [10.0, 30.0],
                          "covered_share_pct": [25.0, 75.0], "marginal_gain_n": [np.nan, 20.0],
                          "selected": ["", "s1"]})
    tiers = pd.DataFrame({"tier": ["neighbourhood", "city-wide"], "mode": ["walk", "transit"],
                          "k": [2, 1], "limit_min": [15.0, 30.0], "existing_open_n": [3, 2],
                          "total_demand_n": [1000.0, 1000.0],
                          "covered_demand_n": [600.0, 950.0],
                          "baseline_covered_demand_n": [200.0, 900.0],
                          "selected": ["s1;s2", "s3"]})
    tier_hubs = pd.DataFrame({"tier": ["neighbourhood", "neighbourhood", "city-wide"]},
                             index=pd.Index(["s1", "s2", "s3"], name="site_id"))
    alloc = {"curve": curve, "tiers": tiers, "tier_hubs": tier_hubs}
    page = "".join(report.allocation_section(alloc, sites))
    assert "<h3>Two tiers: neighbourhood and city-wide hubs</h3>" in page
    part = page[page.index("Two tiers"):]
    assert "15 min on foot" in part and "30 min by public transport" in part
    assert "<th>New hubs chosen</th>" in part
    assert "200 (20.0" in part and "600 (60.0" in part and "950 (95.0" in part
    nb = part[part.index("neighbourhood"):part.index("city-wide</td>")]
    assert "Quay Street" in nb and "Mill Road" in nb and "Dock Lane" not in nb
    nl = "".join(report.allocation_section(alloc, sites, "nl"))
    assert "Twee niveaus" in nl and "min te voet" in nl
    assert "Two tiers" not in "".join(report.allocation_section({"curve": curve}, sites))


def test_figures_given_by_a_callable_are_asked_for_last(run_inputs, pages, tmp_path):
    sites, kw, _ = run_inputs
    asked = []

    def figures():  # a run's pages, drawn while the report's text is written
        asked.append(True)
        return kw["figures"]

    out = report.write_report(sites, tmp_path / "en.html", lang="en",
                              **{**kw, "figures": figures})
    assert asked == [True]
    assert out.read_text(encoding="utf-8") == pages["en"]
