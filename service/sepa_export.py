"""SEPA credit-transfer files (pain.001) of a round's payment batch, the same bytes every time.

`sepaxml` builds and validates the file; it takes the message id, creation time and payment
information id from the clock and from randomness, so those three are set here from the batch
(its id and the moment it was exported) and the result is validated again against the schema.
"""
from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import sepaxml
import xmlschema
from sepaxml import SepaTransfer

PAIN_VERSIONS = ("pain.001.001.03", "pain.001.001.09")


def end_to_end_id(payout_id: str) -> str:
    """The EndToEndId a payout travels under (at most 35 characters): its id without dashes."""
    return payout_id.replace("-", "")[:35]


def pain_001(
    batch_id: str,
    batch: Mapping[str, Any],
    payees: Mapping[str, Mapping[str, Any]],
    version: str = "pain.001.001.03",
) -> bytes:
    """The credit-transfer file of one batch; `payees` has each payout's payee, IBAN, reference."""
    if version not in PAIN_VERSIONS:
        raise ValueError(f"version must be one of {', '.join(PAIN_VERSIONS)}")
    transfer = SepaTransfer(
        {"name": batch["debtor_name"], "IBAN": batch["debtor_iban"], "batch": True,
         "currency": "EUR"},
        schema=version,
    )
    execution = datetime.date.fromisoformat(batch["execution_date"])
    for line in batch["payouts"]:
        payee = payees[line["payout_id"]]
        description = " ".join(part for part in (payee["reference"], payee["description"]) if part)
        transfer.add_payment({
            "name": payee["payee_name"],
            "IBAN": payee["iban"],
            "amount": line["amount"],
            "execution_date": execution,
            "description": description,
            "endtoend_id": end_to_end_id(line["payout_id"]),
        })
    # Validated once, after the fix-up below, against the schema sepaxml ships.
    return _fixed(transfer.export(validate=False), batch_id, batch["created_at"], version)


@cache
def pain_schema(version: str) -> xmlschema.XMLSchema:
    """The XSD of a pain.001 version as sepaxml ships it, loaded once per process."""
    return xmlschema.XMLSchema(str(Path(sepaxml.__file__).parent / "schemas" / f"{version}.xsd"))


def _fixed(document: bytes, batch_id: str, created_at: str, version: str) -> bytes:
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{version}"
    ET.register_namespace("", namespace)
    root = ET.fromstring(document)
    ns = {"p": namespace}
    root.find(".//p:GrpHdr/p:MsgId", ns).text = batch_id  # type: ignore[union-attr]
    created = datetime.datetime.fromisoformat(created_at).strftime("%Y-%m-%dT%H:%M:%S")
    root.find(".//p:GrpHdr/p:CreDtTm", ns).text = created  # type: ignore[union-attr]
    infos: Sequence[ET.Element] = root.findall(".//p:PmtInf/p:PmtInfId", ns)
    for number, info in enumerate(infos, start=1):
        info.text = f"{batch_id}-{number}"
    fixed = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    pain_schema(version).validate(fixed.decode())
    return fixed
