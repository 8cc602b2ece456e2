-- Each runner's clock offset against the gateway: the midpoint of the tight bounds, clamped by
-- the loose one.
--
-- Clock alignment: each runner's clock offset against the gateway, from causal pairs.
--
-- Let ``o`` be runner clock minus gateway clock. Causality gives bounds on ``o``:
--
-- - a dispatch (gateway ``g``) precedes the handler start it caused (runner ``r``): ``o <= r - g``;
-- - a forwarded cancel precedes the runner's ``cancel.received``: ``o <= r - g``;
-- - a handler end precedes the gateway's answer (``attempt.finished``): ``o >= r - g``;
-- - ``runner.ready`` precedes the first dispatch to that runner: ``o >= r - g``.
--
-- Within one (request, runner) the k-th dispatch is paired with the k-th handler start (each
-- source orders its own events correctly, whatever its clock), so a retry landing twice on the same
-- runner pairs correctly (pairs holding one event of each role, nearly all of them, are paired by
-- a plain aggregation; only the others need the numbering). Over all the pairs of a runner the tightest bounds give the interval
-- ``[lower, upper]``; the estimate is the midpoint of the bounds from the tight pairs (dispatch /
-- start, end / answer, forward / receive: separated by a network hop), or the single tight bound
-- known; the loose bound (``runner.ready`` before the first dispatch: separated by idle time) only
-- clamps the estimate. No pair at all: offset 0.
-- With the estimate inside the interval, every causal pair used is ordered correctly after
-- alignment. Runner timestamps are aligned as ``ts - offset``; the raw value stays in ``events``.
-- A runner in ``replay_offsets_given`` (estimated over the whole day by a sharded analysis whose
-- time slice sees part of its life; empty otherwise) keeps the given row.
-- kind: table
-- inputs: _rp_pairs, replay_offsets_given
WITH b AS (
    SELECT runner_id,
           max(lo) FILTER (WHERE tight) AS lo_t, min(hi) FILTER (WHERE tight) AS hi_t,
           max(lo) FILTER (WHERE NOT tight) AS lo_loose,
           max(lo) AS lo, min(hi) AS hi, count(*) AS n
    FROM _rp_pairs GROUP BY runner_id
),
e AS (
    SELECT *, CASE WHEN lo_t IS NOT NULL AND hi_t IS NOT NULL THEN (lo_t + hi_t) / 2
                   ELSE coalesce(hi_t, lo_t, lo_loose, 0) END AS est
    FROM b
)
SELECT runner_id,
       (CASE WHEN lo_loose > est AND lo_loose <= coalesce(hi_t, lo_loose) THEN lo_loose
             ELSE est END)::DOUBLE AS offset_s,
       lo::DOUBLE AS lower_s, hi::DOUBLE AS upper_s, n::INTEGER AS samples
FROM e WHERE runner_id NOT IN (SELECT runner_id FROM replay_offsets_given)
UNION ALL BY NAME
SELECT runner_id, offset_s, lower_s, upper_s, samples FROM replay_offsets_given
