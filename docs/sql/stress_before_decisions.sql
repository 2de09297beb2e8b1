-- Emotional context of automated outcomes: for each outcome (APPROVED / DENIED / REFERRED), the
-- number of decisions and the average daily stress and distress readings of the user in the
-- 7 days before the request. Read from emotion_daily (per-user daily sums kept by the stream
-- consumer), never from the raw readings, so it stays cheap over months of data.
-- A monitoring query: empathy may only make ECS *more careful*; a big gap between outcomes is a
-- prompt for a fairness review, not a pricing input. Parameters: :since (timestamptz).
WITH decided AS (
    SELECT DISTINCT ON (r.decision_id)
        r.decision_id,
        r.user_id,
        r.outcome,
        d.requested_at
    FROM decision_records AS r
    JOIN credit_decisions AS d ON d.id = r.decision_id
    WHERE r.kind = 'AUTOMATED'
      AND d.requested_at >= :since
    ORDER BY r.decision_id, r.sequence DESC, r.id DESC
),
week_before AS (
    SELECT
        x.decision_id,
        x.outcome,
        SUM(ed.readings) AS readings,
        SUM(ed.stress_sum) / NULLIF(SUM(ed.readings), 0) AS avg_stress,
        COALESCE(SUM(ed.distress_count), 0) AS distress_readings
    FROM decided AS x
    LEFT JOIN emotion_daily AS ed
      ON ed.user_id = x.user_id
     AND ed.day >= CAST(x.requested_at - INTERVAL '7 days' AS date)
     AND ed.day < CAST(x.requested_at AS date) + 1
    GROUP BY x.decision_id, x.outcome
)
SELECT
    outcome,
    COUNT(*) AS decisions,
    ROUND(CAST(AVG(avg_stress) AS numeric), 3) AS avg_daily_stress,
    ROUND(AVG(distress_readings), 2) AS avg_distress_readings,
    COUNT(*) FILTER (WHERE readings IS NULL) AS decisions_without_emotion_data
FROM week_before
GROUP BY outcome
ORDER BY outcome;
