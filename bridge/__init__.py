"""Parley's application core: config, store, router, outbox, Waku and Status layers, web."""
