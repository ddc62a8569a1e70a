"""The trend charts (SVG, PNG, the Pillow email PNG, alt text), the clinic-visit PDF, and a report read back from
its JSON, from reports built without a database."""
import json
import math
import random
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from babel.dates import format_date
from PIL import Image
from reportlab.platypus import KeepTogether, Paragraph, Table

from backend.diary.simulation import Course, resolving, simulate, stable
from backend.trends.charts import (
    DATA_COLOUR,
    MODEL_COLOUR,
    REFERENCE_COLOUR,
    chart_alt_text,
    chart_png,
    chart_svg,
    weekly_points,
)
from backend.trends.email_chart import PLOT, TREATMENT_BAND_COLOUR, Canvas, email_chart_png
from backend.trends.engine import axis_age
from backend.trends.exports.pdf import FOOTER, TABLE_WEEKS, recent_week_rows, report_pdf, report_story
from backend.trends.facts import ChildFacts, EpisodeFact, SleepFact, TreatmentFact
from backend.trends.loading import report_from_json
from backend.trends.report import build_report
from backend.trends.schemas import trends_schema
from backend.trends.treatments import treatments_from_json

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
UNWATCHED = (date(2026, 8, 31), date(2026, 9, 19))  # week 4 keeps two nights at most, weeks 5 and 6 none


def make_report(course: Course, nights: int = 100, first_night: date = date(2026, 8, 10), now: datetime = NOW,
                name: str = "Mila", gestational_weeks: float | None = 39.0, unwatched=None, treatments=()):
    child = ChildFacts("c1", name, date(2026, 8, 1), gestational_weeks, "Europe/Berlin", "bnsm",
                       treatments=tuple(treatments))
    rows = list(simulate(random.Random(1), "c1", "Europe/Berlin", first_night, nights, course))
    episodes = [EpisodeFact(v["id"], v["started_at"], v["duration_seconds"], v["sleep_state"],
                            v["stopped_when_woken"], ()) for table, v in rows if table == "episodes"]
    sleeps = [SleepFact(v["id"], v["started_at"], v["ended_at"], v["kind"],
                        v["watched"] and not (unwatched and unwatched[0] <= v["started_at"].date() < unwatched[1]))
              for table, v in rows if table == "sleep_sessions"]
    return build_report(child, episodes, sleeps, now)


@pytest.fixture(scope="module")
def resolving_report():
    return make_report(resolving(6, 3))


@pytest.fixture(scope="module")
def gappy_report():
    return make_report(stable(2), unwatched=UNWATCHED)


@pytest.fixture(scope="module")
def worsening_report():
    return make_report(Course(lambda week: 0.5 + 0.3 * week, sleep_state="awake"))


@pytest.fixture(scope="module")
def one_week_report():
    return make_report(stable(2), nights=5, first_night=date(2026, 8, 8), now=datetime(2026, 8, 14, tzinfo=UTC))


@pytest.fixture(scope="module")
def empty_report():
    return make_report(stable(2), nights=0)


def svg_tree(report) -> ET.Element:
    return ET.fromstring(chart_svg(report))


def svg_text(root: ET.Element) -> str:
    return " ".join(" ".join(element.itertext()) for element in root.iter(f"{SVG}text"))


def group(root: ET.Element, gid: str) -> ET.Element | None:
    return root.find(f".//{SVG}g[@id='{gid}']")


def marker_count(root: ET.Element, gid: str) -> int:
    return sum(1 for use in group(root, gid).iter(f"{SVG}use") if use.get(XLINK_HREF, "").startswith("#m"))


def png_size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def medium_day(value) -> str:
    """A table's date in English: '26 Sept 2026'."""
    return format_date(value, "medium", locale="en_GB")


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page(?!s)", pdf))


