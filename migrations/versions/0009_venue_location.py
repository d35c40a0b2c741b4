"""meetups can pin their venue: latitude and longitude, both or neither

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Plain ALTER TABLE on both databases, the checks attached to the columns: a batch would make
# SQLite copy the table, which the registrations' foreign keys forbid (as in 0008).
_LATITUDE = ("ALTER TABLE meetups ADD COLUMN venue_latitude FLOAT CONSTRAINT ck_meetups_venue_latitude_range"
             " CHECK (venue_latitude IS NULL OR venue_latitude BETWEEN -90 AND 90)")
_LONGITUDE = ("ALTER TABLE meetups ADD COLUMN venue_longitude FLOAT CONSTRAINT ck_meetups_venue_longitude_range"
              " CHECK (venue_longitude IS NULL OR venue_longitude BETWEEN -180 AND 180)"
              " CONSTRAINT ck_meetups_venue_location_whole CHECK ((venue_latitude IS NULL) = (venue_longitude IS NULL))")


def upgrade():
    op.execute(_LATITUDE)
    op.execute(_LONGITUDE)


def downgrade():
    op.execute('ALTER TABLE meetups DROP COLUMN venue_longitude')  # first: its check names the latitude
    op.execute('ALTER TABLE meetups DROP COLUMN venue_latitude')
