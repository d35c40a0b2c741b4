"""meetups keep their seat counts: confirmed, offered, waitlisted and unused invite codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Plain ALTER TABLE, the checks attached to the columns, as in 0009 (a batch would make SQLite copy
# the table, which the registrations' foreign keys forbid). The last column carries the capacity
# check: it names the columns added before it.
_COLUMNS = ("confirmed_count", "offered_count", "waitlisted_count", "unused_codes_count")
_CAPACITY = (" CONSTRAINT ck_meetups_seats_within_capacity"
             " CHECK (confirmed_count + offered_count <= capacity)")
# The counts as they stand, from the rows they count (registration.seats.RECOUNT says the same).
_BACKFILL = """
UPDATE meetups SET
  confirmed_count = (SELECT count(*) FROM registrations r WHERE r.meetup_id = meetups.id AND r.status = 'confirmed'),
  offered_count = (SELECT count(*) FROM registrations r WHERE r.meetup_id = meetups.id AND r.status = 'offered'),
  waitlisted_count = (SELECT count(*) FROM registrations r WHERE r.meetup_id = meetups.id AND r.status = 'waitlisted'),
  unused_codes_count = (SELECT count(*) FROM invite_codes c WHERE c.meetup_id = meetups.id AND c.used_at IS NULL)
"""


def upgrade():
    for number, name in enumerate(_COLUMNS):
        check = f" CONSTRAINT ck_meetups_{name}_not_negative CHECK ({name} >= 0)"
        op.execute(f"ALTER TABLE meetups ADD COLUMN {name} INTEGER DEFAULT 0 NOT NULL{check}"
                   + (_CAPACITY if number == len(_COLUMNS) - 1 else ""))
    op.execute(_BACKFILL)


def downgrade():
    for name in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE meetups DROP COLUMN {name}")
