"""The trend chart: episodes per watched night against age, the fitted model and its band, reference marks, and
each treatment's period as a shaded, labelled band.

Built with matplotlib's object API on an Agg canvas (no pyplot), so it is safe in a threaded web server. Every word
and tick number is in the current locale (issue 22): the words are messages of the catalogs, the ticks go through
Babel, so a chart is drawn in the language of whoever asks for it. numpy and matplotlib are imported when a chart
or its description is first made: the words here (verdict labels, axis titles) serve pages and emails that draw
nothing (issue 23).
"""
from __future__ import annotations

from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import ngettext

from backend.i18n import decimal_text, language_tag, lazy_gettext, number
from backend.trends import formatting
from backend.trends import thresholds as t
from backend.trends.engine import axis_age

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

EMPTY_MESSAGE = lazy_gettext("No watched nights yet")
SIZE_INCHES, DPI = (6, 3.4), 100
FONT_SIZE, TITLE_SIZE = 9, 11
HEADROOM = 1.4  # the reference labels sit above the highest point and the fitted line
DATA_COLOUR, MODEL_COLOUR, REFERENCE_COLOUR = "#0072B2", "#D55E00", "#444444"  # Okabe-Ito, colour-blind safe
TREATMENT_COLOUR, TREATMENT_ALPHA = "#009E73", 0.12  # Okabe-Ito bluish green, faint: the data stays on top
TREATMENT_TEXT_COLOUR = "#00664F"  # the same green, dark enough to read on the band (contrast above 4.5:1)
TREATMENT_LABEL_ROWS = 4  # labels of overlapping periods stack in this many rows, then start again


VERDICT_LABELS = {  # a verdict in a few words, lower case: it follows "Verdict:" and a child's name
    # Translators: a verdict on the jerks' trend: they have stopped
    "resolved": lazy_gettext("resolved"),
    # Translators: a verdict on the jerks' trend: they are becoming less frequent
    "resolving": lazy_gettext("resolving"),
    # Translators: a verdict on the jerks' trend: about as frequent as before
    "stable": lazy_gettext("stable"),
    # Translators: a verdict on the jerks' trend: becoming more frequent
    "worsening": lazy_gettext("worsening"),
    # Translators: a verdict on the jerks' trend: too few watched nights to tell
    "insufficient_data": lazy_gettext("insufficient data"),
}
AXIS_WORDS = {
    # Translators: the age axis counts age from birth, as in "Age in weeks (chronological)"
    "chronological": lazy_gettext("chronological"),
    # Translators: the age axis counts age from the due date (a child born early), "Age in weeks (corrected)"
    "corrected": lazy_gettext("corrected"),
}
AXIS_TITLES = {"chronological": lazy_gettext("Age in weeks (chronological)"),
               "corrected": lazy_gettext("Age in weeks (corrected)")}
Y_AXIS_TITLE = lazy_gettext("Episodes per watched night")
WEEKLY_LEGEND = lazy_gettext("Episodes per watched night (week)")


def verdict_label(code: str) -> str:
    """The verdict in a few words of the current locale ("insufficient_data" -> "insufficient data")."""
    return str(VERDICT_LABELS[code]) if code in VERDICT_LABELS else code.replace("_", " ")


def axis_title(axis: str) -> str:
    """'Age in weeks (corrected)': the x axis's title in the current locale."""
    return str(AXIS_TITLES[axis])


def sparse_legend() -> str:
    """'Fewer than 3 watched nights': the legend of the hollow markers."""
    count = t.MIN_WATCHED_NIGHTS_PER_WEEK
    return ngettext("Fewer than %(num)s watched night", "Fewer than %(num)s watched nights", count)


