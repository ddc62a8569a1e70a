"""The clinic-visit report as an A4 PDF: who, the verdict, the chart, the numbers, red flags, treatments,
development checks, the latest weeks."""
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backend.children.ages import PRETERM_BEFORE_WEEKS
from backend.diary.vocabulary import ANSWER_WORDS, CONCERN_WORDS, TREATMENT_KIND_WORDS
from backend.trends import thresholds as t
from backend.trends.charts import SIZE_INCHES, chart_png, verdict_label
from backend.trends.engine import axis_age
from backend.trends.exports.fhir import concern_codes
from backend.trends.summaries import VERDICT_WORDS
from backend.trends.treatments import MEDICINE_KINDS

FOOTER = "Myodiary diary summary - not a diagnosis"
TABLE_WEEKS = 8
CHART_DPI = 200  # sharp in print; the email chart keeps 100
MARGIN = 18 * mm
CHART_WIDTH = 150 * mm
CONDITIONS = {
    "bnsm": "Benign neonatal sleep myoclonus (BNSM)",
    "benign_myoclonus_of_infancy": "Benign myoclonus of early infancy",
    "hypnic_jerks": "Hypnic jerks (sleep starts)",
    "unspecified": "Unspecified",
}
WEEK_COLUMNS = ["Week from", "Age in weeks\n({axis})", "Watched\nnights", "Episodes", "Per night", "Mean\nduration"]
WEEK_WIDTHS = [26 * mm, 30 * mm, 22 * mm, 22 * mm, 22 * mm, 24 * mm]
FLAG_COLUMNS = ["Flag", "What was seen", "Episodes", "Since"]
URGENT_FLAG = "spasms_pattern"  # red_flags() puts it first; its row stands out
URGENT_BACKGROUND = colors.HexColor("#FBE3E1")
TREATMENT_COLUMNS = ["Treatment", "Dose", "From", "To", "Episodes per watched night around the start"]
TREATMENT_WIDTHS = [40 * mm, 28 * mm, 20 * mm, 20 * mm, None]
NOT_COMPARED = "Not compared: not a medicine"
CHECK_COLUMNS = ["Date", "New skills", "Lost skills", "Concerns"]
CHECK_WIDTHS = [24 * mm, 24 * mm, 24 * mm, None]


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
    """The clinic-visit report; episodes_by_id is kept for a future evidence listing. Treatments and development
    checks are the child's records, oldest first."""
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=15 * mm, bottomMargin=20 * mm,
        title=f"Myodiary report: {report.child.name}", author="Myodiary", creator="Myodiary",
        subject=FOOTER, lang="en", invariant=1, pageCompression=int(compress))
    document.build(report_story(report, treatments, checks), onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def report_story(report, treatments: Sequence = (), checks: Sequence = ()) -> list[Flowable]:
    """The report's flowables in reading order."""
    return [*_header(report), *_verdict(report), _chart(report), *_clinician_summary(report),
            *_red_flags(report, checks), *_treatments(report, treatments), *_development_checks(checks),
            *_recent_weeks(report)]


def _footer(canvas, document) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 9)
    canvas.setFillColor(colors.dimgrey)
    canvas.drawString(MARGIN, 10 * mm, FOOTER)
    canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"Page {document.page}")
    canvas.restoreState()


