"""names on one line

Until issue 17 a child's or a user's name could hold line breaks, tabs and other control
characters, which broke the reminder emails' headers and charts; the API now refuses them. This
folds the names stored before into one line (each run of white space, line breaks included, becomes
one space; other control characters go), so every stored name obeys the rule the API enforces. A
changed child takes the next sync version, so phones pull its new name (and a phone that still
holds the old one does not push it back unchanged: its pull brings the server's first).

Revision ID: f154dd6a65e6
Revises: a786be3f3b5c
Create Date: 2026-12-03 10:23:11.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f154dd6a65e6'
down_revision = 'a786be3f3b5c'
branch_labels = None
depends_on = None

LINE_BREAKING = {"Cc", "Zl", "Zp"}
NAMELESS = "Unnamed"


def one_line(name: str) -> str:
    """The name as one line; kept here, not imported, so the revision does not change with the app."""
    folded = " ".join(name.split())
    return "".join(c for c in folded if unicodedata.category(c) not in LINE_BREAKING).strip() or NAMELESS


def _folded(connection, table: str) -> dict[str, str]:
    rows = connection.execute(sa.text(f"SELECT id, name FROM {table}"))
    return {row.id: one_line(row.name) for row in rows if row.name is not None and one_line(row.name) != row.name}


def _next_version(connection) -> int:
    connection.execute(sa.text("UPDATE sync_counter SET version = version + 1 WHERE id = 1"))
    return connection.execute(sa.text("SELECT version FROM sync_counter WHERE id = 1")).scalar_one()


def upgrade():
    connection = op.get_bind()
    users = _folded(connection, "users")
    for user_id, name in users.items():
        connection.execute(sa.text("UPDATE users SET name = :name WHERE id = :id"), {"id": user_id, "name": name})
    children = _folded(connection, "children")
    if children:
        version = _next_version(connection)  # there is a counter: children exist only after a write took a version
        for child_id, name in children.items():
            connection.execute(sa.text("UPDATE children SET name = :name, version = :version WHERE id = :id"),
                               {"id": child_id, "name": name, "version": version})


def downgrade():
    pass  # the line breaks are not kept: a name on one line is valid before this revision too
