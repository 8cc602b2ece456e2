"""L002 judges the platform's policy only where its gateway is observed (issue 12, defect 11).

nginx and Envoy are proxies, not the platform's gateway; an app's own traces infer their
attempts. Their attempts can look like deviations (a retry after a 503, a runner that keeps
serving), but the platform's behaviour is not in these logs, so no L002.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_helpers import FIXTURES

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.store import connect

# nginx retrying an app's 500 (proxy_next_upstream http_500), which the platform would not do
# (nginx's own 502 in the fixture is a connection failure, retried rightly: no deviation)
_RETRIED_500 = {
    "nginx_access.log": '10.0.0.9 - - [20/Nov/2026:14:00:05 +0000] "POST /predict HTTP/1.1" '
    '200 2 "-" "py" "127.0.0.1:9004, 127.0.0.1:9001" "500, 200" "0.010, 0.400" 0.41 '
    '1795269605.410 "req-500" -\n'
}


@pytest.mark.parametrize("name", ["nginx_access.log", "envoy_access.log"])
def test_no_policy_deviation_without_the_platform_gateway(tmp_path: Path, name: str) -> None:
    con = connect(tmp_path / "x.duckdb")
    log = tmp_path / name
    log.write_text((FIXTURES / name).read_text() + _RETRIED_500.get(name, ""))
    import_paths(con, [log])
    result = analyze(con)
    deviations = con.execute("SELECT count(*) FROM attempts WHERE deviation").fetchall()
    # the replay still sees the deviations (a retry the policy forbids, a runner serving on) ...
    assert deviations[0][0] >= 1
    # ... but they are no platform behaviour: no L002
    assert [f.code for f in result.findings if f.code == "L002"] == []
    con.close()
