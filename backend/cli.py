"""Operator commands: `flask seed-demo`, `flask scheduler run`, `flask reminders dispatch`, `flask data ...`,
`flask videos process`, `flask users set-password`, `flask sync rebase-clock`."""
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

scheduler_cli = AppGroup("scheduler", help="The reminder scheduler process.")
reminders_cli = AppGroup("reminders", help="Reminder emails.")
data_cli = AppGroup("data", help="A family's data: export, import, and the purge of deleted data.")
users_cli = AppGroup("users", help="Accounts.")
videos_cli = AppGroup("videos", help="Episode videos: processing, expiry of stale uploads, removal of deleted files.")
sync_cli = AppGroup("sync", help="The phones' sync.")


def register_commands(app: Flask) -> None:
    for command in (seed_demo_command, refresh_summaries_command, scheduler_cli, reminders_cli, data_cli, users_cli,
                    videos_cli, sync_cli):
        app.cli.add_command(command)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Create the demo accounts and children (idempotent)."""
    from backend.demo import seed_demo

    for line in seed_demo(progress=click.echo):
        click.echo(line)


@click.command("refresh-summaries")
@with_appcontext
def refresh_summaries_command():
    """Rebuild every child's summary (after an upgrade or a restore)."""
    from sqlalchemy import select

    from backend.children.models import Child
    from backend.extensions import db
    from backend.trends.freshness import refresh

    ids = db.session.scalars(select(Child.id).where(Child.deleted_at.is_(None))).all()
    with click.progressbar(range(0, len(ids), 100), label="Refreshing summaries") as chunks:
        for start in chunks:
            refresh(db.session, ids[start:start + 100])
            db.session.commit()
    click.echo(f"{len(ids)} summaries refreshed.")


@sync_cli.command("rebase-clock")
@click.option("--margin", type=click.IntRange(min=0), default=0, show_default=True,
              help="versions go on this far above the highest stored: after restoring an older copy, above any "
                   "timestamp phones were given since it was made")
@with_appcontext
def rebase_clock(margin):
    """After a restore: versions go on above every version stored (another PostgreSQL cluster's transaction ids may
    stand lower), and `--margin` above. Safe to run any time; does nothing when they do already."""
    from backend.extensions import db
    from backend.versioning import claim_version_above, highest_stored_version

    highest = highest_stored_version()
    version = claim_version_above(highest + margin)
    db.session.commit()
    click.echo(f"Highest version stored: {highest}; versions now go on from {version}.")


@scheduler_cli.command("run")
def run_scheduler():
    """Run the scheduler (APScheduler) until stopped; dispatches reminders every minute."""
    from backend.jobs import build_scheduler, run  # APScheduler is imported by the scheduler process only

    click.echo("Scheduler running: reminders are dispatched every minute, account emails sent within seconds, "
               "videos processed every 15 s, "
               "deleted data purged daily. "
               "Stop with Ctrl-C.")
    run(build_scheduler(current_app._get_current_object()))


@videos_cli.command("process")
@click.option("--now", "now_text", help="pretend it is this instant (ISO 8601 with offset)")
def process_videos(now_text):
    """Run one pass of the scheduler's video job: process uploaded videos, expire stale uploads, sweep files."""
    from backend.videos.lifecycle import run_pass

    click.echo(str(run_pass(_instant_option(now_text), progress=click.echo)))


@reminders_cli.command("dispatch")
@click.option("--now", "now_text", help="pretend it is this instant (ISO 8601 with offset)")
def dispatch_once(now_text):
    """Run one dispatch pass: plan what is due, send it and every queued account email, print the counts."""
    from backend.accounts.emails import send_account_emails
    from backend.reminders.dispatch import dispatch

    now = _instant_option(now_text)
    click.echo(f"account emails: {send_account_emails()}")  # due now, whatever --now says of the reminders
    result = dispatch(now)
    click.echo(f"planned {result.planned}, sent {result.sent}, retrying {result.retrying}, "
               f"failed {result.failed}, skipped {result.skipped}")


def _instant_option(text: str | None) -> datetime | None:
    """--now: an ISO 8601 instant with its offset."""
    if not text:
        return None
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        now = None
    if now is None or now.tzinfo is None:
        raise click.BadParameter("give an instant with an offset, e.g. 2026-12-06T19:00:00+01:00", param_hint="--now")
    return now


def _account(email: str):
    """The live account with this email, or a ClickException saying there is none."""
    from sqlalchemy import select

    from backend.accounts.models import User
    from backend.extensions import db

    user = db.session.scalar(select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None)))
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    return user


@data_cli.command("export")
@click.option("--email", required=True, help="the account whose family document to write")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="a file (default: stdout)")
@click.option("--with-media", is_flag=True, help="write one zip archive (needs --out): the document as family.json "
              "and every ready video's MP4 and poster as videos/<id>.mp4 and videos/<id>.jpg")
