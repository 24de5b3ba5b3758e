"""migrations

Revision ID: 90226feb8e0f
Revises: 05f81fdb7851
Create Date: 2026-11-26 12:00:32.038510
"""
from alembic import op
import sqlalchemy as sa
import novalite.db.types


revision = '90226feb8e0f'
down_revision = '05f81fdb7851'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('migrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('migration_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('old_flavor', sa.JSON(), nullable=False),
    sa.Column('new_flavor', sa.JSON(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=True),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', novalite.db.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uuid')
    )
    with op.batch_alter_table('migrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_migrations_instance_uuid'), ['instance_uuid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('migrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_migrations_instance_uuid'))

    op.drop_table('migrations')
