"""How Buurtbudget runs under gunicorn: `gunicorn -c python:service.gunicorn_conf wsgi:app`.

`buurtbudget serve` and the ballot benchmark use these settings; options on the command line
override them (e.g. `-w 4`).

- Threaded workers (gthread), because ballots cast at the same moment by the threads of one
  worker are written in one transaction (service/group_commit.py): one fsync and one database
  lock for the group instead of one per ballot. Threads also keep HTTP connections alive, so a
  client or a proxy in front does not pay a TCP handshake per request.
- One worker per core: the threads of a worker share one interpreter lock, the workers do not.
"""
from __future__ import annotations

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
threads = 8
