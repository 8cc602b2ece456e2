-- THE error class of each distinct (exception type, message): the first policy class with a
-- matching pattern, else ordinary.
-- kind: temp
-- inputs: _rp_hand, policy_error_pattern
WITH pairs AS (
    SELECT DISTINCT exc_type, exc_message FROM _rp_hand
    WHERE exc_type IS NOT NULL OR exc_message IS NOT NULL
),
matched AS (  -- the first class (by priority) with a pattern that matches
    SELECT p.exc_type, p.exc_message, arg_min(x.class_name, x.priority) AS error_class
    FROM pairs p JOIN policy_error_pattern x
      ON regexp_matches(CASE x.field WHEN 'exc_type' THEN p.exc_type ELSE p.exc_message END,
                        x.pattern, 'i')
    GROUP BY ALL
)
SELECT coalesce(p.exc_type, '') AS k_exc, coalesce(p.exc_message, '') AS k_msg,
       coalesce(m.error_class, 'ordinary') AS error_class
FROM pairs p LEFT JOIN matched m
  ON m.exc_type IS NOT DISTINCT FROM p.exc_type AND m.exc_message IS NOT DISTINCT FROM p.exc_message
