"""check-in at the door: one check-in per registration, the audit trail, answers kept by nonce,
conflicts from synced offline scans

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checkin_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_checkin_nonces_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkin_nonces_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_nonces')),
    sa.UniqueConstraint('meetup_id', 'user_id', 'nonce', name='one_answer_per_nonce')
    )
    op.create_table('checkin_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('first_device', sa.String(length=100), nullable=False),
    sa.Column('first_user_id', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('second_device', sa.String(length=100), nullable=False),
    sa.Column('second_user_id', sa.Integer(), nullable=False),
    sa.Column('second_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(), nullable=True),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'], name=op.f('fk_checkin_conflicts_dismissed_by_id_users')),
    sa.ForeignKeyConstraint(['first_user_id'], ['users.id'], name=op.f('fk_checkin_conflicts_first_user_id_users')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_checkin_conflicts_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkin_conflicts_registration_id_registrations')),
    sa.ForeignKeyConstraint(['second_user_id'], ['users.id'], name=op.f('fk_checkin_conflicts_second_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_conflicts'))
    )
    with op.batch_alter_table('checkin_conflicts', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_conflicts_open', ['meetup_id', 'dismissed_at'], unique=False)

    op.create_table('checkin_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=100), nullable=False),
    sa.CheckConstraint("action IN ('checked_in', 'undone', 'conflict', 'conflict_dismissed')", name=op.f('ck_checkin_events_action_known')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_checkin_events_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkin_events_registration_id_registrations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkin_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_events'))
    )
    with op.batch_alter_table('checkin_events', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_events_meetup', ['meetup_id', 'at'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.CheckConstraint("method IN ('scan', 'manual', 'sync')", name=op.f('ck_checkins_method_known')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_checkins_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_checkins_registration_id_registrations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkins_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_checkins_registration_id'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_recent', ['meetup_id', 'checked_in_at'], unique=False)


def downgrade():
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_recent')

    op.drop_table('checkins')
    with op.batch_alter_table('checkin_events', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_events_meetup')

    op.drop_table('checkin_events')
    with op.batch_alter_table('checkin_conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_conflicts_open')

    op.drop_table('checkin_conflicts')
    op.drop_table('checkin_nonces')
