"""Labels of maps, web maps and reports in Dutch, French and English.

Workshops along the Brussels canal are held in Dutch, French or English, so
every word that ends up on a printed map or in a report comes from here:
:func:`text` for fixed terms (legend entries, footer words) and
:func:`column_label` for indicator columns (``rail_station_time_min`` →
"Walk to the nearest railway station (min)" / "Wandeltijd tot het
dichtstbijzijnde treinstation (min)" / ...). Columns without a translation get
a readable label built from their name and unit suffix, in the chosen language
for the unit.
"""

from __future__ import annotations

import re

from productivecity._errors import ParameterError, UnknownKeyError

#: Languages labels exist in: Dutch, French, English.
LANGUAGES = ("nl", "fr", "en")

_TERMS: dict[str, dict[str, str]] = {
    "overview_title": {
        "en": "Candidate sites for maker-learning hubs",
        "nl": "Kandidaat-locaties voor maakleerplekken",
        "fr": "Sites candidats pour des lieux d'apprentissage productif",
    },
    "isochrone_title": {
        "en": "Reach of the top sites",
        "nl": "Bereik van de beste locaties",
        "fr": "Accessibilité des meilleurs sites",
    },
    "indicator_title": {
        "en": "Indicator",
        "nl": "Indicator",
        "fr": "Indicateur",
    },
    "study_area": {"en": "Study area", "nl": "Studiegebied", "fr": "Zone d'étude"},
    "canal": {"en": "Canal", "nl": "Kanaal", "fr": "Canal"},
    "canal_zone": {"en": "Canal zone", "nl": "Kanaalzone", "fr": "Zone du canal"},
    "industrial_zones": {
        "en": "Industrial land and brownfields",
        "nl": "Bedrijventerreinen en braakliggend terrein",
        "fr": "Terrains industriels et friches",
    },
    "municipalities": {"en": "Municipalities", "nl": "Gemeenten", "fr": "Communes"},
    "rail_stations": {"en": "Railway station", "nl": "Treinstation", "fr": "Gare"},
    "hubs": {
        "en": "Existing maker-learning hub",
        "nl": "Bestaande maakleerplek",
        "fr": "Lieu d'apprentissage existant",
    },
    "sites": {"en": "Candidate sites", "nl": "Kandidaat-locaties", "fr": "Sites candidats"},
    "site": {"en": "Site", "nl": "Locatie", "fr": "Site"},
    "excluded": {"en": "Excluded site", "nl": "Uitgesloten locatie", "fr": "Site exclu"},
    "excluded_reason": {"en": "Excluded because", "nl": "Uitgesloten omdat", "fr": "Exclu car"},
    "excluded_also": {"en": "Also for (n)", "nl": "Ook voor (n)", "fr": "Aussi pour (n)"},
    "not_assessable": {"en": "Not assessable (no data)",
                       "nl": "Niet te beoordelen (geen gegevens)",
                       "fr": "Non évaluable (pas de données)"},
    "sites_states": {
        "en": "{n} candidate sites: {g} eligible (scored), {e} excluded by a rule, "
              "{a} not assessable (an input has no value there).",
        "nl": "{n} kandidaat-locaties: {g} geschikt (gescoord), {e} uitgesloten door een regel, "
              "{a} niet te beoordelen (een gegeven ontbreekt er).",
        "fr": "{n} sites candidats : {g} éligibles (notés), {e} exclus par une règle, "
              "{a} non évaluables (une donnée y manque).",
    },
    "coverage": {"en": "Data coverage per municipality", "nl": "Gegevensdekking per gemeente",
                 "fr": "Couverture des données par commune"},
    "coverage_note": {
        "en": "Each site counted in the municipality containing its centroid. Not assessable "
              "sites lack a value of a criterion or constraint: no data, not a bad site.",
        "nl": "Elke locatie geteld in de gemeente waarin haar zwaartepunt ligt. Niet te "
              "beoordelen locaties missen een waarde van een criterium of voorwaarde: geen "
              "gegevens, geen slechte locatie.",
        "fr": "Chaque site est compté dans la commune qui contient son centroïde. Les sites non "
              "évaluables n'ont pas de valeur pour un critère ou une contrainte : pas de "
              "données, pas un mauvais site.",
    },
    "unit": {"en": "Municipality", "nl": "Gemeente", "fr": "Commune"},
    "coverage_missing": {"en": "Inputs missing (share of its sites)",
                         "nl": "Ontbrekende gegevens (aandeel van de locaties)",
                         "fr": "Données manquantes (part des sites)"},
    "coverage_empty": {"en": "No candidate site in {n} municipalities: {names}.",
                       "nl": "Geen kandidaat-locatie in {n} gemeenten: {names}.",
                       "fr": "Aucun site candidat dans {n} communes : {names}."},
    "outside_units": {"en": "Outside the municipalities", "nl": "Buiten de gemeenten",
                      "fr": "Hors des communes"},
    "not_assessable_because": {"en": "Not assessable: no value for {labels}",
                               "nl": "Niet te beoordelen: geen waarde voor {labels}",
                               "fr": "Non évaluable : pas de valeur pour {labels}"},
    "no_data": {"en": "No data", "nl": "Geen gegevens", "fr": "Pas de données"},
    "also_fails": {"en": "On the values known here it would also fail: {reason}",
                   "nl": "Op de hier bekende waarden faalt ook: {reason}",
                   "fr": "Sur les valeurs connues ici, échoue aussi : {reason}"},
    "eligible": {"en": "Eligible", "nl": "Geschikt", "fr": "Éligible"},
    "excluded_short": {"en": "Excluded", "nl": "Uitgesloten", "fr": "Exclus"},
    "score": {"en": "Suitability score", "nl": "Geschiktheidsscore", "fr": "Score d'aptitude"},
    "score_short": {"en": "Score", "nl": "Score", "fr": "Score"},
    "rank": {"en": "Rank", "nl": "Rang", "fr": "Rang"},
    "top_k": {"en": "Top {k} (rank)", "nl": "Top {k} (rang)", "fr": "Top {k} (rang)"},
    "top_k_places": {"en": "Top {k} places (rank; dashed: extent)",
                     "nl": "Top {k} plekken (rang; streepjes: omvang)",
                     "fr": "{k} meilleurs lieux (rang ; tirets : étendue)"},
    "no_value": {"en": "No value", "nl": "Geen waarde", "fr": "Pas de valeur"},
    "isochrone": {
        "en": "Reached within {t:g} min",
        "nl": "Bereikbaar binnen {t:g} min",
        "fr": "Accessible en {t:g} min",
    },
    "date": {"en": "Date", "nl": "Datum", "fr": "Date"},
    "crs": {"en": "CRS", "nl": "CRS", "fr": "SCR"},
    "sources": {"en": "Sources", "nl": "Bronnen", "fr": "Sources"},
    "made_with": {
        "en": "Made with productivecity",
        "nl": "Gemaakt met productivecity",
        "fr": "Réalisé avec productivecity",
    },
    "indicators": {"en": "Indicators", "nl": "Indicatoren", "fr": "Indicateurs"},
    "breakdown": {
        "en": "Score breakdown",
        "nl": "Opbouw van de score",
        "fr": "Décomposition du score",
    },
    "criterion": {"en": "Criterion", "nl": "Criterium", "fr": "Critère"},
    "contribution": {"en": "Contribution", "nl": "Bijdrage", "fr": "Contribution"},
    "value": {"en": "Value", "nl": "Waarde", "fr": "Valeur"},
    "stability": {
        "en": "Rank stability",
        "nl": "Stabiliteit van de rang",
        "fr": "Stabilité du rang",
    },
    "topk_share": {
        "en": "Share of runs in top {k}",
        "nl": "Aandeel runs in top {k}",
        "fr": "Part des tirages dans le top {k}",
    },
    "rank_interval": {
        "en": "Rank, 5-95 %",
        "nl": "Rang, 5-95 %",
        "fr": "Rang, 5-95 %",
    },
    "report_title": {
        "en": "Site ranking report",
        "nl": "Rapport rangschikking locaties",
        "fr": "Rapport de classement des sites",
    },
    "top_sites": {"en": "Top sites", "nl": "Beste locaties", "fr": "Meilleurs sites"},
    "top_places": {"en": "Top places", "nl": "Beste plekken", "fr": "Meilleurs lieux"},
    "place": {"en": "Place (best cell)", "nl": "Plek (beste cel)",
              "fr": "Lieu (meilleure cellule)"},
    "cells_n": {"en": "Cells", "nl": "Cellen", "fr": "Cellules"},
    "place_area_ha": {"en": "Area (ha)", "nl": "Oppervlakte (ha)", "fr": "Superficie (ha)"},
    "places_note": {
        "en": "Neighbouring cells within {radius} m of a place's best cell form one place; "
              "the score, breakdown and indicators are those of its best cell.",
        "nl": "Aangrenzende cellen binnen {radius} m van de beste cel van een plek vormen één "
              "plek; score, opbouw en indicatoren zijn die van de beste cel.",
        "fr": "Les cellules voisines à moins de {radius} m de la meilleure cellule d'un lieu "
              "forment un seul lieu ; le score, sa décomposition et les indicateurs sont ceux "
              "de sa meilleure cellule.",
    },
    "maps": {"en": "Maps", "nl": "Kaarten", "fr": "Cartes"},
    "summary": {"en": "Summary", "nl": "Samenvatting", "fr": "Résumé"},
    "missing_inputs": {"en": "Inputs the run went without",
                       "nl": "Gegevens waarzonder de analyse liep",
                       "fr": "Données absentes de l'analyse"},
    "missing_inputs_note": {
        "en": "Indicators that need these inputs are missing (never zero); criteria without "
              "data were dropped and the other weights renormalised.",
        "nl": "Indicatoren die deze gegevens nodig hebben ontbreken (nooit nul); criteria "
              "zonder gegevens zijn weggelaten en de andere gewichten herschaald.",
        "fr": "Les indicateurs qui en dépendent manquent (jamais zéro) ; les critères sans "
              "données ont été retirés et les autres poids renormalisés."},
    "input": {"en": "Input", "nl": "Gegeven", "fr": "Donnée"},
    "status": {"en": "Status", "nl": "Status", "fr": "Statut"},
    "reason": {"en": "Why", "nl": "Waarom", "fr": "Pourquoi"},
    "sites_n": {
        "en": "{n} candidate sites, {e} excluded, {a} not assessable",
        "nl": "{n} kandidaat-locaties, {e} uitgesloten, {a} niet te beoordelen",
        "fr": "{n} sites candidats, {e} exclus, {a} non évaluables",
    },
    "completeness": {"en": "Building data completeness per municipality",
                     "nl": "Volledigheid van de gebouwgegevens per gemeente",
                     "fr": "Complétude des données de bâtiments par commune"},
    "completeness_note": {
        "en": "Mapped building footprints against the reference building stock. Where less "
              "than the threshold is mapped, job seekers are not spread by footprints but by "
              "neighbourhood population, else by area; 'unchecked': no reference count.",
        "nl": "Gekarteerde gebouwen tegenover het referentie-gebouwenpark. Waar minder dan de "
              "drempel gekarteerd is, worden werkzoekenden niet volgens gebouwen maar volgens "
              "de bevolking van de wijken, anders volgens oppervlakte gespreid; 'niet "
              "gecontroleerd': geen referentietelling.",
        "fr": "Emprises de bâtiments cartographiées face au parc de référence. Là où moins que "
              "le seuil est cartographié, les demandeurs d'emploi sont répartis non selon les "
              "bâtiments mais selon la population des quartiers, sinon selon la surface ; "
              "« non vérifié » : pas de comptage de référence.",
    },
    "unit_name": {"en": "Municipality", "nl": "Gemeente", "fr": "Commune"},
    "completeness_mapped": {"en": "Mapped buildings", "nl": "Gekarteerde gebouwen",
                            "fr": "Bâtiments cartographiés"},
    "completeness_reference": {"en": "Reference buildings", "nl": "Referentiegebouwen",
                               "fr": "Bâtiments de référence"},
    "completeness_pct": {"en": "Completeness (%)", "nl": "Volledigheid (%)",
                         "fr": "Complétude (%)"},
    "completeness_footprint": {"en": "Footprint cover (% of area)",
                               "nl": "Bebouwde oppervlakte (% van de oppervlakte)",
                               "fr": "Emprise bâtie (% de la surface)"},
    "completeness_weights": {"en": "Demand spread by", "nl": "Vraag gespreid volgens",
                             "fr": "Demande répartie selon"},
    "completeness_complete": {"en": "complete", "nl": "volledig", "fr": "complet"},
    "completeness_incomplete": {"en": "incomplete: fallback", "nl": "onvolledig: terugval",
                                "fr": "incomplet : repli"},
    "completeness_unchecked": {"en": "unchecked", "nl": "niet gecontroleerd",
                               "fr": "non vérifié"},
    "demand_target": {"en": "Demand (target group)", "nl": "Vraag (doelgroep)",
                      "fr": "Demande (groupe cible)"},
    "demand_persons": {"en": "{n} persons", "nl": "{n} personen", "fr": "{n} personnes"},
    "demand_share": {"en": "{pct} % of {n} job seekers", "nl": "{pct} % van {n} werkzoekenden",
                     "fr": "{pct} % de {n} demandeurs d'emploi"},
    "backtest": {"en": "Back-test: the existing hubs' own locations",
                 "nl": "Terugtoets: de locaties van de bestaande maakleerplekken",
                 "fr": "Test rétrospectif : les emplacements des lieux existants"},
    "backtest_note": {
        "en": "Each existing hub's site, scored under the same criteria; percentile among the "
              "{n} eligible sites (100 = the best site).",
        "nl": "De locatie van elke bestaande maakleerplek, gescoord met dezelfde criteria; "
              "percentiel onder de {n} geschikte locaties (100 = de beste locatie).",
        "fr": "Le site de chaque lieu existant, évalué selon les mêmes critères ; percentile "
              "parmi les {n} sites éligibles (100 = le meilleur site)."},
    "hub": {"en": "Hub", "nl": "Maakleerplek", "fr": "Lieu"},
    "percentile": {"en": "Percentile", "nl": "Percentiel", "fr": "Percentile"},
    "backtest_eligible": {"en": "eligible", "nl": "geschikt", "fr": "éligible"},
    "backtest_excluded": {"en": "excluded", "nl": "uitgesloten", "fr": "exclu"},
    "backtest_not_assessable": {"en": "not assessable (no data)",
                                "nl": "niet te beoordelen (geen gegevens)",
                                "fr": "non évaluable (pas de données)"},
    "backtest_no_site": {"en": "no candidate site", "nl": "geen kandidaat-locatie",
                         "fr": "aucun site candidat"},
    "backtest_nearest": {"en": "nearest site {d} m away", "nl": "dichtstbijzijnde locatie op {d} m",
                         "fr": "site le plus proche à {d} m"},
    "layers": {"en": "Layers", "nl": "Lagen", "fr": "Couches"},
    "legend": {"en": "Legend", "nl": "Legende", "fr": "Légende"},
    "low": {"en": "low", "nl": "laag", "fr": "faible"},
    "high": {"en": "high", "nl": "hoog", "fr": "élevé"},
}

