-- Emotional context of automated outcomes: for each outcome (APPROVED / DENIED / REFERRED), the
-- number of decisions and the average daily stress and distress readings of the user in the
-- 7 days before the request. Read from emotion_daily (per-user daily sums kept by the stream
-- consumer), never from the raw readings, so it stays cheap over months of data.
-- A monitoring query: empathy may only make ECS *more careful*; a big gap between outcomes is a
-- prompt for a fairness review, not a pricing input.
-- Written for PostgreSQL; on SQLite `ecs sql` applies the two rewrites below (date arithmetic
-- is the only difference between the databases here).
-- on sqlite: CAST(x.requested_at - INTERVAL '7 days' AS date) => date(x.requested_at, '-7 days')
-- on sqlite: CAST(x.requested_at AS date) => date(x.requested_at)
-- param since: timestamp = 30 days ago
WITH decided AS (
    SELECT decision_id, user_id, outcome, requested_at
    FROM (
        SELECT
            r.decision_id,
            r.user_id,
            r.outcome,
            d.requested_at,
            ROW_NUMBER() OVER (
                PARTITION BY r.decision_id ORDER BY r.sequence DESC, r.id DESC
            ) AS n
        FROM decision_records AS r
        JOIN credit_decisions AS d ON d.id = r.decision_id
        WHERE r.kind = 'AUTOMATED'
          AND d.requested_at >= :since
    ) AS ranked
    WHERE n = 1
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
     AND ed.day <= CAST(x.requested_at AS date)
    GROUP BY x.decision_id, x.outcome
)
SELECT
    outcome,
    COUNT(*) AS decisions,
    ROUND(CAST(AVG(avg_stress) AS numeric), 3) AS avg_daily_stress,
    ROUND(CAST(AVG(distress_readings) AS numeric), 2) AS avg_distress_readings,
    COUNT(*) FILTER (WHERE readings IS NULL) AS decisions_without_emotion_data
FROM week_before
GROUP BY outcome
ORDER BY outcome;
