"""Log text made safe to show: it is displayed, never obeyed.

Log lines carry whatever their writers put in them: terminal escape sequences (ESC, BEL,
carriage returns that overwrite a line), bidirectional overrides that make a terminal or a
browser draw text in another order than it is stored (``U+202E``, the "Trojan Source"
trick), markup that Plotly would render (``<a href=...>``, ``<span style=...>``) and
characters XML 1.0 cannot hold (``\\u0001``). Each face passes log text through one of:

- :func:`visible`: control characters as their visible Unicode pictures (ESC as ``␛``, BEL as
  ``␇``) and bidi controls as ``[U+202E]``, so what was there stays readable; tab and newline
  are kept (multi-line text stays multi-line);
- :func:`plotly_text`: :func:`visible`, then ``&``, ``<`` and ``>`` as HTML entities (Plotly shows
  entities as the characters, and renders tags);
- :func:`xml_text`: :func:`visible` plus every other code point XML 1.0 forbids.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls but tab and newline, DEL, C1 controls, bidi controls, line/paragraph separators
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_XML_FORBIDDEN = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _mark(m: re.Match[str]) -> str:
    c = m.group()
    code = ord(c)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟: the control pictures
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"[U+{code:04X}]"


def visible(text: object) -> str:
    """``text`` with control and bidi characters replaced by visible marks (tab, newline kept)."""
    s = str(text)
    return _UNSAFE.sub(_mark, s) if _UNSAFE.search(s) else s


def has_unsafe(text: str) -> bool:
    """True when :func:`visible` would change ``text``."""
    return _UNSAFE.search(text) is not None


def plotly_text(text: object) -> str:
    """Text for a Plotly label, hover text or title: shown as written, never as markup."""
    s = visible(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_text(text: object) -> str:
    """Text XML 1.0 can hold (for attribute values and element text)."""
    s = visible(text)
    return _XML_FORBIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", s)