def story_texts(flowables) -> list[str]:
    texts = []
    for flowable in flowables:
        if isinstance(flowable, Paragraph):
            texts.append(flowable.getPlainText())
        elif isinstance(flowable, Table):
            texts.extend(story_texts(cell for row in flowable._cellvalues for cell in row))
        elif isinstance(flowable, KeepTogether):
            texts.extend(story_texts(flowable._content))
        elif isinstance(flowable, str):
            texts.append(flowable)
    return texts


def tables(flowables) -> list[Table]:
    found = []
    for flowable in flowables:
        if isinstance(flowable, Table):
            found.append(flowable)
        elif isinstance(flowable, KeepTogether):
            found.extend(tables(flowable._content))
    return found


def test_weekly_points_leave_unwatched_weeks_as_gaps_not_zeros(gappy_report):
    ages, rates = weekly_points(gappy_report)
    missing = [week.watched_nights == 0 for week in gappy_report.weekly]
    assert sum(missing) >= 2 and not all(missing)
    assert ages.tolist() == [axis_age(week, "chronological") for week in gappy_report.weekly]
    assert np.isnan(rates[missing]).all()
    watched = [week.episodes_per_night for week in gappy_report.weekly if week.watched_nights]
    assert rates[~np.array(missing)].tolist() == watched


def test_weekly_points_use_the_corrected_axis_for_a_preterm_child():
    report = make_report(resolving(4, 5), gestational_weeks=31.0)
    ages, _ = weekly_points(report)
    assert report.axis == "corrected"
    assert ages.tolist() == [week.corrected_age_weeks + 0.5 for week in report.weekly]
    assert "Age in weeks (corrected)" in svg_text(svg_tree(report))


def test_svg_names_the_child_and_the_verdict(resolving_report):
    root = svg_tree(resolving_report)
    assert [title.text for title in root.iter(f"{SVG}title")] == ["Mila: resolving"]
    assert "Mila: resolving" in svg_text(root)
    assert "Age in weeks (chronological)" in svg_text(root)
    assert "0.39" in root.find(f"{SVG}desc").text


def test_svg_draws_one_marker_per_watched_week(gappy_report):
    root = svg_tree(gappy_report)
    watched = sum(week.watched_nights > 0 for week in gappy_report.weekly)
    assert watched < len(gappy_report.weekly)
    assert marker_count(root, "weekly") == watched


def test_svg_marks_weeks_with_few_watched_nights_with_hollow_markers(gappy_report):
    root = svg_tree(gappy_report)
    sparse = sum(0 < week.watched_nights < 3 for week in gappy_report.weekly)
    assert sparse >= 1
    assert marker_count(root, "weekly-sparse") == sparse
    assert "Fewer than 3 watched nights" in svg_text(root)


def test_svg_draws_the_model_band_and_the_reference_marks_in_range(resolving_report):
    root = svg_tree(resolving_report)
    assert group(root, "model-line") is not None and group(root, "model-band") is not None
    assert "Fitted trend: x0.39 per 4 weeks" in svg_text(root)
    assert "95% confidence band" in svg_text(root)
    assert group(root, "reference-13") is not None
    assert "3 months: 64% of BNSM resolved" in svg_text(root)
    assert group(root, "reference-26") is None  # 6 months lies beyond the weeks shown


def test_reference_marks_are_left_out_when_they_do_not_apply():
    report = make_report(resolving(6, 3))
    report.reference_points = [replace(point, applies=False) for point in report.reference_points]
    root = svg_tree(report)
    assert group(root, "reference-13") is None
    assert "of BNSM resolved" not in svg_text(root)


def test_a_report_without_a_model_draws_points_only(one_week_report):
    assert one_week_report.model is None and one_week_report.weekly
    root = svg_tree(one_week_report)
    assert group(root, "model-line") is None
    assert marker_count(root, "weekly") == 1
    assert "no trend line fitted" in chart_alt_text(one_week_report)


