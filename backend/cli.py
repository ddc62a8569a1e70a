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
