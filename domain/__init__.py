"""Buurtbudget domain: aggregates, events and pure rules (standard library and eventsourcing.domain only)."""
