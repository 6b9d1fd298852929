"""The report's charts: well-formed SVG whose bars stand for the numbers given."""
import xml.etree.ElementTree as ET

from autograders import svg_charts

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg):
    root = ET.fromstring(svg)
    return [(r.find(f"{SVG}title").text, float(r.get("width")), float(r.get("height")))
            for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


def test_a_histogram_counts_each_value_once_in_its_bin():
    svg = svg_charts.histogram([0, 0.5, 3, 9.9, 10, 10], 5, 0, 10, "scores", "score",
                               "students")
    bars = _bars(svg)
    assert [t.rsplit(": ", 1)[1] for t, _, _ in bars] == ["2", "1", "0", "0", "3"]
    heights = [h for _, _, h in bars]
    assert heights[4] == 3 * heights[1] and heights[0] == 2 * heights[1] and heights[2] == 0


def test_columns_are_labelled_and_escaped():
    svg = svg_charts.columns(["ok", "<timeout>"], [5, 1], "statuses", "students")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "statuses" in texts and "<timeout>" in texts and "ok" in texts
    (_, _, ok), (_, _, timeout) = _bars(svg)
    assert ok == 5 * timeout


def test_stacked_rows_fill_the_width_of_their_fractions():
    svg = svg_charts.rows(["ex1", "ex2"], [("full", [1.0, 0.25], "green"),
                                           ("zero", [0.0, 0.75], "red")],
                          "per exercise", "fraction")
    bars = {t: w for t, w, _ in _bars(svg)}
    assert bars["ex1: full 100%"] == bars["ex2: full 25%"] + bars["ex2: zero 75%"]
    assert bars["ex1: zero 0%"] == 0
    assert "full" in [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]  # legend


def test_chinese_labels_stay_text():
    svg = svg_charts.columns(["正常"], [3], "状态", "学生")
    assert "正常" in svg and "状态" in svg
