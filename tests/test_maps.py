"""Print maps: layout, labels, colours at the right place, deterministic bytes, atlas."""

from __future__ import annotations

import gc
import io
import weakref

import matplotlib as mpl
import numpy as np
import pytest
import shapely
from _outputs_data import sample_layers, scored_sites
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from productivecity import accessibility as acc
from productivecity._errors import EmptyLayerError, OutputExistsError, SchemaError
from productivecity.network.streets import walk_network
from productivecity.outputs import attribution, maps
from productivecity.sources.load_report import Credit

DATE = "2026-05-01"


@pytest.fixture(scope="module")
def scored():
    """Grid sites over the sample area, indicators from geometry, scored (no mocks)."""
    return scored_sites()


@pytest.fixture(scope="module")
def sample_isochrones(scored):
    """Walking isochrones (5, 10 min) of the top 3 sites on the sample street network."""
    sites, _, _ = scored
    layers = sample_layers()
    net = walk_network(layers.data_dir / "osm" / "sample_canal_town.osm", cache=False)
    top = sites[sites["rank"] <= 3]
    return acc.isochrones(net, top.geometry.representative_point(), times_min=[5, 10])


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _size(path) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size


def _png(fig: Figure, dpi: int) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    with Image.open(buf) as img:
        return np.asarray(img.convert("RGB")).astype(int)


@pytest.mark.parametrize(("paper", "size_mm"), [("A3", (420, 297)), ("A4", (297, 210)),
                                                ("A1", (841, 594))])
def test_sheet_sizes_landscape(scored, paper, size_mm):
    sites, _, _ = scored
    fig, ax = maps.plot_overview(sites, sample_layers(), paper=paper, date=DATE)
    w, h = fig.get_size_inches() * 25.4
    assert (round(w), round(h)) == size_mm
    assert ax.figure is fig


def test_default_is_a3_and_bad_paper_refused(scored):
    sites, _, _ = scored
    fig, _ = maps.plot_overview(sites, sample_layers(), date=DATE)
    assert tuple(np.round(fig.get_size_inches() * 25.4)) == (420, 297)
    with pytest.raises(ValueError, match="A5"):
        maps.plot_overview(sites, sample_layers(), paper="A5")


def test_overview_has_title_legend_footer_and_top_ranks_in_dutch(scored):
    sites, _, _ = scored
    fig, ax = maps.plot_overview(sites, sample_layers(), top_k=5, lang="nl", date=DATE)
    texts = _texts(fig)
    joined = "\n".join(texts)
    assert "Kandidaat-locaties voor maakleerplekken" in texts
    for label in ("Studiegebied", "Kanaal", "Bestaande maakleerplek", "Treinstation",
                  "Bedrijventerreinen en braakliggend terrein", "Top 5 (rang)"):
        assert label in texts, label
    assert "Gemaakt op 2026-05-01 met productivecity" in joined
    assert "Datum:" not in joined and "CRS: EPSG:31370 (BD72 / Belgian Lambert 72)" in joined
    # the sample is synthetic and the footer says so
    assert "synthetic sample data" in joined
    # rank labels 1..5 on the map and the best site listed in the side panel
    best = sites.index[sites["rank"] == 1][0]
    assert {"1", "2", "3", "4", "5"} <= set(texts)
    assert best in texts
    # scale bar: the largest 1/2/5 x 10^n length within a fifth of the map width
    x0, x1 = ax.get_xlim()
    nice = max(m * 10**e for m in (1, 2, 5) for e in range(6) if m * 10**e <= (x1 - x0) / 5)
    assert (f"{nice:g} m" if nice < 1000 else f"{nice / 1000:g} km") in texts


def test_site_colour_drawn_at_its_place(scored):
    """The worst eligible site is painted viridis(0) (alpha 0.9 over the area fill)."""
    sites, _, _ = scored
    layers = sample_layers()
    fig, ax = maps.plot_overview(sites, layers, date=DATE, paper="A4")
    worst = sites.loc[sites["score"].idxmin()]
    inside_ind = shapely.union_all(layers["industrial_zones"].geometry.values)
    pt = worst.geometry.centroid
    assert not inside_ind.contains(pt)
    dpi = 100
    img = _png(fig, dpi)
    x, y = ax.transData.transform((pt.x, pt.y))
    col, row = int(round(x)), int(round(img.shape[0] - y))
    patch = img[row - 3 : row + 4, col - 3 : col + 4].reshape(-1, 3)
    observed = np.median(patch, axis=0)
    fill = np.array(mpl.colormaps["viridis"](0.0)[:3]) * 255
    bg = np.array(mpl.colors.to_rgb(maps.STYLE["area_fill"])) * 255
    expected = 0.9 * fill + 0.1 * bg
    assert np.abs(observed - expected).max() <= 3, (observed, expected)
    # and the best site is not that colour
    best = sites.loc[sites["score"].idxmax()].geometry
    bx, by = ax.transData.transform((best.bounds[0] + 20, best.bounds[1] + 20))
    other = img[int(round(img.shape[0] - by)), int(round(bx))]
    assert np.abs(other - expected).max() > 50


