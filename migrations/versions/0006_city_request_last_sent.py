"""city requests remember when their link was last emailed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('city_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sent_at', sa.DateTime(), nullable=True))
    # Requests still waiting for confirmation had their link sent when they were made.
    op.execute("UPDATE city_requests SET last_sent_at = created_at WHERE confirmed_at IS NULL")


def downgrade():
    with op.batch_alter_table('city_requests', schema=None) as batch_op:
        batch_op.drop_column('last_sent_at')
