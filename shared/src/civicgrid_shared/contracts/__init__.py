"""Event contracts: the envelope, the payloads and the topic registry."""
