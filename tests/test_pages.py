"""Atlas pages drawn by worker processes, and labels with a halo that stay text in a PDF."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zlib

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from productivecity.outputs import maps, pages
from productivecity.outputs._paths import HaloText, halo_text


def _page(i: int, fail: bool = False):
    def draw() -> Figure:
        if fail:
            raise ValueError(f"page {i} cannot be drawn")
        fig = Figure(figsize=(3, 2))
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_facecolor("#204060")
        halo_text(ax, 0.1, 0.5, f"label {i}", halo_pt=2.0, fontsize=12,
                  transform=ax.transAxes)
        return fig
    return (f"p{i}", draw)


def _pdf_text(path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return [p.strip() for p in out.split("\f") if p.strip()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_workers_write_the_pages_in_order_and_reproducibly(tmp_path):
    plan = [_page(i) for i in range(7)]
    serial = pages.write_pages(plan, pdf=tmp_path / "serial.pdf", workers=1,
                               preview_dpi=20).wait()
    digests = []
    for k in range(2):
        path = tmp_path / f"parallel{k}.pdf"
        out = pages.write_pages(plan, pdf=path, workers=2, preview_dpi=20,
                                preview_pages={"p1", "p4"}).wait()
        assert list(out) == ["p1", "p4"]  # the previews asked for, in page order
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]  # the same pages give the same bytes
    # every page, once, in the plan's order: as the single process writes them
    assert _pdf_text(tmp_path / "parallel0.pdf") == [f"label {i}" for i in range(7)] == \
        _pdf_text(tmp_path / "serial.pdf")
    assert list(serial) == [f"p{i}" for i in range(7)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no parts left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux")
def test_a_failing_page_is_one_clear_error_and_nothing_is_written(tmp_path):
    plan = [_page(i, fail=(i == 4)) for i in range(6)]
    job = pages.write_pages(plan, pdf=tmp_path / "atlas.pdf", workers=2)
    with pytest.raises(pages.PageError, match="page 4 cannot be drawn"):
        job.wait()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_atlas_is_refused_before_any_work(tmp_path):
    (tmp_path / "atlas.pdf").write_bytes(b"%PDF")
    from productivecity._errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        pages.write_pages([_page(0)] * 6, pdf=tmp_path / "atlas.pdf", workers=2)


def _content_streams(pdf: bytes) -> bytes:
    """The page content of a small matplotlib PDF, inflated."""
    out = []
    for chunk in pdf.split(b"stream\n")[1:]:
        body = chunk.split(b"\nendstream")[0]
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            pass
    return b"\n".join(out)


def test_halo_text_is_stroked_text_in_a_pdf_and_a_path_effect_in_pixels():
    fig = Figure(figsize=(3, 2))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_facecolor("#204060")
    ax.set_xticks([])
    ax.set_yticks([])
    t = halo_text(ax, 0.1, 0.5, "Quai", halo_pt=3.0, fontsize=20, color="black",
                  transform=ax.transAxes)
    assert isinstance(t, HaloText) and t.axes is ax and t in ax.texts
    buf = io.BytesIO()
    with maps._rc():
        fig.savefig(buf, format="pdf")
    content = _content_streams(buf.getvalue())
    # the halo: the label once more, glyph outlines stroked in white, marked so that
    # readers extract it once; no glyphs turned into paths
    assert content.count(b"1 Tr") == 1 and content.count(b"0 Tr") == 1
    assert content.count(b"/ActualText ()") == 1
    assert content.count(b"\nBT\n") == 2  # the halo and the label, both text
    assert b"3 w 1 G" in content  # a white stroke of the halo's width, set before the halo
    # pixels: white around dark glyphs on the dark blue background (the path effect)
    png = io.BytesIO()
    with maps._rc():
        fig.savefig(png, format="png", dpi=100)
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    white = (rgb > 240).all(axis=2).sum()
    assert white > 50
    fig_plain = Figure(figsize=(3, 2))
    ax2 = fig_plain.add_axes([0, 0, 1, 1])
    ax2.set_facecolor("#204060")
    ax2.set_xticks([])
    ax2.set_yticks([])
    ax2.text(0.1, 0.5, "Quai", fontsize=20, color="black", transform=ax2.transAxes)
    png2 = io.BytesIO()
    fig_plain.savefig(png2, format="png", dpi=100)
    rgb2 = np.asarray(Image.open(png2).convert("RGB")).astype(int)
    assert (rgb2 > 240).all(axis=2).sum() < white / 10  # no halo without it


def test_pdf_text_of_a_haloed_label_is_extracted_once(tmp_path):
    plan = [_page(0)]
    pages.write_pages(plan, pdf=tmp_path / "one.pdf", workers=1).wait()
    text = subprocess.run(["pdftotext", "-raw", str(tmp_path / "one.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert text.count("label 0") == 1


def _labelled_pages(path, n_pages: int = 2) -> bytes:
    """A PDF of pages with the same haloed labels, rotated and not, in two sizes.

    And the same plain texts on each page: title, tick labels, a legend, a link.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from productivecity.outputs._paths import pdf_text_cache

    with maps._rc(), PdfPages(path, metadata={"CreationDate": None, "Producer": None}) as pdf:
        for k in range(n_pages):
            fig = Figure(figsize=(4, 3))
            ax = fig.add_axes([0.1, 0.1, 0.8, 0.8])
            for i, (s, size, angle) in enumerate([("Rue Ransfort", 9, 0), ("Quai", 9, 30),
                                                  ("Rue Ransfort", 12, -15),
                                                  ("Kanaal — é", 9, 0), ("Quai", 9, 30)]):
                halo_text(ax, 0.1 + 0.05 * k, 0.1 + 0.17 * i, s, halo_pt=2.5, fontsize=size,
                          rotation=angle, transform=ax.transAxes)
            ax.set_title(f"Page {k} — Molenbeek", fontsize=11)
            ax.plot([0, 1], [0, k + 1], label="canal")
            ax.legend(loc="upper right")
            fig.text(0.01, 0.01, "Sources: OSM", url="https://www.openstreetmap.org")
            fig.text(0.5, 0.02, "Two lines\nof a note", fontsize=7, ha="center",
                     linespacing=1.4)  # laid out with the font's line metrics
            fig.text(0.8, 0.02, "and its\nline gap", fontsize=6, linespacing="normal")
            ax.text(0.5, 0.5, r"$\alpha_{k}$")  # mathematical text: drawn as it is
            with pdf_text_cache(fig):
                pdf.savefig(fig)
            assert "draw" not in vars(fig)  # the figure is left as it was
    return path.read_bytes()


