"""Alembic migration scripts of the ticket store (run by callbot.store.database.upgrade_schema)."""
