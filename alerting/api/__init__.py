"""HTTP API (FastAPI): alerts, verdicts, cameras, evidence, notifications, live feed, metrics."""
