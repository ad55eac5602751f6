"""Rebuilding every read model against only reading and decoding the same event log, in one run.

For each backend and each log (a generated one of `--events` events, and an imported real
election), the log is written once, then each measurement runs in a process of its own so that
its peak RSS is its own:

- read+decode: page through the whole notification log and decode every event (the reference);
- rebuild: `projections rebuild` of every read model, with the code in this checkout, and with
  the code of `--before DIR` (another checkout, e.g. the previous commit) when given.

The figure that matters is rebuild events/s as a share of read+decode events/s.

    python benchmarks/rebuild_benchmark.py --backend both --events 1000000 \\
        --election ../shared/data/pabulib/poland_lodz_2022_.pb --before /tmp/previous-checkout
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("BUURTBUDGET_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET_KEY = "rebuild-benchmark"
OFFICIALS = ("official:anna", "official:bram", "official:carla")
PROPOSALS_PER_ROUND = 30
EVENTS_PER_ROUND = 200_000


# -- the logs ----------------------------------------------------------------------------------


def generate_log(app: Any, events: int) -> None:
    """Rounds carried from deposit to closing: proposals, ballots (most of the log) and payouts."""
    rng = random.Random(2026)
    first, second, third = OFFICIALS
    municipality = app.register_municipality(name="Benchmarkstad", cbs_code=None, actor=first)
    rounds = max(1, round(events / EVENTS_PER_ROUND))
    for number in range(rounds):
        start = app.recorder.max_notification_id() or 0
        neighbourhood = app.register_neighbourhood(
            municipality_id=municipality, name=f"Wijk {number}", cbs_code=None, actor=first
        )
        round_id = app.open_round(
            neighbourhood_id=neighbourhood, title=f"Buurtbudget wijk {number}",
            description="Bewoners beslissen over het budget van hun wijk.", schedule=None,
            voting={"method": "approval", "max_choices": 5}, actor=first,
        )
        costs = [rng.randrange(5_000_00, 60_000_00, 100) for _ in range(PROPOSALS_PER_ROUND)]
        app.deposit(round_id, amount=sum(costs) // 3, source="Gemeente", reference=f"BB-{number}",
                    actor=first)
        proposals = [
            str(app.submit_proposal(
                round_id, title=f"Initiatief {n}", summary="Een plan voor de buurt",
                description="Wat, waar, wanneer en met wie. " * 5, category="groen",
                cost_lines=[{"description": "uitvoering", "amount": cost}],
                proposer_name=f"Bewoner {n}", proposer_email=f"bewoner{n}@example.org",
            )[0])
            for n, cost in enumerate(costs)
        ]
        app.close_submissions(round_id, actor=first)
        for proposal_id in proposals:
            app.admit_proposal(uuid.UUID(proposal_id), amount=None, note="", actor=first)
        app.open_voting(round_id, actor=first)
        # Each voter is two events (ballot issued, cast); the rest of the round is ~300 events.
        voters = max(1, (events // rounds - 300) // 2)
        weights = [rng.random() ** 2 for _ in proposals]
        for chunk in range(0, voters, 20_000):
            ballots = [
                {pid: 1 for pid in set(rng.choices(proposals, weights, k=rng.randint(1, 5)))}
                for _ in range(min(20_000, voters - chunk))
            ]
            app.import_ballots(round_id, ballots, actor=first)
        app.close_voting(round_id, actor=first)
        tally = app.run_tally(round_id, actor=first)
        app.confirm_tally(round_id, tally_id=tally["tally_id"], actor=second)
        for n, winner in enumerate(tally["winners"]):
            for part in range(2):
                payout_id = app.request_payout(
                    round_id, actor=first, proposal_id=winner["proposal_id"],
                    amount=winner["cost"] // 3, payee_name=f"Leverancier {n}",
                    iban="NL91ABNA0417164300", kind="invoice", reference=f"F-{number}-{n}-{part}",
                    description="factuur",
                )
                app.approve_payout(round_id, payout_id, actor=second)
                app.mark_payout_paid(round_id, payout_id, bank_reference=f"B-{n}-{part}", actor=third)
            app.complete_proposal(uuid.UUID(winner["proposal_id"]), report="Klaar.", actor=first)
        app.close_round(round_id, destination="Algemene middelen", actor=first)
        written = (app.recorder.max_notification_id() or 0) - start
        print(f"    round {number + 1}/{rounds}: {written:,} events", file=sys.stderr, flush=True)


def import_election(app: Any, path: str) -> None:
    from service.pabulib_exchange import import_pabulib

    import_pabulib(app, Path(path).read_text(encoding="utf-8"), rule="greedy")


# -- what runs in each child process -------------------------------------------------------------


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(step: str, settings: dict[str, Any], argument: str) -> dict[str, Any]:
    from service.runtime import Runtime

    if step == "populate-generated":
        rt = Runtime(settings, create_tables=True)
        generate_log(rt.application, int(argument))
    elif step == "populate-election":
        rt = Runtime(settings, create_tables=True)
        import_election(rt.application, argument)
    else:
        rt = Runtime(settings)
    head = rt.application.recorder.max_notification_id() or 0
    started = time.perf_counter()
    if step == "read":
        recorder, mapper, position = rt.application.recorder, rt.application.mapper, 0
        while position < head:
            page = recorder.select_notifications(start=position + 1, limit=1000, stop=head)
            for notification in page:
                mapper.to_domain_event(notification)
            position = page[-1].id if page else head
    elif step == "rebuild":
        rt.projector.rebuild()
    seconds = time.perf_counter() - started
    rt.close()
    return {"events": head, "seconds": seconds, "peak_rss_mib": peak_rss_mib()}


def run_child(step: str, settings: dict[str, Any], argument: str = "", code: Path = HERE) -> dict[str, Any]:
    # Putting `code` first on the path makes the child import that checkout's read models.
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, json.dumps(settings), argument],
        env=env, cwd=code, check=True, stdout=subprocess.PIPE, text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the parent ----------------------------------------------------------------------------------


def fresh_database(backend: str, workdir: Path, name: str) -> dict[str, Any]:
    # The audit key beside the database, not in the working directory: the rebuild of another
    # checkout (--before) runs in that checkout.
    settings: dict[str, Any] = {
        "SECRET_KEY": SECRET_KEY, "KEY_FILE": str(workdir / "unused.key"),
        "AUDIT_KEY_FILE": str(workdir / f"{name}-audit.key"),
    }
    if backend == "sqlite":
        return {**settings, "DATABASE_URL": f"sqlite:///{workdir / name}.db"}
    import psycopg

    schema = f"bb_rebuild_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return {**settings, "DATABASE_URL": POSTGRES_URL, "DATABASE_SCHEMA": schema}


def drop_database(settings: dict[str, Any]) -> None:
    if settings.get("DATABASE_SCHEMA"):
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{settings["DATABASE_SCHEMA"]}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the generated log")
    parser.add_argument("--election", default=str(HERE.parent.parent / "shared/data/pabulib/poland_lodz_2022_.pb"),
                        help="a pabulib .pb file to import as the real-election log ('' to skip)")
    parser.add_argument("--before", type=Path, help="another checkout whose rebuild to measure too")
    parser.add_argument("--before-max-events", type=int, default=300_000,
                        help="measure --before only on logs up to this size (it may be slow)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, settings, argument = args.child
        print(json.dumps(child(step, json.loads(settings), argument)))
        return

    from ballot_benchmark import machine  # beside this file

    print(", ".join(f"{key}: {value}" for key, value in machine().items()))
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    logs = [("generated", "populate-generated", str(args.events))]
    if args.election:
        logs.append((Path(args.election).stem, "populate-election", args.election))
    header = f"{'backend':<11} {'log':<22} {'events':>9}  {'measure':<16} {'events/s':>9}  {'vs read':>7}  {'peak RSS':>9}"
    rows = []
    with tempfile.TemporaryDirectory(prefix="rebuild-bench-") as tmp:
        for backend in backends:
            for name, populate, argument in logs:
                settings = fresh_database(backend, Path(tmp), name.replace("-", "_")[:20])
                try:
                    print(f"writing the {name} log on {backend} ...", file=sys.stderr, flush=True)
                    run_child(populate, settings, argument)
                    measured = [("read+decode", run_child("read", settings))]
                    if args.before and measured[0][1]["events"] <= args.before_max_events:
                        measured.append(("rebuild (before)", run_child("rebuild", settings, code=args.before)))
                    measured.append(("rebuild", run_child("rebuild", settings)))
                finally:
                    drop_database(settings)
                reference = measured[0][1]["events"] / measured[0][1]["seconds"]
                for label, result in measured:
                    rate = result["events"] / result["seconds"]
                    rows.append(
                        f"{backend:<11} {name[:22]:<22} {result['events']:>9,}  {label:<16} "
                        f"{rate:>9,.0f}  {rate / reference:>6.0%}  {result['peak_rss_mib']:>6.0f} MiB"
                    )
                print("\n".join([header, *rows]), file=sys.stderr, flush=True)
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
