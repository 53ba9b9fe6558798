"""Read views in SQL: SQLite (embedded, memory) and PostgreSQL."""
