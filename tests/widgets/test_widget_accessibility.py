"""What the stepper gives a reader who does not see the drawing: each step in words (the live region's text),
the graph as a table, marks said in words and shown by outline as well as by colour.

Numbers are the closed-form values of the seed function; the stepper prints 6 significant digits.
"""

import math
import re
from html.parser import HTMLParser

import pytest
from seed_functions import SEED_POINT

from autodiff_course.widgets import GraphStepper
from autodiff_course.widgets.speech import spoken
from autodiff_course.widgets.svg import graph_to_svg

X0, X1, X2 = SEED_POINT
SHOWN = 5e-6


def _now(sentence: str) -> float:
    return float(re.search(r"now (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)", sentence).group(1))


@pytest.mark.parametrize(
    ("formula", "words"),
    [
        ("-sin(v0)", "minus sin of v0"),
        ("-v1/v2^2", "minus v1 over v2 squared"),
        ("1/(2*sqrt(v0))", "1 over (2 times sqrt of v0)"),
        ("-(v1/v2^2)*dv2", "minus (v1 over v2 squared) times dv2"),
        ("1 + tan(v0)^2", "1 plus tan of v0 squared"),
        ("v3 * v0^(v3 - 1)", "v3 times v0 to the power (v3 minus 1)"),
        ("2.4 * (-0.973848)", "2.4 times minus 0.973848"),
        ("dv6 + dv7", "dv6 plus dv7"),
        ("1 if v0 > 0 else 0", "1 if v0 greater than 0 else 0"),
    ],
)
def test_formulas_are_said_in_words(formula, words):
    assert spoken(formula) == words


def test_every_primitives_derivative_text_is_said_without_symbols():
    from autodiff_course.engine.primitives import PRIMITIVES

    said = 0
    for prim in PRIMITIVES.values():
        for k in range(len(prim.partial_text)):
            names = ["v0", "v1"][: max(k + 1, 2)]
            words = spoken(prim.partial_words(k, names, "v9"))
            # Every symbol a screen reader would read as punctuation (or skip) is a word now.
            assert not set(words) & set("*/^+"), (prim.name, words)
            assert not re.search(r"(^|\s)-", words), (prim.name, words)
            said += 1
    assert said > 20


def test_a_reverse_step_is_said_as_the_course_says_it(seed_graph):
    w = GraphStepper(seed_graph, mode="reverse")
    first_into_v0 = next(s for s in w.steps if s["title"].startswith("Reverse pass: edge v0 \u2192 v4"))
    sentence = first_into_v0["speech"]
    assert sentence.startswith(
        "vbar0 gets vbar4 times the derivative of v4 with respect to v0, minus sin of v0: now "
    )
    assert _now(sentence) == pytest.approx(-X1 * math.sin(X0), rel=SHOWN)
    assert sentence.endswith("Path 1 of 2.")
    last = w.steps[-1]["speech"]
    assert _now(last) == pytest.approx(math.cos(X0) - X1 * math.sin(X0), rel=SHOWN)
    assert last.endswith("vbar0 is complete, all 2 paths summed.")


def test_every_step_has_a_sentence_free_of_formula_symbols(seed_graph, worked_graph):
    for graph in (seed_graph, worked_graph):
        for mode in ("forward", "reverse"):
            for step in GraphStepper(graph, mode=mode).steps:
                assert step["speech"].strip(), step["title"]
                assert not set(step["speech"]) & set("*/^"), step["speech"]


def test_a_forward_step_says_value_and_tangent(seed_graph):
    w = GraphStepper(seed_graph, mode="forward")
    v4 = next(s for s in w.steps if s["title"].startswith("Forward mode: compute v4 "))["speech"]
    assert v4.startswith("v4 is cos of v0: now ")
    assert "Its tangent dv4 is dv0 times (minus sin of v0): now " in v4
    value, tangent = (float(x) for x in re.findall(r"now (-?\d+(?:\.\d+)?)", v4))
    assert value == pytest.approx(math.cos(X0), rel=SHOWN)
    assert tangent == pytest.approx(-math.sin(X0), rel=SHOWN)


