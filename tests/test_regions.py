"""Region plug-ins: the registry, and no Belgian name in the generic modules."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import productivecity
from productivecity.sources import regions

PACKAGE = Path(productivecity.__file__).resolve().parent

#: Belgian names of the region inventory (issue 9, point 1). Lowercase ``nis5`` alone is not
#: one: it is the name of the municipality-code column of the layer schema (index of the
#: municipality layer, column of neighbourhoods and hubs), written to every output; renaming
#: it would change the outputs and is left to its own change.
BELGIAN = re.compile(
    r"brussel|bruxelles|belg|vilvoorde|machelen|refnis|(?<![a-z])nis5?(?![a-z0-9])|actiris"
    r"|statbel|stib|irail|sncb|nmbs|bestcost|best-cost|urbis|ggw7|gemeente|provincies"
    r"|31370|lambert"
    # Dutch names (regions/netherlands.py): the RD New grid, CBS codes and the Dutch presets
    r"|28992|rd new|amersfoort|(?<![a-z])cbs(?![a-z])|(?<![a-z])gm\d{4}|rotterdam"
    r"|almere",
    re.IGNORECASE,
)

#: Names allowed everywhere: none. The CRS travels with the study area (issue 10): a preset
#: names its own, other areas get a local one (productivecity/crs.py).
EVERYWHERE: set[str] = set()

#: Generic module (path under productivecity/) -> Belgian names it may still hold, and why.
ALLOWED: dict[str, tuple[set[str], str]] = {
    "outputs/maps.py": ({"brussel"}, "'brussels-canal' criteria file in doctests"),
    "area.py": ({"31370"}, "the CRS the synthetic sample was drawn in (its preset's own), "
                "shown in a doctest"),
    "sites.py": ({"31370"}, "doctests on the synthetic sample, drawn in its preset's CRS"),
    "layers.py": ({"31370"}, "doctest on the synthetic sample, drawn in its preset's CRS"),
    "workflow/config.py": ({"brussel", "vilvoorde"}, "preset name as an example in help texts"),
    "workflow/examples.py": ({"brussel", "vilvoorde"},
                             "names of the shipped scenario and criteria files in doctests"),
    "cli.py": ({"brussel", "vilvoorde"}, "preset name as an example in a help text"),
    "siting/__init__.py": ({"brussel"}, "the shipped 'brussels-canal' criteria file, "
                           "named as the documented example"),
    "siting/criteria.py": ({"brussel"}, "the shipped 'brussels-canal' criteria file in docs"),
    "siting/ranking.py": ({"brussel"}, "the shipped 'brussels-canal' criteria file in a doctest"),
    "siting/scoring.py": ({"brussel"}, "the shipped 'brussels-canal' criteria file in a doctest"),
    "outputs/webmap.py": ({"brussel"}, "the shipped 'brussels-canal' criteria file in a doctest"),
    "accessibility/__init__.py": ({"brussel"}, "example file name in a skipped doctest"),
    "network/streets.py": ({"brussel"}, "example file name in a skipped doctest"),
    "_i18n.py": ({"brussel", "gemeente"}, "why labels are translated (docstring); 'Gemeenten' "
                 "is the Dutch word for municipalities, a language, not a region"),
    "indicators/access.py": ({"irail"}, "docstring names where station frequencies come from"),
    "indicators/vacancy.py": ({"brussel"}, "docstring example of a vacancy inventory"),
    "sources/osm.py": ({"brussel"}, "docstring example of an extract ending at a border"),
    "sources/hubs.py": ({"brussel", "belg", "nis5", "nis"},
                        "the shipped hub catalogue (Brussels hubs) and its 'municipality_nis5' "
                        "column; pending its own change (not part of the readers moved here)"),
}


def _generic_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("sources/regions/"):
            continue
        yield rel, path


def _hits(path: Path):
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in BELGIAN.finditer(line):
            if m.group(0) == "nis5":  # the schema's column name, see BELGIAN
                continue
            yield lineno, m.group(0).lower(), line.strip()


def test_generic_modules_name_no_belgian_source():
    """Everything Belgian lives in sources/regions/belgium.py, except the allow-list."""
    bad = []
    for rel, path in _generic_modules():
        allowed = ALLOWED.get(rel, (set(), ""))[0] | EVERYWHERE
        bad += [f"{rel}:{n}: {word!r} in {line[:100]!r}" for n, word, line in _hits(path)
                if word not in allowed]
    assert not bad, ("Belgian names outside productivecity/sources/regions/ (move them into "
                     "the region plug-in, or justify them in ALLOWED):\n" + "\n".join(bad))


def test_scanner_finds_what_it_looks_for(tmp_path):
    """The pattern catches the inventory's names and skips look-alikes and the schema column."""
    f = tmp_path / "m.py"
    f.write_text('x = "21001"  # NIS code, Statbel, STIB\ndef _finish(munis, nis5): pass\n'
                 'y = "GM0599"  # CBS gemeentecode in EPSG:28992 (RD New), not "Algm0599"\n')
    assert [w for _, w, _ in _hits(f)] == ["nis", "statbel", "stib", "gm0599", "cbs",
                                           "gemeente", "28992", "rd new"]


