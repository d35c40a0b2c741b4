"""city ranking: fans per city, stored host assignments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('city_fan_counts',
    sa.Column('city_geonameid', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fans', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_city_fan_counts_city_geonameid_cities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('city_geonameid', name=op.f('pk_city_fan_counts'))
    )
    op.create_table('host_assignment_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parameters_key', sa.String(length=100), nullable=False),
    sa.Column('gazetteer_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_assignment_sets')),
    sa.UniqueConstraint('parameters_key', name=op.f('uq_host_assignment_sets_parameters_key'))
    )
    op.create_table('host_assignments',
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('is_candidate', sa.Boolean(), nullable=False),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('host_geonameid', sa.Integer(), nullable=True),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['set_id'], ['host_assignment_sets.id'], name=op.f('fk_host_assignments_set_id_host_assignment_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('set_id', 'city_geonameid', name=op.f('pk_host_assignments'))
    )
    # The fans already imported are counted once here; from now on the counts are kept up to date.
    op.execute(
        "INSERT INTO city_fan_counts (city_geonameid, fans) "
        "SELECT city_geonameid, count(*) FROM fans WHERE city_geonameid IS NOT NULL GROUP BY city_geonameid"
    )


def downgrade():
    op.drop_table('host_assignments')
    op.drop_table('host_assignment_sets')
    op.drop_table('city_fan_counts')