def test_halo_labels_reused_in_a_pdf_are_the_bytes_matplotlib_writes(tmp_path, monkeypatch):
    from matplotlib.backends.backend_pdf import RendererPdf

    from productivecity.outputs import _paths

    shaped = []
    draw_text = RendererPdf.draw_text
    monkeypatch.setattr(RendererPdf, "draw_text", lambda self, gc, x, y, s, *a, **kw:
                        shaped.append(s) or draw_text(self, gc, x, y, s, *a, **kw))
    _paths._install_text_layout()
    laid_out = []
    layout = _paths._MPL_TEXT_LAYOUT
    monkeypatch.setattr(_paths, "_MPL_TEXT_LAYOUT", lambda text, renderer:
                        laid_out.append(text.get_text()) or layout(text, renderer))
    monkeypatch.setattr(_paths, "_LAYOUTS", {})
    # twice into a new file each: a glyph run is reused within its file only
    cached = [_labelled_pages(tmp_path / f"cached{k}.pdf") for k in range(2)]
    # a layout is worked out once per process: the labels' four, the legend's entry once
    assert laid_out.count("Rue Ransfort") == 2 and laid_out.count("Quai") == 1
    assert laid_out.count("canal") == 1 and "$\\alpha_{k}$" in laid_out  # math: each time
    assert laid_out.count("$\\alpha_{k}$") == 4
    # 20 labels drawn twice (halo, fill) per file; 4 distinct (string, size) runs shaped
    labels = {"Rue Ransfort", "Quai", "Kanaal — é"}
    runs = ["Rue Ransfort", "Quai", "Rue Ransfort", "Kanaal — é"]  # one per file
    assert sorted(s for s in shaped if s in labels) == sorted(2 * runs)
    # plain texts: the legend entry once per file, the link on every page
    assert shaped.count("canal") == 2 and shaped.count("Sources: OSM") == 4
    # the reference: every text through matplotlib's own draw_text, nothing reused
    monkeypatch.setattr(_paths, "_draw_text",
                        lambda pdf, gc, x, y, s, prop, angle, ismath=False, mtext=None:
                        type(pdf).draw_text(pdf, gc, x, y, s, prop, angle, ismath=ismath,
                                            mtext=mtext))
    monkeypatch.setattr(_paths, "_text_size",
                        lambda pdf, s, prop, ismath:
                        type(pdf).get_text_width_height_descent(pdf, s, prop, ismath))
    # and every text laid out with the line metrics matplotlib reads from the font itself
    monkeypatch.setattr(_paths, "_font_height_metrics",
                        lambda pdf, fig, prop: type(pdf)._get_font_height_metrics(pdf, prop))
    # and laid out by matplotlib each time
    monkeypatch.setattr(Text, "_get_layout", layout)
    reference = _labelled_pages(tmp_path / "reference.pdf")
    assert cached[0] == cached[1] == reference
    content = _content_streams(reference)
    assert content.count(b"1 Tr") == 10 and content.count(b"/ActualText ()") == 10


