"""The offline verifier reports a malformed export line by line; it never stops with a traceback."""
from __future__ import annotations

import json

from service.audit_verify import verify_export

HEADER = json.dumps({"kind": "header", "format": "buurtbudget-audit-export/1",
                     "verifier_key": "nobody+00000000+AAAA"})


def test_malformed_lines_are_findings_not_crashes():
    lines = [
        HEADER,
        "not json at all",
        json.dumps({"kind": "event", "position": 0, "notification_id": 1}),
        json.dumps({"kind": "event", "position": 1, "notification_id": 2, "leaf_hash": "zz",
                    "event": {"topic": "x", "originator_id": "not-a-uuid",
                              "originator_version": 1, "state": {}}}),
        json.dumps({"kind": "sealed", "position": 2, "notification_id": 3, "leaf_hash": "nothex"}),
        json.dumps({"kind": "surprise"}),
    ]
    report = verify_export(line.encode() for line in lines)
    assert not report.ok
    kinds = [finding.kind for finding in report.findings]
    assert kinds.count("format") >= 4 and "truncated" in kinds and "signature" in kinds
