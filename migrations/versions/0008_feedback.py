"""feedback pool: items, engineers' notes, fans' votes, status history, meetup ratings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:50:15.294583

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback_voters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('confirm_salt', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('last_sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_voters')),
    sa.UniqueConstraint('email', name=op.f('uq_feedback_voters_email'))
    )
    op.create_table('feedback_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('shipped_in', sa.String(length=50), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(status = 'duplicate') = (merged_into_id IS NOT NULL)", name=op.f('ck_feedback_items_duplicate_has_target')),
    sa.CheckConstraint("category IN ('camera', 'battery', 'system', 'apps', 'price', 'service', 'other')", name=op.f('ck_feedback_items_category_known')),
    sa.CheckConstraint("status != 'shipped' OR shipped_in IS NOT NULL", name=op.f('ck_feedback_items_shipped_has_release')),
    sa.CheckConstraint("status IN ('new', 'under_review', 'planned', 'in_development', 'shipped', 'declined', 'duplicate')", name=op.f('ck_feedback_items_status_known')),
    sa.CheckConstraint('merged_into_id IS NULL OR merged_into_id != id', name=op.f('ck_feedback_items_not_merged_into_itself')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_feedback_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['feedback_items.id'], name=op.f('fk_feedback_items_merged_into_id_feedback_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_items'))
    )
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_items_listing', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_items_merged_into_id'), ['merged_into_id'], unique=False)

    op.create_table('feedback_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('old_status', sa.String(length=20), nullable=True),
    sa.Column('new_status', sa.String(length=20), nullable=False),
    sa.Column('shipped_in', sa.String(length=50), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['feedback_items.id'], name=op.f('fk_feedback_status_changes_item_id_feedback_items')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['feedback_items.id'], name=op.f('fk_feedback_status_changes_merged_into_id_feedback_items')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feedback_status_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_status_changes'))
    )
    with op.batch_alter_table('feedback_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_status_changes_item_id'), ['item_id'], unique=False)

    op.create_table('feedback_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('voter_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['feedback_items.id'], name=op.f('fk_feedback_votes_item_id_feedback_items')),
    sa.ForeignKeyConstraint(['voter_id'], ['feedback_voters.id'], name=op.f('fk_feedback_votes_voter_id_feedback_voters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_votes')),
    sa.UniqueConstraint('item_id', 'voter_id', name='one_vote_per_fan')
    )
    with op.batch_alter_table('feedback_votes', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_votes_counted', ['item_id', 'confirmed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_votes_voter_id'), ['voter_id'], unique=False)

    op.create_table('feedback_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("category IN ('camera', 'battery', 'system', 'apps', 'price', 'service', 'other')", name=op.f('ck_feedback_notes_category_known')),
    sa.ForeignKeyConstraint(['asked_by_id'], ['registrations.id'], name=op.f('fk_feedback_notes_asked_by_id_registrations')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_feedback_notes_author_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['feedback_items.id'], name=op.f('fk_feedback_notes_item_id_feedback_items')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_feedback_notes_meetup_id_meetups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_notes')),
    sa.UniqueConstraint('author_id', 'client_key', name='one_note_per_client_key')
    )
    with op.batch_alter_table('feedback_notes', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_notes_item', ['item_id', 'meetup_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_notes_meetup_id'), ['meetup_id'], unique=False)

    op.create_table('meetup_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meetup_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_meetup_ratings_score_1_to_5')),
    sa.ForeignKeyConstraint(['meetup_id'], ['meetups.id'], name=op.f('fk_meetup_ratings_meetup_id_meetups')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_meetup_ratings_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetup_ratings')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_meetup_ratings_registration_id'))
    )
    with op.batch_alter_table('meetup_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetup_ratings_meetup_id'), ['meetup_id'], unique=False)

    with op.batch_alter_table('meetups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ratings_requested_at', sa.DateTime(), nullable=True))



def downgrade():
    # Not a batch (SQLite would copy the table, which registrations' foreign keys forbid):
    # SQLite 3.35 and PostgreSQL both drop a plain column in place.
    op.execute('ALTER TABLE meetups DROP COLUMN ratings_requested_at')

    with op.batch_alter_table('meetup_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetup_ratings_meetup_id'))

    op.drop_table('meetup_ratings')
    with op.batch_alter_table('feedback_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_notes_meetup_id'))
        batch_op.drop_index('ix_feedback_notes_item')

    op.drop_table('feedback_notes')
    with op.batch_alter_table('feedback_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_votes_voter_id'))
        batch_op.drop_index('ix_feedback_votes_counted')

    op.drop_table('feedback_votes')
    with op.batch_alter_table('feedback_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_status_changes_item_id'))

    op.drop_table('feedback_status_changes')
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_items_merged_into_id'))
        batch_op.drop_index('ix_feedback_items_listing')

    op.drop_table('feedback_items')
    op.drop_table('feedback_voters')
