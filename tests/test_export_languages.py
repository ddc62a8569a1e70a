"""The exports in the requester's language (issue 22): the PDF report in German and Spanish (headings, verdict
words, long dates, decimal commas, the document's /Lang), the CSV's block titles and header row in German with
values that stay machine-readable, the SVG chart in Spanish, and the PDF and the chart in the pseudo-locale with
no English left."""
import base64
import csv
import io
import re
import xml.etree.ElementTree as ET
import zlib

import pytest
from flask_babel import force_locale

from backend.accounts.models import User
from backend.diary.simulation import stable
from backend.extensions import db
from backend.trends.charts import LocaleNumbers
from tests.helpers import app_context_of
from tests.pseudo_locale import PSEUDO, english_leaks, english_vocabulary
from tests.sync_helpers import log_course

NAME = "Zoë Ŋ"  # not an English word: data never reads as a leak
MEDICINE = "Levetiracetam"
CHECKED_ON = "2026-12-03"
SVG = "{http://www.w3.org/2000/svg}"
pytestmark = pytest.mark.config(MAX_CONTENT_LENGTH=16 * 1024 * 1024)


@pytest.fixture
def child(client, api, family) -> dict:
    """Four weeks of a stable diary, a medicine, and a development check with lost skills (a red flag)."""
    owner = family["owner"]
    child = api.create_child(owner, name=NAME, birth_date="2026-10-03", gestational_weeks=36.5)
    api.join(owner, child["id"], family["clinician"])
    log_course(client, owner, child["id"], stable(3), weeks=4)
    response = client.post(f"/api/v1/children/{child['id']}/treatments", headers=owner.headers, json={
        "name": MEDICINE, "kind": "antiseizure_medication", "dose": "20 mg/kg", "started_on": "2026-11-20"})
    assert response.status_code == 201, response.json
    response = client.post(f"/api/v1/children/{child['id']}/development-checks", headers=owner.headers, json={
        "checked_on": CHECKED_ON, "new_skills": "no", "lost_skills": "yes", "concerns": ["floppy"]})
    assert response.status_code == 201, response.json
    return child


