"""the dispatcher reads only the summaries rebuilt since its last look

Issue 23 (the cost curve, bench/scale_bench.py): each reminder dispatch pass, once a minute, compared every
enabled schedule with its child's summary for a worsening verdict or new red flags: its cost grew with the number
of families, not with the events. A summary is now unchecked from each rebuild until a pass has compared it; the
passes read the unchecked ones through a partial index. Summaries there before this migration start unchecked:
the first pass looks at every one once.

Revision ID: 64f2afbec984
Revises: 7c41d2e9a0f3
Create Date: 2026-12-04 18:42:11.804826

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '64f2afbec984'
down_revision = '7c41d2e9a0f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events_checked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_child_summaries_unchecked', ['child_id'], unique=False, postgresql_where=sa.text('NOT events_checked'), sqlite_where=sa.text('NOT events_checked'))


def downgrade():
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_child_summaries_unchecked', postgresql_where=sa.text('NOT events_checked'), sqlite_where=sa.text('NOT events_checked'))
        batch_op.drop_column('events_checked')

