"""The prefilter (analyzer/lint/prefilter.py) changes what is parsed and walked, never what is
found: every case, seed and tricky module gives the same findings, apps and unparsable files
with it as with every file parsed and walked whole (``run.PREFILTER = False``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.config import Config
from analyzer.lint import lint_sources, run, selected_rules
from analyzer.lint.prefilter import may_hold_apps, reduce
from tests.lint.test_cases import CASES

RULES = selected_rules(Config())
SEEDS = Path(__file__).parent / "seeds"

TRICKY: dict[str, str] = {
    # a column-0 `def` inside a string: the cut there must not change the module
    "in_string.py": '''import fal
from fastapi import HTTPException

DOC = """
def example(x):
    return x
"""


def helper(x):
    return x + 1


class A(fal.App):
    @fal.endpoint("/")
    def run(self, x: int) -> int:
        try:
            return helper(x)
        except ValueError:
            raise HTTPException(503, "bad")
''',
    # an answer class renamed by an import, raised in a plain helper: S001 there
    "renamed.py": """import fal
from fastapi import HTTPException as E


def check(x):
    try:
        return int(x)
    except ValueError:
        raise E(503, "not a number")


class A(fal.App):
    @fal.endpoint("/")
    def run(self, x: str) -> int:
        return check(x)
""",
    # the import renaming it sits inside a helper
    "inner_import.py": """import fal


def check(x):
    from fastapi.responses import JSONResponse as J

    if not x:
        return J({"error": "empty"}, status_code=503)
    return x


class A(fal.App):
    @fal.endpoint("/")
    def run(self, x: str) -> str:
        return check(x)
""",
    # a fal function defined inside a plain function, a constant after a helper, a long
    # signature closed at column 0, a docstring line at column 0, A001 in a helper
    "mixed.py": '''import asyncio

import fal


def factory():
    @fal.function(request_timeout=5)
    async def job() -> None:
        await asyncio.sleep(60)

    return job


def long_signature(
    a: int,
    b: int,
) -> int:
    """Sums.
Column-0 text in a docstring.
    """
    return a + b


TIMEOUT = 10


def kernel(name):
    raise ValueError(f"no triton kernel {name}")


class A(fal.App):
    request_timeout = TIMEOUT

    @fal.endpoint("/")
    async def run(self, x: int) -> int:
        async with asyncio.timeout(30):
            return long_signature(x, x)
''',
    # an app class nested in a function, deriving from an app of another file
    "nested.py": """from base_app import Base


def make():
    class Inner(Base):
        request_timeout = 5

        @fal.endpoint("/")
        async def run(self) -> None:
            await asyncio.sleep(60)

    return Inner
""",
    "base_app.py": "import fal\n\n\nclass Base(fal.App):\n    pass\n",
    # classes whose body holds no needed word are not walked: a base app's settings still
    # count, and a renamed answer class used in one makes the whole module walked
    "shallow.py": """import asyncio

import fal
from fastapi import HTTPException as E


class Store:
    def get(self, key):
        try:
            return self.data[key]
        except KeyError:
            raise E(503, "no such key")


class Limits(fal.App):
    request_timeout = 5


class A(Limits):
    @fal.endpoint("/")
    async def run(self, key: str) -> str:
        async with asyncio.timeout(30):
            return Store().get(key)
""",
}


def _sources() -> list[tuple[str, bytes]]:
    out = [(f"case{i:03d}.py", c.source.encode()) for i, c in enumerate(CASES)]
    out += [(p.name, p.read_bytes()) for p in sorted(SEEDS.glob("*.py"))]
    out += [(name, text.encode()) for name, text in TRICKY.items()]
    crlf = TRICKY["mixed.py"].replace("\n", "\r\n").encode()
    bare_cr = TRICKY["renamed.py"].replace("\n", "\r").encode()
    return [*out, ("crlf.py", crlf), ("bare_cr.py", bare_cr)]


def _result(monkeypatch: pytest.MonkeyPatch, on: bool) -> tuple[list[dict[str, object]], ...]:
    monkeypatch.setattr(run, "PREFILTER", on)
    findings, apps, suppressed, bad = lint_sources(_sources(), RULES)
    return [f.to_dict() for f in findings], [apps, suppressed], [u.to_dict() for u in bad]


def test_the_prefilter_finds_what_whole_parsing_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _result(monkeypatch, False)
    assert _result(monkeypatch, True) == whole
    found = {(f["file"], f["code"], f["line"]) for f in whole[0]}
    assert {
        ("in_string.py", "S001", 20),
        ("renamed.py", "S001", 9),
        ("inner_import.py", "S001", 8),
        ("mixed.py", "R003", 7),  # the fal function nested in factory(): 60 s > 5 s
        ("mixed.py", "A001", 28),
        ("mixed.py", "R003", 32),  # TIMEOUT, a constant after the helpers
        ("mixed.py", "C007", 36),
        ("nested.py", "R003", 6),
        ("nested.py", "A002", 9),
        ("crlf.py", "A001", 28),
        ("crlf.py", "C007", 36),
        ("bare_cr.py", "S001", 9),
        ("shallow.py", "S001", 12),
        ("shallow.py", "C007", 22),
    } <= found


def test_every_answer_name_holds_a_needed_word() -> None:
    from analyzer.lint.prefilter import ANSWER_NAMES, NEEDED

    assert all(any(w in name for w in NEEDED) for name in ANSWER_NAMES)


def test_what_is_blanked_and_what_is_not() -> None:
    text = TRICKY["in_string.py"]
    reduced, blanked = reduce(text)
    assert reduced.count("\n") == text.count("\n")  # line numbers kept
    assert [b.splitlines()[0] for b in blanked] == ["def helper(x):"]  # not the string's def
    assert reduce(TRICKY["mixed.py"])[1] == []  # each function holds a needed word
    assert not may_hold_apps("def f(x):\n    return x\n")
    assert may_hold_apps("class A:\n    pass\n") and may_hold_apps("import fal\n")


def test_a_syntax_error_in_a_blanked_helper_is_not_reported() -> None:
    """The documented price of not parsing ordinary helpers: Python or ruff reports it."""
    src = b"import fal\n\n\ndef helper(x:\n    return x\n\n\nclass A(fal.App):\n    pass\n"
    _findings, apps, _suppressed, bad = lint_sources([("a.py", src)], RULES)
    assert apps == 1 and bad == []
    broken_app = src.replace(b"    pass\n", b"    def f(:\n")  # the app is parsed: reported
    bad = lint_sources([("a.py", broken_app)], RULES)[3]
    with pytest.raises(SyntaxError) as python:
        compile(broken_app, "a.py", "exec")
    assert [(u.file, u.line) for u in bad] == [("a.py", python.value.lineno)]
