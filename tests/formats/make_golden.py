"""Regenerate the golden fixtures of the line formats (``tests/formats/golden/*.json``).

    python -m tests.formats.make_golden

Each fixture is ``{"format", "case", "lines", "rows", "rejected"}``: input lines, the event rows
the format's mapping must make of them (every native column; ``ts`` as UTC ISO 8601) and the
rejected lines ``[line_no, raw, reason]``. They are the oracle of the nginx and Envoy mappings
(tests/formats/test_formats_golden.py); regenerate after a deliberate change, and read the diff.
The lines are the format fixtures, the unit tests' lines and edge cases written here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from formats_helpers import BY_NAME, FIXTURES  # noqa: E402

from analyzer.importers.formats.base import ParseContext, Rejected  # noqa: E402

GOLDEN = HERE / "golden"
_NG = '127.0.0.1 - - [20/Nov/2026:14:00:0{s} +0000] "POST /predict HTTP/1.1" {st} 157 "-" "py" '


def _fixture(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def cases() -> dict[tuple[str, str], list[str]]:
    from test_formats_istio import LINES as ISTIO
    from test_formats_nginx_failures import LINES as NGINX_FAILURES

    nginx = _fixture("nginx_access.log")
    base = next(x for x in nginx if "1795269601.502" in x)
    envoy = _fixture("envoy_access.log")
    ebase = next(x for x in envoy if x.strip())
    return {
        ("nginx", "access"): nginx,
        ("nginx", "failures"): NGINX_FAILURES,
        ("nginx", "header_times"): [
            _NG.format(s=3, st=502) + '"127.0.0.1:9002" "502" "0.004" 0.005 1795269603.005 '
            '"req-app502" - "0.003"',
            _NG.format(s=4, st=504) + '"127.0.0.1:9001, 127.0.0.1:9002" "504, 504" '
            '"0.500, 0.003" 0.504 1795269604.504 "req-mixed" - "-, 0.002"',
            _NG.format(s=5, st=502) + '"127.0.0.1:1" "502" "0.000" 0.001 1795269605.001 '
            '"req-own" - "-"',
            _NG.format(s=6, st=504) + '"127.0.0.1:9001" "504" "0.500" 0.501 1795269606.501 '
            '"req-504" -',
        ],
        ("nginx", "edges"): [
            # upstream groups after an internal redirect (" : ") are attempts too; unquoted lists
            _NG.format(s=7, st=200) + "10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80 502, 502 : 200 "
            "0.010, 0.020 : 0.030 0.061 1795269607.061 - nginx-id-7",
            # the client went away (499) while the only attempt ran
            _NG.format(s=8, st=499) + '"10.0.0.4:80" "-" "-" 2.000 1795269610.000 "req-499" -',
            # nginx's default combined format: no upstream fields at all
            '10.1.2.3 - - [20/Nov/2026:14:00:09 +0100] "GET /health HTTP/1.1" 200 2 "-" "curl"',
            "",
            "not an access log line",
            base.replace("1795269601.502", "1e20").replace("req-n1", "req-msec"),
            base.replace("1795269601.502", "inf").replace("req-n1", "req-inf"),
            base.replace(" 1.502 ", " 1e30 ").replace("req-n1", "req-rt"),
            base.replace('"0.120, 0.130, 1.250"', '"0.120, 1e300, 1.250"').replace(
                "req-n1", "req-u"
            ),
        ],
        ("envoy", "access"): envoy,
        ("envoy", "istio"): ISTIO,
        ("envoy", "edges"): [
            '[2026-11-20 14:00:07.000] "GET /health HTTP/1.1" 200 - 0 2 1 1 "-" "probe" "-" "h" '
            '"10.1.0.5:8080" 0 x y',
            '[not a time] "GET / HTTP/1.1" 200 - 0 2 1 1 "-" "probe" "-" "h" "-"',
            ebase[:-2] + " 99999999999",
            ebase[:-2] + " 99999999999999999999999",
            ebase.replace(" 1500 1480 ", " 999999999999999 1480 "),
            ebase[:-2] + " 2000",
            "",
            "not an envoy line",
        ],
    }


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        from datetime import UTC

        return value.astimezone(UTC).isoformat()
    return value


def run_case(fmt: str, lines: list[str]) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """The rows (JSON-ready) and rejections the format makes of ``lines``."""
    rows: list[dict[str, Any]] = []
    rejected: list[list[Any]] = []
    for item in BY_NAME[fmt].parse(iter(lines), ParseContext(Path(f"golden-{fmt}.log"))):
        if isinstance(item, Rejected):
            rejected.append([item.line_no, item.raw, item.reason])
        else:
            rows.append({k: _jsonable(v) for k, v in item.items()})
    rows.sort(key=lambda r: (r["line_no"], json.dumps(r, sort_keys=True)))
    rejected.sort()
    return rows, rejected


def main() -> int:
    GOLDEN.mkdir(exist_ok=True)
    for (fmt, case), lines in cases().items():
        rows, rejected = run_case(fmt, lines)
        doc = {"format": fmt, "case": case, "lines": lines, "rows": rows, "rejected": rejected}
        path = GOLDEN / f"{fmt}-{case}.json"
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(
            f"{path.name:28} {len(lines):3} lines -> {len(rows):3} rows, {len(rejected)} rejected"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