# Indicator column stems (the name without its unit suffix) with translations.
_COLUMNS: dict[str, dict[str, str]] = {
    "score": _TERMS["score"],
    "rank": _TERMS["rank"],
    "area": {"en": "Site area", "nl": "Oppervlakte", "fr": "Superficie"},
    "jobseekers_low_edu_walk_20min": {
        "en": "Low-educated job seekers within 20 min walk",
        "nl": "Laaggeschoolde werkzoekenden binnen 20 min wandelen",
        "fr": "Demandeurs d'emploi peu qualifiés à 20 min à pied",
    },
    "jobseekers_low_edu_walk_30min": {
        "en": "Low-educated job seekers within 30 min walk",
        "nl": "Laaggeschoolde werkzoekenden binnen 30 min wandelen",
        "fr": "Demandeurs d'emploi peu qualifiés à 30 min à pied",
    },
    "jobseekers_low_edu_bike_20min": {
        "en": "Low-educated job seekers within 20 min by bike",
        "nl": "Laaggeschoolde werkzoekenden binnen 20 min fietsen",
        "fr": "Demandeurs d'emploi peu qualifiés à 20 min à vélo",
    },
    "jobseekers_low_edu_bike_30min": {
        "en": "Low-educated job seekers within 30 min by bike",
        "nl": "Laaggeschoolde werkzoekenden binnen 30 min fietsen",
        "fr": "Demandeurs d'emploi peu qualifiés à 30 min à vélo",
    },
    "jobseekers_walk_20min": {
        "en": "Job seekers within 20 min walk",
        "nl": "Werkzoekenden binnen 20 min wandelen",
        "fr": "Demandeurs d'emploi à 20 min à pied",
    },
    "jobseekers_walk_30min": {
        "en": "Job seekers within 30 min walk",
        "nl": "Werkzoekenden binnen 30 min wandelen",
        "fr": "Demandeurs d'emploi à 30 min à pied",
    },
    "jobseekers_bike_20min": {
        "en": "Job seekers within 20 min by bike",
        "nl": "Werkzoekenden binnen 20 min fietsen",
        "fr": "Demandeurs d'emploi à 20 min à vélo",
    },
    "jobseekers_bike_30min": {
        "en": "Job seekers within 30 min by bike",
        "nl": "Werkzoekenden binnen 30 min fietsen",
        "fr": "Demandeurs d'emploi à 30 min à vélo",
    },
    "unemployment_rate": {
        "en": "Unemployment rate",
        "nl": "Werkloosheidsgraad",
        "fr": "Taux de chômage",
    },
    "low_education_share": {
        "en": "Share without upper-secondary diploma",
        "nl": "Aandeel zonder diploma hoger secundair",
        "fr": "Part sans diplôme du secondaire supérieur",
    },
    "brownfield_share": {
        "en": "Brownfield share of the site",
        "nl": "Aandeel braakliggend terrein",
        "fr": "Part de friche du site",
    },
    "industrial_share": {
        "en": "Industrial share of the site",
        "nl": "Aandeel bedrijventerrein",
        "fr": "Part industrielle du site",
    },
    "vacant_shops": {
        "en": "Vacant shop units",
        "nl": "Leegstaande winkelpanden",
        "fr": "Commerces vides",
    },
    "built_up_coverage": {
        "en": "Built-up coverage",
        "nl": "Bebouwingsgraad",
        "fr": "Emprise bâtie",
    },
    "tram_metro_stop_time": {
        "en": "Walk to the nearest tram/metro stop",
        "nl": "Wandeltijd tot de dichtstbijzijnde tram-/metrohalte",
        "fr": "Marche jusqu'à l'arrêt de tram/métro le plus proche",
    },
    "rail_station_time": {
        "en": "Walk to the nearest railway station",
        "nl": "Wandeltijd tot het dichtstbijzijnde treinstation",
        "fr": "Marche jusqu'à la gare la plus proche",
    },
    "rail_station_daily_stops": {
        "en": "Daily train stops at that station",
        "nl": "Treinstops per dag in dat station",
        "fr": "Arrêts de train par jour à cette gare",
    },
    "stops_walk_10min": {
        "en": "Stops within 10 min walk",
        "nl": "Haltes binnen 10 min wandelen",
        "fr": "Arrêts à 10 min à pied",
    },
    "canal_quay_time": {
        "en": "Walk to the canal quay",
        "nl": "Wandeltijd tot de kanaalkaai",
        "fr": "Marche jusqu'au quai du canal",
    },
    "canal_distance": {
        "en": "Distance to the canal",
        "nl": "Afstand tot het kanaal",
        "fr": "Distance au canal",
    },
    "nearest_hub_time": {
        "en": "Time to the nearest existing hub",
        "nl": "Reistijd tot de dichtstbijzijnde maakleerplek",
        "fr": "Temps jusqu'au lieu d'apprentissage le plus proche",
    },
    "residents_bike_15min": {
        "en": "Residents within 15 min by bike",
        "nl": "Inwoners binnen 15 min fietsen",
        "fr": "Habitants à 15 min à vélo",
    },
    "training_places_per_jobseeker_2sfca": {
        "en": "Training places per job seeker (2SFCA)",
        "nl": "Opleidingsplaatsen per werkzoekende (2SFCA)",
        "fr": "Places de formation par demandeur d'emploi (2SFCA)",
    },
    "topk_share": {
        "en": "Share of runs in the top k",
        "nl": "Aandeel runs in de top k",
        "fr": "Part des tirages dans le top k",
    },
}

