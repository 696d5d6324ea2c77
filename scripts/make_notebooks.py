"""Write the notebooks in notebooks/ from the cell texts below (reproducible, no outputs).

    python scripts/make_notebooks.py            # (re)write notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if a notebook differs from this script

Edit the notebooks HERE, not in Jupyter, then rerun this script: the committed notebooks are
always exactly what this script writes (no outputs, no execution counts, fixed cell ids), so a
diff of a notebook is a diff of its text. The test suite (tests/test_notebooks.py) executes them.

Every notebook finds its data the same way (first that applies):

1. the ``DATA_DIR`` parameter cell, if you edit it;
2. the environment variable ``PRODUCTIVECITY_NOTEBOOK_DATA`` (a data directory or ``sample``);
3. for the quickstart only: ``PRODUCTIVECITY_TESTBED``, then ``../../shared/data/brussels-vilvoorde``
   (relative to notebooks/); the accessibility and siting notebooks default to ``sample``.

When the folder does not exist the notebook says so and uses the synthetic sample shipped with the
package, so it runs for everyone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _md(text: str):
    return ("md", text.strip("\n"))


def _code(text: str, *tags: str):
    return ("code", text.strip("\n"), tags)


# --------------------------------------------------------------------------- shared cells

_DATA_RESOLVE = '''
from productivecity.sources.catalog import sample_data_dir

if str(DATA_DIR) != "sample" and Path(DATA_DIR).is_dir():
    data_dir = Path(DATA_DIR).resolve()
    print(f"Using the data in {data_dir} (study area: {AREA})")
else:
    if str(DATA_DIR) != "sample":
        print(f"No data directory at {Path(DATA_DIR).resolve()}.")
    print("Using the SYNTHETIC sample 'Sample Canal Town' shipped with the package: invented "
          "data placed over the Brussels canal. Use it to learn the steps, never to plan.")
    AREA, data_dir = "sample", sample_data_dir()
'''

_DATA_MD = '''
### Where the data come from

The next cell picks the data folder. If the folder in `DATA_DIR` does not exist, the notebook
tells you and continues with **Sample Canal Town**, a small *synthetic* town shipped with the
package (invented streets, zones and job seekers), so you can follow every step without the
real data.
'''

_IMPORTS = '''
%matplotlib inline
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

pd.set_option("display.max_columns", 30)
pd.set_option("display.width", 140)
pd.set_option("display.max_colwidth", 120)
'''
_IMPORTS_NO_NUMPY = _IMPORTS.replace("import numpy as np\n", "")

_DRAW_HELPER = '''
def draw(gdf, ax, **style):
    """Draw a layer if it has features (an empty layer is simply left out)."""
    if gdf is not None and len(gdf):
        gdf.plot(ax=ax, **style)


def context(ax, layers):
    """Study area, canal and industrial land as a light background."""
    draw(layers["study_area"].boundary, ax, color="black", linewidth=0.8)
    draw(layers["industrial_zones"], ax, color="#e8dccb", edgecolor="none")
    draw(layers["canal"], ax, color="#4a90c2", linewidth=2)
    ax.set_axis_off()
    ax.set_aspect("equal")
'''


# --------------------------------------------------------------------------- 01 quickstart

QUICKSTART = [
    _md('''
# Quickstart: layers and indicators for Brussels–Vilvoorde

This notebook is for urban designers and planners who want to see what `productivecity` knows about
the canal zone between Anderlecht and Vilvoorde before choosing sites for **maker-learning hubs**
(*maakleerplekken*): places where people, especially job seekers with little formal education, learn
a craft or trade next to working makers.

In four steps you will

1. **load the layers** of the study area: industrial and brownfield land, the canal, existing hubs,
   transit stops, municipalities and neighbourhoods, points of interest;
2. **draw them** on one map;
3. **cut the canal zone into candidate sites** (a grid of hexagons of about 5 ha);
4. **compute the indicators** for every site: vacant land, job seekers within walking and cycling
   distance, transit, distance to existing hubs, and see them on a map.

Everything is in metres, in the study area's own projection: a preset's (Belgian Lambert 72,
EPSG:31370, for Brussels), else the CRS you name or the UTM zone of the area. Column names carry their
unit: `_ha` hectares, `_min` minutes, `_n` a count, `_pct` a percentage.

On the real Brussels–Vilvoorde test bed the notebook takes about two minutes; on the synthetic sample
a few seconds.
'''),
    _code(_IMPORTS_NO_NUMPY),
    _md('''
## Parameters

Change these to use your own data. `DATA_DIR` is a folder laid out like the test bed
(`osm/`, `boundaries/`, `stats/`, `labour/`, `transit/`, see the README) or the word `"sample"`.
'''),
    _code('''
# Data folder: edit, or set PRODUCTIVECITY_NOTEBOOK_DATA (or PRODUCTIVECITY_TESTBED) before starting
DATA_DIR = (os.environ.get("PRODUCTIVECITY_NOTEBOOK_DATA")
            or os.environ.get("PRODUCTIVECITY_TESTBED")
            or "../../shared/data/brussels-vilvoorde")
AREA = "brussels-vilvoorde"   # study-area preset of that folder
CELL_M = 250                  # candidate sites: hexagons 250 m across (about 5.4 ha)
''', "parameters"),
    _md(_DATA_MD),
    _code(_DATA_RESOLVE),
    _md('''
## 1. Layers

`load_layers` reads every layer of the study area from the data folder. It never drops data
silently: the summary says, per layer, how many features were read, how many tile fragments were
merged back into one object, how many geometries were repaired and how many features lay outside
the study area.
'''),
    _code('''
from productivecity.layers import load_layers

layers = load_layers(AREA, data_dir=data_dir, progress=False)
summary = layers.summary()
summary[["features_n", "area_ha", "length_km", "merged_fragments_n", "repaired_n",
         "outside_area_n"]]
'''),
    _md('''
Each layer is a GeoDataFrame. The industrial zones, for example, have an id, a kind
(`industrial` or `brownfield`) and an area in hectares:
'''),
    _code('''
zones = layers["industrial_zones"]
print(f"{len(zones)} zones, {zones['area_ha'].sum():,.0f} ha in total")
zones.groupby("kind")["area_ha"].agg(["count", "sum"]).round(1)
'''),
    _md('''
## 2. A first map

The canal, the land within 500 m of it (the *canal zone*), industrial and brownfield land,
existing hubs and rail stations.
'''),
    _code(_DRAW_HELPER),
    _code('''
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

fig, ax = plt.subplots(figsize=(9, 9))
draw(layers["units_municipalities"].boundary, ax, color="#999999", linewidth=0.5)
draw(layers["canal_zone"], ax, color="#d6eaf8", edgecolor="none")
draw(zones[zones["kind"] == "industrial"], ax, color="#b07aa1", edgecolor="none")
draw(zones[zones["kind"] == "brownfield"], ax, color="#f28e2b", edgecolor="none")
draw(layers["canal"], ax, color="#1f5f8b", linewidth=2)
draw(layers["study_area"].boundary, ax, color="black", linewidth=1)
stops = layers["transit_stops"]
draw(stops[stops["mode"] == "rail"], ax, color="black", marker="s", markersize=30)
draw(layers["hubs"], ax, color="#e15759", marker="*", markersize=160, edgecolor="white")
ax.legend(handles=[
    Patch(color="#d6eaf8", label="canal zone (500 m)"),
    Patch(color="#b07aa1", label="industrial land"),
    Patch(color="#f28e2b", label="brownfield"),
    Line2D([], [], color="#1f5f8b", linewidth=2, label="canal"),
    Line2D([], [], color="black", marker="s", linestyle="", label="rail station"),
    Line2D([], [], color="#e15759", marker="*", markersize=12, linestyle="",
           label="existing hub"),
], loc="upper left", bbox_to_anchor=(1.01, 1))
ax.set_title(f"{layers['study_area']['name'].iloc[0]}: layers")
ax.set_axis_off()
plt.show()
'''),
    _md('''
## 3. Candidate sites

Hubs need a place. Here every hexagon of a regular grid inside the canal zone is a candidate site.
The grid is anchored at the origin of the projection, so a hexagon keeps its id (e.g.
`hex250-q587-r330`) whatever area or run you use: you can refer to a site by its id in a workshop.
Other options are the industrial zones themselves (`zone_sites`) or your own file (`read_sites`).
'''),
    _code('''
from productivecity.sites import grid_sites

sites, site_report = grid_sites(layers["study_area"], cell_m=CELL_M, within=layers["canal_zone"])
print(f"{len(sites)} candidate sites of {CELL_M} m; notes: {site_report.notes}")
sites.head()
'''),
    _md('''
## 4. Indicators

`load_indicator_inputs` reads what the indicators need from the data folder: it builds the walking
and cycling networks from the OpenStreetMap file and spreads the job seekers of each municipality
over its residential buildings. `site_indicators` then computes for every site the indicators
below. The definitions are part of the package:
'''),
    _code('''
from productivecity.indicators.table import INDICATORS, site_indicators

pd.Series(INDICATORS, name="definition").to_frame()
'''),
    _code('''
from productivecity.workflow.inputs import load_indicator_inputs

inputs = load_indicator_inputs(layers, data_dir)
table, report = site_indicators(sites, layers, inputs, progress=False)
print(f"{len(table)} sites; time per step (s):",
      {step: round(s) for step, s in report.timings_s.items()})
for note in report.notes:
    print(" -", note)
'''),
    _md('''
Where an indicator could not be computed for a site the value is missing (NaN), never a made-up
zero. The report says how many sites lack each indicator and why (for example: a site that no street
reaches, or job seekers unknown outside the Brussels Region):
'''),
    _code('''
report.missing[report.missing["missing_n"] > 0]
'''),
    _code('''
cols = [c for c in INDICATORS if c in table.columns]
table[cols].describe().T[["count", "min", "50%", "max"]].round(1)
'''),
    _md('''
### An indicator on the map

`plot_indicator` draws a print-ready map (title, legend, scale bar, north arrow, sources); here on
A4. Grey hatching means no value.
'''),
    _code('''
from IPython.display import display

from productivecity.outputs.maps import plot_indicator

fig, ax = plot_indicator(table, "jobseekers_low_edu_walk_20min_n", layers, paper="A4", top_k=0)
display(fig)  # print-ready map figures are not pyplot figures: show them with display()
'''),
    _md('''
### Two indicators together

Sites with many low-educated job seekers within a 20-minute walk *and* a tram or metro stop close
by lie in the lower right of this chart.
'''),
    _code('''
fig, ax = plt.subplots(figsize=(7, 5))
ax.scatter(table["jobseekers_low_edu_walk_20min_n"], table["tram_metro_stop_walk_time_min"],
           s=12, alpha=0.6)
ax.set_xlabel("low-educated job seekers within 20 min walk (persons)")
ax.set_ylabel("walk to the nearest tram/metro stop (min)")
ax.grid(alpha=0.3)
plt.show()
'''),
    _md('''
## Keeping the results

To open the layers and the sites in QGIS, write them to GeoPackages (they refuse to replace an
existing file unless you pass `overwrite=True`):

```python
layers.to_gpkg("my_layers.gpkg")
table.reset_index().to_file("my_sites.gpkg", layer="sites")
```

Next: `02_accessibility.ipynb` (walking and cycling, isochrones) and
`03_siting_scenarios.ipynb` (criteria weights, ranking, sensitivity, how many hubs).
'''),
]


# --------------------------------------------------------------------------- 02 accessibility

ACCESSIBILITY = [
    _md('''
# Accessibility: walking and cycling to a hub

A maker-learning hub works when people can reach it: job seekers from the neighbourhoods around,
trainers and trainees by train from further away. This notebook shows how `productivecity` measures
that on the **street network** rather than as the crow flies:

1. build the **walking** (4.8 km/h) and **cycling** (15 km/h, one-way rules for bikes) networks
   from OpenStreetMap;
2. tie candidate sites to the streets (*snapping*), and see which could not be tied;
3. draw **isochrones**: the streets reachable in 10 and 20 minutes from a few sites, on foot and by bike;
4. compare walking and cycling: **job seekers within 20 minutes**, time to the nearest **rail station**
   and **tram/metro stop**, stops within a 10-minute walk;
5. measure how well the **existing hubs** serve each neighbourhood (two-step floating catchment).

It runs on the synthetic sample by default (a few seconds); set `DATA_DIR` to the test bed to run it
on Brussels.
'''),
    _code(_IMPORTS),
    _md('''
## Parameters
'''),
    _code('''
# "sample" (default) or a data folder such as "../../shared/data/brussels-vilvoorde"
DATA_DIR = os.environ.get("PRODUCTIVECITY_NOTEBOOK_DATA", "sample")
AREA = "brussels-vilvoorde"   # study-area preset of that folder
N_SITES = 3                   # sites whose isochrones are drawn (the largest parcels)
TIMES_MIN = [10, 20]          # isochrone times (min)
LIMIT_MIN = 20                # "within 20 minutes" for the job-seeker comparison
''', "parameters"),
    _md(_DATA_MD),
    _code(_DATA_RESOLVE),
    _code('''
from productivecity.layers import load_layers
from productivecity.sources.catalog import DataDir

layers = load_layers(AREA, data_dir=data_dir, progress=False)
osm_file = DataDir(data_dir).find("osm_pbf") or DataDir(data_dir).find("osm_xml")
print("street data:", osm_file.name)
'''),
    _md('''
## 1. Walking and cycling networks

Both come from the same OpenStreetMap file: footways and pedestrian streets are walkable, motorways
are not; cycle tracks are rideable and one-way streets are one-way for bikes unless OSM says that
bikes may ride against the flow. Streets cut off from the main network are left out and counted.
'''),
    _code('''
from productivecity.network.streets import bike_network, walk_network

# in the study area's CRS, as the layers (the preset's own, else a local metric CRS)
walk = walk_network(osm_file, crs=layers["study_area"].crs)
bike = bike_network(osm_file, crs=layers["study_area"].crs)
pd.DataFrame({
    net.mode: {"speed_kmh": net.speed_kmh, "nodes_n": net.n_nodes, "edges_n": net.n_edges,
               "street_km": net.edge_length_m.sum() / 1000,
               "left_out_pieces_n": net.report.removed_components_n}
    for net in (walk, bike)
}).round(1)
'''),
    _md('''
## 2. Candidate sites on the street network

Here the candidate sites are the industrial and brownfield zones, large ones split into parcels of
about 5 ha. A site is a polygon, so it gets an *access point* every 50 m along its edge, each tied to
the nearest street it can reach without crossing the canal; the short walk to the street counts in
every travel time. Sites with no street within 250 m are listed, not dropped silently.
'''),
    _code('''
from productivecity.accessibility.snapping import snap
from productivecity.sites import zone_sites

sites, _ = zone_sites(layers["industrial_zones"], target_ha=5)
canal_water = layers["canal"][layers["canal"].geom_type.isin(["Polygon", "MultiPolygon"])]
barriers = canal_water if len(canal_water) else None
on_foot = snap(walk, sites, barriers=barriers)
by_bike = snap(bike, sites, barriers=barriers)
print(f"{len(sites)} sites; not on the walking network: {len(on_foot.unsnapped)}, "
      f"not on the cycling network: {len(by_bike.unsnapped)}")
on_foot.unsnapped
'''),
    _md('''
## 3. Isochrones of a few sites

An isochrone is the area within 25 m of the streets you can reach in a given time. For each of the
largest sites (black): red on foot, blue by bike; dark within the shorter time, light within the longer.
'''),
    _code(_DRAW_HELPER),
    _code('''
from matplotlib.patches import Patch

from productivecity.accessibility.isochrone_polygons import isochrones

focus = sites.sort_values("area_ha", ascending=False).head(N_SITES)
iso = {"walk": isochrones(walk, focus, times_min=TIMES_MIN),
       "bike": isochrones(bike, focus, times_min=TIMES_MIN)}
colour = {"walk": "#e15759", "bike": "#4e79a7"}

fig, axes = plt.subplots(1, len(focus), figsize=(5 * len(focus), 5), squeeze=False)
for ax, site_id in zip(axes[0], focus.index, strict=True):
    context(ax, layers)
    for mode in ("bike", "walk"):  # walking on top: it reaches less far
        for t in sorted(TIMES_MIN, reverse=True):
            draw(iso[mode].loc[[(site_id, float(t))]], ax, color=colour[mode],
                 alpha=0.15 if t == max(TIMES_MIN) else 0.35, edgecolor="none")
    draw(focus.loc[[site_id]], ax, color="black")
    ax.set_title(site_id)
axes[0][0].legend(handles=[Patch(color=colour[m], alpha=a, label=f"{m}, {t} min")
                           for m in ("walk", "bike")
                           for t, a in zip(sorted(TIMES_MIN), (0.5, 0.2), strict=False)],
                  loc="lower right", fontsize=8)
plt.show()
'''),
    _md('''
The area each isochrone covers, in hectares:
'''),
    _code('''
areas = pd.concat({mode: polys.area / 10_000 for mode, polys in iso.items()}, axis=1)
areas.columns = [f"{mode}_area_ha" for mode in areas.columns]
areas.round(0)
'''),
    _md('''
## 4. Walking versus cycling

### Job seekers within reach

Job seekers are known per municipality. `demand_units` spreads them over the residential buildings
and sums them on a grid of 250 m cells; `cumulative_opportunities` then adds up the job seekers in
the cells a site reaches within the time limit. Cells in municipalities without job-seeker data
count as unknown (flagged `no_data`), so counts near such municipalities are lower bounds.
'''),
    _code('''
from productivecity.accessibility.measures import cumulative_opportunities
from productivecity.siting.demand import demand_units
from productivecity.workflow.inputs import load_demand_surface

surface, _ = load_demand_surface(layers, data_dir)  # the dasymetric job seekers and residents
cells = demand_units(layers, surface, units="cells", unit_cell_m=250)
print(f"{len(cells)} demand cells, {cells['jobseekers_n'].sum():,.0f} job seekers, "
      f"{int(cells['no_data'].sum())} cells without job-seeker data")
reach = pd.DataFrame({
    "walk": cumulative_opportunities(walk, on_foot, cells, weights="jobseekers_n",
                                     limit_min=LIMIT_MIN),
    "bike": cumulative_opportunities(bike, by_bike, cells, weights="jobseekers_n",
                                     limit_min=LIMIT_MIN),
})
reach["bike_over_walk"] = reach["bike"] / reach["walk"].where(reach["walk"] > 0)
reach.describe().round(1)
'''),
    _code('''
fig, ax = plt.subplots(figsize=(6, 6))
ax.scatter(reach["walk"], reach["bike"], s=15, alpha=0.7)
top = float(np.nanmax(reach[["walk", "bike"]].to_numpy()))
ax.plot([0, top], [0, top], color="grey", linestyle="--", label="bike = walk")
ax.set_xlabel(f"job seekers within {LIMIT_MIN} min on foot")
ax.set_ylabel(f"job seekers within {LIMIT_MIN} min by bike")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
'''),
    _md('''
### Time to the nearest station and stop

`nearest_time_min` gives the travel time to the closest facility of a kind (NaN if none within the
search limit); `count_within` counts the facilities within a limit.
'''),
    _code('''
from productivecity.accessibility.measures import count_within, nearest_time_min

stops = layers["transit_stops"]
rail = stops[stops["mode"] == "rail"]
tram_metro = stops[stops["mode"].isin(["tram", "metro"])]
times = pd.DataFrame({
    "rail_walk_min": nearest_time_min(walk, on_foot, rail, limit_min=60),
    "rail_bike_min": nearest_time_min(bike, by_bike, rail, limit_min=60),
    "tram_metro_walk_min": nearest_time_min(walk, on_foot, tram_metro, limit_min=60),
    "stops_walk_10min_n": count_within(walk, on_foot, stops, limit_min=10),
})
times.describe().round(1)
'''),
    _code('''
fig, ax = plt.subplots(figsize=(7, 4))
bins = np.arange(0, 61, 5)
ax.hist(times["rail_walk_min"].dropna(), bins=bins, alpha=0.6, label="on foot")
ax.hist(times["rail_bike_min"].dropna(), bins=bins, alpha=0.6, label="by bike")
ax.set_xlabel("time to the nearest rail station (min)")
ax.set_ylabel("sites")
ax.legend()
plt.show()
'''),
    _md('''
## 5. How well do the existing hubs serve each neighbourhood?

The two-step floating catchment (2SFCA) first shares each hub among the job seekers who can walk to
it within `LIMIT_MIN` minutes, then adds up, for each neighbourhood, the shares of the hubs its job
seekers can walk to. The result reads as *hubs per 1,000 job seekers*; low values (and zero) mark
the gaps a new hub could fill. Neighbourhoods without job-seeker data are grey.
'''),
    _code('''
from productivecity.accessibility.measures import two_step_fca

hubs = layers["hubs"]
units = demand_units(layers, surface, units="neighbourhoods")
served = units[~units["no_data"]]
if len(hubs):
    fca = two_step_fca(walk, served, hubs, demand_weights="jobseekers_n",
                       supply_weights=np.ones(len(hubs)), limit_min=LIMIT_MIN)
    hoods = layers["units_neighbourhoods"].copy()
    hoods["hubs_per_1000_jobseekers"] = (1000 * fca).reindex(hoods.index.astype(str)).to_numpy()
    fig, ax = plt.subplots(figsize=(8, 8))
    draw(hoods, ax, column="hubs_per_1000_jobseekers", cmap="magma_r", legend=True,
         edgecolor="white", linewidth=0.3,
         missing_kwds={"color": "#eeeeee", "label": "no job-seeker data"},
         legend_kwds={"label": f"existing hubs per 1,000 job seekers ({LIMIT_MIN} min walk)",
                      "shrink": 0.6})
    context(ax, layers)
    draw(hubs, ax, color="#00a0a0", marker="*", markersize=200, edgecolor="white")
    plt.show()
else:
    print("No existing hubs in this study area: every neighbourhood is a gap.")
'''),
    _md('''
Next: `03_siting_scenarios.ipynb` turns these measures into a ranking of sites.
'''),
]


# --------------------------------------------------------------------------- 03 siting

SITING = [
    _md('''
# Siting scenarios: criteria, weights, sensitivity and how many hubs

Choosing where to put new maker-learning hubs is a discussion about values: how much do we care about
job seekers on foot, about transit, about reusing brownfields, about filling gaps between existing
hubs? This notebook makes each of those an explicit, adjustable number and shows how much the answer
depends on it:

1. compute the indicators of candidate sites in the canal zone (as in the quickstart);
2. read the **criteria and weights** from a file and **score** every site;
3. ask **why** the best sites score well;
4. compare **scenarios** with other weights;
5. test the ranking's **stability**: random changes of the weights (Monte-Carlo) and one weight at a
   time;
6. ask **how many hubs** are needed: the share of job seekers within reach of a hub as new hubs are
   added one by one (k = 0, 1, 2, ...).

It runs on the synthetic sample by default (under a minute).
'''),
    _code(_IMPORTS),
    _md('''
## Parameters
'''),
    _code('''
# "sample" (default) or a data folder such as "../../shared/data/brussels-vilvoorde"
DATA_DIR = os.environ.get("PRODUCTIVECITY_NOTEBOOK_DATA", "sample")
AREA = "brussels-vilvoorde"                     # study-area preset of that folder
CRITERIA = "../productivecity/data/criteria/brussels-canal.toml"
CELL_M = 250                                    # candidate hexagons, 250 m across
TOP_K = 10                                      # shortlist size
MC_RUNS = 500                                   # Monte-Carlo runs
K_MAX = 5                                       # k sweep: 0 .. K_MAX new hubs
MODE, TIME_MIN = "walk", 10                     # "covered" = within 10 min on foot of a hub
''', "parameters"),
    _md(_DATA_MD),
    _code(_DATA_RESOLVE),
    _md('''
## 1. Sites and indicators
'''),
    _code('''
from productivecity.indicators.table import site_indicators
from productivecity.layers import load_layers
from productivecity.sites import grid_sites
from productivecity.workflow.inputs import load_indicator_inputs

layers = load_layers(AREA, data_dir=data_dir, progress=False)
sites, _ = grid_sites(layers["study_area"], cell_m=CELL_M, within=layers["canal_zone"])
inputs = load_indicator_inputs(layers, data_dir)
table, report = site_indicators(sites, layers, inputs, progress=False)
print(f"{len(table)} candidate sites in the canal zone")
'''),
    _md('''
## 2. Criteria and weights

The criteria file (`productivecity/data/criteria/brussels-canal.toml`, commented line by line) says which
indicator each criterion reads, whether more is better (*benefit*) or worse (*cost*), how it is
turned into a 0–1 suitability, and its weight. *Constraints* exclude sites outright, for example
sites mostly on parks or housing. Edit the file, or change weights in Python as in section 4.
'''),
    _code('''
from productivecity.siting.criteria import load_criteria
from productivecity.siting.scoring import score_sites

spec = load_criteria(CRITERIA)
pd.DataFrame({
    "indicator": [c.column for c in spec.criteria],
    "direction": [c.direction for c in spec.criteria],
    "standardisation": [c.standardisation for c in spec.criteria],
    "weight": spec.weights.to_numpy(),
}, index=pd.Index([c.name for c in spec.criteria], name="criterion"))
'''),
    _md('''
`score_sites` excludes sites that fail a constraint (with the reason), turns each criterion into a
0–1 value over the remaining sites and adds them up with the weights. The score of a site is the sum
of its `contrib_<criterion>` columns; rank 1 is the best site. A criterion that has the same value
(to its precision: whole persons, a tenth of a minute, ...) at every remaining site cannot tell
them apart: it gets no weight and the others are renormalised. In Sample Canal Town everyone
reaches the whole town by bike in 30 minutes, so the bike catchment is such a criterion.
'''),
    _code('''
import warnings

from productivecity import NotDiscriminatingWarning

with warnings.catch_warnings():  # reported below, from the result, instead of as a warning
    warnings.simplefilter("ignore", NotDiscriminatingWarning)
    result = score_sites(table, spec)
print("not discriminating (no weight):", result.not_discriminating or "none")
ranked = table.join(result.table)
# three states: eligible (ranked), excluded by a rule, not assessable (an input missing there)
print(ranked["status"].value_counts().to_string())
print(ranked.loc[ranked["excluded"], "excluded_reason"].str.split("; ").explode()
      .str.replace(r"^(\\S+) [\\d.e+-]+ ", r"\\1 ", regex=True).value_counts().to_string())
result.top(TOP_K)[["score", "rank"]]
'''),
    _code('''
from IPython.display import display

from productivecity.outputs.maps import plot_overview

fig, ax = plot_overview(ranked, layers, top_k=TOP_K, paper="A4")
display(fig)  # print-ready map figures are not pyplot figures: show them with display()
'''),
    _md('''
### Places, not cells

Five neighbouring hexagons of one quarter are one place, not five candidates. `group_places`
groups the ranked cells, best first: a place is its best cell and the connected eligible cells
within 500 m of it, so the best cells of two places are at least 500 m apart and a shortlist of
ten places names ten different places. `run` does this and marks the places on every map.
'''),
    _code('''
from productivecity.siting.places import group_places, place_ranks

ranked["place_id"], places = group_places(ranked, radius_m=500)
ranked = ranked.join(place_ranks(ranked["place_id"], places))
print(f"{int(ranked['status'].eq('eligible').sum())} eligible cells in {len(places)} places")
places.head(TOP_K)[["rank", "score", "best_site_id", "cells_n", "area_ha"]]
'''),
    _md('''
## 3. Why this site?

Each bar is one of the top sites; its segments are the criteria's contributions to the score. Long
segments are the site's strengths. `result.explain(site_id)` gives the same as a table, with the raw
indicator value behind each contribution.
'''),
    _code('''
contrib = [c for c in result.table.columns if c.startswith("contrib_")]
top = result.top(TOP_K)
fig, ax = plt.subplots(figsize=(9, 0.45 * len(top) + 1.5))
left = np.zeros(len(top))
colours = plt.get_cmap("tab20").colors
for i, col in enumerate(contrib):
    values = top[col].clip(lower=0).to_numpy()
    ax.barh(top.index.astype(str), values, left=left, color=colours[i % 20],
            label=col.removeprefix("contrib_"))
    left += values
ax.invert_yaxis()
ax.set_xlabel("score (sum of contributions)")
ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
plt.show()
'''),
    _code('''
best = top.index[0]
print(f"best site: {best}")
result.explain(best).round(3)
'''),
    _md('''
## 4. Scenarios: other weights

Three points of view, each a full set of weights that sums to 1: the file's *balanced* weights,
*transit first* (reachable for trainees from the whole region) and *reuse first* (brownfields and
empty shop units). How many of the top sites do they share?
'''),
    _code('''
base = spec.weights
transit = base.copy()
transit[["tram_metro", "rail", "stops"]] *= 3
reuse = base.copy()
reuse[["brownfield", "vacant_shops"]] *= 3
scenarios = {"balanced": base, "transit first": transit / transit.sum(),
             "reuse first": reuse / reuse.sum()}
with warnings.catch_warnings():  # the bike catchment does not discriminate (see above)
    warnings.simplefilter("ignore", NotDiscriminatingWarning)
    results = {name: score_sites(table, spec.with_weights(w.to_dict()))
               for name, w in scenarios.items()}
tops = {name: set(r.top(TOP_K).index) for name, r in results.items()}
overlap = pd.DataFrame({a: {b: len(tops[a] & tops[b]) / len(tops[a] | tops[b]) for b in tops}
                        for a in tops})
print(f"Overlap of the top {TOP_K} (Jaccard: shared sites / sites in either):")
overlap.round(2)
'''),
    _code('''
pd.DataFrame({name: r.table["rank"] for name, r in results.items()}).loc[
    sorted(set().union(*tops.values()))].sort_values("balanced")
'''),
    _md('''
### Move the weights yourself

In a workshop the weights are argued over. `explore_weights` puts a slider per criterion over the
sites: each change re-scores them exactly as `score_sites` does (weights normalised to sum 1, the
same exclusions), regroups them into places and lists the best places with a bar per criterion.
"Save weights" writes `criteria_explored.toml`, a criteria file that `productivecity rank` reads.
(The sliders need a live kernel: in a static view of this notebook only the starting table shows.)
'''),
    _code('''
import productivecity as pc
from productivecity.indicators.names import site_names

named = table.join(site_names(table, layers))  # places are listed by name
pc.explore_weights(named, spec, top_k=TOP_K)
'''),
    _md('''
## 5. How stable is the ranking?

### Monte-Carlo

Nobody can defend a weight to two decimals. Here the weights are drawn at random around the chosen
ones many times (seeded, so the result repeats) and the sites re-ranked each time. A site that stays
in the top 10 in nearly every run is a safe choice; a long bar means its rank depends on the weights.
'''),
    _code('''
from productivecity.siting.sensitivity import monte_carlo_weights, one_at_a_time

mc = monte_carlo_weights(result, runs=MC_RUNS, top_k=TOP_K)
stab = mc.table.loc[top.index]
fig, ax = plt.subplots(figsize=(8, 0.4 * len(stab) + 1.5))
y = np.arange(len(stab))
ax.hlines(y, stab["rank_p05"], stab["rank_p95"], color="#4e79a7", linewidth=4,
          label="5th-95th percentile rank")
ax.plot(stab["rank"], y, "o", color="black", label="rank with the chosen weights")
ax.set_yticks(y, stab.index.astype(str))
ax.invert_yaxis()
ax.set_xlabel("rank (1 = best)")
ax.legend(loc="lower right")
plt.show()
stab[["rank", "topk_share", "rank_p05", "rank_p50", "rank_p95"]]
'''),
    _md('''
### One weight at a time

Each criterion's weight is swept from 0 to 1 (the others shrink in proportion). The curve shows the
share of today's top 10 still in the top 10; the dot marks the chosen weight. A curve that falls
steeply near its dot means that criterion's weight deserves the most discussion.
'''),
    _code('''
oat = one_at_a_time(result, steps=21, top_k=TOP_K)  # weights 0, 0.05, ..., 1
summary = oat.summary.reset_index()
fig, ax = plt.subplots(figsize=(9, 5))
for i, (name, part) in enumerate(summary.groupby("criterion", sort=False)):
    colour = plt.get_cmap("tab20").colors[i % 20]
    ax.plot(part["weight"], part["topk_overlap_share"], color=colour, label=name)
    w0 = float(spec.weights[name])
    at = part.loc[(part["weight"] - w0).abs().idxmin()]
    ax.plot([at["weight"]], [at["topk_overlap_share"]], "o", color=colour)
ax.set_xlabel("weight of the criterion")
ax.set_ylabel(f"share of the top {TOP_K} kept")
ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8)
ax.grid(alpha=0.3)
plt.show()
'''),
    _md('''
## 6. How many new hubs?

A good score does not say how many hubs are needed, nor which combination serves the most people:
two excellent sites next to each other serve the same job seekers. The *maximal covering* model
picks, for k = 0, 1, 2, ... new hubs among the eligible sites, the set that brings the most
low-educated job seekers within the time limit of a hub, with the existing hubs kept open. The curve
flattens where one more hub adds little.
'''),
    _code('''
from productivecity.siting.allocation import coverage_curve
from productivecity.siting.demand import demand_units
from productivecity.siting.travel_times import network_travel_times

network = inputs.walk if MODE == "walk" else inputs.bike  # built once, for the indicators
demand = demand_units(layers, inputs.demand, units="cells", unit_cell_m=250)
candidates = ranked.loc[~ranked["excluded"]]
tt = network_travel_times(network, candidates, demand, demand_column="jobseekers_low_edu_n",
                          limit_min=TIME_MIN, existing=layers["hubs"])
curve = coverage_curve(tt, min(K_MAX, len(candidates)))
curve.table[["covered_demand_n", "covered_share_pct", "marginal_gain_n", "selected"]].round(1)
'''),
    _code('''
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(curve.table.index, curve.table["covered_share_pct"], "o-")
ax.set_xlabel("new hubs (k)")
ax.set_ylabel(f"low-educated job seekers within {TIME_MIN} min {MODE} (%)")
ax.set_xticks(curve.table.index)
ax.set_ylim(0, 100)
ax.grid(alpha=0.3)
plt.show()
'''),
    _md('''
The chosen sites for each k are in the `selected` column; they need not be the top-ranked ones, and
the best pair need not contain the best single site. The command line does the same in one go:

```bash
productivecity indicators --out sites.gpkg
productivecity rank sites.gpkg --criteria productivecity/data/criteria/brussels-canal.toml --out ranked.gpkg
productivecity allocate ranked.gpkg --k 5 --mode walk --time-min 10 --out chosen.gpkg
```
'''),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_accessibility.ipynb": ACCESSIBILITY,
    "03_siting_scenarios.ipynb": SITING,
}


def build(cells: list, stem: str) -> nbformat.NotebookNode:
    """Return a notebook (no outputs, fixed cell ids) from ``(kind, text[, tags])`` tuples."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(cells):
        kind, text = cell[0], cell[1]
        cid = f"{stem[:2]}-{i:02d}"
        if kind == "md":
            c = new_markdown_cell(text, id=cid)
        else:
            c = new_code_cell(text, id=cid)
            if cell[2]:
                c.metadata["tags"] = list(cell[2])
        nb.cells.append(c)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    """Return the text of notebook ``name`` as written to disk."""
    return nbformat.writes(build(NOTEBOOKS[name], name), version=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) every notebook; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if a notebook differs from this script")
    p.add_argument("--out", type=Path, default=NOTEBOOK_DIR, help="output folder")
    args = p.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = args.out / name
        text = render(name)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".ipynb.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path}")
    if stale:
        print(f"out of date (run python scripts/make_notebooks.py): {', '.join(stale)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
