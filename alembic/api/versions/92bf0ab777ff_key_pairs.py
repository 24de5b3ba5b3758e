"""key pairs

Revision ID: 92bf0ab777ff
Revises: 486d5414aa3d
Create Date: 2026-11-26 12:00:31.046746
"""
from alembic import op
import sqlalchemy as sa
import novalite.db.types


revision = '92bf0ab777ff'
down_revision = '486d5414aa3d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'name')
    )
    with op.batch_alter_table('key_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_pairs_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('key_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_pairs_user_id'))

    op.drop_table('key_pairs')
