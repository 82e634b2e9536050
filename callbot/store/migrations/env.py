"""Alembic environment: the engine comes from ``config.attributes['engine']`` (set by callbot.store)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import callbot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
