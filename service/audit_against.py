"""Compare what an export recomputes with what a running service publishes about the same log.

The service is asked about the log as it stood at the export's last position (time travel), so a
service that has moved on since the export still agrees; a service whose history was changed does not:
its latest checkpoint does not extend the export's tree, a round's replayed balances differ, or a
tally it publishes (or recounts from its own ballots) is not what the export's ballots recount to.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from domain.merkle_log import ProofError, verify_consistency
from domain.round_result import comparable
from service.audit_verify import Report

API = "/api/v1"


class ServiceUnreachable(RuntimeError):
    """The service did not answer as the API documents; the message says what it answered."""


class PublishingService(Protocol):
    """What the comparison reads of a service: the JSON answer of a public GET under /api/v1."""

    def get(self, path: str) -> Any: ...


class ServiceAt:
    """A service reached over HTTP at its base URL."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/") + API

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise ServiceUnreachable(f"GET {path} answered {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ServiceUnreachable(f"GET {path} failed: {error}") from None


def differences_with_service(report: Report, service: PublishingService) -> list[str]:
    """What `service` publishes differently from `report`, first difference first.

    A read the service does not answer as documented is a difference too, and the comparison
    goes on with the others.
    """
    found: list[str] = []

    def ask(path: str) -> Any:
        try:
            return service.get(path)
        except ServiceUnreachable as error:
            found.append(f"service: {error}")
            return None

    _checkpoint_differences(report, ask, found)
    if report.tree_size:
        last = report.tree_size - 1
        for round_id, balances in report.balances.items():
            published = ask(f"/rounds/{round_id}?as_of_position={last}")
            if published is not None:
                found += [
                    f"round {round_id}: {name} is {value} in the export, "
                    f"{published.get(name)} at the service (as of position {last})"
                    for name, value in balances.items() if published.get(name) != value
                ]
        _tally_differences(report, ask, last, found)
    return found


def _checkpoint_differences(report: Report, ask: Callable[[str], Any], found: list[str]) -> None:
    latest = ask("/audit/checkpoints/latest")
    if latest is None:
        return
    size, root_hex = latest["tree_size"], latest["root_hash"]
    if size < report.tree_size:
        found.append(f"checkpoint: the service's latest checkpoint covers {size} entries, "
                     f"fewer than the export's {report.tree_size}")
        return
    proof: list[bytes] = []
    if size != report.tree_size:
        answer = ask(f"/audit/proofs/consistency?first={report.tree_size}&second={size}")
        if answer is None:
            return
        proof = [bytes.fromhex(h) for h in answer["proof"]]
    try:
        verify_consistency(report.tree_size, size, bytes.fromhex(report.root_hash),
                           bytes.fromhex(root_hex), proof)
    except (ProofError, ValueError) as error:
        found.append(f"checkpoint: the service's latest checkpoint ({size} entries, root "
                     f"{root_hex}) does not extend the export's tree ({report.tree_size} "
                     f"entries): {error}")


def _tally_differences(
    report: Report, ask: Callable[[str], Any], last: int, found: list[str]
) -> None:
    """Each tally the export holds, recounted from its ballots, against the service's tallies,
    the service's own recount of its ballots, and the decision it shows as of the export's end."""
    published: dict[str, dict[str, Any]] = {}
    for round_id in dict.fromkeys(t["round_id"] for t in report.tallies):
        published.update({t["tally_id"]: t for t in ask(f"/rounds/{round_id}/tallies") or ()})
    for tally in report.tallies:
        name = f"tally {tally['tally_id']} of round {tally['round_id']}"
        # What the export's own ballots say; the recorded result if they could not be counted.
        ours, whose = ((tally["recounted"], "the export's ballots recount to")
                       if tally["recounted"] is not None else
                       (tally["recorded"], "the export recorded"))
        theirs = published.get(tally["tally_id"])
        if theirs is None:
            found.append(f"{name}: the service does not publish it")
            continue
        found += _result_differences(
            f"{name}: the service publishes", comparable(theirs["result"]), whose, ours)
        tally_path = urllib.parse.quote(tally["tally_id"], safe="")
        recount = ask(f"/rounds/{tally['round_id']}/tallies/{tally_path}/verify")
        if recount is not None:
            found += _result_differences(
                f"{name}: the service's recount of its ballots gives",
                comparable(recount["recomputed"]), whose, ours)
    for round_id, decision in report.decisions.items():
        shown = ask(f"/rounds/{round_id}/results?as_of_position={last}")
        if shown is None:
            continue
        shown_id = (shown.get("tally") or {}).get("tally_id")
        if (shown_id, shown.get("confirmed")) != (decision["tally_id"], decision["confirmed"]):
            found.append(
                f"round {round_id}: the results at the service (as of position {last}) rest on "
                f"tally {shown_id} (confirmed: {shown.get('confirmed')}), the export's on tally "
                f"{decision['tally_id']} (confirmed: {decision['confirmed']})")


def _result_differences(
    theirs_said: str, theirs: dict[str, Any], ours_said: str, ours: dict[str, Any]
) -> list[str]:
    keys = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if not keys:
        return []
    return [f"{theirs_said} " + ", ".join(f"{k} {_short(theirs.get(k))}" for k in keys)
            + f"; {ours_said} " + ", ".join(f"{k} {_short(ours.get(k))}" for k in keys)]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
