"""Server-drawn SVG charts: readable without the picture, escaped, and honest about gaps."""

import pytest

from cpor.charts import Series, line_chart, nice_ceiling


@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.3, 0.5), (7, 10), (12, 20), (101, 200), (4999, 5000)])
def test_the_axis_tops_at_a_round_number_at_or_above_the_largest_value(value, top):
    assert nice_ceiling(value) == top


def chart(*series, labels=("2026-01", "2026-02", "2026-03")):
    return line_chart(chart_id="c", title="Users", description="Three months", labels=labels, series=series)


def test_a_chart_names_itself_for_screen_readers():
    svg = chart(Series("Active users", [1, 2, 3]))
    assert 'role="img"' in svg and 'aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">Users</title>' in svg and '<desc id="c-desc">Three months</desc>' in svg
    assert "<title>Active users, 2026-02: 2</title>" in svg


def test_each_line_has_its_own_dash_pattern_besides_its_colour():
    svg = chart(Series("Users", [1, 2, 3]), Series("Units", [3, 3, 3]))
    assert svg.count("<polyline") == 2
    assert svg.count('stroke-dasharray="6 4"') == 2  # the second line and its legend


def test_a_missing_figure_breaks_the_line_rather_than_dropping_to_zero():
    svg = chart(Series("Users", [5, None, 7]))
    assert svg.count("<circle") == 2
    assert "<polyline" not in svg  # two lone points, no line through the gap


def test_text_in_a_chart_is_escaped():
    svg = line_chart(
        chart_id='x"><script>',
        title="<b>Contoso</b>",
        description="&",
        labels=["<i>"],
        series=[Series("<s>", [1])],
    )
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg and "<s>" not in svg
    assert "&lt;b&gt;Contoso&lt;/b&gt;" in svg


def test_an_empty_chart_still_draws_its_axes():
    svg = chart(Series("Users", [None, None, None]))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<circle" not in svg
