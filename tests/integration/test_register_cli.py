"""`buurtbudget register`: rules, an import that writes the letters, a bad file, a lost letter."""
from __future__ import annotations

import csv
import json

import pypdfium2
from click.testing import CliRunner

from service.cli import cli
from tests.conftest import cli_environment
from tests.integration.test_voter_register import HEADER, PEOPLE


def test_rules_import_and_reissue_from_the_command_line(round_in, runtime, settings, tmp_path):
    driven = round_in("voting")
    rid = str(driven.round_id)
    runner, env = CliRunner(), cli_environment(settings)
    set_rules = runner.invoke(cli, [
        "register", "rules", "--round", rid, "--official", "anna", "--minimum-age", "16",
        "--reference-date", "2026-05-01", "--postcode", "1091", "--postcode", "1092AA-1092BZ",
    ], env=env)
    assert set_rules.exit_code == 0, set_rules.output

    register = tmp_path / "brp.csv"
    register.write_bytes(("\n".join([HEADER, *PEOPLE]) + "\n").encode("cp1252"))
    letters, mail_merge = tmp_path / "letters.pdf", tmp_path / "letters.csv"
    imported = runner.invoke(cli, [
        "register", "import", str(register), "--round", rid, "--official", "anna",
        "--base-url", "https://stem.example.nl", "--letters", str(letters),
        "--mail-merge", str(mail_merge), "--json",
    ], env=env)
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["enrolled"] == 3
    assert len(pypdfium2.PdfDocument(letters.read_bytes())) == 3
    with mail_merge.open(encoding="utf-8-sig") as handle:
        codes = [row["voting_code"] for row in csv.DictReader(handle, delimiter=";")]
    assert len(codes) == 3 and runtime.application.get_round(driven.round_id).eligible == 3

    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\nA-9;1990-13-01;1091AB;1;;X;Y;Z\n")
    refused = runner.invoke(cli, [
        "register", "import", str(bad), "--round", rid, "--official", "anna",
        "--base-url", "https://stem.example.nl", "--letters", str(tmp_path / "none.pdf"),
    ], env=env)
    assert refused.exit_code == 1
    assert "line 2: birth_date: not a possible date" in refused.output
    assert not (tmp_path / "none.pdf").exists()

    reissued = runner.invoke(cli, [
        "register", "reissue", "--round", rid, "--official", "anna", "--person-key", "A-1003",
        "--reason", "letter lost", "--base-url", "https://stem.example.nl",
    ], env=env)
    assert reissued.exit_code == 0, reissued.output
    new_code = reissued.output.split("new code: ")[1].split()[0]
    runtime.application.cast_ballot(driven.round_id, code=new_code,
                                    choices=driven.choices("benches"))
