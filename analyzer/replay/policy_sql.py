"""The platform policy in SQL: temporary lookup tables the replay (and the rules) join against.

:func:`install_policy_tables` turns a :class:`~analyzer.replay.policy.Policy` into small tables,
so the SQL never spells a status code or a header rule itself (the error classes:
``policy_error_pattern``, read by the replay's ``_rp_errclass`` relation, the same patterns in
the same order as :func:`~analyzer.replay.policy.classify_error`).
"""

from __future__ import annotations

import duckdb

from analyzer.replay.policy import Policy, resolve_429

POLICY_TABLES = frozenset(
    {
        "policy_retried_status",
        "policy_failure",
        "policy_skip",
        "policy_error_pattern",
        "policy_price",
        "policy_text",
        "policy_legit_503",
        "policy_scalar",
    }
)
"""What :func:`install_static_tables` creates (``policy_status`` depends on the logs: it is a
relation of the replay's graph, ``analyzer.replay.graph``)."""


def install_policy_tables(
    con: duckdb.DuckDBPyConnection, policy: Policy, *, observed_429: str = "unknown"
) -> None:
    """Create the temporary lookup tables the SQL of the replay (and the rules) join against.

    - ``policy_status(status, runner_impact, retry, condition)``: every status 100..599, the
      narrowest rule; ``retry`` of 429 resolved through ``retry_429`` (``observed_429`` for auto).
    - ``policy_failure(error_type, runner_impact, retry, condition)``.
    - ``policy_skip(app, condition)``: app ``'*'`` = every app.
    - ``policy_error_pattern(class_name, priority, field, pattern)``: field ``exc_type``/``message``.
    - ``policy_price(machine_type, usd_per_hour)``.
    - ``policy_text(key, value)``: the impacts of ``x-fal-stop-runner`` true / false.
    - ``policy_legit_503(class_name)``: error classes for which a 503 is legitimate.
    - ``policy_scalar(key, value)``: max_attempts, graces, the default price.
    - ``policy_retried_status(status)``: statuses the queue may retry (429 unless the policy
      says it is not retried): after one, below ``max_attempts``, a retry may still be queued.
    """
    install_status_table(con, policy, observed_429)
    install_static_tables(con, policy)


def install_status_table(
    con: duckdb.DuckDBPyConnection, policy: Policy, observed_429: str = "unknown"
) -> None:
    """(Re)create ``policy_status`` (see :func:`install_policy_tables`): the 429 behaviour the
    logs show is known only once the attempts are staged."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _policy_rule (lo INTEGER, hi INTEGER, runner_impact VARCHAR, "
        "retry BOOLEAN, condition VARCHAR)"
    )
    con.executemany(
        "INSERT INTO _policy_rule VALUES (?, ?, ?, ?, ?)",
        [
            (r.min_status, r.max_status, r.runner_impact, r.retry, r.condition)
            for r in policy.status_rules
        ],
    )
    # every status 100..599 -> the narrowest rule containing it (ties: the first listed)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_status AS "
        "SELECT s.range::INTEGER AS status, r.runner_impact, "
        "coalesce(r.retry, ?::BOOLEAN) AS retry, r.condition "
        "FROM range(100, 600) s JOIN (SELECT *, row_number() OVER () AS k FROM _policy_rule) r "
        "ON s.range BETWEEN r.lo AND r.hi "
        "QUALIFY row_number() OVER (PARTITION BY s.range ORDER BY r.hi - r.lo, r.k) = 1",
        [resolve_429(policy, observed_429)],
    )
    con.execute("DROP TABLE _policy_rule")


def install_static_tables(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Every lookup table but ``policy_status`` (see :func:`install_policy_tables`)."""
    retried = sorted(
        {
            s
            for r in policy.status_rules
            for s in range(r.min_status, r.max_status + 1)
            if policy.status_rule(s) == r
            and (r.retry or (r.retry is None and policy.retry_429 != "not_retried"))
        }
    )
    con.execute("CREATE OR REPLACE TEMP TABLE policy_retried_status (status INTEGER)")
    if retried:
        con.executemany("INSERT INTO policy_retried_status VALUES (?)", [(x,) for x in retried])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_failure (error_type VARCHAR, runner_impact VARCHAR, "
        "retry BOOLEAN, condition VARCHAR)"
    )
    frows = [(k, f.runner_impact, f.retry, f.condition) for k, f in policy.failures.items()]
    if frows:
        con.executemany("INSERT INTO policy_failure VALUES (?, ?, ?, ?)", frows)
    con.execute("CREATE OR REPLACE TEMP TABLE policy_skip (app VARCHAR, condition VARCHAR)")
    srows = [("*", c) for c in policy.skip_retry_conditions]
    srows += [(app, c) for app, cs in policy.app_skip_retry_conditions.items() for c in cs]
    if srows:
        con.executemany("INSERT INTO policy_skip VALUES (?, ?)", srows)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_error_pattern (class_name VARCHAR, priority INTEGER, "
        "field VARCHAR, pattern VARCHAR)"
    )
    prow = [
        (c.name, i, field, pat)
        for i, c in enumerate(policy.error_classes)
        for field, pats in (("exc_type", c.exc_type_patterns), ("message", c.message_patterns))
        for pat in pats
    ]
    if prow:
        con.executemany("INSERT INTO policy_error_pattern VALUES (?, ?, ?, ?)", prow)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_price (machine_type VARCHAR, usd_per_hour DOUBLE)"
    )
    if policy.gpu_hour_usd:
        con.executemany("INSERT INTO policy_price VALUES (?, ?)", list(policy.gpu_hour_usd.items()))
    con.execute("CREATE OR REPLACE TEMP TABLE policy_text (key VARCHAR, value VARCHAR)")
    con.executemany(
        "INSERT INTO policy_text VALUES (?, ?)",
        [
            ("stop_true", policy.headers.stop_runner_true_impact),
            ("stop_false", policy.headers.stop_runner_false_impact),
        ],
    )
    con.execute("CREATE OR REPLACE TEMP TABLE policy_legit_503 (class_name VARCHAR)")
    if policy.legitimate_503_classes:
        con.executemany(
            "INSERT INTO policy_legit_503 VALUES (?)", [(c,) for c in policy.legitimate_503_classes]
        )
    con.execute("CREATE OR REPLACE TEMP TABLE policy_scalar (key VARCHAR, value DOUBLE)")
    con.executemany(
        "INSERT INTO policy_scalar VALUES (?, ?)",
        [
            ("max_attempts", float(policy.max_attempts)),
            ("direct_calls_retried", float(policy.direct_calls_retried)),
            ("no_retry_stops", float(policy.headers.no_retry_header_stops_retry)),
            ("child_grace_s", policy.child_grace_s),
            ("silence_grace_s", policy.silence_grace_s),
            ("termination_link_s", policy.termination_link_s),
            ("default_gpu_hour_usd", policy.default_gpu_hour_usd),
        ],
    )
