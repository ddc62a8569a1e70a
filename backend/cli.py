"""Operator commands: `flask seed-demo`."""
import click
from flask import Flask
from flask.cli import AppGroup


def register_commands(app: Flask) -> None:
    _register_reminder_commands(app)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo accounts and children (idempotent)."""
        from backend.demo import seed_demo

        for line in seed_demo(progress=click.echo):
            click.echo(line)

    @app.cli.command("refresh-summaries")
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


def _register_reminder_commands(app: Flask) -> None:
    scheduler = AppGroup("scheduler", help="The reminder scheduler process.")
    reminders = AppGroup("reminders", help="Reminder emails.")

    @scheduler.command("run")
    def run_scheduler():
        """Run the scheduler (APScheduler) until stopped; dispatches reminders every minute."""
        from flask import current_app

        from backend.reminders.jobs import build_scheduler, run

        click.echo("Scheduler running: reminders are dispatched every minute. Stop with Ctrl-C.")
        run(build_scheduler(current_app._get_current_object()))

    @reminders.command("dispatch")
    @click.option("--now", "now_text", help="pretend it is this instant (ISO 8601 with offset)")
    def dispatch_once(now_text):
        """Run one dispatch pass: plan what is due, send it, print the counts."""
        from datetime import datetime

        from backend.reminders.dispatch import dispatch

        now = datetime.fromisoformat(now_text) if now_text else None
        if now is not None and now.tzinfo is None:
            raise click.BadParameter("give an offset, e.g. 2026-12-06T19:00:00+01:00", param_hint="--now")
        result = dispatch(now)
        click.echo(f"planned {result.planned}, sent {result.sent}, retrying {result.retrying}, "
                   f"failed {result.failed}, skipped {result.skipped}")

    app.cli.add_command(scheduler)
    app.cli.add_command(reminders)
