"""The Flask service: app factory, REST API, CLI and pages."""
