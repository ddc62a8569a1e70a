"""the sync clock: PostgreSQL's transaction ids instead of one counter row

Issue 23: every write transaction took the next value of `sync_counter`'s one row and held its lock until
commit, so all writes of all families ran one at a time. On PostgreSQL a version is now the writing
transaction's id plus a fixed offset (backend/versioning.py); SQLite keeps the counter.

The table is renamed `sync_clock`: a web worker still running the old code fails its writes (and the phone
retries) instead of stamping versions that would interleave with the new ones. On PostgreSQL the offset is
chosen so that every transaction after this one gets a version above every one handed out before: the
timestamps phones hold stay valid, no record is skipped. The counter value is kept, frozen, as the last
version the counter gave.

Revision ID: 7c41d2e9a0f3
Revises: 0b3e5c8f7a21
Create Date: 2026-12-04 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c41d2e9a0f3'
down_revision = '0b3e5c8f7a21'
branch_labels = None
depends_on = None

XID = "pg_current_xact_id()::text::bigint"


def upgrade():
    op.rename_table('sync_counter', 'sync_clock')
    op.add_column('sync_clock', sa.Column('xid_offset', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sync_clock RENAME CONSTRAINT pk_sync_counter TO pk_sync_clock")
        op.execute("INSERT INTO sync_clock (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING")
        # this transaction's version is the counter's next value; every later transaction's is higher
        op.execute(f"UPDATE sync_clock SET xid_offset = version + 1 - {XID} WHERE id = 1")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # the counter goes on from the highest version the transaction ids can have given
        op.execute(f"UPDATE sync_clock SET version = {XID} + xid_offset WHERE id = 1")
        op.execute("ALTER TABLE sync_clock RENAME CONSTRAINT pk_sync_clock TO pk_sync_counter")
    op.drop_column('sync_clock', 'xid_offset')
    op.rename_table('sync_clock', 'sync_counter')
