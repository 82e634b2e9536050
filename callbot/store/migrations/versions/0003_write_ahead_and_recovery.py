"""write-ahead per call (owner, incarnation, draft, clips), ticket reason, workers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column('incarnation', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('draft', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('clips', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_worker_id'), ['worker_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))

    op.create_table('workers',
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('incarnation', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('hostname', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('worker_id')
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite >= 3.35): copying `calls` would trip the turns' foreign key.
    op.drop_table('workers')
    with op.batch_alter_table('tickets', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('reason')
    with op.batch_alter_table('calls', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_worker_id'))
        batch_op.drop_column('clips')
        batch_op.drop_column('draft')
        batch_op.drop_column('incarnation')
        batch_op.drop_column('worker_id')
