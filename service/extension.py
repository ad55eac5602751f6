"""The Flask extension that gives each worker process its own Runtime."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from service.runtime import Runtime, RuntimeHolder

EXTENSION = "buurtbudget"


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    app.extensions[EXTENSION] = RuntimeHolder(settings)


def runtime() -> Runtime:
    return current_app.extensions[EXTENSION].get()
