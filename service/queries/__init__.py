"""The query layer: every read the service serves, for a principal, as plain data."""
