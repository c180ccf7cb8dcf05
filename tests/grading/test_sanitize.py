"""Active content an outside review got past the grader into what nbconvert and formgrader render for the
instructor (each reproduced here in our own words), made inert; honest markup unchanged."""

from __future__ import annotations

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert import HTMLExporter

from autodiff_course.grading.sanitize import clean_markdown, clean_output

SCRIPT_LINKS = [
    "[t](javascript:alert(1))",
    "[t](JAVASCRIPT:alert(1))",
    "[t](&#106;avascript:alert(1))",
    "[t](&#x6A;avascript&#58;alert(1))",
    "<javascript:alert(1)>",
    "[t](<javascript:alert(1)>)",
    "[t][r]\n\n[r]: javascript:alert(1)",
    "[t](java\tscript:alert(1))",
    "[t](vbscript:msgbox(1))",
    "[t](jav&#x09;ascript:alert(1))",
    "[t](java&#10;script&#x3a;alert(1))",
]

#: Links in HTML outputs with what a browser drops from a URL inside the scheme (an outside review's A4).
SCRIPT_HREFS = ["jav&#x09;ascript:alert(1)", "java\nscript:alert(1)", "ja&#10;vascript:alert(1)",
                "javascript&Tab;:alert(1)", " \tjavascript:alert(1)", "&#x6A;ava&#13;script:alert(1)"]


def _script_urls(page: str) -> list[str]:
    """Every attribute value of the page that a browser would follow as a script URL (it unescapes the
    value and drops tabs, newlines and other control characters from it)."""
    from html.parser import HTMLParser

    found = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for _, value in attrs:
                compact = "".join(c for c in (value or "") if c > " ").lower()
                if compact.startswith(("javascript:", "vbscript:")):
                    found.append(value)

    Links().feed(page)
    return found


@pytest.mark.parametrize("markdown", SCRIPT_LINKS)
def test_markdown_links_with_a_script_scheme_are_inert_once_rendered(markdown):
    html = _render(nbformat.v4.new_markdown_cell(clean_markdown(markdown)))
    assert "javascript:" not in html.lower() and "vbscript:" not in html.lower(), html
    assert _script_urls(html) == [], html


@pytest.mark.parametrize("href", SCRIPT_HREFS)
def test_html_links_with_blanks_inside_the_scheme_are_dropped(href):
    out = {"output_type": "display_data", "metadata": {},
           "data": {"text/html": f'<a href="{href}">see my plot</a> <b>fine</b>', "text/plain": "x"}}
    page = _render(nbformat.v4.new_code_cell("x", outputs=[nbformat.from_dict(clean_output(out))]))
    assert _script_urls(page) == [] and "see my plot" in page and "<b>fine</b>" in page


def test_a_markdown_output_loses_its_script_and_script_links():
    out = {"output_type": "display_data", "metadata": {},
           "data": {"text/markdown": "<script>alert(2)</script>[c](javascript:alert(3)) *fine*",
                    "text/plain": "x"}}
    html = _render(nbformat.v4.new_code_cell("x", outputs=[nbformat.from_dict(clean_output(out))]))
    assert "alert(2)" not in html and "javascript:" not in html.lower()
    assert "fine" in html


def test_image_metadata_cannot_carry_an_event_handler_into_the_page():
    out = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="},
           "metadata": {"image/png": {"height": "1 onerror=alert(4)", "width": 40}}}
    cleaned = clean_output(out)
    assert cleaned["metadata"] == {"image/png": {"width": 40}}
    html = _render(nbformat.v4.new_code_cell("x", outputs=[nbformat.from_dict(cleaned)]))
    assert "onerror" not in html and 'width="40"' in html


def test_honest_markdown_and_image_sizes_are_kept():
    honest = "See [the notes](https://example.org/notes) and <b>v3 = sin(v0)</b>; a < b."
    assert clean_markdown(honest) == honest
    out = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="},
           "metadata": {"image/png": {"width": 320, "height": 240}}}
    assert clean_output(out)["metadata"] == out["metadata"]


