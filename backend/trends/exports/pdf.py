"""The clinic-visit report as an A4 PDF: who, the verdict, the chart, the numbers, red flags, treatments,
development checks, the latest weeks.

Written in the requester's language (issue 22): every word is a message of the catalogs, dates, times and numbers
go through Babel in the reader's locale, ages read in CLDR units (children.ages), and the document's /Lang is the
language's tag. Every line, the footer too, is set in DejaVu Sans: it has the glyphs of Latin scripts (ñ, ü, ß, Ł,
Ş), Greek, and the brackets of the tests' pseudo-locale (⟦⟧), where the built-in Helvetica has WinAnsi only.
"""
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import matplotlib
from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import ngettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backend.children.ages import age_words, ages_on
from backend.diary.vocabulary import ANSWER_WORDS, CONCERN_WORDS, TREATMENT_KIND_WORDS
from backend.i18n import current_locale, day, duration, language_tag, lazy_gettext, number, time_of_day
from backend.trends import thresholds as t
from backend.trends.charts import AXIS_TITLES, SIZE_INCHES, chart_png, verdict_label
from backend.trends.engine import axis_age
from backend.trends.exports.fhir import concern_codes
from backend.trends.summaries import VERDICT_WORDS
from backend.trends.treatments import MEDICINE_KINDS

# Translators: the footer of every page of the PDF report
FOOTER = lazy_gettext("Myodiary diary summary - not a diagnosis")
TABLE_WEEKS = 8
CHART_DPI = 200  # sharp in print; the email chart keeps 100
MARGIN = 18 * mm
CHART_WIDTH = 150 * mm
TABLE_DATE = "medium"  # '3 Dec 2026', '03.12.2026', '3 dic 2026': dates in the tables' narrow columns
CONDITIONS = {
    "bnsm": lazy_gettext("Benign neonatal sleep myoclonus (BNSM)"),
    "benign_myoclonus_of_infancy": lazy_gettext("Benign myoclonus of early infancy"),
    "hypnic_jerks": lazy_gettext("Hypnic jerks (sleep starts)"),
    # Translators: the child's condition has not been named yet
    "unspecified": lazy_gettext("Unspecified"),
}
WEEK_COLUMNS = [lazy_gettext("Week from"), None, lazy_gettext("Watched nights"), lazy_gettext("Episodes"),
                lazy_gettext("Per night"), lazy_gettext("Mean duration")]  # None: the age axis's title
WEEK_WIDTHS = [26 * mm, 34 * mm, 28 * mm, 24 * mm, 22 * mm, 28 * mm]  # room for German's longer words
# Translators: the red-flag table's columns: the flag, what the diary shows, how many episodes, since when
FLAG_COLUMNS = [lazy_gettext("Flag"), lazy_gettext("What was seen"), lazy_gettext("Episodes"), lazy_gettext("Since")]
FLAG_LABELS = {  # the red flags' codes (red_flags.py) in a few words
    "spasms_pattern": lazy_gettext("Waking clusters with lost or stalled development"),
    "awake_episodes": lazy_gettext("Episodes while awake"),
    "not_stopping_on_waking": lazy_gettext("Not stopping on waking"),
    "warning_signs": lazy_gettext("Warning signs during episodes"),
    "long_episode": lazy_gettext("Long episode"),
    "persists_past_6_months": lazy_gettext("Still present past 6 months (corrected)"),
    "worsening": lazy_gettext("Rising trend"),
    "abnormal_eeg": lazy_gettext("Abnormal EEG"),
    "lost_skills": lazy_gettext("Lost skills"),
}
URGENT_FLAG = "spasms_pattern"  # red_flags() puts it first; its row stands out
URGENT_BACKGROUND = colors.HexColor("#FBE3E1")
TREATMENT_COLUMNS = [lazy_gettext("Treatment"), lazy_gettext("Dose"), lazy_gettext("From"), lazy_gettext("To"),
                     lazy_gettext("Episodes per watched night around the start")]
