"""The warehouse: tables, migrations, idempotent batch writes with incremental rollups."""
