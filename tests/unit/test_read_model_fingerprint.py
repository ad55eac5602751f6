"""A read model's schema fingerprint changes with its tables' shapes and version, and only then."""
from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from projections.catalogue import read_models
from projections.tracking import schema_fingerprint


def table(*extra: sa.SchemaItem, nullable: bool = False) -> sa.Table:
    return sa.Table(
        "rm_example", sa.MetaData(),
        sa.Column("example_id", sa.Text, primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=nullable),
        *extra,
    )


def test_the_same_declarations_give_the_same_fingerprint() -> None:
    assert schema_fingerprint([table()]) == schema_fingerprint([table()])


def test_each_change_of_shape_or_version_gives_another_fingerprint() -> None:
    changed = [
        schema_fingerprint([table()], version=2),
        schema_fingerprint([table(nullable=True)]),
        schema_fingerprint([table(sa.Column("note", sa.Text))]),
        schema_fingerprint([table(sa.Index("ix_amount", "amount"))]),
        schema_fingerprint([table(sa.UniqueConstraint("amount"))]),
        schema_fingerprint([table(sa.CheckConstraint("amount >= 0"))]),
        schema_fingerprint([table(), sa.Table("rm_other", sa.MetaData(), sa.Column("x", sa.Text))]),
    ]
    assert len({schema_fingerprint([table()]), *changed}) == len(changed) + 1


def test_another_process_computes_the_same_fingerprints() -> None:
    here = {model.name: model.fingerprint() for model in read_models()}
    script = (
        "from projections.catalogue import read_models\n"
        "print({m.name: m.fingerprint() for m in read_models()})"
    )
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout
    assert there.strip() == str(here)
