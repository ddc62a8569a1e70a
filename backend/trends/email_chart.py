"""The trend chart for emails, drawn with Pillow: the same picture as `charts.chart_png`, in a few milliseconds.

A weekly reminder run renders one chart per child; matplotlib's layout machinery took 75-150 ms per chart,
most of a 10,000-reminder run. This draws the same elements (weekly rates, hollow sparse weeks, the fitted
line and its band, the 3- and 6-month reference marks, treatment periods, axes, legend) straight onto a canvas
at twice the size and scales it down, which gives smooth lines. The same report gives the same bytes in one
language; the words and numbers are drawn in the current locale's (issue 22), as `charts` writes them.
"""
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from backend.i18n import current_locale, decimal_text
from backend.trends import formatting
from backend.trends.charts import (
    DATA_COLOUR,
    EMPTY_MESSAGE,
    HEADROOM,
    MODEL_COLOUR,
    REFERENCE_COLOUR,
    TREATMENT_LABEL_ROWS,
    TREATMENT_TEXT_COLOUR,
    WEEKLY_LEGEND,
    Y_AXIS_TITLE,
    axis_title,
    chart_alt_text,
    chart_title,
    one_line,
    sparse_legend,
    sparse_weeks,
    tick_pattern,
    treatment_spans,
    weekly_points,
)

WIDTH, HEIGHT, SCALE = 600, 340, 2  # drawn at SCALE times the size, then reduced: antialiased lines
PALETTE_COLOURS = 64  # a palette PNG: a third of the bytes, and quicker to encode than RGB
PLOT = (62, 34, 584, 250)  # left, top, right, bottom of the plotting area, in final pixels
BAND_COLOUR = "#F7DCCB"  # MODEL_COLOUR at 18% over white: the band needs no alpha channel
TREATMENT_BAND_COLOUR = "#E0F3EE"  # charts.TREATMENT_COLOUR at charts.TREATMENT_ALPHA over white
TREATMENT_EDGE_COLOUR = "#A6DCCB"  # without alpha, overlapping periods show only by their edges
GRID_COLOUR, AXIS_COLOUR, TEXT_COLOUR = "#E4E4E4", "#333333", "#222222"
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size * SCALE)


def email_chart_png(report) -> bytes:
    """600x340 PNG of the report's chart in the current locale, with its title and description as PNG text."""
    canvas = Canvas()
    ages, rates = weekly_points(report)
    if np.isnan(rates).all():
        canvas.text((WIDTH / 2, (PLOT[1] + PLOT[3]) / 2), str(EMPTY_MESSAGE), font(12), REFERENCE_COLOUR,
                    anchor="mm")
    else:
        _draw_data(canvas, report, ages, rates)
    title = str(chart_title(report))
    canvas.text((PLOT[0], 10), title, font(12, bold=True), TEXT_COLOUR, anchor="la")
    return canvas.png(title, str(chart_alt_text(report)))


