"""Paper ballots over HTTP: one official enters a batch, another confirms it; sealed meanwhile."""
from __future__ import annotations


def test_paper_ballots_are_entered_confirmed_by_another_official_and_counted(rounds, api):
    driven = rounds.to("voting", codes=2)
    pids = driven.proposal_ids
    batch = driven.post("paper-batches", {"ballots": [
        {"code": driven.codes[0], "proposals": [pids[0]]},
        {"serial": "P-0001", "proposals": [pids[0], pids[1]]},
    ]}, status=201)
    assert batch["status"] == "entered" and batch["ballots"] == 2
    confirm = f"paper-batches/{batch['batch_id']}/confirm"
    driven.refused("POST", confirm, {}, status=403, message="another official")
    driven.refused("POST", confirm, {}, as_="auditor", status=403)
    sealed = [e for e in api.get("/events?limit=10000", as_="auditor")["events"]
              if e["topic"].startswith("buurtbudget/PaperBatch")]
    assert [e.get("sealed") for e in sealed] == [True]
    assert driven.post(confirm, as_="second_official")["ballots"] == 2
    api.error(api.call("POST", f"{driven.url}/ballots",
                       {"code": driven.codes[0], "proposals": [pids[1]]}), 403)
    driven.post("close-voting")
    assert driven.get("turnout")["voted"] == 2
    assert sorted(len(b["choices"]) for b in driven.get("ballots/published")["ballots"]) == [1, 2]
    events = api.get("/events?limit=10000", as_="auditor")["events"]
    assert not any(e.get("sealed") for e in events)


def test_a_paper_ballot_names_a_code_or_a_serial(rounds, api):
    driven = rounds.to("voting", codes=1)
    pid = driven.proposal_ids[0]
    both = {"code": driven.codes[0], "serial": "P-1", "proposals": [pid]}
    for paper in ({"proposals": [pid]}, both):
        driven.refused("POST", "paper-batches", {"ballots": [paper]}, status=422)
    driven.refused("POST", "paper-batches", {"ballots": []}, status=422)
    driven.refused("POST", "paper-batches", {"ballots": [{"serial": "P-1", "proposals": [pid]}]},
                   as_=None, status=401)
