"""The API's refusals in the reader's language (issue 22): sync pushes, tus uploads, care teams, diary entries,
pagination cursors and account deletion follow the signed-in account's locale (its Accept-Language aside);
`code`, field and table names, record ids and the tus headers never change."""
import json

import pytest

from backend.accounts.models import User
from backend.extensions import db
from tests.helpers import PASSWORD, assert_error, episode_body
from tests.sync_helpers import Phone, changes, raw_episode
from tests.video_helpers import create, metadata, new_episode, patch

ENGLISH_BROWSER = {"Accept-Language": "en-GB,en;q=0.9"}  # the account's locale wins over its browser's


def speaks(app, account, locale: str) -> None:
    with app.app_context():
        db.session.get(User, account.id).locale = locale
        db.session.commit()


@pytest.fixture
def phone(client, family):
    mum = Phone(client, family["owner"], "mumphone1")
    mum.pull()
    return mum


# ---- sync push -------------------------------------------------------------------------------------

def test_a_german_account_reads_a_refused_push_in_german_naming_table_record_and_columns(app, family, phone):
    speaks(app, family["owner"], "de")
    record = raw_episode("ep1", family["child"]["id"], sleep_state="dreaming", duration_seconds=99999, mood="calm")
    error = assert_error(phone.push(changes(episodes={"created": [record]})), 422)
    assert error["message"] == "Einige Datensätze sind ungültig, z. B. in episodes; es wurde nichts gespeichert."
    assert error["errors"] == {"episodes": {"ep1": {
        "sleep_state": ["Muss einer dieser Werte sein: asleep, falling_asleep, waking, awake, unknown."],
        "duration_seconds": ["Muss eine ganze Zahl von 0 bis 21.600 sein."],
        "mood": ["Unbekannte Spalte."]}}}


def test_a_push_to_a_table_phones_only_read_is_refused_in_spanish(app, client, family, phone):
    speaks(app, family["owner"], "es")
    body = changes(schema_version=2, episode_videos={"created": [{"id": "madeup", "status": "ready"}]})
    response = client.post("/api/v1/sync", data=json.dumps(body),
                           headers={**family["owner"].headers, **ENGLISH_BROWSER},
                           query_string={"last_pulled_at": phone.last_pulled_at, "device_id": "mumphone1"})
    error = assert_error(response, 422, field="episode_videos")
    why = ("Los vídeos se añaden subiéndolos (POST /api/v1/uploads), nunca con un push; un push solo puede "
           "borrarlos.")
    assert error["message"] == f"{why} No se ha guardado nada."
    assert error["errors"]["episode_videos"] == {"madeup": {"id": [why]}}


def test_a_push_for_a_child_of_another_family_is_a_403_in_spanish(app, api, family, phone):
    stranger = api.register()
    speaks(app, family["owner"], "es")
    other = api.create_child(stranger)
    error = assert_error(phone.push(changes(episodes={"created": [raw_episode("ep1", other["id"])]})), 403)
    assert error["message"] == "Este envío escribe niños que usted no puede modificar; no se ha guardado nada."
    assert error["errors"] == {"episodes": {"ep1": [f"Usted no puede escribir en el niño {other['id']}."]}}


# ---- tus uploads ----------------------------------------------------------------------------------

def test_a_wrong_offset_is_a_409_in_german_with_the_offset_in_german_digits(app, client, family):
    owner = family["owner"]
    episode = new_episode(client, owner, family["child"]["id"])
    speaks(app, owner, "de")
    create(client, owner, episode, 5000)
    patch(client, owner, "clip1", 0, b"x" * 1500)
    refused = patch(client, owner, "clip1", 50, b"y" * 100)
    error = assert_error(refused, 409, "Upload-Offset")
    assert error["message"] == "Der Upload steht bei Offset 1.500; senden Sie die Bytes ab dort."
    assert error["errors"] == {"Upload-Offset": ["Muss 1.500 sein."]}
    assert refused.headers["Upload-Offset"] == "1500" and refused.headers["Tus-Resumable"] == "1.0.0"


def test_an_upload_length_over_the_limit_is_a_413_in_spanish(app, client, family):
    owner = family["owner"]
    episode = new_episode(client, owner, family["child"]["id"])
    speaks(app, owner, "es")
    app.config["VIDEO_MAX_BYTES"] = 2_000_000
    response = client.post("/api/v1/uploads", headers={
        **owner.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "3000001",
        "Upload-Metadata": metadata(id="clip1", episode_id=episode)})
    error = assert_error(response, 413, "Upload-Length")
    assert error["message"] == "Los vídeos pueden ocupar hasta 2 MB; este ocupa 3 MB."
    assert error["errors"] == {"Upload-Length": ["Debe ser como máximo 2.000.000 bytes."]}
    assert response.headers["Tus-Resumable"] == "1.0.0"


