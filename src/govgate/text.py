"""Data made safe to show: control and invisible formatting characters, escaped visibly.

Anything read from a plan or the database (titles, names, actors) can hold characters a
terminal obeys instead of showing: ESC starts a sequence that moves the cursor or clears
the screen, CR returns to the start of the line, U+202E reverses what follows. `escape`
turns each of them into a visible escape (`\\x1b`, `\\r`, `\\u202e`) before a person reads
it; `json_safe` does the same inside JSON text. This module imports nothing of govgate.

Escaped: every C0 control (tab and newline included: a newline inside one value would
forge a line of its own), DEL, every C1 control, every format character (Unicode category
Cf: the bidi embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, the marks
U+200E, U+200F and U+061C, zero-width U+200B–U+200D, U+FEFF, ...), the line and paragraph
separators U+2028 and U+2029, and lone surrogates. Newline, CR and tab are written `\\n`,
`\\r`, `\\t`; the others `\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`. A backslash is left as it
is: text that spells an escape is shown as typed, which is as visible as the escape itself.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Named explicitly as well, so that no Unicode database version can let them through.
_ALWAYS = frozenset(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0x061C]
)


def unsafe(ch: str) -> bool:
    """True when the character CH must not reach a terminal as it is."""
    o = ord(ch)
    if o < 0x20 or 0x7F <= o <= 0x9F or o in _ALWAYS:
        return True
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


# Candidates: everything but printable ASCII; `unsafe` decides for each one found.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")
_CANDIDATE_IN_DOCUMENT = re.compile(r"[^\x20-\x7e\n\t]")


def _replace(pattern: re.Pattern, text: str, how) -> str:
    return pattern.sub(lambda m: how(m[0]) if unsafe(m[0]) else m[0], text)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(ch: str) -> str:
    o = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if o <= 0xFF:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def escape(value: object) -> str:
    """VALUE as text with every unsafe character shown as an escape; printable text is kept.

    Idempotent: escaping escaped text changes nothing.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case: no control, format or separator character
        return text
    return _replace(_CANDIDATE, text, _visible)


def _json_escape(ch: str) -> str:
    o = ord(ch)
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"


def json_safe(text: str) -> str:
    """JSON TEXT (from `json.dumps`) with every unsafe character written as a `\\u` escape.

    `json.dumps` escapes C0 itself but writes DEL, C1, bidi and other format characters as
    they are when `ensure_ascii` is off; they can only stand inside string literals, where
    `\\uXXXX` means the same character: the JSON decodes to the same data.
    """
    return _replace(_CANDIDATE_IN_DOCUMENT, text, _json_escape)


def html_safe(document: str) -> str:
    """An HTML DOCUMENT with unsafe characters as character references (newlines kept).

    For HTML printed on a terminal: the browser reads the same characters, the terminal
    receives none of them.
    """
    return _replace(_CANDIDATE_IN_DOCUMENT, document, lambda ch: f"&#x{ord(ch):x};")
