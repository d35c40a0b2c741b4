"""initial schema: cities, fans, staff accounts, meetups

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:14:56.165327

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('cities',
    sa.Column('geonameid', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('admin1_code', sa.String(length=20), nullable=False),
    sa.Column('province', sa.String(length=100), nullable=True),
    sa.Column('province_zh', sa.String(length=100), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('geonameid', name=op.f('pk_cities'))
    )
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cities_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cities_population'), ['population'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'planner', 'staff', 'engineer')", name=op.f('ck_users_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('city_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('rank', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_city_names_city_geonameid_cities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_city_names')),
    sa.UniqueConstraint('city_geonameid', 'key', name='uq_city_names_city_key')
    )
    with op.batch_alter_table('city_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_city_names_city_geonameid'), ['city_geonameid'], unique=False)
        batch_op.create_index(batch_op.f('ix_city_names_key'), ['key'], unique=False)

    op.create_table('fans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handle', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('joined_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_fans_city_geonameid_cities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fans')),
    sa.UniqueConstraint('email', name=op.f('uq_fans_email'))
    )
    with op.batch_alter_table('fans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fans_city_geonameid'), ['city_geonameid'], unique=False)

    op.create_table('meetups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('city_geonameid', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('venue_name', sa.String(length=200), nullable=False),
    sa.Column('venue_address', sa.String(length=300), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'cancelled')", name=op.f('ck_meetups_status_known')),
    sa.CheckConstraint('capacity BETWEEN 30 AND 50', name=op.f('ck_meetups_capacity_30_to_50')),
    sa.ForeignKeyConstraint(['city_geonameid'], ['cities.geonameid'], name=op.f('fk_meetups_city_geonameid_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetups'))
    )
    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetups_city_geonameid'), ['city_geonameid'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetups_starts_at'), ['starts_at'], unique=False)




def downgrade():

    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetups_starts_at'))
        batch_op.drop_index(batch_op.f('ix_meetups_city_geonameid'))

    op.drop_table('meetups')
    with op.batch_alter_table('fans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fans_city_geonameid'))

    op.drop_table('fans')
    with op.batch_alter_table('city_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_city_names_key'))
        batch_op.drop_index(batch_op.f('ix_city_names_city_geonameid'))

    op.drop_table('city_names')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cities_population'))
        batch_op.drop_index(batch_op.f('ix_cities_country_code'))

    op.drop_table('cities')

