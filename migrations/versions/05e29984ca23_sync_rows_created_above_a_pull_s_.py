"""sync: rows created above a pull's version but changed by an older transaction, indexed

On PostgreSQL a version is the writing transaction's id, given at its first write, not at its commit: a write
whose id came before a record's creation can change the record after it, leaving it a version below its
creation's. A pull that held back that creation (above the version it had seen whole) must have the next pull
read it, though its version is not above that pull's `last_pulled_at` (backend.versioning.changed_since). Such
rows are few; these partial indexes find them without scanning a child's rows.

Revision ID: 05e29984ca23
Revises: 8bd24b9838d7
Create Date: 2026-12-04 21:56:56.055494

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '05e29984ca23'
down_revision = '8bd24b9838d7'
branch_labels = None
depends_on = None

TABLES = ("episodes", "sleep_sessions", "treatments", "development_checks", "episode_videos")
LATE = "created_version > version"


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_created_late", ["child_id", "created_version"], unique=False,
                                  postgresql_where=sa.text(LATE), sqlite_where=sa.text(LATE))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_created_late", postgresql_where=sa.text(LATE),
                                sqlite_where=sa.text(LATE))
