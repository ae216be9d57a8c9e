"""Alembic environment: runs on the connection that `Database.upgrade` hands over."""

from alembic import context

from studio.store.rows import Base, include_in_autogenerate

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_in_autogenerate,  # the FTS search index is raw SQL
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
