"""Notifications: a durable outbox in the database, delivered by channel senders."""
