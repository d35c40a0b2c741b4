"""registration: seats, waiting list, offers, invite codes, tickets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:12:27.125930

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invite_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invite_codes_created_by_id_users')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_invite_codes_meetup_id_meetups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_invite_codes_code'))
    )
    with op.batch_alter_table('invite_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invite_codes_meetup_id'), ['meetup_id'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), nullable=True),
    sa.Column('city_text', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('offer_expires_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=20), nullable=True),
    sa.Column('manage_salt', sa.String(length=32), nullable=False),
    sa.Column('ticket_ref', sa.String(length=32), nullable=False),
    sa.Column('invite_code_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status != 'offered' OR offer_expires_at IS NOT NULL", name=op.f('ck_registrations_offer_has_deadline')),
    sa.CheckConstraint("status IN ('confirmed', 'waitlisted', 'offered', 'cancelled')", name=op.f('ck_registrations_status_known')),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_registrations_city_geonameid_cities')),
    sa.ForeignKeyConstraint(['invite_code_id'], ['invite_codes.id'], name=op.f('fk_registrations_invite_code_id_invite_codes')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_registrations_meetup_id_meetups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('invite_code_id', name=op.f('uq_registrations_invite_code_id')),
    sa.UniqueConstraint('meetup_id', 'email', name='one_per_email'),
    sa.UniqueConstraint('ticket_ref', name=op.f('uq_registrations_ticket_ref'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_meetup_id'), ['meetup_id'], unique=False)
        batch_op.create_index('ix_registrations_line', ['meetup_id', 'status', 'queued_at'], unique=False)

    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_opens_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('registration_closes_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('codes_release_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('offer_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        # A published meetup may now also be 'closed' (listed, registration closed).
        batch_op.drop_constraint(op.f('ck_meetups_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', "status IN ('draft', 'published', 'closed', 'cancelled')")
        batch_op.create_check_constraint('offer_hours_range', 'offer_hours IS NULL OR offer_hours BETWEEN 1 AND 168')
    # Meetups published before this version count as published when they were created.
    op.execute("UPDATE meetups SET published_at = created_at WHERE status = 'published'")



def downgrade():
    op.execute("UPDATE meetups SET status = 'published' WHERE status = 'closed'")
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meetups_offer_hours_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_meetups_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', "status IN ('draft', 'published', 'cancelled')")
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('published_at')
        batch_op.drop_column('offer_hours')
        batch_op.drop_column('codes_release_at')
        batch_op.drop_column('registration_closes_at')
        batch_op.drop_column('registration_opens_at')

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_line')
        batch_op.drop_index(batch_op.f('ix_registrations_meetup_id'))

    op.drop_table('registrations')
    with op.batch_alter_table('invite_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invite_codes_meetup_id'))

    op.drop_table('invite_codes')