def test_an_empty_report_says_no_watched_nights_yet(empty_report):
    assert empty_report.weekly == []
    root = svg_tree(empty_report)
    assert "No watched nights yet" in svg_text(root)
    assert group(root, "weekly") is None
    assert png_size(chart_png(empty_report)) == (600, 340)
    assert chart_alt_text(empty_report) == "Trend chart for Mila: no watched nights yet."


def test_png_is_email_sized(resolving_report):
    png = chart_png(resolving_report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(png) == (600, 340)
    assert len(png) < 150_000


def test_alt_text_gives_verdict_rate_ratio_and_weeks(resolving_report):
    text = chart_alt_text(resolving_report)
    model = resolving_report.model
    assert "resolving" in text and "15 watched weeks" in text
    assert f"rate ratio per 4 weeks {model.rate_ratio_per_4_weeks:.2f}" in text
    assert f"{model.ci_low:.2f}-{model.ci_high:.2f}" in text


def test_names_with_markup_and_dollar_signs_are_drawn_literally():
    report = make_report(stable(2), name="Zoë $1 & <Jo> $2")
    root = svg_tree(report)
    assert root.find(f"{SVG}title").text == "Zoë $1 & <Jo> $2: stable"
    assert "Zoë $1 & <Jo> $2: stable" in svg_text(root)


def test_charts_are_deterministic(resolving_report):
    assert chart_svg(resolving_report) == chart_svg(resolving_report)
    assert chart_png(resolving_report) == chart_png(resolving_report)


def test_pdf_has_one_or_two_pages_and_metadata(resolving_report, worsening_report, empty_report):
    for report in (resolving_report, worsening_report, empty_report):
        pdf = report_pdf(report)
        assert pdf.startswith(b"%PDF")
        assert 1 <= page_count(pdf) <= 2
        assert b"/Title (Myodiary report: Mila)" in pdf and b"/Author (Myodiary)" in pdf


def test_pdf_prints_the_footer_on_every_page(worsening_report):
    pdf = report_pdf(worsening_report, compress=False)
    assert pdf.count(f"({FOOTER}) Tj".encode()) == page_count(pdf)


def test_pdf_is_deterministic(worsening_report):
    assert report_pdf(worsening_report) == report_pdf(worsening_report)


def test_story_has_header_verdict_summary_and_no_red_flags(resolving_report):
    texts = story_texts(report_story(resolving_report))
    assert "Myodiary report: Mila" in texts
    assert "Verdict: resolving" in texts
    assert str(resolving_report.verdict.reasons[0]) in " ".join(texts)
    assert str(resolving_report.summary["clinician"]) in texts
    assert texts[texts.index("Red flags") + 1] == "No red flags"
    assert texts[texts.index("Born") + 1] == "1 August 2026, at 39 weeks of gestation"
    assert texts[texts.index("Age now") + 1] == "3 months"  # born at 39 weeks: no corrected age
    assert texts[texts.index("Generated") + 1] == "20 November 2026 at 01:00 (CET)"  # in the child's zone


def test_story_lists_red_flags_with_evidence_counts(worsening_report):
    flags = {flag.code: flag for flag in worsening_report.red_flags}
    assert {"awake_episodes", "worsening"} <= set(flags)
    flag_table = next(table for table in tables(report_story(worsening_report))
                      if story_texts(table._cellvalues[0]) == ["Flag", "What was seen", "Episodes", "Since"])
    rows = {story_texts(row[:1])[0]: row for row in flag_table._cellvalues[1:]}
    assert rows["Episodes while awake"][2] == str(len(flags["awake_episodes"].evidence))
    assert rows["Rising trend"][3] == medium_day(flags["worsening"].since.astimezone(ZoneInfo("Europe/Berlin")))
    assert "No red flags" not in story_texts(report_story(worsening_report))


def test_story_shows_corrected_age_for_a_preterm_child():
    report = make_report(resolving(4, 5), gestational_weeks=31.0)
    texts = story_texts(report_story(report))
    assert texts[texts.index("Age now") + 1] == "3 months, corrected 6 weeks"  # born 9 weeks early


def test_weeks_table_holds_the_last_eight_watched_weeks(gappy_report):
    rows = recent_week_rows(gappy_report)
    watched = [week for week in gappy_report.weekly if week.watched_nights > 0][-TABLE_WEEKS:]
    assert len(rows) == TABLE_WEEKS
    assert [row[0] for row in rows] == [medium_day(week.start) for week in watched]
    assert rows[-1][2:5] == [str(watched[-1].watched_nights), str(watched[-1].episodes),
                             f"{watched[-1].episodes_per_night:.2f}"]
    week_table = tables(report_story(gappy_report))[-1]
    assert week_table._cellvalues[1:] == rows


def test_weeks_table_skips_weeks_nobody_watched():
    report = make_report(stable(2), nights=50, now=datetime(2026, 9, 30, tzinfo=UTC), unwatched=UNWATCHED)
    rows = recent_week_rows(report)
    assert all(int(row[2]) > 0 for row in rows)
    assert len(rows) == sum(week.watched_nights > 0 for week in report.weekly) < len(report.weekly)
    assert all(not math.isnan(float(row[4])) for row in rows)


def test_empty_report_pdf_says_no_watched_nights_yet(empty_report):
    texts = story_texts(report_story(empty_report))
    assert "No watched nights yet" in texts and "No red flags" in texts


# ---- the email chart (Pillow) and reports read back from JSON -----------------------------------------


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)


