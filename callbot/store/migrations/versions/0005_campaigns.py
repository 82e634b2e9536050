"""outbound campaigns: campaigns, their contacts and attempts, the do-not-call list (issue 15)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sa.Enum('created', 'running', 'paused', 'cancelled', 'finished', name='campaignstate', native_enum=False, length=16), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('message_text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('audio_path', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('window_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('window_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('days', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('retry', sa.JSON(), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=False),
    sa.Column('cps', sa.Float(), nullable=False),
    sa.Column('next_dial_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_name'), ['name'], unique=True)
        batch_op.create_index(batch_op.f('ix_campaigns_state'), ['state'], unique=False)

    op.create_table('do_not_call',
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('campaign_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'confirmed', 'answered_no_confirm', 'machine', 'busy', 'no_answer', 'failed', 'do_not_call', 'outside_window', name='contactstatus', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sip_code', sa.Integer(), nullable=True),
    sa.Column('dtmf', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('active_attempt_id', sa.Integer(), nullable=True),
    sa.Column('first_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'number')
    )
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_contacts_active_attempt_id'), ['active_attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_contacts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_contacts_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_contacts_status'), ['status'], unique=False)

    op.create_table('campaign_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('attempt_no', sa.Integer(), nullable=False),
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('incarnation', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('dtmf', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.Enum('pending', 'confirmed', 'answered_no_confirm', 'machine', 'busy', 'no_answer', 'failed', 'do_not_call', 'outside_window', name='contactstatus', native_enum=False, length=24), nullable=True),
    sa.Column('sip_code', sa.Integer(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['campaign_contacts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'attempt_no')
    )
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_attempts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_attempts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_attempts_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_attempts_worker_id'), ['worker_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_worker_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_ended_at'))
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_contact_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_attempts_campaign_id'))

    op.drop_table('campaign_attempts')
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_status'))
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_contacts_active_attempt_id'))

    op.drop_table('campaign_contacts')
    op.drop_table('do_not_call')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_state'))
        batch_op.drop_index(batch_op.f('ix_campaigns_name'))

    op.drop_table('campaigns')