def test_a_checksum_mismatch_is_a_460_in_german(app, client, family):
    owner = family["owner"]
    episode = new_episode(client, owner, family["child"]["id"])
    speaks(app, owner, "de")
    create(client, owner, episode, 100)
    refused = patch(client, owner, "clip1", 0, b"x" * 100, **{"Upload-Checksum": "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    error = assert_error(refused, 460)
    assert error["status"] == "Checksum Mismatch"
    assert error["message"] == "Die Bytes passen nicht zu Upload-Checksum; senden Sie sie erneut."


# ---- care teams, diary entries, pagination, account deletion ------------------------------------------

def test_care_team_refusals_in_german_and_spanish(app, api, client, family):
    code = api.invite(family["owner"], family["child"]["id"], "caregiver")
    doctor = api.register("clinician")
    speaks(app, doctor, "de")
    refused = client.post(f"/api/v1/invites/{code}/accept", headers=doctor.headers)
    assert assert_error(refused, 403)["message"] == (
        "Diese Einladung ist für eine Betreuungsperson; dieses Konto gehört einer Ärztin oder einem Arzt.")
    speaks(app, family["caregiver"], "es")
    unknown = client.post("/api/v1/invites/ABCD-EFGH-JKLM-NPQR/accept", headers=family["caregiver"].headers)
    assert assert_error(unknown, 404)["message"] == "No existe ese código de invitación."
    speaks(app, family["owner"], "de")
    owner = client.delete(f"/api/v1/children/{family['child']['id']}/members/{family['owner'].id}",
                          headers=family["owner"].headers)
    assert assert_error(owner, 409)["message"] == (
        "Die Person, die das Kind angelegt hat, kann nicht aus dem Betreuungsteam entfernt werden.")


def test_diary_entry_refusals_in_spanish_and_german(app, client, family):
    owner, child_id = family["owner"], family["child"]["id"]
    url = f"/api/v1/children/{child_id}/episodes"
    created = client.post(url, json=episode_body(id="ep1"), headers=owner.headers)
    assert created.status_code == 201, created.get_json()
    speaks(app, owner, "es")
    again = client.post(url, json=episode_body(id="ep1"), headers={**owner.headers, **ENGLISH_BROWSER})
    assert assert_error(again, 409)["message"] == "Ya existe una entrada con este id; use PUT para reemplazarla."
    speaks(app, owner, "de")
    moved = client.put("/api/v1/episodes/ep1", json=episode_body(id="ep2", child_id=child_id), headers=owner.headers)
    assert assert_error(moved, 422)["errors"] == {"id": ["Weicht von der ID im Pfad ab."]}
    speaks(app, family["clinician"], "de")
    by_clinician = client.delete("/api/v1/episodes/ep1", headers=family["clinician"].headers)
    assert assert_error(by_clinician, 403)["message"] == (
        "Ärztinnen und Ärzte lesen und kommentieren; nur Betreuungspersonen ändern das Tagebuch.")


@pytest.mark.parametrize("locale, expected", [
    ("de", "Kein gültiger Cursor: Senden Sie next_cursor der vorigen Seite so, wie er kam."),
    ("es", "No es un cursor válido: envíe el next_cursor de la página anterior tal como llegó."),
    ("en", "Not a valid cursor: send next_cursor of the previous page as it came."),
])
def test_a_bad_cursor_is_a_422_naming_cursor_in_the_readers_language(app, client, family, locale, expected):
    speaks(app, family["owner"], locale)
    refused = client.get("/api/v1/children", query_string={"cursor": "nonsense"},
                         headers={**family["owner"].headers, "Accept-Language": "de" if locale == "en" else "en"})
    assert assert_error(refused, 422)["errors"] == {"cursor": [expected]}


def test_a_wrong_password_keeps_the_account_and_says_so_in_spanish(app, client, family):
    speaks(app, family["caregiver"], "es")
    refused = client.delete("/api/v1/me", json={"password": PASSWORD + "x"}, headers=family["caregiver"].headers)
    error = assert_error(refused, 403, "password")
    assert error["message"] == "Contraseña incorrecta; no se ha borrado nada."
    assert error["errors"] == {"password": ["Contraseña incorrecta."]}
