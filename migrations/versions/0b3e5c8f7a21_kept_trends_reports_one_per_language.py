"""kept trends reports, one per language

Issue 22: the default trends response kept with a child's summary holds words (verdict reasons, red-flag
messages, summaries), so it is kept once per locale in child_summary_reports. The reports kept before, in
English only, are dropped and their summaries marked stale: their next reader rebuilds them.

Revision ID: 0b3e5c8f7a21
Revises: 86d65a26dd22
Create Date: 2026-12-04 10:12:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0b3e5c8f7a21'
down_revision = '86d65a26dd22'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('child_summary_reports',
    sa.Column('child_id', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('report_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['child_summaries.child_id'],
                            name=op.f('fk_child_summary_reports_child_id_child_summaries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('child_id', 'locale', name=op.f('pk_child_summary_reports'))
    )
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.drop_column('report_json')
    op.execute(sa.text("UPDATE child_summaries SET stale = :stale").bindparams(stale=True))


def downgrade():
    with op.batch_alter_table('child_summaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_json', sa.Text(), nullable=True))
    op.drop_table('child_summary_reports')
    op.execute(sa.text("UPDATE child_summaries SET stale = :stale").bindparams(stale=True))
