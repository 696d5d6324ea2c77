"""Interactive web map: offline HTML, popups, determinism, and a real headless browser."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import folium
import folium.plugins
import matplotlib as mpl
import numpy as np
import pytest
from _outputs_data import sample_layers, scored_sites
from PIL import Image

from productivecity._errors import OutputExistsError, ProductiveCityError
from productivecity.outputs import webmap
from productivecity.outputs.maps import STYLE


@pytest.fixture(scope="module")
def ranked():
    """Scored sample grid sites with Monte-Carlo rank stability joined."""
    sites, _, mc = scored_sites()
    return sites.join(mc.table.drop(columns="rank")), mc


@pytest.fixture(scope="module")
def page(ranked, tmp_path_factory) -> Path:
    """The web map of the sample written to disk."""
    sites, mc = ranked
    m = webmap.web_map(sites, sample_layers(), date="2026-05-01", stability_top_k=mc.top_k)
    return webmap.save_web_map(m, tmp_path_factory.mktemp("web") / "map.html")


def _run_chromium(exe: Path, url: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        str(exe), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={workdir / 'profile'}", "--window-size=1200,900",
        "--hide-scrollbars", "--virtual-time-budget=5000", *args, url.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False,
                          cwd=workdir)


def _screenshot(exe: Path, url: Path, workdir: Path) -> np.ndarray:
    shot = workdir / "shot.png"
    proc = _run_chromium(exe, url, workdir, f"--screenshot={shot}")
    assert shot.exists(), proc.stderr[-2000:]
    with Image.open(shot) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def _near(img: np.ndarray, colour, tol: int = 6) -> int:
    return int((np.abs(img - np.asarray(colour)).max(axis=2) <= tol).sum())


def _blend(fg: str, bg: str, alpha: float) -> np.ndarray:
    f = np.array(mpl.colors.to_rgb(fg)) * 255
    b = np.array(mpl.colors.to_rgb(bg)) * 255
    return np.round(alpha * f + (1 - alpha) * b)


def _features_drawn(img: np.ndarray) -> dict[str, int]:
    """Pixels of the worst site's fill (viridis(0) at 85 % over the page) and of hubs.

    The legend (bottom right, with a hub swatch) is masked out: only the map counts.
    """
    img = img.copy()
    img[-300:, -320:] = 255
    bg = "#f7f6f2"  # .leaflet-container background
    low = mpl.colors.to_hex(mpl.colormaps["viridis"](0.0))
    return {
        "worst_site": _near(img, _blend(low, bg, 0.85)),
        "hub": _near(img, _blend(STYLE["hub"], bg, 1.0), tol=3),
    }


def test_html_is_self_contained_and_deterministic(ranked, page, tmp_path):
    sites, mc = ranked
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)
    assert "cdn.jsdelivr" not in text and "code.jquery" not in text
    assert 't.version="1.9.3"' in text  # Leaflet inlined
    assert "url(images/" not in text  # Leaflet's CSS images inlined as data URIs
    m = webmap.web_map(sites, sample_layers(), date="2026-05-01", stability_top_k=mc.top_k)
    again = webmap.save_web_map(m, tmp_path / "again.html")
    assert again.read_bytes() == page.read_bytes()
    with pytest.raises(OutputExistsError):
        webmap.save_web_map(m, again)


def test_popups_hold_score_breakdown_stability_and_indicators(ranked, page):
    sites, mc = ranked
    text = html.unescape(page.read_text(encoding="utf-8"))
    best = sites.index[sites["rank"] == 1][0]
    n_eligible = int((~sites["excluded"]).sum())
    popup = webmap.site_popup_html(sites.loc[best], site_id=best, indicators=["hub_dist_m"],
                                   n_ranked=n_eligible, top_k=5)
    assert f"Site {best}" in popup and f"1 / {n_eligible}" in popup
    assert f"{sites.at[best, 'score']:.3g}" in popup
    for name in ("Canal", "Industrial", "Rail", "Stops", "Hub gap"):
        assert f"<td>{name}</td>" in popup
    share = f"{sites.at[best, 'topk_share'] * 100:.0f} %"
    assert "Share of runs in top 5 " + share in popup
    assert f"{round(sites.at[best, 'hub_dist_m']):,}".replace(",", "\u2009") in popup
    # the page carries one popup per site, with its indicators
    raw = page.read_text(encoding="utf-8")  # popups sit in JSON with quotes escaped
    assert raw.count("class=\\u0027pc-popup\\u0027") == len(sites)
    assert "Rail station dist (m)" in text
    excluded = sites.index[sites["excluded"]][0]
    reason = sites.at[excluded, "excluded_reason"]
    out = webmap.site_popup_html(sites.loc[excluded], site_id=excluded)
    assert f"Excluded site</b>: {html.escape(reason)}" in out and "Score" not in out


def test_popup_escapes_text(ranked):
    sites, _ = ranked
    row = sites.iloc[0].copy()
    row["excluded"] = True
    row["excluded_reason"] = "<script>alert(1)</script>"
    out = webmap.site_popup_html(row, site_id="<b>x</b>", lang="nl")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;b&gt;x" in out
    assert "Uitgesloten locatie" in out


def test_title_is_text_not_a_template(ranked):
    # the panels are placed as they are: a "{{" in a title is not read as a template
    sites, _ = ranked
    few = sites.head(3).rename(index={sites.index[0]: "site {{ 6 * 7 }}"})
    m = webmap.web_map(few, sample_layers(), title="Plan {{ 6 * 7 }} {% raw %}")
    text = webmap.web_map_html(m)
    assert "Plan {{ 6 * 7 }} {% raw %}" in text and "Plan 42" not in text
    # nor in the features (a layer's script, with its GeoJSON)
    assert "site {{ 6 * 7 }}" in text and "site 42" not in text
    import branca.element

    assert branca.element.Element is not webmap._Rendered  # branca's own again


def test_external_scripts_are_refused(ranked):
    sites, _ = ranked
    m = webmap.web_map(sites, sample_layers())
    folium.plugins.Fullscreen().add_to(m)  # loads its JS from a CDN
    with pytest.raises(ProductiveCityError, match="offline"):
        webmap.web_map_html(m)


def test_browser_renders_the_map_offline(ranked, page, chromium, tmp_path):
    """Headless Chromium draws the sites, hubs and rank markers; a page without Leaflet doesn't."""
    img = _screenshot(chromium, page, tmp_path)
    drawn = _features_drawn(img)
    assert drawn["worst_site"] >= 300, drawn
    assert drawn["hub"] >= 30, drawn
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # not a blank page

    proc = _run_chromium(chromium, page, tmp_path, "--dump-dom")
    dom = proc.stdout
    assert dom.count("class=\"pc-rank\"") == 10, proc.stderr[-2000:]
    assert dom.count("leaflet-interactive") >= len(ranked[0])  # every site is an SVG path
    assert "leaflet-control-layers" in dom

    # negative control: the same page without Leaflet draws none of these
    broken = tmp_path / "broken.html"
    text = page.read_text(encoding="utf-8")
    at = text.index('t.version="1.9.3"')
    start, end = text.rindex("<script>", 0, at), text.index("</script>", at) + len("</script>")
    broken.write_text(text[:start] + text[end:], encoding="utf-8")
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    control = _features_drawn(_screenshot(chromium, broken, tmp_path))
    assert control["worst_site"] < 50 and control["hub"] < 5, control