class Canvas:
    """A Pillow drawing in final-pixel coordinates, mapped to data by `scale_to`."""

    def __init__(self):
        self.image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), "white")
        self.draw = ImageDraw.Draw(self.image)
        self.x_range = self.y_range = (0.0, 1.0)

    def scale_to(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x_range, self.y_range = x_range, y_range

    def x(self, value: float) -> float:
        low, high = self.x_range
        return PLOT[0] + (value - low) / (high - low) * (PLOT[2] - PLOT[0])

    def y(self, value: float) -> float:
        low, high = self.y_range
        return PLOT[3] - (value - low) / (high - low) * (PLOT[3] - PLOT[1])

    def line(self, points, colour: str, width: float, dash: float | None = None) -> None:
        scaled = [(x * SCALE, y * SCALE) for x, y in points]
        if dash is None:
            self.draw.line(scaled, fill=colour, width=round(width * SCALE), joint="curve")
            return
        for start, end in _dashes(scaled, dash * SCALE):
            self.draw.line([start, end], fill=colour, width=round(width * SCALE))

    def polygon(self, points, colour: str) -> None:
        self.draw.polygon([(x * SCALE, y * SCALE) for x, y in points], fill=colour)

    def dot(self, centre, radius: float, colour: str, hollow: bool = False) -> None:
        x, y, r = centre[0] * SCALE, centre[1] * SCALE, radius * SCALE
        self.draw.ellipse((x - r, y - r, x + r, y + r), fill="white" if hollow else colour, outline=colour,
                          width=SCALE * 1)

    def text(self, at, words: str, typeface, colour: str, anchor: str) -> None:
        """One line of words: FreeType's layout fails on a line break, which a name stored long ago may hold."""
        mask, (left, top) = _text_mask(" ".join(words.split()), typeface, anchor)
        self.image.paste(colour, (round(at[0] * SCALE) + left, round(at[1] * SCALE) + top), mask)

    def vertical_text(self, at, words: str, typeface, colour: str) -> None:
        mask, _ = _text_mask(words, typeface, "la")
        mask = mask.rotate(90, expand=True)
        self.image.paste(colour, (round(at[0] * SCALE - mask.width / 2), round(at[1] * SCALE - mask.height / 2)),
                         mask)

    def png(self, title: str, description: str) -> bytes:
        info = PngInfo()
        info.add_text("Title", title)
        info.add_text("Description", description)
        buffer = BytesIO()
        small = self.image.reduce(SCALE).quantize(PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
        small.save(buffer, "PNG", pnginfo=info, compress_level=1)
        return buffer.getvalue()


@lru_cache(maxsize=4096)
def _text_mask(words: str, typeface, anchor: str) -> tuple[Image.Image, tuple[int, int]]:
    """The words' coverage mask and its offset from the anchor point. Tick labels, axis titles and legend
    words repeat from chart to chart: rendering each once (FreeType) and pasting it after is most of the
    speed of a chart."""
    left, top, right, bottom = typeface.getbbox(words, anchor=anchor)
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), words, font=typeface, fill=255, anchor=anchor)
    return mask, (left, top)


def _dashes(points, length: float):
    """Split a polyline into dash segments of `length`, with gaps of half that."""
    on, left = True, length
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        span = float(np.hypot(x1 - x0, y1 - y0))
        done = 0.0
        while done < span:
            step = min(left, span - done)
            a, b = done / span, (done + step) / span
            if on:
                yield (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)
            done += step
            left -= step
            if left <= 1e-9:
                on = not on
                left = length if on else length / 2


# ---- the picture -----------------------------------------------------------------------------------

def _draw_data(canvas: Canvas, report, ages: np.ndarray, rates: np.ndarray) -> None:
    top = float(np.nanmax(rates))
    if report.model is not None:
        top = max(top, *(point.rate for point in report.model.curve))
    canvas.scale_to((ages.min() - 0.75, ages.max() + 0.75), (0.0, top * HEADROOM if top > 0 else 1.0))
    _draw_treatments(canvas, report)
    _draw_axes(canvas, report)
    if report.model is not None:
        _draw_model(canvas, report.model)
    _draw_references(canvas, report)
    _draw_weeks(canvas, report, ages, rates)
    _draw_legend(canvas, report)


def _draw_treatments(canvas: Canvas, report) -> None:
    """Each treatment's period as a pale band under everything else, its name at the band's foot."""
    low, high = canvas.x_range
    shown = [(treatment, start, end) for treatment, start, end in treatment_spans(report)
             if start <= high and end >= low]
    for row, (treatment, start, end) in enumerate(shown):
        left, right = canvas.x(max(start, low)), canvas.x(min(end, high))
        canvas.polygon([(left, PLOT[1]), (right, PLOT[1]), (right, PLOT[3]), (left, PLOT[3])], TREATMENT_BAND_COLOUR)
        for x in (left, right):
            canvas.line([(x, PLOT[1]), (x, PLOT[3])], TREATMENT_EDGE_COLOUR, 1)
        canvas.text((left + 3, PLOT[3] - 3 - 13 * (row % TREATMENT_LABEL_ROWS)), one_line(treatment.name), font(8),
                    TREATMENT_TEXT_COLOUR, anchor="ld")


