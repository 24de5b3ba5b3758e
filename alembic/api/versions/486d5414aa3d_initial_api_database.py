"""initial API database

Revision ID: 486d5414aa3d
Revises: 
Create Date: 2026-11-26 11:32:06.066719
"""
from alembic import op
import sqlalchemy as sa
import novalite.db.types


revision = '486d5414aa3d'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('build_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('instance', sa.JSON(), nullable=False),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_uuid')
    )
    with op.batch_alter_table('build_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_build_requests_project_id'), ['project_id'], unique=False)

    op.create_table('cell_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('database_connection', sa.Text(), nullable=False),
    sa.Column('transport_url', sa.Text(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('uuid')
    )
    op.create_table('flavors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flavorid', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('memory_mb', sa.Integer(), nullable=False),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('root_gb', sa.Integer(), nullable=False),
    sa.Column('ephemeral_gb', sa.Integer(), nullable=False),
    sa.Column('swap', sa.Integer(), nullable=False),
    sa.Column('rxtx_factor', sa.Double(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flavorid'),
    sa.UniqueConstraint('name')
    )
    op.create_table('request_specs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_uuid')
    )
    op.create_table('flavor_extra_specs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['flavors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('flavor_id', 'key')
    )
    op.create_table('host_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=False),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['cell_mappings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('host')
    )
    op.create_table('instance_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('queued_for_delete', sa.Boolean(), nullable=False),
    sa.Column('created_at', novalite.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['cell_mappings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_uuid')
    )
    with op.batch_alter_table('instance_mappings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_mappings_cell_id'), ['cell_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instance_mappings_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instance_mappings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_mappings_project_id'))
        batch_op.drop_index(batch_op.f('ix_instance_mappings_cell_id'))

    op.drop_table('instance_mappings')
    op.drop_table('host_mappings')
    op.drop_table('flavor_extra_specs')
    op.drop_table('request_specs')
    op.drop_table('flavors')
    op.drop_table('cell_mappings')
    with op.batch_alter_table('build_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_build_requests_project_id'))

    op.drop_table('build_requests')