def test_previews_are_the_pdf_pages_rasterised_as_agg_draws_them(tmp_path):
    def draw() -> Figure:
        fig = Figure(figsize=(4, 3))
        ax = fig.add_axes([0.1, 0.1, 0.8, 0.8])
        ax.add_patch(matplotlib.patches.Rectangle((0, 0), 0.5, 1, color="#c03030"))
        halo_text(ax, 0.6, 0.5, "Quai", halo_pt=2.0, fontsize=14, transform=ax.transAxes)
        return fig

    # with no atlas asked for, the PDF is kept in memory only to rasterise the previews
    out = maps.save_figures([("a", draw()), ("b", draw())], preview_dpi=50,
                            preview_pages={"b"})
    assert list(out) == ["b"] and list(tmp_path.iterdir()) == []
    pdfium = np.asarray(Image.open(io.BytesIO(out["b"])).convert("RGB")).astype(int)
    agg = np.asarray(Image.open(io.BytesIO(_agg_png(draw(), 50))).convert("RGB")).astype(int)
    assert pdfium.shape == agg.shape == (150, 200, 3)
    # the same picture, up to how small glyphs are anti-aliased (a few % of pixels)
    assert (np.abs(pdfium - agg).max(axis=2) > 128).mean() < 0.02
    assert tuple(pdfium[75, 50]) == (0xc0, 0x30, 0x30)  # the red half, where Agg has it
    # as the report embeds them: palette PNGs at their size, which it keeps as they are
    from productivecity.outputs import report

    small = maps.save_figures([("a", draw())], preview_dpi=30, preview_colors=16)["a"]
    with Image.open(io.BytesIO(small)) as img:
        assert img.mode == "P" and img.size == (120, 90)
    assert report._compact_png(small, max_width_px=120) is small
    assert report._compact_png(out["b"], max_width_px=120) != out["b"]  # scaled, quantised
    with pytest.raises(maps.ParameterError, match=r"no page\(s\) \[2\]"):
        maps.rasterise_pdf_pages(maps_pdf_bytes(draw()), [2], dpi=20)


def _agg_png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    with maps._rc():
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def maps_pdf_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with maps._rc():
        fig.savefig(buf, format="pdf")
    return buf.getvalue()


def test_text_sizes_follow_the_font_settings():
    """A generic family resolves by the rc settings: the cached size follows them."""
    from matplotlib.backends.backend_pdf import PdfFile, RendererPdf
    from matplotlib.font_manager import FontProperties

    from productivecity.outputs import _paths

    pdf = RendererPdf(PdfFile(io.BytesIO()), 72, 100, 100)
    prop = FontProperties(family="sans-serif", size=10)
    widths = []
    for font in ("DejaVu Sans", "DejaVu Sans Mono"):
        with matplotlib.rc_context({"font.sans-serif": [font]}):
            cached = _paths._text_size(pdf, "Rue Ransfort", prop, False)
            assert cached == RendererPdf.get_text_width_height_descent(pdf, "Rue Ransfort",
                                                                       prop, False)
            widths.append(cached[0])
    assert widths[0] != widths[1]


def test_every_halo_of_a_multi_line_label_is_under_every_line():
    fig = Figure(figsize=(3, 2))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    halo_text(ax, 0.1, 0.5, "Quai\nde Mariemont", halo_pt=2.0, fontsize=12,
              transform=ax.transAxes)
    buf = io.BytesIO()
    with maps._rc():
        fig.savefig(buf, format="pdf")
    content = _content_streams(buf.getvalue())
    marks = [m for i in range(len(content)) for m in (b"1 Tr", b"0 Tr", b"\nBT\n")
             if content.startswith(m, i)]
    # each line's halo (stroked text between 1 Tr and 0 Tr), then each line's fill
    assert marks == [b"1 Tr", b"\nBT\n", b"0 Tr", b"1 Tr", b"\nBT\n", b"0 Tr",
                     b"\nBT\n", b"\nBT\n"]