TREATMENT_WIDTHS = [40 * mm, 28 * mm, 22 * mm, 22 * mm, None]
# Translators: in the PDF's treatments table, for a treatment that is not a medicine
NOT_COMPARED = lazy_gettext("Not compared: not a medicine")
# Translators: a treatment still going on, in the column "To"
ONGOING = lazy_gettext("ongoing")
CHECK_COLUMNS = [lazy_gettext("Date"), lazy_gettext("New skills"), lazy_gettext("Lost skills"),
                 lazy_gettext("Concerns")]
CHECK_WIDTHS = [24 * mm, 30 * mm, 30 * mm, None]

def _register_fonts() -> tuple[str, str]:
    """DejaVu Sans (shipped with matplotlib) covers names Helvetica cannot, such as Łukasz or Şule."""
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont("DejaVuSans", fonts / "DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", fonts / "DejaVuSans-Bold.ttf"))
    pdfmetrics.registerFontFamily("DejaVuSans", normal="DejaVuSans", bold="DejaVuSans-Bold",
                                  italic="DejaVuSans", boldItalic="DejaVuSans-Bold")
    return "DejaVuSans", "DejaVuSans-Bold"


FONT, BOLD = _register_fonts()
STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4),
    "heading": ParagraphStyle("heading", fontName=BOLD, fontSize=12, leading=15, spaceBefore=8, spaceAfter=3),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11),
    "label": ParagraphStyle("label", fontName=BOLD, fontSize=9, leading=11),
}


