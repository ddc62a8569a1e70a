"""Operator commands: `flask seed-demo`."""
import click
from flask import Flask


def register_commands(app: Flask) -> None:
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