# Unit suffixes (longest first) and how they are shown.
_UNITS: tuple[tuple[str, dict[str, str]], ...] = (
    ("_per_ha", {"en": "per ha", "nl": "per ha", "fr": "par ha"}),
    ("_kmh", {"en": "km/h", "nl": "km/u", "fr": "km/h"}),
    ("_min", {"en": "min", "nl": "min", "fr": "min"}),
    ("_pct", {"en": "%", "nl": "%", "fr": "%"}),
    ("_km", {"en": "km", "nl": "km", "fr": "km"}),
    ("_ha", {"en": "ha", "nl": "ha", "fr": "ha"}),
    ("_m", {"en": "m", "nl": "m", "fr": "m"}),
    ("_n", {"en": "number", "nl": "aantal", "fr": "nombre"}),
)


def check_lang(lang: str) -> str:
    """Return ``lang`` lower-cased, or raise ``ParameterError`` naming the known languages."""
    code = str(lang).strip().lower()
    if code not in LANGUAGES:
        raise ParameterError(f"language {lang!r} is not supported; use one of "
                             f"{list(LANGUAGES)}")
    return code


def text(key: str, lang: str = "en", **fields) -> str:
    """Return the term ``key`` in ``lang``, with ``{fields}`` filled in.

    Parameters
    ----------
    key : str
        Term identifier (e.g. ``"study_area"``, ``"isochrone"``).
    lang : {"nl", "fr", "en"}
        Language.
    **fields
        Values for placeholders, e.g. ``k=10`` for ``"top_k"``.

    Returns
    -------
    str

    Examples
    --------
    >>> text("top_k", "nl", k=5)
    'Top 5 (rang)'
    """
    code = check_lang(lang)
    try:
        entry = _TERMS[key]
    except KeyError:
        raise UnknownKeyError(f"no label {key!r}; known labels: {sorted(_TERMS)}") from None
    return entry[code].format(**fields) if fields else entry[code]