def _paragraph(text: str, style: str = "body") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def _header(report) -> list[Flowable]:
    child = report.child
    rows = [("Born", f"{child.birth_date:%Y-%m-%d}{_gestation(child.gestational_weeks)}"),
            ("Condition", CONDITIONS.get(child.condition, child.condition)),
            ("Age now", _age_now(report)),
            ("Generated", f"{_local(report, report.generated_at):%Y-%m-%d %H:%M %Z}")]
    table = Table([[_paragraph(label, "label"), _paragraph(value, "cell")] for label, value in rows],
                  colWidths=[30 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                               ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return [_paragraph(f"Myodiary report: {child.name}", "title"), table]


def _gestation(weeks: float | None) -> str:
    return "" if weeks is None else f", at {weeks:g} weeks of gestation"


def _age_now(report) -> str:
    age = f"{report.age_weeks_now:.1f} weeks"
    preterm = report.child.gestational_weeks is not None and report.child.gestational_weeks < PRETERM_BEFORE_WEEKS
    if preterm and report.corrected_age_weeks_now is not None:
        age += f" (corrected {report.corrected_age_weeks_now:.1f} weeks)"
    return age


def _local(report, instant):
    return instant.astimezone(ZoneInfo(report.child.timezone))


def _verdict(report) -> list[Flowable]:
    code = report.verdict.code
    return [_paragraph(f"Verdict: {verdict_label(code)}", "heading"), _paragraph(VERDICT_WORDS[code]),
            *(_paragraph(f"\u2022 {reason}") for reason in report.verdict.reasons)]


def _chart(report) -> Image:
    height = CHART_WIDTH * SIZE_INCHES[1] / SIZE_INCHES[0]
    return Image(BytesIO(chart_png(report, dpi=CHART_DPI)), width=CHART_WIDTH, height=height)


def _clinician_summary(report) -> list[Flowable]:
    return [_paragraph("Clinician summary", "heading"), _paragraph(report.summary["clinician"])]


def _red_flags(report, checks: Sequence) -> list[Flowable]:
    heading = _paragraph("Red flags", "heading")
    if not report.red_flags:
        return [heading, _paragraph("No red flags")]
    checked_on = {check.id: check.checked_on for check in checks}
    rows = [_flag_row(report, flag, checked_on) for flag in report.red_flags]
    table = _table([FLAG_COLUMNS, *rows], [32 * mm, None, 18 * mm, 22 * mm])
    urgent = [i for i, flag in enumerate(report.red_flags, start=1) if flag.code == URGENT_FLAG]
    table.setStyle(TableStyle([("BACKGROUND", (0, i), (-1, i), URGENT_BACKGROUND) for i in urgent]))
    return [heading, table]


def _flag_row(report, flag, checked_on: dict) -> list:
    """Code, message (and the dates of the development checks among its evidence), episodes, since."""
    style = "label" if flag.code == URGENT_FLAG else "cell"
    days = [f"{checked_on[check_id]:%Y-%m-%d}" for check_id in flag.checks if check_id in checked_on]
    seen = flag.message + (f" Development checks: {', '.join(days)}." if days else "")
    episodes = 0 if flag.code == "abnormal_eeg" else flag.evidence_counts()[1]  # its evidence is a clinician note
    return [_paragraph(flag.code.replace("_", " "), style), _paragraph(seen, style), str(episodes),
            f"{_local(report, flag.since):%Y-%m-%d}"]


def _treatments(report, treatments: Sequence) -> list[Flowable]:
    """Each treatment: name and kind, dose, from and to, and for a medicine the trends' before/after sentence."""
    heading = _paragraph("Treatments", "heading")
    if not treatments:
        return [heading, _paragraph("No treatments recorded")]
    compared = {period.id: period.comparison for period in report.treatments if period.comparison is not None}
    rows = [[_paragraph(f"{given.name} ({TREATMENT_KIND_WORDS.get(given.kind, given.kind).lower()})", "cell"),
             _paragraph(given.dose or "-", "cell"), f"{given.started_on:%Y-%m-%d}",
             f"{given.stopped_on:%Y-%m-%d}" if given.stopped_on else "ongoing",
             _paragraph(_around_start(given, compared), "cell")] for given in treatments]
    return [heading, _table([TREATMENT_COLUMNS, *rows], TREATMENT_WIDTHS, align="LEFT")]


def _around_start(given, compared: dict) -> str:
    """The trends' before/after sentence for a medicine; no comparison for other treatments."""
    if given.id in compared:
        return compared[given.id].summary
    return "-" if given.kind in MEDICINE_KINDS else NOT_COMPARED


def _development_checks(checks: Sequence) -> list[Flowable]:
    """Each check: its date, the two answers (lost skills in bold when yes), the concerns in words."""
    heading = _paragraph("Development checks", "heading")
    if not checks:
        return [heading, _paragraph("No development checks recorded")]
    rows = [[f"{check.checked_on:%Y-%m-%d}", _paragraph(ANSWER_WORDS.get(check.new_skills, check.new_skills), "cell"),
             _paragraph(ANSWER_WORDS.get(check.lost_skills, check.lost_skills),
                        "label" if check.lost_skills == "yes" else "cell"),
             _paragraph(_concerns(check), "cell")] for check in checks]
    return [heading, _table([CHECK_COLUMNS, *rows], CHECK_WIDTHS, align="LEFT")]


def _concerns(check) -> str:
    words = ", ".join(CONCERN_WORDS.get(code, code.replace("_", " ")) for code in concern_codes(check.concerns))
    return (words or "none") + (f". Note: {check.notes}" if check.notes else "")


def recent_week_rows(report) -> list[list[str]]:
    """The last weeks that have watched nights, oldest first, as table rows."""
    watched = [week for week in report.weekly if week.watched_nights > 0][-TABLE_WEEKS:]
    return [[f"{week.start:%Y-%m-%d}", f"{axis_age(week, report.axis) - 0.5:.1f}", str(week.watched_nights),
             str(week.episodes), f"{week.episodes_per_night:.2f}", _duration(week.mean_duration_seconds)]
            for week in watched]


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f} s"


def _recent_weeks(report) -> list[Flowable]:
    heading = _paragraph(f"Last {TABLE_WEEKS} weeks with watched nights", "heading")
    rows = recent_week_rows(report)
    if not rows:
        return [heading, _paragraph("No watched nights yet")]
    columns = [column.format(axis=report.axis) for column in WEEK_COLUMNS]
    note = _paragraph(f"Weeks with fewer than {t.MIN_WATCHED_NIGHTS_PER_WEEK} watched nights do not count as "
                      "observed weeks. Mean duration includes episodes seen on unwatched nights.", "cell")
    return [KeepTogether([heading, _table([columns, *rows], WEEK_WIDTHS), Spacer(0, 2 * mm), note])]


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
