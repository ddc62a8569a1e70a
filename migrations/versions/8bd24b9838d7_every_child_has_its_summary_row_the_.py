"""every child has its summary row; the stale ones indexed

Issue 23, the cost curve: the scheduler's summaries pass looked for stale or missing summaries by scanning
every child (13 ms a pass at 20,000 children, once a minute). Now a child's first write inserts a stale
placeholder summary (backend.trends.freshness), the children without one get theirs here, and the pass reads
the stale ones through a partial index.

Revision ID: 8bd24b9838d7
Revises: 64f2afbec984
Create Date: 2026-12-04 19:16:24.143813

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8bd24b9838d7'
down_revision = '64f2afbec984'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "INSERT INTO child_summaries (child_id, verdict, red_flag_codes, watched_nights_recent, episodes_total, "
        "computed_at, stale, events_checked) SELECT children.id, 'insufficient_data', '[]', 0, 0, "
        "CURRENT_TIMESTAMP, true, true FROM children LEFT JOIN child_summaries ON child_summaries.child_id = "
        "children.id WHERE child_summaries.child_id IS NULL"))
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.create_index('ix_child_summaries_stale', ['child_id'], unique=False,
                              postgresql_where=sa.text('stale'), sqlite_where=sa.text('stale'))


def downgrade():
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_child_summaries_stale', postgresql_where=sa.text('stale'),
                            sqlite_where=sa.text('stale'))
    # the placeholders stay: a stale summary is rebuilt by its next reader, as before