@cache
def _locale_numbers() -> type:
    """matplotlib, set up on first use, and LocaleNumbers: its tick labels in the current locale's numbers (0,5 in
    German), every tick with the decimals the step needs."""
    import matplotlib
    from matplotlib.ticker import Formatter

    # Fixed ids and real <text> elements: the same report gives the same SVG bytes, and its words stay readable.
    matplotlib.rcParams.update({"svg.hashsalt": "myodiary-trend-chart", "svg.fonttype": "none"})

    class LocaleNumbers(Formatter):
        def set_locs(self, locs) -> None:
            super().set_locs(locs)
            self.pattern = tick_pattern(locs)

        def __call__(self, value, pos=None) -> str:
            return decimal_text(0 if abs(value) < 1e-12 else value, getattr(self, "pattern", None))

    return LocaleNumbers


def __getattr__(name: str):
    if name == "LocaleNumbers":  # `from backend.trends.charts import LocaleNumbers` loads matplotlib then
        return _locale_numbers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tick_pattern(ticks) -> str:
    """'#,##0.0' when the ticks need one decimal: the fewest decimals that write every tick exactly."""
    decimals = next((d for d in range(4) if all(abs(tick * 10 ** d - round(tick * 10 ** d)) < 1e-6
                                                for tick in ticks)), 4)
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def weekly_points(report) -> tuple[np.ndarray, np.ndarray]:
    """Age on the report's axis and episodes per watched night, week by week; NaN where nobody watched."""
    import numpy as np

    ages = np.array([axis_age(week, report.axis) for week in report.weekly], dtype=float)
    rates = np.array([np.nan if week.episodes_per_night is None else week.episodes_per_night
                      for week in report.weekly], dtype=float)
    return ages, rates


def sparse_weeks(report) -> np.ndarray:
    """Weeks watched on too few nights to count as observed (drawn as hollow markers)."""
    import numpy as np

    return np.array([0 < week.watched_nights < t.MIN_WATCHED_NIGHTS_PER_WEEK for week in report.weekly], dtype=bool)


def chart_title(report) -> str:
    """'Mila: resolving': the child's name and the verdict, in the current locale."""
    # Translators: a chart's title: the child's name, then the verdict in a few words ("Mila: resolving")
    return _("%(child)s: %(verdict)s", child=report.child.name, verdict=verdict_label(report.verdict.code))


def chart_alt_text(report) -> str:
    """A sentence describing the chart, and one naming the treatment periods, for an email's alt attribute."""
    import numpy as np

    ages, rates = weekly_points(report)
    shown = ages[~np.isnan(rates)] - 0.5
    if not shown.size:
        return _("Trend chart for %(child)s: no watched nights yet.", child=report.child.name)
    words = {"child": report.child.name, "first": number(round(float(shown.min()))),
             "last": number(round(float(shown.max()))), "axis": AXIS_WORDS[report.axis],
             "verdict": verdict_label(report.verdict.code)}
    if report.model is None:
        sentence = ngettext(
            "Trend chart of %(child)s's episodes per watched night in %(num)s watched week, age %(first)s to "
            "%(last)s weeks (%(axis)s): %(verdict)s, no trend line fitted.",
            "Trend chart of %(child)s's episodes per watched night in %(num)s watched weeks, age %(first)s to "
            "%(last)s weeks (%(axis)s): %(verdict)s, no trend line fitted.", int(shown.size), **words)
    else:
        sentence = ngettext(
            "Trend chart of %(child)s's episodes per watched night in %(num)s watched week, age %(first)s to "
            "%(last)s weeks (%(axis)s): %(verdict)s, %(rate_ratio_name)s %(rate_ratio)s.",
            "Trend chart of %(child)s's episodes per watched night in %(num)s watched weeks, age %(first)s to "
            "%(last)s weeks (%(axis)s): %(verdict)s, %(rate_ratio_name)s %(rate_ratio)s.", int(shown.size),
            rate_ratio_name=formatting.RATE_RATIO, rate_ratio=formatting.rate_ratio(report.model), **words)
    return sentence + _treatment_words(report)