def _draw_axes(canvas: Canvas, report) -> None:
    left, top, right, bottom = PLOT
    for tick, label in _ticks(MaxNLocator(nbins=5), canvas.y_range):
        y = canvas.y(tick)
        canvas.line([(left, y), (right, y)], GRID_COLOUR, 1)
        canvas.text((left - 5, y), label, font(9), TEXT_COLOUR, anchor="rm")
    for tick, label in _ticks(MaxNLocator(nbins=8, integer=True), canvas.x_range):
        x = canvas.x(tick)
        canvas.line([(x, bottom), (x, bottom + 4)], AXIS_COLOUR, 1)
        canvas.text((x, bottom + 6), label, font(9), TEXT_COLOUR, anchor="ma")
    canvas.line([(left, top), (left, bottom), (right, bottom)], AXIS_COLOUR, 1)
    canvas.text(((left + right) / 2, bottom + 20), axis_title(report.axis), font(9), TEXT_COLOUR, anchor="ma")
    canvas.vertical_text((14, (top + bottom) / 2), str(Y_AXIS_TITLE), font(9), TEXT_COLOUR)


def _ticks(locator: MaxNLocator, limits: tuple[float, float]) -> list[tuple[float, str]]:
    """The ticks within limits with their labels in the current locale's numbers (0,5 in German)."""
    ticks = [float(tick) for tick in locator.tick_values(*limits) if limits[0] <= tick <= limits[1]]
    pattern, locale = tick_pattern(ticks), current_locale()
    return [(tick, decimal_text(0 if abs(tick) < 1e-12 else tick, pattern, locale)) for tick in ticks]


def _draw_model(canvas: Canvas, model) -> None:
    upper = [(canvas.x(p.age_weeks), canvas.y(min(p.high, canvas.y_range[1]))) for p in model.curve]
    lower = [(canvas.x(p.age_weeks), canvas.y(p.low)) for p in reversed(model.curve)]
    canvas.polygon(upper + lower, BAND_COLOUR)
    canvas.line([(canvas.x(p.age_weeks), canvas.y(p.rate)) for p in model.curve], MODEL_COLOUR, 1.8, dash=6)


def _draw_references(canvas: Canvas, report) -> None:
    low, high = canvas.x_range
    shown = [point for point in report.reference_points if point.applies and low <= point.age_weeks_on_axis <= high]
    for row, point in enumerate(shown):
        x = canvas.x(point.age_weeks_on_axis)
        canvas.line([(x, PLOT[1]), (x, PLOT[3])], REFERENCE_COLOUR, 1.4, dash=2)
        canvas.text((x - 4, PLOT[1] + 4 + 15 * row), str(formatting.reference_mark(point)),
                    font(9), REFERENCE_COLOUR, anchor="ra")


def _draw_weeks(canvas: Canvas, report, ages: np.ndarray, rates: np.ndarray) -> None:
    run: list[tuple[float, float]] = []
    for age, rate in zip(ages, rates, strict=True):
        if np.isnan(rate):
            _polyline(canvas, run)
            run = []
        else:
            run.append((canvas.x(age), canvas.y(rate)))
    _polyline(canvas, run)
    for age, rate, sparse in zip(ages, rates, sparse_weeks(report), strict=True):
        if not np.isnan(rate):
            canvas.dot((canvas.x(age), canvas.y(rate)), 3.5, DATA_COLOUR, hollow=bool(sparse))


def _polyline(canvas: Canvas, points) -> None:
    if len(points) > 1:
        canvas.line(points, DATA_COLOUR, 1)


def _draw_legend(canvas: Canvas, report) -> None:
    entries = [("dot", DATA_COLOUR, str(WEEKLY_LEGEND))]
    if sparse_weeks(report).any():
        entries.append(("hollow", DATA_COLOUR, sparse_legend()))
    if report.model is not None:
        entries.append(("dash", MODEL_COLOUR, str(formatting.fitted_trend(report.model))))
        entries.append(("band", BAND_COLOUR, str(formatting.CONFIDENCE_BAND)))
    for index, (symbol, colour, words) in enumerate(entries):
        x, y = (70 if index % 2 == 0 else 330), 292 + 18 * (index // 2)
        _legend_symbol(canvas, symbol, colour, x, y)
        canvas.text((x + 26, y), words, font(9), TEXT_COLOUR, anchor="lm")


def _legend_symbol(canvas: Canvas, symbol: str, colour: str, x: float, y: float) -> None:
    if symbol == "band":
        canvas.polygon([(x, y - 5), (x + 20, y - 5), (x + 20, y + 5), (x, y + 5)], colour)
    elif symbol == "dash":
        canvas.line([(x, y), (x + 20, y)], colour, 1.8, dash=6)
    else:
        canvas.line([(x, y), (x + 20, y)], colour, 1)
        canvas.dot((x + 10, y), 3.5, colour, hollow=symbol == "hollow")
