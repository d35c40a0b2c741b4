"""mail queue: registration emails recorded in the transaction, delivered after it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('waitlist_position', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                            name=op.f('fk_mail_queue_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_queue'))
    )
    with op.batch_alter_table('mail_queue', schema=None) as batch_op:
        batch_op.create_index('ix_mail_queue_pending', ['sent_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_queue_registration_id'), ['registration_id'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_queue_registration_id'))
        batch_op.drop_index('ix_mail_queue_pending')
    op.drop_table('mail_queue')