def _treatment_words(report) -> str:
    if not report.treatments:
        return ""
    periods = [_period(treatment) for treatment in report.treatments]
    # Translators: %(periods)s lists treatments with their weeks, separated by semicolons
    return " " + _("Shaded treatment periods: %(periods)s.", periods="; ".join(periods))


def _period(treatment) -> str:
    start = number(treatment.started_age_weeks, "0.0")
    if treatment.stopped_age_weeks is None:
        return _("%(treatment)s from week %(start)s, ongoing", treatment=one_line(treatment.name), start=start)
    return _("%(treatment)s from week %(start)s to %(end)s", treatment=one_line(treatment.name), start=start,
             end=number(treatment.stopped_age_weeks, "0.0"))


def one_line(words: str) -> str:
    return " ".join(words.split())


def treatment_spans(report) -> list[tuple[object, float, float]]:
    """Each treatment with its start and end on the report's age axis (an ongoing one ends now)."""
    now = report.corrected_age_weeks_now if report.axis == "corrected" and report.corrected_age_weeks_now is not None \
        else report.age_weeks_now
    return [(treatment, treatment.started_age_weeks,
             now if treatment.stopped_age_weeks is None else treatment.stopped_age_weeks)
            for treatment in report.treatments]


def chart_svg(report) -> bytes:
    """The chart as SVG with a <title> and <desc>; the same report gives the same bytes."""
    title, description = chart_title(report), chart_alt_text(report)
    svg = _render(report, "svg", metadata={"Date": None, "Description": description, "Language": language_tag()})
    return _with_accessible_name(svg, title, description)


def chart_png(report, dpi: int = DPI) -> bytes:
    """The chart as PNG, 600x340 px at the default dpi (email width)."""
    return _render(report, "png", dpi=dpi, metadata={"Title": chart_title(report),
                                                     "Description": chart_alt_text(report)})


def _render(report, image_format: str, **options) -> bytes:
    figure = _figure(report)
    buffer = BytesIO()
    try:
        figure.savefig(buffer, format=image_format, **options)
    finally:
        figure.clear()
    return buffer.getvalue()


def _with_accessible_name(svg: bytes, title: str, description: str) -> bytes:
    start = svg.index(b"<svg")
    end = svg.index(b">", start)
    labels = f"<title>{escape(title)}</title><desc>{escape(description)}</desc>".encode()
    return svg[:end] + f' role="img" xml:lang="{language_tag()}">'.encode() + labels + svg[end + 1:]


MARGINS = {"left": 0.1, "right": 0.97, "top": 0.91, "bottom": 0.3}


def _figure(report) -> Figure:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    locale_numbers = _locale_numbers()
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    figure.subplots_adjust(**MARGINS)  # fixed margins: a constrained layout doubled the rendering time
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    ages, rates = weekly_points(report)
    if np.isnan(rates).all():
        _draw_empty(axes)
    else:
        _draw_data(axes, report, ages, rates)
    _label(axes, report, locale_numbers)
    return figure


def _draw_empty(axes) -> None:
    axes.text(0.5, 0.5, str(EMPTY_MESSAGE), transform=axes.transAxes, ha="center", va="center",
              fontsize=TITLE_SIZE, color=REFERENCE_COLOUR, gid="empty-state")
    axes.set_xticks([])
    axes.set_yticks([])


def _draw_data(axes, report, ages: np.ndarray, rates: np.ndarray) -> None:
    _draw_weeks(axes, report, ages, rates)
    if report.model is not None:
        _draw_model(axes, report.model)
    _set_limits(axes, report, ages, rates)
    _draw_treatments(axes, report)
    _draw_references(axes, report)
    axes.figure.legend(loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=FONT_SIZE, frameon=False)


