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
    # atlas pages (productivecity.outputs.atlas) and page rules of the maps
    "atlas_page": {"en": "Page {i} / {n}", "nl": "Pagina {i} / {n}", "fr": "Page {i} / {n}"},
    "better": {"en": "better", "nl": "beter", "fr": "meilleur"},
    "unit_of_measure": {"en": "Unit", "nl": "Eenheid", "fr": "Unité"},
    "new_hubs_note": {
        "en": "The best set is computed anew for each k: a site chosen at a small k can be "
              "replaced at a larger one. The stars show the set for k = {k}; their number is "
              "the first k at which each is chosen.",
        "nl": "De beste set wordt voor elke k opnieuw berekend: een locatie gekozen bij een "
              "kleine k kan bij een grotere vervangen worden. De sterren tonen de set voor "
              "k = {k}; hun getal is de eerste k waarbij elk gekozen wordt.",
        "fr": "Le meilleur ensemble est recalculé pour chaque k : un site choisi pour un petit "
              "k peut être remplacé pour un k plus grand. Les étoiles montrent l'ensemble pour "
              "k = {k} ; leur numéro est le premier k où chacun est choisi."},
    "not_assessable_short": {"en": "No data", "nl": "Geen gegevens", "fr": "Sans données"},
    "cover_question": {"en": "Where should new maker-learning hubs open?",
                       "nl": "Waar komen nieuwe maakleerplekken?",
                       "fr": "Où ouvrir de nouveaux lieux d'apprentissage du faire ?"},
    "cover_method": {"en": "Method", "nl": "Methode", "fr": "Méthode"},
    "cover_method_text": {
        "en": "Candidate sites are scored on the criteria below (weighted sum of standardised "
              "indicators); sites failing a rule are excluded. Neighbouring good sites are "
              "grouped into places; each place gets a card.",
        "nl": "Kandidaat-locaties krijgen een score op de criteria hieronder (gewogen som van "
              "gestandaardiseerde indicatoren); locaties die een regel niet halen, vallen af. "
              "Goede naburige locaties vormen samen een plek; elke plek krijgt een fiche.",
        "fr": "Les sites candidats sont notés selon les critères ci-dessous (somme pondérée "
              "d'indicateurs standardisés) ; les sites qui ne respectent pas une règle sont "
              "exclus. Les bons sites voisins forment un lieu ; chaque lieu a sa fiche."},
    "criteria_weights": {"en": "Criteria and weights", "nl": "Criteria en gewichten",
                         "fr": "Critères et poids"},
    "weight": {"en": "Weight", "nl": "Gewicht", "fr": "Poids"},
    "explore_title": {"en": "Criteria weights: move a slider, the ranked places follow",
                      "nl": "Gewichten van de criteria: verschuif een schuifje, de plekken volgen",
                      "fr": "Poids des critères : déplacez un curseur, le classement suit"},
    "explore_all_zero": {"en": "All weights are 0: give at least one criterion a weight",
                         "nl": "Alle gewichten zijn 0: geef minstens één criterium een gewicht",
                         "fr": "Tous les poids sont à 0 : donnez un poids à au moins un critère"},
    "explore_place": {"en": "Place", "nl": "Plek", "fr": "Lieu"},
    "why_bars": {"en": "Contribution per criterion", "nl": "Bijdrage per criterium",
                 "fr": "Contribution par critère"},
    "save_weights": {"en": "Save weights", "nl": "Gewichten bewaren",
                     "fr": "Enregistrer les poids"},
    # the live weights page (productivecity.outputs.weights_page)
    "wp_title": {"en": "Live weights", "nl": "Gewichten live", "fr": "Poids en direct"},
    "wp_help": {"en": "Move a slider or switch an exclusion: the map and the places follow at "
                      "once. The weights are shares of the score (they are rescaled to sum "
                      "100 %).",
                "nl": "Verschuif een schuifje of zet een uitsluiting aan of uit: de kaart en de "
                      "plekken volgen meteen. De gewichten zijn aandelen van de score (herschaald "
                      "tot samen 100 %).",
                "fr": "Déplacez un curseur ou activez une exclusion : la carte et les lieux "
                      "suivent aussitôt. Les poids sont des parts du score (ramenés à 100 % au "
                      "total)."},
    "wp_exclusions": {"en": "Exclusions", "nl": "Uitsluitingen", "fr": "Exclusions"},
    "wp_places": {"en": "Best places", "nl": "Beste plekken", "fr": "Meilleurs lieux"},
    "wp_reset": {"en": "Back to the run's weights", "nl": "Terug naar de gewichten van de run",
                 "fr": "Revenir aux poids du calcul"},
    "wp_counts": {"en": "{e} eligible, {x} excluded, {a} not assessable",
                  "nl": "{e} geschikt, {x} uitgesloten, {a} niet te beoordelen",
                  "fr": "{e} éligibles, {x} exclus, {a} non évaluables"},
    "wp_flat": {"en": "Same value at every eligible site, so no weight: {names}",
                "nl": "Overal dezelfde waarde op de geschikte locaties, dus geen gewicht: {names}",
                "fr": "Même valeur sur tous les sites éligibles, donc pas de poids : {names}"},
    "wp_none_eligible": {"en": "No site is eligible with these exclusions: switch one off",
                         "nl": "Geen enkele locatie is geschikt met deze uitsluitingen: zet er "
                               "een uit",
                         "fr": "Aucun site n'est éligible avec ces exclusions : désactivez-en "
                               "une"},
    "wp_method_wlc": {"en": "Weighted sum of the standardised criteria",
                      "nl": "Gewogen som van de gestandaardiseerde criteria",
                      "fr": "Somme pondérée des critères standardisés"},
    "wp_method_owa": {"en": "Ordered weighted average (OWA) of the standardised criteria",
                      "nl": "Geordend gewogen gemiddelde (OWA) van de gestandaardiseerde criteria",
                      "fr": "Moyenne pondérée ordonnée (OWA) des critères standardisés"},
    "wp_saved_note": {"en": "The saved file is a criteria file for 'productivecity rank "
                            "--criteria FILE' or a scenario's [criteria] file.",
                      "nl": "Het bewaarde bestand is een criteriabestand voor 'productivecity "
                            "rank --criteria BESTAND' of het [criteria]-bestand van een scenario.",
                      "fr": "Le fichier enregistré est un fichier de critères pour "
                            "'productivecity rank --criteria FICHIER' ou le fichier [criteria] "
                            "d'un scénario."},
    "weights_saved": {"en": "Weights saved as a criteria file: {path}",
                      "nl": "Gewichten bewaard als criteriabestand: {path}",
                      "fr": "Poids enregistrés comme fichier de critères : {path}"},
    "criterion_flat": {
        "en": "Same value at every eligible site, so no weight and no map: {names}.",
        "nl": "Overal dezelfde waarde op de geschikte sites, dus geen gewicht en geen kaart: "
              "{names}.",
        "fr": "Même valeur sur tous les sites éligibles, donc ni poids ni carte : {names}."},
    "direction": {"en": "Better when", "nl": "Beter als", "fr": "Meilleur si"},
    "direction_benefit": {"en": "higher", "nl": "hoger", "fr": "plus élevé"},
    "direction_cost": {"en": "lower", "nl": "lager", "fr": "plus bas"},
    "demand": {"en": "Demand", "nl": "Vraag", "fr": "Demande"},
    "demand_unknown": {"en": "No demand data in this run.",
                       "nl": "Geen vraaggegevens in deze run.",
                       "fr": "Pas de données de demande dans ce calcul."},
    "source_dates": {"en": "Sources and their dates", "nl": "Bronnen en hun datum",
                     "fr": "Sources et leurs dates"},
    "date_unknown": {"en": "date not given", "nl": "datum niet vermeld",
                     "fr": "date non indiquée"},
    "atlas_contents": {"en": "Contents", "nl": "Inhoud", "fr": "Sommaire"},
    "card_title": {"en": "Place {r}: {name}", "nl": "Plek {r}: {name}",
                   "fr": "Lieu {r} : {name}"},
    "address": {"en": "Address", "nl": "Adres", "fr": "Adresse"},
    "why_place": {"en": "Why this place (contribution to the score)",
                  "nl": "Waarom deze plek (bijdrage aan de score)",
                  "fr": "Pourquoi ce lieu (contribution au score)"},
    "key_indicators": {"en": "Key indicators (best site) against the area",
                       "nl": "Kernindicatoren (beste locatie) tegenover het gebied",
                       "fr": "Indicateurs clés (meilleur site) face à la zone"},
    "median_eligible": {"en": "Median (eligible)", "nl": "Mediaan (geschikt)",
                        "fr": "Médiane (éligibles)"},
    "rank_stability_text": {
        "en": "In the top {k} in {p} % of the weight draws; rank (5–95 %): {a}–{b}",
        "nl": "In de top {k} bij {p} % van de gewichtstrekkingen; rang (5–95 %): {a}–{b}",
        "fr": "Dans les {k} premiers pour {p} % des tirages de poids ; rang (5–95 %) : "
              "{a}–{b}"},
    "rank_stability_none": {"en": "No rank stability computed for this place.",
                            "nl": "Geen rangstabiliteit berekend voor deze plek.",
                            "fr": "Pas de stabilité du rang calculée pour ce lieu."},
    "no_streets": {"en": "The base map has no streets around this place: the data "
                         "do not cover it.",
                   "nl": "De basiskaart heeft geen straten rond deze plek: de gegevens "
                         "dekken ze niet.",
                   "fr": "Le fond de plan n'a pas de rues autour de ce lieu : les données "
                         "ne le couvrent pas."},
    "place_cells": {"en": "Sites of the place (score)", "nl": "Locaties van de plek (score)",
                    "fr": "Sites du lieu (score)"},
    "place_extent": {"en": "Extent of the place", "nl": "Omvang van de plek",
                     "fr": "Étendue du lieu"},
    "transit_stops": {"en": "Public transport stops", "nl": "Haltes openbaar vervoer",
                      "fr": "Arrêts de transport public"},
    "new_hubs_title": {"en": "New hubs: where {k} more would reach the most people",
                       "nl": "Nieuwe maakleerplekken: waar {k} extra de meeste mensen bereiken",
                       "fr": "Nouveaux lieux : où {k} de plus toucheraient le plus de monde"},
    "new_hub": {"en": "New hub (order chosen)", "nl": "Nieuwe plek (volgorde gekozen)",
                "fr": "Nouveau lieu (ordre choisi)"},
    "catchment": {"en": "Demand reached by a new hub", "nl": "Vraag bereikt door een nieuwe plek",
                  "fr": "Demande atteinte par un nouveau lieu"},
    "catchment_existing": {"en": "Demand reached by existing hubs",
                           "nl": "Vraag bereikt door bestaande plekken",
                           "fr": "Demande atteinte par les lieux existants"},
    "report_tiers_title": {"en": "Two tiers: neighbourhood and city-wide hubs",
                           "nl": "Twee niveaus: buurt- en stadsbrede hubs",
                           "fr": "Deux niveaux : hubs de quartier et hubs métropolitains"},
    "report_tiers_intro": {
        "en": "Each tier places its own new hubs to cover the demand within its own reach; "
              "the existing hubs count in the tier of their profile (both when unknown).",
        "nl": "Elk niveau plaatst zijn eigen nieuwe hubs om de vraag binnen zijn eigen bereik "
              "te dekken; de bestaande hubs tellen mee in het niveau van hun profiel (in beide "
              "als dat onbekend is).",
        "fr": "Chaque niveau place ses propres nouveaux hubs pour couvrir la demande à sa propre "
              "portée ; les hubs existants comptent dans le niveau de leur profil (dans les deux "
              "s'il est inconnu)."},
    "report_tier": {"en": "Tier", "nl": "Niveau", "fr": "Niveau"},
    "tier_existing": {"en": "Hubs", "nl": "Hubs", "fr": "Hubs"},
    "tier_new_hub": {"en": "New hub, {tier} ({reach})", "nl": "Nieuwe hub, {tier} ({reach})",
                     "fr": "Nouveau hub, {tier} ({reach})"},
    "tier_before": {"en": "Reached now", "nl": "Nu bereikt", "fr": "Atteints"},
    "tier_after": {"en": "With new", "nl": "Met nieuwe", "fr": "Avec nouveaux"},
    "report_tier_sites": {"en": "New hubs chosen", "nl": "Gekozen nieuwe hubs",
                          "fr": "Nouveaux hubs choisis"},
    "report_tier_reach": {"en": "Reach", "nl": "Bereik", "fr": "Portée"},
    "report_tier_existing": {"en": "Existing hubs counted", "nl": "Bestaande hubs meegeteld",
                             "fr": "Hubs existants comptés"},
    "report_tier_before": {"en": "Within reach of existing hubs",
                           "nl": "Binnen bereik van bestaande hubs",
                           "fr": "À portée des hubs existants"},
    "report_tier_after": {"en": "With the new hubs", "nl": "Met de nieuwe hubs",
                          "fr": "Avec les nouveaux hubs"},
    "reach_walk": {"en": "{t} min on foot", "nl": "{t} min te voet", "fr": "{t} min à pied"},
    "reach_bike": {"en": "{t} min by bike", "nl": "{t} min met de fiets", "fr": "{t} min à vélo"},
    "reach_transit": {"en": "{t} min by public transport", "nl": "{t} min met het openbaar vervoer",
                      "fr": "{t} min en transports publics"},
    "not_reached": {"en": "Demand not reached", "nl": "Vraag niet bereikt",
                    "fr": "Demande non atteinte"},
    "demand_unknown_units": {"en": "Demand unknown (no job-seeker data)",
                       "nl": "Vraag onbekend (geen gegevens over werkzoekenden)",
                       "fr": "Demande inconnue (pas de données sur les demandeurs d'emploi)"},
    "demand_unknown_note": {
        "en": "{n} of the {total} demand units lie where there are no job-seeker data: their "
              "demand is unknown and not in the coverage (not counted as covered, nor as "
              "demand).",
        "nl": "{n} van de {total} vraageenheden liggen waar geen gegevens over werkzoekenden "
              "zijn: hun vraag is onbekend en telt niet mee in de dekking (niet als bereikt, "
              "niet als vraag).",
        "fr": "{n} des {total} unités de demande se trouvent là où il n'y a pas de données sur "
              "les demandeurs d'emploi : leur demande est inconnue et n'entre pas dans la "
              "couverture (ni comme couverte, ni comme demande)."},
    "coverage_curve": {"en": "Demand covered against the number of new hubs",
                       "nl": "Bereikte vraag tegenover het aantal nieuwe plekken",
                       "fr": "Demande couverte selon le nombre de nouveaux lieux"},
    "new_hubs_k": {"en": "New hubs (k)", "nl": "Nieuwe plekken (k)",
                   "fr": "Nouveaux lieux (k)"},
    "covered_pct": {"en": "Demand covered (%)", "nl": "Bereikte vraag (%)",
                    "fr": "Demande couverte (%)"},
    "existing_only": {"en": "Existing hubs only", "nl": "Enkel bestaande plekken",
                      "fr": "Lieux existants seuls"},
    "marginal_gain": {"en": "Gain (persons)", "nl": "Winst (personen)",
                      "fr": "Gain (personnes)"},
    "covered_n": {"en": "Covered (persons)", "nl": "Bereikt (personen)",
                  "fr": "Couverts (personnes)"},
    "marginal_gains": {"en": "Marginal gain per added hub", "nl": "Extra winst per nieuwe plek",
                       "fr": "Gain marginal par lieu ajouté"},
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
    "transit_isochrone_title": {
        "en": "Reach of the top sites by public transport",
        "nl": "Bereik van de beste locaties met het openbaar vervoer",
        "fr": "Accessibilité des meilleurs sites en transports en commun",
    },
    "transit_source_timetable": {
        "en": "Walk to a stop, public transport by the timetable (median over the morning "
              "window), walk from the stop",
        "nl": "Stappen naar een halte, openbaar vervoer volgens de dienstregeling (mediaan over "
              "de ochtendperiode), stappen vanaf de halte",
        "fr": "Marche jusqu'à l'arrêt, transports en commun selon l'horaire (médiane sur la "
              "plage du matin), marche depuis l'arrêt",
    },
    "transit_source_topology": {
        "en": "Estimated from line topology (no timetable: speeds and headways assumed), "
              "walk to and from the stops",
        "nl": "Geschat uit de lijnvoering (geen dienstregeling: snelheden en frequenties "
              "aangenomen), stappen van en naar de haltes",
        "fr": "Estimé à partir du tracé des lignes (pas d'horaire : vitesses et fréquences "
              "supposées), marche vers et depuis les arrêts",
    },
    "indicator_title": {
        "en": "Indicator",
        "nl": "Indicator",
        "fr": "Indicateur",
    },
    "study_area": {"en": "Study area", "nl": "Studiegebied", "fr": "Zone d'étude"},
    # hub profiles of the criteria files (issue 13): which kind of hub a shortlist is for
    "hub_profile": {"en": "Hub profile", "nl": "Hubprofiel", "fr": "Profil du lieu"},
    "profile_neighbourhood": {"en": "neighbourhood (10-15 min walk)",
                              "nl": "buurt (10-15 min te voet)",
                              "fr": "de quartier (10-15 min à pied)"},
    "profile_city-wide": {"en": "city-wide (30 min by public transport or 20 by bike)",
                          "nl": "stadsbreed (30 min met het openbaar vervoer of 20 met de fiets)",
                          "fr": "à l'échelle de la ville (30 min en transports en commun "
                                "ou 20 à vélo)"},
    "canal": {"en": "Canal", "nl": "Kanaal", "fr": "Canal"},
    "canal_zone": {"en": "Canal zone", "nl": "Kanaalzone", "fr": "Zone du canal"},
    "industrial_zones": {
        "en": "Industrial land and brownfields",
        "nl": "Bedrijventerreinen en braakliggend terrein",
        "fr": "Terrains industriels et friches",
    },
    "municipalities": {"en": "Municipalities", "nl": "Gemeenten", "fr": "Communes"},
    "basemap_streets": {"en": "Streets", "nl": "Straten", "fr": "Rues"},
    "basemap_water": {"en": "Water", "nl": "Water", "fr": "Eau"},
    "basemap_green": {"en": "Parks and green space", "nl": "Parken en groen",
                      "fr": "Parcs et espaces verts"},
    "basemap_rail": {"en": "Railways and tram lines", "nl": "Spoorwegen en tramlijnen",
                     "fr": "Voies ferrées et lignes de tram"},
    # the QGIS project beside the outputs (issue 14): layer, group and legend names
    "qgis_basemap": {"en": "Base map", "nl": "Achtergrondkaart", "fr": "Fond de carte"},
    "qgis_basemap_places": {"en": "Place names", "nl": "Plaatsnamen", "fr": "Noms de lieux"},
    "qgis_streets_major": {"en": "Main roads", "nl": "Hoofdwegen", "fr": "Routes principales"},
    "qgis_streets_minor": {"en": "Local streets", "nl": "Lokale straten", "fr": "Rues locales"},
    "qgis_paths": {"en": "Paths", "nl": "Paden", "fr": "Chemins"},
    "qgis_poi": {"en": "Points of interest", "nl": "Interessante punten",
                 "fr": "Points d'intérêt"},
    "qgis_neighbourhoods": {"en": "Neighbourhoods", "nl": "Wijken", "fr": "Quartiers"},
    "qgis_tables": {"en": "Tables", "nl": "Tabellen", "fr": "Tables"},
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
    "made_on": {
        "en": "Made {d} with productivecity",
        "nl": "Gemaakt op {d} met productivecity",
        "fr": "Réalisé le {d} avec productivecity",
    },
    "made_date": {"en": "Made {d}", "nl": "Gemaakt op {d}", "fr": "Réalisé le {d}"},
    "data_of": {"en": "data of {d}", "nl": "gegevens van {d}", "fr": "données de {d}"},
    "data_of_name": {
        "en": "data of {d} (file name)",
        "nl": "gegevens van {d} (bestandsnaam)",
        "fr": "données de {d} (nom du fichier)",
    },
    "file_date": {"en": "file date {d}", "nl": "bestandsdatum {d}", "fr": "date du fichier {d}"},
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
    # public transport (productivecity.indicators.transit), the default limits
    "jobseekers_transit_30min": {
        "en": "Job seekers within 30 min by public transport",
        "nl": "Werkzoekenden binnen 30 min met het openbaar vervoer",
        "fr": "Demandeurs d'emploi à 30 min en transports en commun",
    },
    "jobseekers_transit_45min": {
        "en": "Job seekers within 45 min by public transport",
        "nl": "Werkzoekenden binnen 45 min met het openbaar vervoer",
        "fr": "Demandeurs d'emploi à 45 min en transports en commun",
    },
    "jobseekers_low_edu_transit_30min": {
        "en": "Low-educated job seekers within 30 min by public transport",
        "nl": "Laaggeschoolde werkzoekenden binnen 30 min met het openbaar vervoer",
        "fr": "Demandeurs d'emploi peu qualifiés à 30 min en transports en commun",
    },
    "jobseekers_low_edu_transit_45min": {
        "en": "Low-educated job seekers within 45 min by public transport",
        "nl": "Laaggeschoolde werkzoekenden binnen 45 min met het openbaar vervoer",
        "fr": "Demandeurs d'emploi peu qualifiés à 45 min en transports en commun",
    },
    "transit_time_canal_districts": {
        "en": "Public transport time to the canal districts' job seekers",
        "nl": "Reistijd met het openbaar vervoer tot de werkzoekenden van de kanaalwijken",
        "fr": "Temps en transports en commun jusqu'aux demandeurs d'emploi des quartiers du "
              "canal",
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


def reach_text(mode: str, limit_min: float, lang: str = "en") -> str:
    """Return a catchment in words: ``"15 min on foot"``, ``"30 min met het openbaar vervoer"``.

    ``mode`` is ``walk``, ``bike`` or ``transit``; another mode is named as it is.

    Examples
    --------
    >>> reach_text("transit", 30.0, "en")
    '30 min by public transport'
    """
    limit = f"{float(limit_min):g}"
    key = f"reach_{mode}"
    return text(key, lang, t=limit) if key in _TERMS else f"{limit} min {mode}"


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


# --------------------------------------------------------------------------- the HTML report

_TERMS.update({
    "report_excluded_n": {"en": "Sites", "nl": "Locaties", "fr": "Sites"},
    "report_excluded_values": {"en": "Values of these sites", "nl": "Waarden van deze locaties",
                               "fr": "Valeurs de ces sites"},
    "report_excluded_note": {
        "en": "Each excluded site is counted once, under the first rule it fails; the last "
              "column counts the sites that fail the rule besides an earlier one.",
        "nl": "Elke uitgesloten locatie telt één keer, bij de eerste regel waaraan ze niet "
              "voldoet; de laatste kolom telt de locaties die de regel naast een eerdere "
              "niet halen.",
        "fr": "Chaque site exclu est compté une fois, sous la première règle qu'il enfreint ; "
              "la dernière colonne compte les sites qui enfreignent la règle en plus d'une "
              "règle précédente."},
    "report_rule_true": {"en": "{label} is true", "nl": "{label} is waar",
                         "fr": "{label} est vrai"},
    "report_no_value": {"en": "no value for {label}", "nl": "geen waarde voor {label}",
                        "fr": "pas de valeur pour {label}"},
    "report_indicators_top": {"en": "Indicators of the top places",
                              "nl": "Indicatoren van de beste plekken",
                              "fr": "Indicateurs des meilleurs lieux"},
    "report_indicators_note": {
        "en": "The value of each indicator at the best cell of each place (columns: rank); "
              "in grey below it, the criterion's contribution to the score.",
        "nl": "De waarde van elke indicator in de beste cel van elke plek (kolommen: rang); "
              "in het grijs eronder, de bijdrage van het criterium aan de score.",
        "fr": "La valeur de chaque indicateur dans la meilleure cellule de chaque lieu "
              "(colonnes : rang) ; en gris en dessous, la contribution du critère au score."},
    "report_indicator": {"en": "Indicator", "nl": "Indicator", "fr": "Indicateur"},
    "report_weight": {"en": "Weight", "nl": "Gewicht", "fr": "Poids"},
    "report_column": {"en": "Column", "nl": "Kolom", "fr": "Colonne"},
    "report_direction": {"en": "Direction", "nl": "Richting", "fr": "Sens"},
    "report_standardisation": {"en": "Standardisation", "nl": "Standaardisering",
                               "fr": "Standardisation"},
    "report_new_hubs": {"en": "New hubs", "nl": "Nieuwe hubs", "fr": "Nouveaux hubs"},
    "report_new_hubs_summary": {
        "en": "With {k} new hubs, {covered} of the {total} persons of the demand ({pct} %) are "
              "within reach of a hub; the existing hubs alone reach {base} ({base_pct} %).",
        "nl": "Met {k} nieuwe hubs zijn {covered} van de {total} personen van de vraag "
              "({pct} %) binnen bereik van een hub; de bestaande hubs alleen bereiken er "
              "{base} ({base_pct} %).",
        "fr": "Avec {k} nouveaux hubs, {covered} des {total} personnes de la demande ({pct} %) "
              "sont à portée d'un hub ; les hubs existants seuls en atteignent {base} "
              "({base_pct} %)."},
    "report_curve_caption": {
        "en": "Demand within reach of a hub against the number of new hubs (k = 0: the "
              "existing hubs only).",
        "nl": "Vraag binnen bereik van een hub tegen het aantal nieuwe hubs (k = 0: alleen "
              "de bestaande hubs).",
        "fr": "Demande à portée d'un hub selon le nombre de nouveaux hubs (k = 0 : les hubs "
              "existants seuls)."},
    "report_curve_flat": {
        "en": "From k = {k} on, each added hub reaches less than 1 % more of the demand.",
        "nl": "Vanaf k = {k} bereikt elke extra hub minder dan 1 % meer van de vraag.",
        "fr": "À partir de k = {k}, chaque hub ajouté atteint moins de 1 % de demande en plus."},
    "report_k": {"en": "New hubs (k)", "nl": "Nieuwe hubs (k)", "fr": "Nouveaux hubs (k)"},
    "report_covered": {"en": "Within reach (persons)", "nl": "Binnen bereik (personen)",
                       "fr": "À portée (personnes)"},
    "report_covered_pct": {"en": "Within reach (%)", "nl": "Binnen bereik (%)",
                           "fr": "À portée (%)"},
    "report_gain": {"en": "Gain of the added hub (persons)",
                    "nl": "Winst van de extra hub (personen)",
                    "fr": "Gain du hub ajouté (personnes)"},
    "report_chosen": {"en": "Sites added (+) or dropped (−) against k − 1",
                      "nl": "Locaties toegevoegd (+) of weggelaten (−) tegenover k − 1",
                      "fr": "Sites ajoutés (+) ou retirés (−) par rapport à k − 1"},
    "report_chosen_title": {"en": "The {k} new hubs", "nl": "De {k} nieuwe hubs",
                            "fr": "Les {k} nouveaux hubs"},
    "report_first_k": {"en": "Chosen from k =", "nl": "Gekozen vanaf k =",
                       "fr": "Choisi dès k ="},
    "report_site_rank": {"en": "Rank of the site", "nl": "Rang van de locatie",
                         "fr": "Rang du site"},
    "report_sensitivity": {"en": "Sensitivity of the ranking",
                           "nl": "Gevoeligheid van de rangschikking",
                           "fr": "Sensibilité du classement"},
    "report_mc": {
        "en": "The weights were varied at random {runs} times, each by up to ±{spread} % "
              "(Monte Carlo). For each top place: the share of the runs in which it stays "
              "among the top {k}, and the range of its rank (5–95 % of the runs).",
        "nl": "De gewichten werden {runs} keer willekeurig gevarieerd, elk met hoogstens "
              "±{spread} % (Monte Carlo). Per plek: het aandeel van de runs waarin ze bij de "
              "beste {k} blijft, en het bereik van haar rang (5–95 % van de runs).",
        "fr": "Les poids ont été variés au hasard {runs} fois, chacun d'au plus ±{spread} % "
              "(Monte Carlo). Pour chaque lieu : la part des tirages où il reste parmi les "
              "{k} meilleurs, et l'intervalle de son rang (5–95 % des tirages)."},
    "report_mc_stable": {
        "en": "{a} of the {n} top places stay among the top {k} in at least 90 % of the runs.",
        "nl": "{a} van de {n} beste plekken blijven in minstens 90 % van de runs bij de "
              "beste {k}.",
        "fr": "{a} des {n} meilleurs lieux restent parmi les {k} meilleurs dans au moins "
              "90 % des tirages."},
    "report_oat": {
        "en": "One weight at a time from {lo} to {hi}, the other weights rescaled to keep "
              "their sum: the weights at which another site comes first.",
        "nl": "Eén gewicht tegelijk van {lo} tot {hi}, de andere herschaald tot dezelfde som: "
              "de gewichten waarbij een andere locatie eerst komt.",
        "fr": "Un poids à la fois de {lo} à {hi}, les autres remis à l'échelle pour garder "
              "leur somme : les poids pour lesquels un autre site passe en tête."},
    "report_oat_changes": {"en": "Top site changes", "nl": "Beste locatie verandert",
                           "fr": "Le meilleur site change"},
    "report_oat_never": {"en": "never", "nl": "nooit", "fr": "jamais"},
    "report_oat_at": {"en": "at weight {w}: {name}", "nl": "bij gewicht {w}: {name}",
                      "fr": "au poids {w} : {name}"},
    "report_oat_overlap": {"en": "Top-{k} overlap, lowest (%)",
                           "nl": "Overlap top {k}, laagste (%)",
                           "fr": "Recouvrement du top {k}, minimum (%)"},
    "report_oat_shift": {"en": "Mean rank change, largest", "nl": "Gem. rangverschuiving, "
                         "grootste", "fr": "Variation moyenne du rang, maximum"},
    "report_oat_none": {"en": "The top site stays first whatever a single weight.",
                        "nl": "De beste locatie blijft eerst, welk gewicht ook verandert.",
                        "fr": "Le meilleur site reste premier quel que soit le poids changé."},
    "report_caption_overview": {
        "en": "Suitability score of the {n} candidate sites; the {k} best places numbered",
        "nl": "Geschiktheidsscore van de {n} kandidaat-locaties; de {k} beste plekken "
              "genummerd",
        "fr": "Score d'aptitude des {n} sites candidats ; les {k} meilleurs lieux numérotés"},
    "report_caption_indicator": {"en": "{label} at each candidate site",
                                 "nl": "{label} per kandidaat-locatie",
                                 "fr": "{label} pour chaque site candidat"},
    "report_caption_cover": {
        "en": "Cover and method: the question, the study area, the criteria and their "
              "weights, the sources",
        "nl": "Voorblad en methode: de vraag, het studiegebied, de criteria en hun gewichten, "
              "de bronnen",
        "fr": "Couverture et méthode : la question, la zone d'étude, les critères et leurs "
              "poids, les sources"},
    "report_caption_new_hubs": {
        "en": "The existing hubs, the new hubs chosen and the demand within their reach",
        "nl": "De bestaande hubs, de gekozen nieuwe hubs en de vraag binnen hun bereik",
        "fr": "Les hubs existants, les nouveaux hubs choisis et la demande à leur portée"},
    "report_caption_place": {
        "en": "Place {rank}, {name}: its streets, why it scores and its indicators",
        "nl": "Plek {rank}, {name}: de straten, waarom ze scoort en haar indicatoren",
        "fr": "Lieu {rank}, {name} : ses rues, pourquoi il obtient ce score et ses indicateurs"},
    "report_caption_isochrones": {
        "en": "Areas within reach of the best places, by travel time",
        "nl": "Gebieden binnen bereik van de beste plekken, naar reistijd",
        "fr": "Zones à portée des meilleurs lieux, selon le temps de trajet"},
    "report_caption_tiers": {
        "en": "The new hubs of each tier (neighbourhood and city-wide), each placed for the "
              "demand within its own reach, with the demand reached before and after.",
        "nl": "De nieuwe hubs van elk niveau (buurt en stad), elk geplaatst voor de vraag "
              "binnen zijn eigen bereik, met de bereikte vraag ervoor en erna.",
        "fr": "Les nouveaux hubs de chaque niveau (quartier et métropole), chacun placé pour "
              "la demande à sa propre portée, avec la demande atteinte avant et après."},
    "report_caption_transit_isochrones": {
        "en": "Areas within reach of the best places by public transport and on foot",
        "nl": "Gebieden binnen bereik van de beste plekken met het openbaar vervoer en te voet",
        "fr": "Zones à portée des meilleurs lieux en transports en commun et à pied"},
})

# the XLSX workbook (productivecity.outputs.export.write_workbook)
_TERMS.update({
    "tables_title": {"en": "Ranked places and sites", "nl": "Gerangschikte plekken en locaties",
                     "fr": "Lieux et sites classés"},
    "tables_sheets": {
        "en": "Sheets: places (ranked places), sites (ranked sites), indicators (definitions "
              "and units), criteria (criteria and weights).",
        "nl": "Bladen: places (gerangschikte plekken), sites (gerangschikte locaties), "
              "indicators (definities en eenheden), criteria (criteria en gewichten).",
        "fr": "Feuilles : places (lieux classés), sites (sites classés), indicators "
              "(définitions et unités), criteria (critères et poids)."},
    "tables_rounded": {
        "en": "Values are rounded to their meaningful precision (persons whole, minutes and "
              "percentages to 0.1, hectares to 0.01, scores to 0.0001). Full precision is in "
              "results.gpkg and ranked_sites.parquet.",
        "nl": "Waarden zijn afgerond op hun zinvolle precisie (personen op 1, minuten en "
              "percentages op 0,1, hectare op 0,01, scores op 0,0001). De volle precisie staat "
              "in results.gpkg en ranked_sites.parquet.",
        "fr": "Les valeurs sont arrondies à leur précision utile (personnes à l'unité, minutes "
              "et pourcentages à 0,1, hectares à 0,01, scores à 0,0001). La précision complète "
              "est dans results.gpkg et ranked_sites.parquet."},
})

# --------------------------------------------------------------------------- numbers for people

#: Decimals per unit (a unit suffix such as ``"_min"``, a word, or a column name ending in one).
_NUMBER_DECIMALS = {"_n": 0, "n": 0, "persons": 0, "_m": 0, "m": 0, "_min": 1, "min": 1,
                    "_pct": 1, "pct": 1, "%": 1, "_ha": 2, "ha": 2, "_km": 2, "km": 2,
                    "score": 3, "weight": 3, "share": 2}

#: (thousands separator, decimal mark) per language: en 55,939.5; nl 55.939,5; fr 55 939,5
#: (a narrow no-break space, U+202F, as the French typographic rule has it).
_NUMBER_MARKS = {"en": (",", "."), "nl": (".", ","), "fr": ("\u202f", ",")}


def format_number(value, lang: str = "en", unit: str | None = None) -> str:
    """Return ``value`` written for people in ``lang``: separators, decimals by unit, no exponent.

    Parameters
    ----------
    value : number or None
        None and NaN give ``"–"``.
    lang : {"nl", "fr", "en"}
        English: ``55,939`` and ``0.68``; Dutch: ``55.939`` and ``0,68``; French:
        ``55 939`` (narrow no-break space) and ``0,68``.
    unit : str, optional
        Sets the decimals: persons and counts (``"n"``, ``"_n"``, ``"persons"``)
        and metres 0; minutes and percentages (``"min"``, ``"pct"``, ``"%"``) 1;
        hectares and kilometres 2; ``"score"`` and ``"weight"`` 3. A column name
        ending in a unit suffix (``"rail_station_walk_time_min"``) counts as that
        unit. Without a known unit: whole numbers as such, else 0 decimals from
        1000, 1 from 10, 2 from 1 and 3 below. A non-zero value that would be
        written as zero is written ``"< 0.001"`` (the smallest step shown), never
        in exponent notation.

    Examples
    --------
    >>> format_number(55939.4, "en", "_n"), format_number(55939.4, "nl", "_n")
    ('55,939', '55.939')
    >>> format_number(0.678, "fr", "share"), format_number(1.58e-07, "en")
    ('0,68', '< 0.001')
    """
    code = check_lang(lang)
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:  # NaN
        return "–"
    if v in (float("inf"), float("-inf")):
        return "∞" if v > 0 else "-∞"
    key = unit
    if key is not None and key not in _NUMBER_DECIMALS:
        key = split_unit(key)[1]
    if key in _NUMBER_DECIMALS:
        digits = _NUMBER_DECIMALS[key]
    elif v.is_integer():
        digits = 0
    else:
        a = abs(v)
        digits = 0 if a >= 1000 else 1 if a >= 10 else 2 if a >= 1 else 3
    thousands, decimal = _NUMBER_MARKS[code]
    if v != 0 and round(v, digits) == 0:
        step = f"{10.0 ** -digits:.{digits}f}".replace(".", decimal)
        return ("< " if v > 0 else "> -") + step
    text_ = f"{v:,.{digits}f}"
    if text_.startswith("-") and float(text_.replace(",", "")) == 0:
        text_ = text_[1:]  # no "-0.0"
    return text_.replace(",", "\0").replace(".", decimal).replace("\0", thousands)

__all__ = ["LANGUAGES", "check_lang", "column_label", "format_number", "split_unit", "text"]
