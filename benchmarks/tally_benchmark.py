"""Time Buurtbudget's counting rules against pabutools 1.2.3 on real pabulib elections.

    python benchmarks/tally_benchmark.py            # all instances and rules (pabutools: ~30 min)
    python benchmarks/tally_benchmark.py --quick    # Wieliczka only (about half a minute)
    python benchmarks/tally_benchmark.py --output docs/tally-benchmark.md

Each count runs in a child process of its own, so that its peak memory (the child's maximum
resident set size) is its own and pabutools' gigabytes do not inflate Buurtbudget's figure. Both
count the same file with the same tie-breaking (project id, pabutools' default) and the winners
must be the same. Times are CPU seconds of the count alone (reading the file is timed apart);
wall-clock seconds are shown too, but on a shared machine only CPU time is comparable.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data" / "pabulib"
INSTANCES = {
    "Wieliczka 2023": "poland_wieliczka_2023_green-budget.pb",
    "Warsaw Kolo 2017": "poland_warszawa_2017_kolo.pb",
    "Warsaw Praga-Południe 2020": "poland_warszawa_2020_praga-poludnie.pb",
    "Łódź 2022": "poland_lodz_2022_.pb",
}
QUICK_INSTANCES = ("Wieliczka 2023",)
# (rule, completion) as Buurtbudget names them; pabutools runs its equivalent (count_with_pabutools).
COUNTS = [("greedy", "none"), ("mes", "none"), ("mes", "add1"), ("mes", "add1-exhaustive")]
TOOLS = ("buurtbudget", "pabutools")


def count_with_buurtbudget(
    path: Path, rule: str, completion: str
) -> tuple[list[str], float, float, float]:
    sys.path.insert(0, str(REPO))
    from domain.pabulib import parse_pb
    from domain.tally import run_tally

    started = time.process_time()
    election = parse_pb(path.read_text(encoding="utf-8")).election()
    parsed = time.process_time() - started
    cpu, wall = time.process_time(), time.perf_counter()
    winners = list(run_tally(election, rule, completion, tie_break=("id",)).winners)
    return winners, parsed, time.process_time() - cpu, time.perf_counter() - wall


def count_with_pabutools(
    path: Path, rule: str, completion: str
) -> tuple[list[str], float, float, float]:
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import (
        exhaustion_by_budget_increase,
        greedy_utilitarian_welfare,
        method_of_equal_shares,
    )

    started = time.process_time()
    instance, profile = parse_pabulib(str(path))
    profile = profile.as_multiprofile()  # pabutools' faster form for repeated ballots
    parsed = time.process_time() - started
    cpu, wall = time.process_time(), time.perf_counter()
    if rule == "greedy":
        outcome = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    elif completion == "none":
        outcome = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    elif completion == "add1-exhaustive":
        outcome = method_of_equal_shares(
            instance, profile, sat_class=Cost_Sat, voter_budget_increment=1
        )
    else:  # add1 without the exhaustive stop: pabutools' budget increase by one unit per voter
        outcome = exhaustion_by_budget_increase(
            instance,
            profile,
            method_of_equal_shares,
            {"sat_class": Cost_Sat},
            exhaustive_stop=False,
            budget_step=profile.num_ballots(),
        )
    elapsed = time.process_time() - cpu, time.perf_counter() - wall
    approved = {project for ballot in profile for project in ballot}
    # pabutools funds projects without a vote when money is left; Buurtbudget never does.
    return [project.name for project in outcome if project in approved], parsed, *elapsed


def child(tool: str, file_name: str, rule: str, completion: str) -> None:
    """Run one count and print its result as JSON (the parent reads it)."""
    count = count_with_buurtbudget if tool == "buurtbudget" else count_with_pabutools
    winners, parsed, cpu, wall = count(DATA / file_name, rule, completion)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "winners": winners,
                "parse_cpu": parsed,
                "cpu": cpu,
                "wall": wall,
                "peak_mib": peak_kib / 1024,
            }
        )
    )


def measure(tool: str, file_name: str, rule: str, completion: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", tool, file_name, rule, completion],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tool} {rule}/{completion} on {file_name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}; "
        f"{datetime.date.today().isoformat()}"
    )


def size_of(file_name: str) -> str:
    sys.path.insert(0, str(REPO))
    from domain.pabulib import parse_pb

    instance = parse_pb((DATA / file_name).read_text(encoding="utf-8"))
    return f"{len(instance.votes):,} × {len(instance.projects)}"


def report(rows: list[dict]) -> str:
    lines = [
        (
            "| instance | voters × projects | count | Buurtbudget CPU s (wall) | pabutools CPU s (wall) | "
            "speed-up (CPU) | peak RSS Buurtbudget | peak RSS pabutools | same winners |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ours, theirs = row["buurtbudget"], row["pabutools"]
        ratio = theirs["cpu"] / max(ours["cpu"], 1e-9)
        same = (
            "yes"
            if ours["winners"] == theirs["winners"]
            else (
                "same set, other order"
                if sorted(ours["winners"]) == sorted(theirs["winners"])
                else "**NO**"
            )
        )
        lines.append(
            f"| {row['instance']} | {row['size']} | {row['count']} | {ours['cpu']:.3f} ({ours['wall']:.3f}) | "
            f"{theirs['cpu']:.2f} ({theirs['wall']:.2f}) | {ratio:,.0f}× | {ours['peak_mib']:,.0f} MiB | "
            f"{theirs['peak_mib']:,.0f} MiB | {same} ({len(ours['winners'])}) |"
        )
    return "\n".join(lines)


NOTES = (
    "Each count ran in a process of its own; times are the CPU seconds of the count (reading the "
    "file not included), peak RSS is the process's maximum resident set size (interpreter, parsed "
    "file and count). Both sides used the same tie-breaking (project id) and pabutools its "
    'multiprofile (identical ballots grouped), its fastest form. "mes add1" is add1 without the '
    'exhaustive stop (pabutools: exhaustion_by_budget_increase); "mes add1-exhaustive" also '
    "stops at an exhaustive result (pabutools: voter_budget_increment=1)."
)


def document(rows: list[dict], *, quick: bool) -> str:
    command = "python benchmarks/tally_benchmark.py" + (" --quick" if quick else "")
    return (
        "# Tally benchmark: Buurtbudget against pabutools 1.2.3\n\n"
        f"Machine: {machine()}.\n"
        f"Produced by `{command} --output docs/tally-benchmark.md`.\n\n"
        f"{report(rows)}\n\n{NOTES}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the small instances")
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.add_argument(
        "--child", nargs=4, metavar=("TOOL", "FILE", "RULE", "COMPLETION"), help=argparse.SUPPRESS
    )
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return
    if not DATA.is_dir():
        raise SystemExit(f"the pabulib files are not there: {DATA.resolve()}")
    names = QUICK_INSTANCES if arguments.quick else tuple(INSTANCES)
    rows = []
    for name in names:
        file_name = INSTANCES[name]
        size = size_of(file_name)
        for rule, completion in COUNTS:
            label = rule if completion == "none" else f"{rule} {completion}"
            row = {"instance": name, "size": size, "count": label}
            for tool in TOOLS:
                row[tool] = measure(tool, file_name, rule, completion)
                print(
                    f"{name}: {label}: {tool} {row[tool]['cpu']:.2f} s CPU, {row[tool]['peak_mib']:.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
            rows.append(row)
    text = document(rows, quick=arguments.quick)
    print(text)
    if arguments.output:
        arguments.output.write_text(text, encoding="utf-8")
    if any(
        sorted(row["buurtbudget"]["winners"]) != sorted(row["pabutools"]["winners"]) for row in rows
    ):
        raise SystemExit("the winners differ")


if __name__ == "__main__":
    main()
