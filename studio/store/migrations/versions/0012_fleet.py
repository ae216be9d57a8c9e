"""fleet: job attempts, the fleet's workers, and (Postgres only) the job engine's schema

- `jobs.attempts`: how many times a worker took the job; a fleet worker that dies mid-job has it run again up to
  `--max-attempts` times. `jobs.callback_claimed_at`: which server sends a job's callback (once across the fleet).
- `fleet_workers`: each generation worker process (its model, device, GPU memory, current job, heartbeat), so any
  server can show the fleet on /health and the model line.
- Procrastinate's schema (tables, functions, triggers of the pinned `procrastinate` version), so the studio's own
  migration path sets up the queue: nothing else to run before the first start. A later procrastinate with schema
  changes comes with a migration here that applies its `sql/migrations` files.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("callback_claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "fleet_workers",
        sa.Column("name", sa.String(length=200), primary_key=True),
        sa.Column("model", sa.String(length=200), nullable=False, index=True),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("gpu_memory_gb", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pipeline", sa.JSON(), nullable=True),
        sa.Column("current_job_id", sa.Integer(), nullable=True),
        sa.Column("metrics_url", sa.String(length=300), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # The raw driver cursor: the schema's functions hold `%` and `:name` that no layer may read as parameters.
        with op.get_bind().connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _drop_job_engine_schema()
    op.drop_table("fleet_workers")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("callback_claimed_at")
        batch.drop_column("attempts")


def _drop_job_engine_schema() -> None:
    """Everything procrastinate's schema made: its tables, then its functions and types (all named procrastinate_…)."""
    bind = op.get_bind()
    for (table,) in bind.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%%'"
    ):
        op.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    for (signature,) in bind.exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'"
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for (type_name,) in bind.exec_driver_sql(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%%' AND t.typtype IN ('e', 'c')"
    ):
        op.execute(f'DROP TYPE IF EXISTS "{type_name}" CASCADE')