def export_family(email, out, with_media):
    """Write an account's family document (JSON): the account, its children and their diaries; with
    --with-media, a zip archive of the document and the videos' files."""
    from backend.database import begin_snapshot
    from backend.extensions import db
    from backend.privacy.archive import ArchiveError, media_files, write_archive
    from backend.privacy.document import build_document
    from backend.privacy.portability import document_json
    from backend.private_files import write_private

    if with_media and out is None:
        raise click.UsageError("--with-media writes a zip archive: give its path with --out.")
    begin_snapshot()
    user = _account(email)
    document = build_document(user)
    text = document_json(document)
    try:
        files = media_files(document) if with_media else []
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    finally:
        db.session.rollback()
    if out is None:
        click.echo(text, nl=False)
        return
    if not with_media:
        write_private(Path(out), text.encode())  # a family's health data: the operator's eyes only
        click.echo(f"Wrote the family document of {user.email} to {out}.", err=True)
        return
    try:
        with click.progressbar(length=sum(file.size for file in files), label="Writing the videos",
                               file=sys.stderr) as bar:
            write_archive(Path(out), text, files, bar.update)
    except ArchiveError as error:
        raise click.ClickException(f"{error} Nothing was written.") from None
    videos = len({file.video_id for file in files})
    click.echo(f"Wrote the family archive of {user.email} to {out}: family.json and the files of {videos} "
               f"video{'' if videos == 1 else 's'} (zip).", err=True)


@data_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def import_family(file):
    """Recreate a family from its document, or from the archive of `export --with-media` with its videos'
    files (one transaction; refuses to merge into existing data)."""
    from sqlalchemy.exc import SQLAlchemyError

    from backend.database import writing_transactions
    from backend.extensions import db
    from backend.privacy import archive as family_archive
    from backend.privacy.portability import ImportRefused, import_document, read_document, record_count, refuse_clashes
    from backend.trends.freshness import refresh

    archive = None
    try:
        archive = family_archive.open_archive(file)
        document = family_archive.read_archive_document(archive) if archive else read_document(_text_of(file))
        restoring = family_archive.files_to_restore(document, archive)
        if restoring:
            refuse_clashes(document)  # before a file is copied
            db.session.rollback()
        with family_archive.files_removed_on_failure(restoring):
            with click.progressbar(length=sum(video.size for video in restoring), label="Copying the videos",
                                   file=sys.stderr) as bar:
                family_archive.restore_files(archive, restoring, bar.update)
            with writing_transactions(), click.progressbar(length=record_count(document), label="Importing",
                                                           file=sys.stderr) as bar:
                result = import_document(document, bar.update, frozenset(video.video_id for video in restoring))
                db.session.commit()
    except ImportRefused as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(f"The database refused the file's data ({reason}); nothing was imported.") \
            from None
    finally:
        if archive is not None:
            archive.close()
    with writing_transactions():
        refresh(db.session, [child["id"] for child in document["children"]])  # the verdicts, for lists
        db.session.commit()
    for line in result.report():
        click.echo(line)


def _text_of(file: str) -> str:
    """The JSON document's text, from a file or stdin ("-")."""
    from backend.privacy.portability import ImportRefused

    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportRefused("The file is neither a family document (JSON) nor a family archive (zip).") from None


@data_cli.command("purge")
@click.option("--now", "now_text", help="pretend it is this instant (ISO 8601 with offset)")
def purge_command(now_text):
    """Remove children and accounts deleted more than PURGE_AFTER_DAYS ago (the access log stays)."""
    from backend.privacy.purge import purge

    result = purge(_instant_option(now_text))
    click.echo(f"purged {result.children} children and {result.accounts} accounts "
               f"(older than {current_app.config['PURGE_AFTER_DAYS']} days); {result.kept_accounts} deleted "
               "accounts stay as nameless rows that kept records name; "
               f"files of {result.swept_videos} deleted videos removed; {result.spent} spent account-security rows "
               "(sent account emails, ended tokens, expired reset links, past limit counters) removed")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--new-email", help="also change the account's email (e.g. of an imported placeholder)")
@click.password_option(help="the new password (asked twice when not given)")
def set_password(email, new_email, password):
    """Give an account a new password, e.g. after `flask data import` (passwords are never exported)."""
    from sqlalchemy import select

    from backend.accounts.models import User
    from backend.accounts.passwords import hash_password
    from backend.accounts.policy import password_problems
    from backend.accounts.schemas import LowerEmail
    from backend.accounts.tokens import revoke_all_tokens
    from backend.accounts.verification import queue_verification
    from backend.extensions import db

    user = _account(email)
    if new_email:
        from marshmallow import ValidationError

        try:
            new_email = LowerEmail().deserialize(new_email)
        except ValidationError:
            raise click.BadParameter("not an email address", param_hint="--new-email") from None
        if db.session.scalar(select(User.id).where(User.email == new_email, User.id != user.id)):
            raise click.ClickException(f"Another account has the email {new_email}.")
        changed = new_email != user.email
        user.email, user.pending_email = new_email, None
    problems = password_problems(password, user.email)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    user.password_hash = hash_password(password)
    ended = revoke_all_tokens(user)
    if new_email and changed:  # typed by an operator: its owner still confirms it before any child's email goes there
        user.email_verified_at = None
        queue_verification(user, user.email)
    db.session.commit()
    click.echo(f"Password set for {user.email}; {ended} signed-in sessions ended."
               + (" A verification email is on its way to it." if new_email and changed else ""))
