"""Read models built from the event log with SQLAlchemy; each tracks its position and can be rebuilt."""