def test_the_compare_view_says_which_value_is_the_culprit(seed_graph):
    received = {"vbar4": 1.0, "vbar0": 0.3, "vbar3": 1.0}
    w = GraphStepper(seed_graph, mode="reverse", compare={"culprit": "vbar4", "received": received})
    said = {s["check"]["name"]: s["speech"] for s in w.steps if s["check"] is not None}
    assert said["vbar4"].endswith(
        "Your vbar4 is 1, expected 2.4: differs. Your vbar4 is the culprit, the first wrong value: start here."
    )
    assert said["vbar0"].endswith(": differs. Your vbar0 is marked wrong.")
    assert said["vbar3"].endswith("Your vbar3 is 1, expected 1: matches.")


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_the_graph_as_a_table_lists_nodes_inputs_values_and_marks(seed_graph):
    w = GraphStepper(
        seed_graph, mode="reverse", compare={"culprit": "vbar4", "received": {"vbar4": 1.0, "vbar0": 0.3}}
    )
    parser = _Table()
    parser.feed(w.table)
    header, *rows = parser.rows
    assert header == ["node", "computes", "reads", "value", "adjoint", "check"]
    by_node = {r[0]: r for r in rows}
    assert len(rows) == 9
    assert by_node["v5"][1:3] == ["v1 * v4", "v1, v4"]
    assert by_node["v0 (x0)"][1:3] == ["input", "nothing"]
    # Before any step nothing is computed; the live cells are filled by the browser as it steps.
    assert by_node["v5"][3:5] == ["not yet", "not yet"]
    assert by_node["v4"][5].startswith("culprit")
    assert by_node["v0 (x0)"][5] == "wrong"
    assert by_node["v3"][5] == ""
    assert w.table in w.to_html()  # readers of exported HTML without JavaScript get it too


def test_wrong_and_culprit_are_written_on_the_nodes_and_outlined_not_only_coloured(seed_graph):
    svg = graph_to_svg(seed_graph, marks={"v4": "culprit", "v0": "wrong"})
    v4 = svg[svg.index('data-name="v4"'):].split('data-name="v5"')[0]
    v0 = svg[svg.index('data-name="v0"'):].split('data-name="v1"')[0]
    assert ">culprit</text>" in v4 and ">wrong</text>" in v0
    assert 'stroke-dasharray="5 3"' in v0 and "stroke-dasharray" not in v4


def _luminance(hex_colour: str) -> float:
    """Relative luminance, as WCAG 2.x defines it."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_text_colour_on_every_node_fill_meets_wcag_aa(seed_graph):
    """Each node's text (name, operation, value, derivative) on each fill a node can have, in the static SVG
    and under the stepper's CSS: at least 4.5:1 (WCAG 2.x AA for text under 18 px)."""
    from pathlib import Path

    import autodiff_course.widgets as widgets

    svg = graph_to_svg(seed_graph, marks={"v4": "culprit", "v0": "wrong", "v3": "ok"})
    css = (Path(widgets.__file__).parent / "stepper.css").read_text()
    texts = set(re.findall(r'<text class="adc-(?:name|opl|val|der)"[^>]*fill="(#[0-9a-f]{6})"', svg))
    fills = set(re.findall(r'<rect class="adc-box"[^>]*fill="(#[0-9a-f]{6})"', svg))
    fills |= set(re.findall(r"\.adc-box \{ fill: (#[0-9a-f]{6})", css))
    assert len(texts) >= 3 and len(fills) >= 6, (texts, fills)
    low = [(t, f, round(_contrast(t, f), 2)) for t in texts for f in fills if _contrast(t, f) < 4.5]
    assert not low, low
    # The badges: white words on the mark colour.
    for badge in re.findall(r'<g class="adc-badge[^"]*"><rect[^>]*fill="(#[0-9a-f]{6})"', svg):
        assert _contrast("#ffffff", badge) >= 4.5, badge