def near(image: np.ndarray, colour: str, tolerance: int = 40) -> np.ndarray:
    """A mask of the pixels within `tolerance` of the colour on every channel."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(image - rgb) <= tolerance).all(axis=2)


def point_pixel(report, week: int) -> tuple[int, int]:
    """Where the chart draws a week's point, in image pixels (row, column)."""
    canvas = Canvas()
    ages, rates = weekly_points(report)
    top = max(float(np.nanmax(rates)), *(p.rate for p in report.model.curve))
    canvas.scale_to((ages.min() - 0.75, ages.max() + 0.75), (0.0, top * 1.4))
    return round(canvas.y(rates[week])), round(canvas.x(ages[week]))


def test_email_chart_is_a_600_by_340_png_with_title_and_description(resolving_report):
    png = email_chart_png(resolving_report)
    image = Image.open(BytesIO(png))
    assert image.format == "PNG" and image.size == (600, 340)
    assert image.text["Title"] == "Mila: resolving"
    assert image.text["Description"].startswith("Trend chart of Mila's episodes per watched night")
    assert len(png) < 100_000


def test_email_chart_draws_each_watched_week_where_its_rate_is(resolving_report):
    image = pixels(email_chart_png(resolving_report))
    for week, rate in enumerate(weekly_points(resolving_report)[1]):
        if not np.isnan(rate):
            row, column = point_pixel(resolving_report, week)
            assert near(image[row - 2:row + 3, column - 2:column + 3], DATA_COLOUR).any(), week


def test_email_chart_draws_the_fitted_line_and_band(resolving_report):
    plot = pixels(email_chart_png(resolving_report))[PLOT[1]:PLOT[3], PLOT[0]:PLOT[2]]
    assert near(plot, MODEL_COLOUR, 30).sum() > 200
    assert near(plot, "#F7DCCB", 6).sum() > 2_000


def test_email_chart_leaves_unwatched_weeks_empty(gappy_report):
    image = pixels(email_chart_png(gappy_report))
    rates = weekly_points(gappy_report)[1]
    gaps = [week for week, rate in enumerate(rates) if np.isnan(rate)]
    assert gaps
    canvas = Canvas()
    ages = weekly_points(gappy_report)[0]
    top = max(float(np.nanmax(rates)), *(p.rate for p in gappy_report.model.curve))
    canvas.scale_to((ages.min() - 0.75, ages.max() + 0.75), (0.0, top * 1.4))
    for week in gaps:  # no point on the zero line, where a missing week would fall if it counted as zero
        column = round(canvas.x(ages[week]))
        assert not near(image[PLOT[3] - 6:PLOT[3] - 1, column - 2:column + 3], DATA_COLOUR).any()