def split_unit(column: str) -> tuple[str, str | None]:
    """Split ``column`` into its stem and unit suffix (``None`` if it has none).

    Examples
    --------
    >>> split_unit("rail_station_time_min")
    ('rail_station_time', '_min')
    """
    for suffix, _ in _UNITS:
        if column.endswith(suffix) and len(column) > len(suffix):
            return column[: -len(suffix)], suffix
    return column, None


def column_label(column: str, lang: str = "en", *, unit: bool = True) -> str:
    """Return a readable label for an indicator column, with its unit in brackets.

    Parameters
    ----------
    column : str
        Column name with its unit suffix (``_min``, ``_n``, ``_pct``, ...).
    lang : {"nl", "fr", "en"}
        Language.
    unit : bool, default True
        Append the unit, e.g. ``" (min)"``.

    Returns
    -------
    str
        The translated label for known columns; otherwise the name with
        underscores as spaces, first letter capitalised.

    Examples
    --------
    >>> column_label("rail_station_time_min", "nl")
    'Wandeltijd tot het dichtstbijzijnde treinstation (min)'
    >>> column_label("bike_parking_n", "nl")
    'Bike parking (aantal)'
    """
    code = check_lang(lang)
    if column in _COLUMNS:
        return _COLUMNS[column][code]
    stem, suffix = split_unit(column)
    if column.startswith("contrib_"):
        stem, suffix = column[len("contrib_") :], None
    if stem in _COLUMNS:
        label = _COLUMNS[stem][code]
    else:
        words = re.sub(r"_+", " ", stem).strip()
        label = words[:1].upper() + words[1:]
    if unit and suffix is not None:
        units = dict(_UNITS)[suffix]
        label = f"{label} ({units[code]})"
    return label


__all__ = ["LANGUAGES", "check_lang", "column_label", "split_unit", "text"]
