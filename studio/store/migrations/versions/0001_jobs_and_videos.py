"""jobs and videos

Revision ID: 0001
Revises: 
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'succeeded', 'failed', 'canceled', 'interrupted', name='jobstatus', native_enum=False, length=16), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('recipe', sa.JSON(), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('total_steps', sa.Integer(), nullable=False),
    sa.Column('eta_s', sa.Float(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('retry_of', sa.Integer(), nullable=True),
    sa.Column('load_s', sa.Float(), nullable=True),
    sa.Column('denoise_s', sa.Float(), nullable=True),
    sa.Column('decode_s', sa.Float(), nullable=True),
    sa.Column('encode_s', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['retry_of'], ['jobs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)

    op.create_table('videos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('poster_path', sa.String(length=300), nullable=True),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('negative_prompt', sa.Text(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('num_frames', sa.Integer(), nullable=False),
    sa.Column('fps', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('steps', sa.Integer(), nullable=False),
    sa.Column('guidance', sa.Float(), nullable=False),
    sa.Column('guidance_2', sa.Float(), nullable=True),
    sa.Column('flow_shift', sa.Float(), nullable=False),
    sa.Column('recipe', sa.JSON(), nullable=False),
    sa.Column('load_s', sa.Float(), nullable=True),
    sa.Column('denoise_s', sa.Float(), nullable=True),
    sa.Column('decode_s', sa.Float(), nullable=True),
    sa.Column('encode_s', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('favorite', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['videos.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_videos_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_model'), ['model'], unique=False)
        batch_op.create_index(batch_op.f('ix_videos_parent_id'), ['parent_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_videos_parent_id'))
        batch_op.drop_index(batch_op.f('ix_videos_model'))
        batch_op.drop_index(batch_op.f('ix_videos_job_id'))
        batch_op.drop_index(batch_op.f('ix_videos_group_id'))
        batch_op.drop_index(batch_op.f('ix_videos_created_at'))

    op.drop_table('videos')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_jobs_created_at'))

    op.drop_table('jobs')
