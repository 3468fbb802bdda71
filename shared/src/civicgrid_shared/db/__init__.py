"""PostgreSQL helpers: pools, migrations, unit of work, outbox and inbox."""