def test_same_inputs_same_bytes_png_pdf_svg(scored, tmp_path):
    sites, _, _ = scored
    layers = sample_layers()
    outs = []
    for i in range(2):
        fig, _ = maps.plot_overview(sites, layers, date=DATE, paper="A4")
        outs.append([maps.save_figure(fig, tmp_path / f"m{i}.{ext}", dpi=60)
                     for ext in ("png", "pdf", "svg")])
    for a, b in zip(*outs, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.suffix
    with Image.open(outs[0][0]) as png:
        assert "Software" not in png.info
    pdf = outs[0][1].read_bytes()
    assert b"CreationDate" not in pdf and b"Producer" not in pdf
    # the bytes do depend on the content
    fig, _ = maps.plot_overview(sites, layers, date="2026-05-02", paper="A4")
    maps.save_figure(fig, tmp_path / "other.png", dpi=60)
    assert (tmp_path / "other.png").read_bytes() != outs[0][0].read_bytes()


def test_save_figure_300_dpi_default_and_overwrite(scored, tmp_path):
    sites, _, _ = scored
    fig, _ = maps.plot_overview(sites, sample_layers(), date=DATE, paper="A4")
    path = maps.save_figure(fig, tmp_path / "a4.png")
    assert _size(path) == (3508, 2480)  # A4 landscape at 300 dpi
    with pytest.raises(OutputExistsError):
        maps.save_figure(fig, path)
    maps.save_figure(fig, path, dpi=30, overwrite=True)
    assert _size(path) == (350, 248)  # matplotlib truncates to whole pixels
    with pytest.raises(ValueError, match="tiff"):
        maps.save_figure(fig, tmp_path / "a.tiff")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a4.png"]  # no temporary files


def test_draw_into_given_axes(scored):
    sites, _, _ = scored
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    fig2, ax2 = maps.plot_overview(sites, sample_layers(), ax=ax, date=DATE, lang="fr")
    assert fig2 is fig and ax2 is ax
    texts = _texts(fig)
    assert any("Sites candidats" in t for t in texts)
    assert "Lieu d'apprentissage existant" in texts


def test_indicator_map_and_bad_columns(scored):
    sites, _, _ = scored
    layers = sample_layers()
    fig, _ = maps.plot_indicator(sites, "rail_station_dist_m", layers, date=DATE, lang="en")
    texts = _texts(fig)
    assert "Rail station dist (m)" in texts
    with pytest.raises(SchemaError, match="nope_m"):
        maps.plot_indicator(sites, "nope_m", layers)
    with pytest.raises(SchemaError, match="numeric"):
        maps.plot_indicator(sites, "excluded_reason", layers)
    before = sites.copy()
    maps.plot_indicator(sites, "hub_dist_m", layers)
    assert sites.equals(before)


def test_indicator_columns_are_unit_suffixed_inputs(scored):
    sites, _, _ = scored
    assert maps.indicator_columns(sites) == [
        "area_ha", "canal_distance_m", "rail_station_dist_m", "hub_dist_m",
        "industrial_share_pct", "stops_500m_n",
    ]


def test_isochrone_map(scored, sample_isochrones):
    sites, _, _ = scored
    fig, _ = maps.plot_isochrones(sample_isochrones, sites, sample_layers(), top_k=3,
                                  date=DATE)
    texts = _texts(fig)
    assert "Reached within 5 min" in texts and "Reached within 10 min" in texts
    for sid in sites.index[sites["rank"] <= 3]:
        rank = int(sites.at[sid, "rank"])
        assert f"{rank} · {sid}" in texts
    with pytest.raises(SchemaError, match="origin, time_min"):
        maps.plot_isochrones(sample_isochrones.reset_index(), sites, sample_layers())
    other = sample_isochrones.rename(index=lambda s: f"x{s}", level=0)
    with pytest.raises(EmptyLayerError, match="no isochrone"):
        maps.plot_isochrones(other, sites, sample_layers())


def test_atlas_pdf_pages_and_determinism(scored, sample_isochrones, tmp_path):
    sites, _, _ = scored
    layers = sample_layers()
    paths = []
    for i in range(2):
        pages = maps.atlas_figures(sites, layers, isochrones=sample_isochrones,
                                   indicators=["canal_distance_m", "stops_500m_n"],
                                   isochrone_top_k=3, paper="A4", date=DATE)
        paths.append(maps.save_atlas(pages, tmp_path / f"atlas{i}.pdf", dpi=72))
    assert list(pages) == ["overview", "indicator_canal_distance_m", "indicator_stops_500m_n",
                           "isochrones"]
    data = paths[0].read_bytes()
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 4
    assert data == paths[1].read_bytes()
    with pytest.raises(OutputExistsError):
        maps.save_atlas(pages, paths[0])



def test_save_figures_one_page_at_a_time_equals_save_figure_and_atlas(scored, tmp_path):
    """Streaming pages into the atlas and PNGs gives the bytes of the one-figure writers."""
    sites, _, _ = scored
    layers = sample_layers()
    kw = dict(indicators=["canal_distance_m"], paper="A4", date=DATE)
    pages = maps.atlas_figures(sites, layers, **kw)
    maps.save_atlas(pages, tmp_path / "ref.pdf", dpi=72)
    for name, fig in pages.items():
        maps.save_figure(fig, tmp_path / f"ref_{name}.png", dpi=72)
    seen = []

    def tracked():
        for name, fig in maps.iter_atlas_figures(sites, layers, **kw):
            seen.append(weakref.ref(fig))
            yield name, fig

    out = maps.save_figures(tracked(), pdf=tmp_path / "atlas.pdf", png_dir=tmp_path / "png",
                            dpi=72)
    assert list(out) == list(pages) == ["overview", "indicator_canal_distance_m"]
    assert (tmp_path / "atlas.pdf").read_bytes() == (tmp_path / "ref.pdf").read_bytes()
    for name, path in out.items():
        assert path.read_bytes() == (tmp_path / f"ref_{name}.png").read_bytes(), name
    del name
    gc.collect()  # the last one was still held by the generator when the writer collected
    assert seen and all(page() is None for page in seen)  # nothing keeps a page after saving
    previews = maps.save_figures(maps.iter_atlas_figures(sites, layers, **kw), preview_dpi=30)
    assert all(v[:8] == b"\x89PNG\r\n\x1a\n" for v in previews.values())


def test_attribution_and_footer():
    assert attribution.attribution(["stib", "osm", "osm"]) == (
        "© OpenStreetMap contributors (ODbL); STIB-MIVB open data")
    with pytest.raises(SchemaError, match="known keys"):
        attribution.attribution(["google"])
    # the sample credits itself (and the package's hub catalogue, whose hubs it draws)
    assert [c.key for c in attribution.layer_credits(sample_layers())] == [
        "sample", "hubs_catalogue"]
    assert [c.key for c in attribution.layer_credits(sample_layers(), names=["canal"])] == [
        "sample"]
    # a plain mapping says nothing of its sources: no credit guessed from the layer names
    assert attribution.layer_credits({"canal": sample_layers()["canal"]}) == []
    text = maps.footer_text(lang="fr", date="2026-05-01", sources=["osm", "bestcost"],
                            crs="EPSG:31370")
    assert text.splitlines() == [
        "Sources: © OpenStreetMap contributors (ODbL); BEST-COST / Sciensano",
        "SCR: EPSG:31370 (BD72 / Belgian Lambert 72)   ·   "
        "Réalisé le 2026-05-01 avec productivecity",
    ]
    # credits as the readers declare them; none at all: a dash
    gtfs = Credit("gtfs:Kotkan Citybus", "Kotkan Citybus (GTFS)")
    assert maps.footer_text(sources=[gtfs, "osm"]).splitlines()[0] == (
        "Sources: © OpenStreetMap contributors (ODbL); Kotkan Citybus (GTFS)")
    assert maps.footer_text().splitlines() == ["Sources: –", "Made with productivecity"]


@pytest.mark.parametrize(("width_m", "expected"), [(7_300, 1000.0), (4_400, 500.0),
                                                   (12, 2.0), (60_000, 10_000.0)])
def test_scale_bar_nice_length(width_m, expected):
    assert maps.scale_bar_length_m(width_m) == expected


def test_map_numbers_use_the_decimal_mark_of_the_language():
    assert maps._fmt(0.144, "en") == "0.14" and maps._fmt(0.144, "nl") == "0,14"
    assert maps._fmt(12.34, "fr") == "12,3" and maps._fmt(12.34, "en") == "12.3"
    assert maps._fmt(76070.0, "nl") == "76\u2009070"  # thousands: a thin space in every language
    assert maps._fmt(float("nan"), "fr") == "–"


def test_drawn_pages_are_collected_once_the_process_has_grown(monkeypatch):
    sizes = iter([500.0, 520.0, 600.0, 640.0, 700.0, 700.0, 705.0])
    monkeypatch.setattr(maps, "_resident_mb", lambda: next(sizes))
    released = []
    monkeypatch.setattr(maps, "_release_memory", lambda: released.append(True))
    held = maps._PageMemory()  # 500 MB
    for _ in range(3):  # 520, 600: under 128 MB more; 640: over, collected (then 700)
        held.page_done()
    assert len(released) == 1 and held.base == 700.0
    held.page_done()  # 705
    assert len(released) == 1
    # where the size is not known: after every page
    monkeypatch.setattr(maps, "_resident_mb", lambda: None)
    held = maps._PageMemory()
    held.page_done()
    held.page_done()
    assert len(released) == 3
