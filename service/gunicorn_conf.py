"""How Buurtbudget runs under gunicorn: `gunicorn -c python:service.gunicorn_conf wsgi:app`.

`buurtbudget serve` and the ballot benchmark use these settings; options on the command line
override them (e.g. `-w 4`).

- gevent workers: each worker serves its requests on greenlets in one OS thread. Ballots cast at
  the same moment by the requests of one worker are written in one transaction
  (service/group_commit.py): one fsync and one database lock for the group instead of one per
  ballot. Greenlets hand over to each other without the interpreter-lock contention and the
  context switches of threads: on the 2-core benchmark machine gevent workers cast 1.4 times as
  many ballots per second as gthread workers with 8 threads (median of six paired runs), at a
  lower p99 (docs/performance.md). psycopg 3 cooperates with gevent by itself; SQLite calls are short and
  block the worker while they run.
- Connections are kept alive, so a client or a proxy in front does not pay a TCP handshake per
  request.
- One worker per core: a worker runs on one core at a time.
"""
from __future__ import annotations

import os

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_connections = 1000


def worker_exit(server: object, worker: object) -> None:
    """Close the worker's database connections while its event loop still runs.

    Left to the garbage collector at interpreter exit, closing the PostgreSQL connection pool
    waits on its threads after gevent's hub is gone, and fails with a traceback in the log.
    """
    from service.extension import EXTENSION

    holder = getattr(getattr(worker, "wsgi", None), "extensions", {}).get(EXTENSION)
    if holder is not None:
        holder.close()
