"""Compare what an export recomputes with what a running service publishes about the same log.

The service is asked about the log as it stood at the export's last position (time travel), so a
service that has moved on since the export still agrees; a service whose history was changed does not:
its latest checkpoint does not extend the export's tree, or a round's replayed balances differ.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from domain.merkle_log import ProofError, verify_consistency
from service.audit_verify import Report

API = "/api/v1"


class ServiceUnreachable(RuntimeError):
    """The service did not answer as the API documents; the message says what it answered."""


def differences_with_service(report: Report, url: str) -> list[str]:
    """What the service at `url` publishes differently from `report`, first difference first."""
    base = url.rstrip("/") + API
    found = _checkpoint_differences(report, base)
    if report.tree_size:
        last = report.tree_size - 1
        for round_id, balances in report.balances.items():
            published = _get(base, f"/rounds/{round_id}?as_of_position={last}")
            found += [
                f"round {round_id}: {name} is {value} in the export, "
                f"{published.get(name)} at the service (as of position {last})"
                for name, value in balances.items() if published.get(name) != value
            ]
    return found


def _checkpoint_differences(report: Report, base: str) -> list[str]:
    latest = _get(base, "/audit/checkpoints/latest")
    size, root_hex = latest["tree_size"], latest["root_hash"]
    if size < report.tree_size:
        return [f"checkpoint: the service's latest checkpoint covers {size} entries, "
                f"fewer than the export's {report.tree_size}"]
    proof = [] if size == report.tree_size else [bytes.fromhex(h) for h in _get(
        base, f"/audit/proofs/consistency?first={report.tree_size}&second={size}")["proof"]]
    try:
        verify_consistency(report.tree_size, size, bytes.fromhex(report.root_hash),
                           bytes.fromhex(root_hex), proof)
    except (ProofError, ValueError) as error:
        return [f"checkpoint: the service's latest checkpoint ({size} entries, root {root_hex}) "
                f"does not extend the export's tree ({report.tree_size} entries): {error}"]
    return []


def _get(base: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise ServiceUnreachable(f"GET {path} answered {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServiceUnreachable(f"GET {path} failed: {error}") from None
