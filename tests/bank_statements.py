"""CAMT.053 bank statements for tests, written the way Dutch banks send camt.053.001.02."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

IBAN = "NL91ABNA0417164300"


def camt053(*transfers: dict[str, Any], status: str = "BOOK", currency: str = "EUR") -> bytes:
    """A camt.053.001.02 statement with one booked batch entry holding these transfers."""
    total = sum(t["amount"] for t in transfers)
    details = "".join(
        f"""<TxDtls><Refs><EndToEndId>{t['e2e']}</EndToEndId></Refs>
        <AmtDtls><TxAmt><Amt Ccy="{currency}">{Decimal(t['amount']) / 100:.2f}</Amt></TxAmt></AmtDtls>
        <RltdPties><CdtrAcct><Id><IBAN>{t.get('iban', IBAN)}</IBAN></Id></CdtrAcct></RltdPties>
        </TxDtls>"""
        for t in transfers
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-12-02T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>STMT-1-1</Id><Acct><Id><IBAN>NL20INGB0001234567</IBAN></Id></Acct>
<Ntry><Amt Ccy="{currency}">{Decimal(total) / 100:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<Sts>{status}</Sts><BookgDt><Dt>2026-12-01</Dt></BookgDt><AcctSvcrRef>ING-20261201-77</AcctSvcrRef>
<NtryDtls>{details}</NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()
