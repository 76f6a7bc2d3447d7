"""Durable state of the alerting service: SQLAlchemy models, migrations, queries."""
