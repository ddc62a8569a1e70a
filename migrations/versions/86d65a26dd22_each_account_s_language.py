"""each account's language

Issue 22: the language of every email and page the account reads; accounts from before it read English,
as they did.

Revision ID: 86d65a26dd22
Revises: a688ce8f98c3
Create Date: 2026-12-03 18:10:06.797600

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '86d65a26dd22'
down_revision = 'a688ce8f98c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')

