"""A pseudo-locale for the tests (issue 22): every message of the catalogs accented, lengthened and bracketed.

`⟦Ŝéñð ţĥé ƀöðý~~~⟧` reads as English to a person yet contains no plain ASCII word, so text left out of the
catalogs stands out: `english_leaks(text)` finds the product's English words outside the brackets. Longer
words show where a layout would cut a translation off (German runs about 30% longer than English).

It is carried by Greek (`el`), a locale the product does not ship: its dates and numbers come from CLDR in Greek
letters, so an English month or weekday left in a page is found too. A test asks for it with
`@pytest.mark.pseudo_locale` (the app then offers `el` and reads this catalog) and an account or
Accept-Language of `el`.
"""
import re
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

PSEUDO = "el"
ROOT = Path(__file__).resolve().parent.parent
ACCENTED = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                         "àƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÀßÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ")
# what gettext and Jinja fill in, HTML, and entities: kept as they are
KEPT = re.compile(r"(%\(\w+\)[sd]|%[sd%]|\{[^{}]*\}|<[^<>]*>|&\w+;|https?://\S+)")
# as `make translations` extracts: Flask-Babel's lazy forms too
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
WORD = re.compile(r"[A-Za-z]{2,}")
BRACKETED = re.compile(r"⟦[^⟦⟧]*⟧")
# ASCII words that may show in any language: the product's name, codes, units and data the tests write
ALLOWED = {"myodiary", "bnsm", "eeg", "csv", "pdf", "png", "svg", "fhir", "json", "ci", "id", "mp", "jpeg",
           "api", "ok", "rr", "mg", "ml", "kg", "utc"}


def source_messages() -> dict[str, str | tuple]:
    """Every message of the code and the templates, found as `make translations` finds them (babel.cfg)."""
    with open(ROOT / "babel.cfg") as file:
        method_map, options_map = parse_mapping_cfg(file)
    found = extract_from_dir(str(ROOT), method_map=method_map, options_map=options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0]: message for _, _, message, _, _ in found}


def pseudo(text: str) -> str:
    """'Send the body' -> '⟦Šéñð ţĥé ƀöðý~~~~⟧': placeholders, tags and entities untouched, about 40% longer."""
    parts = KEPT.split(text)
    changed = "".join(part if KEPT.fullmatch(part) else part.translate(ACCENTED) for part in parts)
    return f"⟦{changed}{'~' * max(2, len(text) * 4 // 10)}⟧"


def build_catalog(directory: Path) -> Path:
    """The pseudo-locale's compiled catalog under directory/el/LC_MESSAGES: a translation directory."""
    catalog = Catalog(locale=Locale.parse(PSEUDO))
    for key, message in source_messages().items():
        if isinstance(message, tuple):
            forms = tuple(pseudo(form) for form in message[:2])
            catalog.add(message[:2], forms + (forms[-1],) * (catalog.num_plurals - 2))
        else:
            catalog.add(key, pseudo(key))
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "messages.mo", "wb") as file:
        write_mo(file, catalog)
    return directory


def english_vocabulary() -> set[str]:
    """Every English word the product writes (its messages), and English month and weekday names."""
    words = set()
    for message in source_messages().values():
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                words.update(word.lower() for word in WORD.findall(KEPT.sub(" ", text)))
    english = Locale.parse("en")
    for names in (english.months["format"]["wide"], english.months["format"]["abbreviated"],
                  english.days["format"]["wide"], english.days["format"]["abbreviated"]):
        words.update(name.lower() for name in names.values())
    return words - ALLOWED


def english_leaks(text: str, vocabulary: set[str], also_allowed: set[str] = frozenset()) -> list[str]:
    """The product's English words in text outside the pseudo-locale's brackets: text left untranslated."""
    outside = BRACKETED.sub(" ", text)
    return sorted({word for word in WORD.findall(outside)
                   if word.lower() in vocabulary and word.lower() not in {a.lower() for a in also_allowed}})