def report_pdf(report, episodes_by_id: dict[str, object] | None = None, *, compress: bool = True,
               treatments: Sequence = (), checks: Sequence = ()) -> bytes:
    """The clinic-visit report in the current locale; episodes_by_id is kept for a future evidence listing.
    Treatments and development checks are the child's records, oldest first."""
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=15 * mm, bottomMargin=20 * mm,
        title=_title(report), author="Myodiary", creator="Myodiary", subject=str(FOOTER), lang=language_tag(),
        invariant=1, pageCompression=int(compress))
    footer = _footer(str(FOOTER))
    document.build(report_story(report, treatments, checks), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def report_story(report, treatments: Sequence = (), checks: Sequence = ()) -> list[Flowable]:
    """The report's flowables in reading order."""
    return [*_header(report), *_verdict(report), _chart(report), *_clinician_summary(report),
            *_red_flags(report, checks), *_treatments(report, treatments), *_development_checks(checks),
            *_recent_weeks(report)]


def _title(report) -> str:
    return _("Myodiary report: %(child)s", child=report.child.name)


def _footer(words: str):
    """Draws the footer and the page number (in the locale read when the PDF was asked for)."""
    def draw(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.setFillColor(colors.dimgrey)
        canvas.drawString(MARGIN, 10 * mm, words)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, _("Page %(page)s", page=number(document.page)))
        canvas.restoreState()
    return draw


def _paragraph(text, style: str = "body") -> Paragraph:
    return Paragraph(escape(str(text)), STYLES[style])


def _header(report) -> list[Flowable]:
    child = report.child
    rows = [(_("Born"), _born(child)),
            (_("Condition"), CONDITIONS.get(child.condition, child.condition)),
            (_("Age now"), _age_now(report)),
            (_("Generated"), _generated(report))]
    table = Table([[_paragraph(label, "label"), _paragraph(value, "cell")] for label, value in rows],
                  colWidths=[40 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return [_paragraph(_title(report), "title"), table]


def _born(child) -> str:
    """'1 August 2026, at 31 weeks of gestation': the birth date, and the gestation when known."""
    if child.gestational_weeks is None:
        return str(day(child.birth_date))
    return _("%(date)s, at %(weeks)s weeks of gestation", date=day(child.birth_date),
             weeks=number(child.gestational_weeks))


def _age_now(report) -> str:
    """'15 weeks', '3 months, corrected 1 month': the child's age on the report's day, as children.ages says it."""
    child = report.child
    today = _local(report, report.generated_at).date()
    return str(age_words(ages_on(child.birth_date, today, child.gestational_weeks)))


def _generated(report) -> str:
    local = _local(report, report.generated_at)
    # Translators: when the report was made: "20 November 2026 at 01:00 (CET)"
    return _("%(date)s at %(time)s (%(zone)s)", date=day(local), time=time_of_day(local), zone=local.tzname())


def _local(report, instant) -> datetime:
    return instant.astimezone(ZoneInfo(report.child.timezone))


def _table_day(value) -> str:
    return str(day(value, TABLE_DATE))


def _verdict(report) -> list[Flowable]:
    code = report.verdict.code
    return [_paragraph(_("Verdict: %(verdict)s", verdict=verdict_label(code)), "heading"),
            _paragraph(VERDICT_WORDS[code]), *(_paragraph(f"\u2022 {reason}") for reason in report.verdict.reasons)]


def _chart(report) -> Image:
    height = CHART_WIDTH * SIZE_INCHES[1] / SIZE_INCHES[0]
    return Image(BytesIO(chart_png(report, dpi=CHART_DPI)), width=CHART_WIDTH, height=height)


def _clinician_summary(report) -> list[Flowable]:
    return [_paragraph(_("Clinician summary"), "heading"), _paragraph(report.summary["clinician"])]


def _red_flags(report, checks: Sequence) -> list[Flowable]:
    heading = _paragraph(_("Red flags"), "heading")
    if not report.red_flags:
        return [heading, _paragraph(_("No red flags"))]
    checked_on = {check.id: check.checked_on for check in checks}
    rows = [_flag_row(report, flag, checked_on) for flag in report.red_flags]
    table = _table([_heads(FLAG_COLUMNS), *rows], [36 * mm, None, 24 * mm, 24 * mm])
    urgent = [i for i, flag in enumerate(report.red_flags, start=1) if flag.code == URGENT_FLAG]
    table.setStyle(TableStyle([("BACKGROUND", (0, i), (-1, i), URGENT_BACKGROUND) for i in urgent]))
    return [heading, table]


def _flag_row(report, flag, checked_on: dict) -> list:
    """The flag in words, its message (and the dates of the development checks among its evidence), episodes,
    since."""
    style = "label" if flag.code == URGENT_FLAG else "cell"
    days = [str(day(checked_on[check_id])) for check_id in flag.checks if check_id in checked_on]
    seen = str(flag.message)
    if days:
        # Translators: after a red flag's message, the dates of the development checks it rests on
        seen += " " + _("Development checks: %(dates)s.", dates=format_list(days, locale=current_locale()))
    episodes = 0 if flag.code == "abnormal_eeg" else flag.evidence_counts()[1]  # its evidence is a clinician note
    label = FLAG_LABELS.get(flag.code, flag.code.replace("_", " "))
    return [_paragraph(label, style), _paragraph(seen, style), str(number(episodes)),
            _table_day(_local(report, flag.since))]


def _treatments(report, treatments: Sequence) -> list[Flowable]:
    """Each treatment: name and kind, dose, from and to, and for a medicine the trends' before/after sentence."""
    heading = _paragraph(_("Treatments"), "heading")
    if not treatments:
        return [heading, _paragraph(_("No treatments recorded"))]
    compared = {period.id: period.comparison for period in report.treatments if period.comparison is not None}
    rows = [[_paragraph(_treatment_name(given), "cell"), _paragraph(given.dose or "-", "cell"),
             _table_day(given.started_on), _table_day(given.stopped_on) if given.stopped_on else str(ONGOING),
             _paragraph(_around_start(given, compared), "cell")] for given in treatments]
    return [heading, _table([_heads(TREATMENT_COLUMNS), *rows], TREATMENT_WIDTHS, align="LEFT")]


def _treatment_name(given) -> str:
    # Translators: a treatment's name and its kind: "Phenobarbital (anti-seizure medicine)"
    return _("%(treatment)s (%(kind)s)", treatment=given.name, kind=TREATMENT_KIND_WORDS.get(given.kind, given.kind))


def _around_start(given, compared: dict) -> str:
    """The trends' before/after sentence for a medicine; no comparison for other treatments."""
    if given.id in compared:
        return str(compared[given.id].summary)
    return "-" if given.kind in MEDICINE_KINDS else str(NOT_COMPARED)


def _development_checks(checks: Sequence) -> list[Flowable]:
    """Each check: its date, the two answers (lost skills in bold when yes), the concerns in words."""
    heading = _paragraph(_("Development checks"), "heading")
    if not checks:
        return [heading, _paragraph(_("No development checks recorded"))]
    rows = [[_table_day(check.checked_on), _paragraph(ANSWER_WORDS.get(check.new_skills, check.new_skills), "cell"),
             _paragraph(ANSWER_WORDS.get(check.lost_skills, check.lost_skills),
                        "label" if check.lost_skills == "yes" else "cell"),
             _paragraph(_concerns(check), "cell")] for check in checks]
    return [heading, _table([_heads(CHECK_COLUMNS), *rows], CHECK_WIDTHS, align="LEFT")]


def _concerns(check) -> str:
    words = [str(CONCERN_WORDS.get(code, code.replace("_", " "))) for code in concern_codes(check.concerns)]
    # Translators: a development check without any concern
    listed = ", ".join(words) or _("none")
    # Translators: a development check's concerns, then the caregiver's own note
    return _("%(concerns)s. Note: %(note)s", concerns=listed, note=check.notes) if check.notes else listed


def recent_week_rows(report) -> list[list[str]]:
    """The last weeks that have watched nights, oldest first, as table rows in the current locale's numbers."""
    watched = [week for week in report.weekly if week.watched_nights > 0][-TABLE_WEEKS:]
    return [[_table_day(week.start), str(number(axis_age(week, report.axis) - 0.5, "0.0")),
             str(number(week.watched_nights)), str(number(week.episodes)),
             str(number(week.episodes_per_night, "0.00")), _duration(week.mean_duration_seconds)]
            for week in watched]


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else str(duration(round(seconds), "second", "short"))


def _recent_weeks(report) -> list[Flowable]:
    heading = _paragraph(ngettext("Last %(num)s week with watched nights", "Last %(num)s weeks with watched nights",
                                  TABLE_WEEKS), "heading")
    rows = recent_week_rows(report)
    if not rows:
        return [heading, _paragraph(_("No watched nights yet"))]
    columns = _heads(AXIS_TITLES[report.axis] if column is None else column for column in WEEK_COLUMNS)
    note = _paragraph(" ".join((
        ngettext("Weeks with fewer than %(num)s watched night do not count as observed weeks.",
                 "Weeks with fewer than %(num)s watched nights do not count as observed weeks.",
                 t.MIN_WATCHED_NIGHTS_PER_WEEK),
        _("Mean duration includes episodes seen on unwatched nights."))), "cell")
    return [KeepTogether([heading, _table([columns, *rows], WEEK_WIDTHS), Spacer(0, 2 * mm), note])]


def _heads(columns) -> list[Paragraph]:
    """A table's header cells: bold words that wrap in their column (German runs longer than English)."""
    return [_paragraph(column, "label") for column in columns]


def _table(rows: list[list], widths: list, align: str = "RIGHT") -> Table:
    """A grid with a grey header row; every column but the first aligned by `align`."""
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTNAME", (0, 0), (-1, 0), BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), 9), ("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (-1, -1), align),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8E8E8")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#B0B0B0"))]))
    return table