def test_allow_list_names_existing_modules():
    """Every allow-list entry is a real module (no stale paths)."""
    modules = {rel for rel, _ in _generic_modules()}
    assert set(ALLOWED) <= modules


def test_belgium_is_registered_with_its_parts():
    be = regions.region("belgium")
    assert [p.name for p in be.presets] == ["brussels-vilvoorde", "gent", "kortrijk", "genk",
                                            "leuven"]
    assert {p.crs for p in be.presets} == {"EPSG:31370"}
    assert {"stib_json", "sncb_stations", "labour_actiris"} <= set(be.sources)
    assert [f.kind for f in regions.transit_formats()] == ["stib_json", "sncb_stations"]
    assert regions.attributions()["statbel"] == "Statbel"
    with pytest.raises(KeyError, match="unknown region"):
        regions.region("atlantis")


def test_netherlands_is_registered_with_its_presets_and_codes(tmp_path):
    """The Dutch plug-in: its presets, RD New, and CBS codes read by the generic reader."""
    import geopandas as gpd
    from shapely.geometry import box

    from productivecity.sources.units import read_municipalities

    nl = regions.region("netherlands")
    assert [p.name for p in nl.presets] == ["rotterdam", "almere"]
    assert {p.crs for p in nl.presets} == {"EPSG:28992"}
    assert regions.preset_region("almere") is nl
    assert regions.preset_region("gent") is regions.region("belgium")
    assert regions.preset_region("sample") is None
    # codes written as CBS strings, bare numbers or floats all read as GM + 4 digits;
    # a province row (PV27) of a mixed file is left out by the code pattern
    gdf = gpd.GeoDataFrame(
        {"statcode": ["GM0599", "34", "606.0", "PV27"],
         "statnaam": ["Rotterdam", "Almere", "Schiedam", "Noord-Holland"]},
        geometry=[box(90_000 + 1000 * i, 437_000, 91_000 + 1000 * i, 438_000) for i in range(4)],
        crs=28992)
    p = tmp_path / "gemeenten.gpkg"
    gdf.to_file(p)
    out = read_municipalities(p)
    assert list(out.index) == ["GM0599", "GM0034", "GM0606"]
    assert out["name"].tolist() == ["Rotterdam", "Almere", "Schiedam"]


def test_generic_reader_dispatches_to_a_registered_region(tmp_path, monkeypatch):
    """A new region plugs its code rules into read_municipalities without generic changes."""
    import geopandas as gpd
    from shapely.geometry import box

    from productivecity.sources.units import read_municipalities

    monkeypatch.setattr(regions, "_registered", list(regions.registered()))
    monkeypatch.setattr(regions, "_version", regions._version)
    regions.register(regions.Region(
        name="testland", title="Testland",
        municipality_codes=regions.UnitCodes(
            label="GM", columns=("gemcode_test",), name_columns=("naam_test",),
            normalise=lambda s: "GM" + s.astype("string").str.zfill(4), pattern=r"GM\d{4}"),
    ))
    gdf = gpd.GeoDataFrame({"gemcode_test": [599, 1], "naam_test": ["Rotterdam", "X"]},
                           geometry=[box(150000, 170000, 151000, 171000),
                                     box(151000, 170000, 152000, 171000)], crs=31370)
    p = tmp_path / "gm.gpkg"
    gdf.to_file(p)
    out = read_municipalities(p)
    assert list(out.index) == ["GM0599", "GM0001"]
    assert out.loc["GM0599", "name"] == "Rotterdam"


def test_moved_readers_stay_importable_from_the_generic_modules():
    from productivecity.sources import labour, transit, units
    from productivecity.sources.regions import belgium

    assert labour.read_actiris_jobseekers is belgium.read_actiris_jobseekers
    assert transit.read_stib_json is belgium.read_stib_json
    assert units.normalise_nis5 is belgium.normalise_nis5
    assert transit.TRANSIT_KINDS == ("gtfs", "stib_json", "sncb_stations")
    assert units.normalise_nis5(pd.Series([21001.0, "1001"])).tolist() == ["21001", "01001"]
    with pytest.raises(AttributeError):
        units.no_such_name  # noqa: B018