def read_as(client, account, locale: str, path: str):
    """GET path as the account with its locale set to `locale`."""
    with app_context_of(client.application):
        db.session.get(User, account.id).locale = locale
        db.session.commit()
    response = client.get(path, headers=account.headers)
    assert response.status_code == 200, response.data[:300]
    return response


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages, decoded through each font's ToUnicode map (reportlab writes one for every
    subset of a TrueType font: ASCII as it is, other letters as codes of later subsets)."""
    streams = {}
    for number, header, body in re.findall(rb"(\d+) 0 obj\s*<<([^<>]*)>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        if b"ASCII85Decode" in header:
            body = base64.a85decode(body.strip().removesuffix(b"~>"))
        if b"FlateDecode" in header:
            body = zlib.decompress(body)
        streams[int(number)] = body
    maps = {name.decode(): _unicode_map(streams[int(ref)])
            for name, ref in re.findall(rb"/Name /(\S+) [^<>]*?/ToUnicode (\d+) 0 R", pdf)}
    drawn, font = [], None
    for stream in streams.values():
        for name, text in re.findall(rb"/(\S+) [\d.]+ Tf|\(((?:[^()\\]|\\.)*)\) Tj", stream):
            if name:
                font = maps.get(name.decode())
            else:
                codes = _unescape(text)
                drawn.append("".join(font.get(code, chr(code)) if font else chr(code) for code in codes))
    return " ".join(drawn)


def _unicode_map(cmap: bytes) -> dict[int, str]:
    return {int(code, 16): chr(int(char, 16)) for code, char in re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap)}


def _unescape(text: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    return re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit()
                  else simple.get(m[1], m[1]), text, flags=re.S)


def svg_words(svg: bytes) -> str:
    root = ET.fromstring(svg)
    texts = [" ".join(element.itertext()) for tag in ("text", "title", "desc") for element in root.iter(SVG + tag)]
    return " ".join(texts)


def test_the_pdf_reads_in_german_with_german_dates_and_numbers(client, family, child):
    response = read_as(client, family["clinician"], "de", f"/api/v1/children/{child['id']}/report.pdf")
    text = pdf_text(response.data)
    for words in ("Myodiary-Bericht: Zoë Ŋ", "Geboren", "3. Oktober 2026, nach 36,5 Schwangerschaftswochen",
                  "Erkrankung", "Benigner neonataler Schlafmyoklonus (BNSM)", "Aktuelles Alter", "Erstellt",
                  "Einschätzung: ", "Klinische Zusammenfassung", "Warnsignale", "Verlorene Fähigkeiten",
                  "Entwicklungskontrollen: 3. Dezember 2026.", "Behandlungen", "Levetiracetam (Antiepileptikum)",
                  "Behandlung Dosis Von Bis", "laufend", "Datum Neue Fähigkeiten Verlorene Fähigkeiten Sorgen",
                  "03.12.2026", "nein", "ja", "schlaff (niedrige Muskelspannung)", "Beobachtete", "Pro Nacht",
                  "Zusammenfassung des Myodiary-Tagebuchs - keine Diagnose", "Seite 1"):
        assert words in text, words
    assert re.search(r"Einschätzung: (abgeklungen|rückläufig|stabil|zunehmend|zu wenige Daten)", text)
    assert re.search(r" \d,\d\d ", text)  # episodes per night in the weeks table: 2,86
    assert "2026-12-03" not in text and "December" not in text
    assert b"/Lang (de)" in response.data


def test_the_pdf_reads_in_spanish(client, family, child):
    response = read_as(client, family["owner"], "es", f"/api/v1/children/{child['id']}/report.pdf")
    text = pdf_text(response.data)
    for words in ("Informe de Myodiary: Zoë Ŋ", "3 de octubre de 2026, con 36,5 semanas de gestación",
                  "Mioclonías benignas neonatales del sueño (MNBS)", "Valoración: ", "Resumen clínico",
                  "Señales de alarma", "Controles del desarrollo: 3 de diciembre de 2026.", "Tratamientos",
                  "Levetiracetam (Medicamento antiepiléptico)", "en curso", "3 dic 2026", "sí",
                  "Resumen del diario de Myodiary - no es un diagnóstico", "Página 1"):
        assert words in text, words
    assert re.search(r"Valoración: (resuelto|en remisión|estable|en aumento|datos insuficientes)", text)
    assert b"/Lang (es)" in response.data


def test_the_csv_titles_and_headers_read_in_german_and_its_values_stay_machine_readable(client, family, child):
    response = read_as(client, family["clinician"], "de", f"/api/v1/children/{child['id']}/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[0] for row in rows if len(row) == 1] == ["Episoden", "Schlafphasen", "Wochenreihe"]
    episodes = rows[1]
    assert episodes[:5] == ["ID", "Beginn", "Zeitzone", "Dauer (s)", "Schlafzustand"]
    first = rows[2]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", first[1])  # ISO 8601, as in every language
    assert first[4] in {"asleep", "falling_asleep", "waking", "awake", "unknown"}  # the codes stay codes
    weeks_at = rows.index(["Wochenreihe"])
    header, week = rows[weeks_at + 1], rows[weeks_at + 2]
    assert header[:3] == ["Woche", "Wochenbeginn", "Alter (Wochen)"]
    assert re.fullmatch(r"\d+\.\d+", week[2])  # a decimal point, not a comma: a spreadsheet reads it in any locale


def test_the_csv_keeps_its_column_keys_in_english(client, family, child):
    response = read_as(client, family["clinician"], "en", f"/api/v1/children/{child['id']}/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Episodes"] and rows[1][:3] == ["id", "started_at", "timezone"]


def test_the_svg_chart_reads_in_spanish(client, family, child):
    response = read_as(client, family["owner"], "es", f"/api/v1/children/{child['id']}/trends/chart.svg")
    words = svg_words(response.data)
    for shown in ("Edad en semanas (corregida)", "Episodios por noche observada",  # born at 36.5 weeks
                  "Episodios por noche observada (semana)", "Gráfico de tendencia de los episodios por noche "
                  "observada de Zoë Ŋ", "Periodos de tratamiento sombreados: Levetiracetam desde la semana",
                  MEDICINE):
        assert shown in words, shown
    assert re.search(r"Zoë Ŋ: (resuelto|en remisión|estable|en aumento|datos insuficientes)", words)
    assert b'xml:lang="es"' in response.data
    ticks = [element.text for element in ET.fromstring(response.data).iter(SVG + "text")
             if element.text and re.fullmatch(r"[\d.,]+", element.text)]
    assert ticks and not any("." in tick for tick in ticks)  # 0,5 and 1,5 on a Spanish axis


@pytest.mark.pseudo_locale
def test_the_pdf_and_the_chart_in_the_pseudo_locale_leave_no_english(client, family, child):
    # data, the zone's abbreviation, and the clinician summary's statistical family (statisticians' word)
    allowed = {NAME, "Zoë", MEDICINE, "CET", "mg", "kg", "poisson"}
    path = f"/api/v1/children/{child['id']}"
    pdf = read_as(client, family["clinician"], PSEUDO, f"{path}/report.pdf").data
    text = pdf_text(pdf).replace("lost_skills", "")  # the clinician summary names red flags by their codes
    assert "⟦" in text and b"/Lang (el)" in pdf
    assert english_leaks(text, english_vocabulary(), also_allowed=allowed) == []
    svg = read_as(client, family["owner"], PSEUDO, f"{path}/trends/chart.svg").data
    assert english_leaks(svg_words(svg), english_vocabulary(), also_allowed=allowed) == []


def test_the_fhir_bundle_carries_the_language_and_keeps_codes_and_displays(client, family, child):
    bundle = read_as(client, family["clinician"], "de", f"/api/v1/children/{child['id']}/export/fhir").json
    assert bundle["language"] == "de" and {entry["resource"]["language"] for entry in bundle["entry"]} == {"de"}
    [flag] = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Flag"]
    coding = flag["code"]["coding"][0]
    assert coding["code"] == "lost_skills" and coding["display"].startswith("A development check recorded")
    assert flag["code"]["text"].startswith("Bei einer Entwicklungs")  # the reader's words beside the English display


def test_tick_numbers_follow_the_locale_with_the_decimals_the_step_needs(app):
    formatter = LocaleNumbers()
    with app.test_request_context(), force_locale("de"):
        formatter.set_locs([0, 0.5, 1.0, 1.5])
        assert [formatter(tick) for tick in (0, 0.5, 1.0, 1500)] == ["0,0", "0,5", "1,0", "1.500,0"]
        formatter.set_locs([0, 2, 4])
        assert [formatter(tick) for tick in (0, 2, 4)] == ["0", "2", "4"]
