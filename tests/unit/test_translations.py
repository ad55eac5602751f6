"""The Dutch catalogue: every page text is translated and the compiled catalogue is up to date."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "service" / "translations"
REPO_ROOT = TRANSLATIONS.parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def messages_in_code() -> set:
    with (TRANSLATIONS / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        REPO_ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_text_of_the_pages_has_a_dutch_translation():
    with (TRANSLATIONS / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="nl")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue if m.id and m.string and not m.fuzzy
        and (isinstance(m.string, str) or all(m.string))
    }
    assert sorted(messages_in_code() - translated) == []


def test_the_compiled_catalogue_matches_the_source():
    """The .mo files are committed, so a fresh install needs no compiler: they must be current."""
    folder = TRANSLATIONS / "nl" / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="nl")
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue(), (
        "run: pybabel compile -d service/translations"
    )