def test_an_empty_email_chart_says_so(empty_report):
    png = email_chart_png(empty_report)
    assert Image.open(BytesIO(png)).size == (600, 340)
    image = pixels(png)
    assert not near(image, DATA_COLOUR).any()
    middle = (PLOT[1] + PLOT[3]) // 2
    assert near(image[middle - 8:middle + 8, 200:400], REFERENCE_COLOUR, 60).sum() > 100  # the words


def test_email_chart_is_deterministic(worsening_report):
    assert email_chart_png(worsening_report) == email_chart_png(worsening_report)


def test_a_report_reads_back_from_its_json_unchanged(resolving_report, gappy_report, worsening_report,
                                                     one_week_report, empty_report):
    for report in (resolving_report, gappy_report, worsening_report, one_week_report, empty_report):
        assert report_from_json(report.child, trends_schema.dumps(report)) == report


def test_a_report_with_red_flags_reads_back(worsening_report):
    assert worsening_report.red_flags
    again = report_from_json(worsening_report.child, trends_schema.dumps(worsening_report))
    assert again.red_flags == worsening_report.red_flags


# ---- treatments ------------------------------------------------------------------------------------

BIRTH = date(2026, 8, 1)
TREATMENTS = (
    TreatmentFact("t-routine", "Quiet <bedroom> & $5 lamp", "sleep_hygiene", None, BIRTH + timedelta(weeks=4),
                  BIRTH + timedelta(weeks=7)),
    TreatmentFact("t-pheno", "Phenobarbital", "antiseizure_medication", "5 mg/kg/day", BIRTH + timedelta(weeks=10),
                  None),
    TreatmentFact("t-before", "Vitamin D", "supplement", "400 IU", BIRTH - timedelta(weeks=30),
                  BIRTH - timedelta(weeks=20)),  # long over before the chart's weeks: not drawn
)


@pytest.fixture(scope="module")
def treated_report():
    return make_report(stable(2), treatments=TREATMENTS)


def test_svg_shades_each_treatment_period_in_range_with_its_name(treated_report):
    root = svg_tree(treated_report)
    assert group(root, "treatment-t-routine") is not None and group(root, "treatment-t-pheno") is not None
    assert group(root, "treatment-t-before") is None
    words = svg_text(root)
    assert "Quiet <bedroom> & $5 lamp" in words and "Phenobarbital" in words and "Vitamin D" not in words


def test_alt_text_names_the_treatment_periods(treated_report, resolving_report):
    words = chart_alt_text(treated_report)
    assert "Shaded treatment periods: Quiet <bedroom> & $5 lamp from week 4.0 to 7.0; " in words
    assert "Phenobarbital from week 10.0, ongoing" in words
    assert "treatment" not in chart_alt_text(resolving_report).lower()


def test_email_chart_shades_treatment_periods(treated_report):
    plot = pixels(email_chart_png(treated_report))[PLOT[1]:PLOT[3], PLOT[0]:PLOT[2]]
    assert near(plot, TREATMENT_BAND_COLOUR, 4).sum() > 5_000
    untreated = pixels(email_chart_png(make_report(stable(2))))[PLOT[1]:PLOT[3], PLOT[0]:PLOT[2]]
    assert near(untreated, TREATMENT_BAND_COLOUR, 4).sum() == 0


def test_treatments_read_back_from_the_report_json(treated_report):
    assert [t.comparison is None for t in treated_report.treatments] == [True, False, True]
    data = json.loads(trends_schema.dumps(treated_report))
    assert treatments_from_json(data["treatments"]) == treated_report.treatments
