"""city requests: fans ask for a meetup in their city

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('city_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('confirm_salt', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_city_requests_city_geonameid_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_city_requests')),
    sa.UniqueConstraint('city_geonameid', 'email', name='one_per_email_per_city')
    )


def downgrade():
    op.drop_table('city_requests')
