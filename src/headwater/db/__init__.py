"""The control-plane database: tables, migrations, and repositories returning domain objects."""