def _filled_pages(path) -> bytes:
    """A PDF of two pages of per-feature fills: colours (grey ones too), repeats, an
    opacity, an outline; a hatched collection and markers (drawn by matplotlib alone)."""
    import shapely
    from matplotlib.backends.backend_pdf import PdfPages

    from productivecity.outputs._paths import add_geometries, pdf_text_cache

    boxes = [shapely.box(i, j, i + 0.8, j + 0.8) for i in range(6) for j in range(4)]
    colours = [("#808080" if k % 5 == 0 else f"#{(40 * k) % 256:02x}60{255 - 9 * k:02x}")
               for k in range(len(boxes))]
    colours[3] = colours[2]  # a repeated fill: nothing written for it
    with maps._rc(), PdfPages(path, metadata={"CreationDate": None, "Producer": None}) as pdf:
        for k in range(2):
            fig = Figure(figsize=(4, 3))
            ax = fig.add_axes([0.05, 0.05, 0.9, 0.9])
            add_geometries(ax, boxes, color=colours, per_feature=True, edgecolor="white",
                           linewidth=0.6, alpha=0.85 if k else 1.0)
            add_geometries(ax, boxes[:6], facecolor="none", edgecolor="black", hatch="//",
                           per_feature=True)
            # an outline colour per feature too (some the same as the one before)
            add_geometries(ax, [b.buffer(-0.2) for b in boxes[6:12]], per_feature=True,
                           facecolor=colours[6:12], linewidth=1.2,
                           edgecolor=["red", "red", "#404040", "blue", "#101010", "blue"])
            ax.scatter([1, 2, 3], [1, 2, 1], c=["red", "green", "blue"], s=30)
            ax.set_xlim(-1, 7)
            ax.set_ylim(-1, 5)
            with pdf_text_cache(fig):
                pdf.savefig(fig)
    return path.read_bytes()


def test_per_feature_fills_in_a_pdf_are_the_bytes_matplotlib_writes(tmp_path, monkeypatch):
    from matplotlib.backends.backend_pdf import RendererPdf

    from productivecity.outputs import _paths

    fast = _paths._draw_path_collection
    taken = []
    monkeypatch.setattr(_paths, "_draw_path_collection",
                        lambda pdf, gc, master, paths, *a, **kw:
                        taken.append(len(paths)) or fast(pdf, gc, master, paths, *a, **kw))
    written = _filled_pages(tmp_path / "fast.pdf")
    monkeypatch.setattr(_paths, "_draw_path_collection",
                        lambda pdf, *a, **kw: RendererPdf.draw_path_collection(pdf, *a, **kw))
    reference = _filled_pages(tmp_path / "reference.pdf")
    assert written == reference
    assert 24 in taken and 6 in taken  # the fills went through the fast writer
    content = _content_streams(reference)
    assert content.count(b" rg") > 20  # a fill colour per box, but for the repeat


def _embedded_fonts(pdf_path) -> dict:
    """The embedded TrueType fonts of a PDF, by base font name (fontTools objects)."""
    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    fonts = {}
    for page in PdfReader(pdf_path).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            for desc in font.get("/DescendantFonts", [font]):
                file = desc.get_object()["/FontDescriptor"].get_object().get("/FontFile2")
                if file is not None:
                    fonts[str(font["/BaseFont"])] = TTFont(io.BytesIO(file.get_object()
                                                                     .get_data()))
    return fonts


def test_atlas_fonts_leave_out_the_layout_tables_and_draw_the_same(tmp_path):
    from matplotlib.backends.backend_pdf import PdfPages

    from productivecity.outputs._paths import LAYOUT_TABLES

    def figure() -> Figure:
        fig = Figure(figsize=(3, 2))
        fig.text(0.1, 0.5, "Quai de l'Industrie · Vilvoorde 2026", fontsize=11)
        fig.text(0.1, 0.2, "better →", fontsize=9, fontweight="bold")
        return fig

    lean = maps.save_atlas([figure()], tmp_path / "lean.pdf")
    with maps._rc(), PdfPages(tmp_path / "full.pdf", metadata=dict(maps._PDF_METADATA)) as pdf:
        pdf.savefig(figure(), dpi=300)  # matplotlib's own subsets
    full_fonts, lean_fonts = _embedded_fonts(tmp_path / "full.pdf"), _embedded_fonts(lean)
    assert full_fonts.keys() == lean_fonts.keys() and len(lean_fonts) == 2  # regular, bold
    for name, font in lean_fonts.items():
        assert any(t in full_fonts[name] for t in LAYOUT_TABLES)  # matplotlib keeps them
        assert not any(t in font for t in LAYOUT_TABLES)
        assert font.getGlyphOrder() == full_fonts[name].getGlyphOrder()
        assert font["glyf"].keys() == full_fonts[name]["glyf"].keys()
    assert _pdf_text(lean) == _pdf_text(tmp_path / "full.pdf")
    assert "Quai de l'Industrie · Vilvoorde 2026" in _pdf_text(lean)[0]
    # drawn the same: the pages as pixels
    import pypdfium2

    pixels = [np.asarray(pypdfium2.PdfDocument(p)[0].render(scale=2).to_pil())
              for p in (lean, tmp_path / "full.pdf")]
    assert np.array_equal(*pixels)
    # the swap is undone: another PDF keeps its layout tables
    from matplotlib.backends import _backend_pdf_ps

    assert _backend_pdf_ps.subset.Options is __import__("fontTools.subset").subset.Options