def _draw_model(axes, model) -> None:
    ages = [point.age_weeks for point in model.curve]
    axes.fill_between(ages, [point.low for point in model.curve], [point.high for point in model.curve],
                      color=MODEL_COLOUR, alpha=0.18, linewidth=0, label=str(formatting.CONFIDENCE_BAND),
                      gid="model-band")
    axes.plot(ages, [point.rate for point in model.curve], color=MODEL_COLOUR, linestyle="--", linewidth=1.8,
              label=str(formatting.fitted_trend(model)), gid="model-line")


def _draw_weeks(axes, report, ages: np.ndarray, rates: np.ndarray) -> None:
    axes.plot(ages, rates, color=DATA_COLOUR, linewidth=1, marker="o", markersize=5, zorder=3, clip_on=False,
              label=str(WEEKLY_LEGEND), gid="weekly")
    sparse = sparse_weeks(report)
    if sparse.any():
        axes.plot(ages[sparse], rates[sparse], linestyle="none", marker="o", markersize=5, zorder=4, clip_on=False,
                  markerfacecolor="white", markeredgecolor=DATA_COLOUR, gid="weekly-sparse",
                  label=sparse_legend())


def _set_limits(axes, report, ages: np.ndarray, rates: np.ndarray) -> None:
    import numpy as np

    top = float(np.nanmax(rates))
    if report.model is not None:
        top = max(top, *(point.rate for point in report.model.curve))
    axes.set_ylim(0, top * HEADROOM if top > 0 else 1)
    axes.set_xlim(ages.min() - 0.75, ages.max() + 0.75)


def _draw_treatments(axes, report) -> None:
    """Each treatment's period as a faint band from start to stop (or now), its name at the band's foot."""
    low, high = axes.get_xlim()
    shown = [(treatment, start, end) for treatment, start, end in treatment_spans(report)
             if start <= high and end >= low]
    for row, (treatment, start, end) in enumerate(shown):
        axes.axvspan(max(start, low), min(end, high), color=TREATMENT_COLOUR, alpha=TREATMENT_ALPHA, linewidth=0,
                     zorder=0, gid=f"treatment-{treatment.id}")
        axes.annotate(one_line(treatment.name).replace("$", r"\$"), xy=(max(start, low), 0),
                      xycoords=("data", "axes fraction"), xytext=(3, 3 + 12 * (row % TREATMENT_LABEL_ROWS)),
                      textcoords="offset points", ha="left", va="bottom", fontsize=FONT_SIZE - 1,
                      color=TREATMENT_TEXT_COLOUR, gid=f"treatment-label-{treatment.id}")


def _draw_references(axes, report) -> None:
    low, high = axes.get_xlim()
    shown = [point for point in report.reference_points if point.applies and low <= point.age_weeks_on_axis <= high]
    for row, point in enumerate(shown):
        _draw_reference(axes, point, row)


def _draw_reference(axes, point, row: int) -> None:
    axes.axvline(point.age_weeks_on_axis, color=REFERENCE_COLOUR, linestyle=":", linewidth=1.4,
                 gid=f"reference-{point.corrected_age_weeks}")
    axes.annotate(str(formatting.reference_mark(point)),
                  xy=(point.age_weeks_on_axis, 1), xycoords=("data", "axes fraction"), xytext=(-4, -4 - 13 * row),
                  textcoords="offset points", ha="right", va="top", fontsize=FONT_SIZE, color=REFERENCE_COLOUR,
                  bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})


def _label(axes, report, locale_numbers: type) -> None:
    axes.set_title(chart_title(report).replace("$", r"\$"), fontsize=TITLE_SIZE, loc="left")
    axes.set_xlabel(axis_title(report.axis), fontsize=FONT_SIZE)
    axes.set_ylabel(str(Y_AXIS_TITLE), fontsize=FONT_SIZE)
    axes.xaxis.set_major_formatter(locale_numbers())
    axes.yaxis.set_major_formatter(locale_numbers())
    axes.tick_params(labelsize=FONT_SIZE)
    axes.grid(axis="y", alpha=0.3)
