-- Customers whose most recent automated decision scored above a risk threshold.
-- "Most recent automated" ignores analyst REVIEW records: the question is what the model said.
-- ROW_NUMBER picks one row per user (the newest); ix_decision_records_score helps the filter on
-- large tables. Portable: runs as is on PostgreSQL and SQLite (`ecs sql`).
-- param threshold: float = 0.6
WITH latest AS (
    SELECT
        r.user_id,
        r.risk_score,
        r.risk_band,
        r.outcome,
        r.model_version,
        r.created_at,
        ROW_NUMBER() OVER (PARTITION BY r.user_id ORDER BY r.created_at DESC, r.id DESC) AS n
    FROM decision_records AS r
    WHERE r.kind = 'AUTOMATED'
      AND r.risk_score IS NOT NULL
)
SELECT
    latest.user_id,
    u.email,
    latest.risk_score,
    latest.risk_band,
    latest.outcome,
    latest.model_version,
    latest.created_at AS scored_at
FROM latest
JOIN users AS u ON u.id = latest.user_id
WHERE latest.n = 1
  AND latest.risk_score > :threshold
  AND u.erased_at IS NULL
ORDER BY latest.risk_score DESC, latest.user_id;
