"""Delivery machinery: broker factory, topics, outbox relay, consumers, dead letters."""
