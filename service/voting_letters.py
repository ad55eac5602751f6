"""Letters with voting codes: a mail-merge CSV and a printable PDF, one A4 page per resident.

The address block sits where a Dutch window envelope (C5/6, window on the left) shows it; the
page gives the code, the vote page's address and a QR code to that address. The QR code holds the
address only, never the code: a photographed or scanned QR code gives nothing away, and the code
stays out of browser histories and server logs.
"""
from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO, Any

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from service.voter_register import LETTER_FIELDS

MAIL_MERGE_COLUMNS = (*LETTER_FIELDS, "voting_code", "vote_url")
QR_SIZE = 40 * mm
LETTER_TEXT = (
    "U mag meebeslissen over de plannen voor uw buurt. Stem op de website hieronder",
    "met deze persoonlijke code. Uw stem is geheim: de code is niet aan uw naam gekoppeld.",
    "Your personal voting code; vote at the address below (also in English).",
)


def vote_url(base_url: str, round_id: str) -> str:
    return f"{base_url.rstrip('/')}/rounds/{round_id}/vote"


def write_mail_merge(letters: Iterable[dict[str, str]], out: IO[bytes], url: str) -> int:
    """The letters as CSV for a mail merge (UTF-8 with BOM and `;`, as Dutch Excel reads it)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, delimiter=";")
    writer.writerow(MAIL_MERGE_COLUMNS)
    count = 0
    for letter in letters:
        writer.writerow([*(letter[name] for name in LETTER_FIELDS), letter["code"], url])
        count += 1
    text.flush()
    text.detach()
    return count


def address_lines(letter: dict[str, Any]) -> list[str]:
    number = " ".join(str(part) for part in (
        letter["house_number"], letter["house_number_addition"]) if part)
    postcode = f"{letter['postcode'][:4]} {letter['postcode'][4:]}"
    return [
        letter["name"], f"{letter['street']} {number}",
        f"{postcode}  {str(letter['city']).upper()}",
    ]


def _draw_qr(canvas: Canvas, matrix: list[list[bool]], x: float, y: float, size: float) -> None:
    """The QR code as filled squares (vector: sharp at any printer resolution)."""
    quiet = 4
    modules = len(matrix) + 2 * quiet
    unit = size / modules
    path = canvas.beginPath()
    for row_number, row in enumerate(matrix):
        top = y + size - (row_number + quiet + 1) * unit
        start = None
        for column, dark in enumerate([*row, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                path.rect(x + (start + quiet) * unit, top, (column - start) * unit, unit)
                start = None
    canvas.drawPath(path, stroke=0, fill=1)


def write_letters_pdf(
    letters: Iterable[dict[str, Any]], out: IO[bytes], *, url: str, round_title: str,
    sender: str,
) -> int:
    """One A4 page per letter; returns the number of pages."""
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"Stemcodes - {round_title}")
    canvas.setAuthor(sender)
    width, height = A4
    qr = segno.make(url, error="m")
    # Everything but the address and the code is the same on every letter: drawn once as a
    # form and placed on each page by reference, so a page adds only what is its own.
    canvas.beginForm("letter")
    canvas.setFont("Helvetica", 8)
    canvas.drawString(20 * mm, height - 45 * mm, sender)
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(20 * mm, height - 100 * mm, f"Uw stemcode voor {round_title}")
    canvas.setFont("Helvetica", 11)
    for number, line in enumerate(LETTER_TEXT):
        canvas.drawString(20 * mm, height - (110 + 5.5 * number) * mm, line)
    canvas.drawString(20 * mm, height - 152 * mm, "Stemmen / vote:")
    canvas.drawString(20 * mm, height - 158 * mm, url)
    _draw_qr(canvas, [[bool(module) for module in row] for row in qr.matrix],
             width - 20 * mm - QR_SIZE, height - 165 * mm, QR_SIZE)
    canvas.endForm()
    pages = 0
    for letter in letters:
        canvas.doForm("letter")
        canvas.setFont("Helvetica", 11)
        for number, line in enumerate(address_lines(letter)):
            canvas.drawString(20 * mm, height - (52 + 5.5 * number) * mm, line)
        canvas.setFont("Courier-Bold", 22)
        canvas.drawString(20 * mm, height - 140 * mm, letter["code"])
        canvas.showPage()
        pages += 1
    if not pages:
        canvas.drawString(20 * mm, height - 30 * mm, "Geen nieuwe stemcodes / no new voting codes.")
        canvas.showPage()
    canvas.save()
    return pages


def write_letters(
    app: Any, round_id: Any, staged: Any, *, base_url: str, pdf: IO[bytes] | None = None,
    mail_merge: IO[bytes] | None = None,
) -> int:
    """Write the PDF and/or the mail-merge CSV of a staged register's new codes."""
    budget_round = app.get_round(round_id)
    sender = f"{app.repository.get(budget_round.municipality_id).name} - {budget_round.title}"
    url = vote_url(base_url, str(round_id))
    count = 0
    if pdf is not None:
        count = write_letters_pdf(staged.letters(), pdf, url=url, round_title=budget_round.title,
                                  sender=sender)
    if mail_merge is not None:
        count = write_mail_merge(staged.letters(), mail_merge, url)
    return count


def letters_archive(app: Any, round_id: Any, staged: Any, *, base_url: str) -> IO[bytes]:
    """A zip of letters.pdf and mail-merge.csv of a staged register's new codes, rewound.

    On disk, not in memory: a large register's letters run to hundreds of megabytes. The caller
    closes the file (a response does once sent); the staged register is closed here.
    """
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name, kind in (("letters.pdf", "pdf"), ("mail-merge.csv", "mail_merge")):
                with zipped.open(name, "w") as member:
                    write_letters(app, round_id, staged, base_url=base_url, **{kind: member})
    except BaseException:
        archive.close()
        raise
    finally:
        staged.close()
    archive.seek(0)
    return archive
