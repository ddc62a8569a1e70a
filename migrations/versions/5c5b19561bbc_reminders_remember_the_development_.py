"""reminders remember the development check prompt

An outbox row says whether its email asked for a development check (issue 20 item 4), so that the
next slots within 4 weeks do not ask again, and a retried send asks the same.

Revision ID: 5c5b19561bbc
Revises: d7a793f854fe
Create Date: 2026-12-03 16:38:29.099571

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c5b19561bbc'
down_revision = 'd7a793f854fe'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('development_prompt', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_column('development_prompt')