def _render(cell) -> str:
    nb = nbformat.v4.new_notebook(cells=[cell])
    body, _ = HTMLExporter().from_notebook_node(nb)
    start = body.index("<body")  # the exporter's own page scripts are not the student's
    return body[start:]


def test_widget_views_and_widget_state_do_not_reach_the_graded_notebook():
    from autodiff_course.grading.notebooks import graded_notebook

    state = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
        "m1": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2",
               "state": {"value": "<img src=x onerror=alert(5)>"}}}}}
    cell = nbformat.v4.new_code_cell("w")
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": state})
    view = {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2,
                                                                   "version_minor": 0},
                     "text/html": "<p>the stepper's own HTML</p>"}}
    graded = graded_notebook(nb, {"cells": [{"index": 0, "outputs": [view]}]}, [])
    assert "widgets" not in graded.metadata
    assert list(graded.cells[0].outputs[0]["data"]) == ["text/html"]


def test_a_folder_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text():
    from autodiff_course.grading.store import spreadsheet_row

    row = ['=HYPERLINK("evil.example","x")', "+1+1", "@SUM(A1)", "ada", "-0.5", "-1e-3", "3", -2.0]
    assert spreadsheet_row(row) == ["'=HYPERLINK(\"evil.example\",\"x\")", "'+1+1", "'@SUM(A1)", "ada", "-0.5",
                                    "-1e-3", "3", -2.0]


def _png() -> str:
    """A real 1x1 PNG, as Jupyter stores a pasted image (base64 text)."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def _graded_page(cells) -> str:
    """The graded notebook of `cells`, through nbconvert's HTML exporter (formgrader's view of it)."""
    from autodiff_course.grading.notebooks import graded_notebook

    graded = graded_notebook(nbformat.v4.new_notebook(cells=cells), None, [])
    nbformat.validate(graded)
    body, _ = HTMLExporter().from_notebook_node(graded)
    return body[body.index("<body"):]


def test_graded_notebook_with_attachments_renders_in_nbconvert_and_keeps_only_raster_images():
    import base64

    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(7)</script></svg>').decode()
    png = _png()
    md = nbformat.v4.new_markdown_cell
    cells = [
        md("![mine](attachment:plot.png)", attachments={"plot.png": {"image/png": png}}),
        md("![a](attachment:x.svg) and ![h](attachment:page.html)",
           attachments={"x.svg": {"image/svg+xml": svg}, "page.html": {"text/html": "PHNjcmlwdD4="}}),
        md("![both](attachment:both)", attachments={"both": {"image/svg+xml": svg, "image/png": png}}),
        md("![never attached](attachment:ghost.png)"),
        md("![encoded](attachment&#58;x.svg) ![escaped](attachment\\:x.svg) ![paren](attachment:plot.png(1))",
           attachments={"plot.png": {"image/png": png}}),
        md('![quote](attachment:q.png)', attachments={"q.png": {"image/png": 'AAAA" onerror="alert(8)'}}),
    ]
    page = _graded_page(cells)  # before: nbconvert raised "missing attachment: x.svg"
    assert page.count(f"data:image/png;base64,{png}") == 2  # the student's own picture and the PNG of "both"
    assert "image/svg+xml" not in page and "alert(" not in page and "<script>alert" not in page
    assert "removed-attachment:x.svg" in page and "removed-attachment:ghost.png" in page


@settings(max_examples=40, deadline=None)
@given(name=st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=12),
       spelling=st.sampled_from(["attachment:", "attachment&#58;", "attachment&#x3A;", "attachment&colon;",
                                 "attachment\\:", "ATTACHMENT:", "<attachment:"]),
       attached=st.booleans())
def test_no_attachment_reference_stops_nbconvert(name, spelling, attached):
    ref = f"![x]({spelling}{name}{'>' if spelling.startswith('<') else ''})"
    attachments = {name: {"image/png": _png()}} if attached else {}
    _graded_page([nbformat.v4.new_markdown_cell(ref, attachments=attachments)])
