-- All emotion readings of one user in the last 7 days, newest first.
-- Served by ix_emotion_events_user_time (user_id, occurred_at): an index range scan, no sort
-- of other users' rows. Portable: runs as is on PostgreSQL and SQLite (`ecs sql`).
-- param user_id: uuid
-- param since: timestamp = 7 days ago
SELECT
    e.event_id,
    e.occurred_at,
    e.kind,
    e.positivity,
    e.intensity,
    e.stress,
    e.context
FROM emotion_events AS e
WHERE e.user_id = :user_id
  AND e.occurred_at >= :since
ORDER BY e.occurred_at DESC;
