"""``bench/ingest.py`` joins its batch bodies from text to keep the load generator cheap; what it
sends must still be the JSON its dicts described, with unique, valid event ids, or the figures it
prints (and lost / duplicated) would measure something else."""

from __future__ import annotations

import uuid

import orjson

from bench.ingest import _METRICS, Target
from ecs.stream.messages import readings_of_body


def test_batch_bodies_are_the_readings_they_claim() -> None:
    target = Target.__new__(Target)  # only the fields batch_body reads
    target.batch, target.tokens, target.id_prefix = 250, ["Bearer t"], str(uuid.uuid4())[:24]
    body, headers, ids = target.batch_body(7)
    readings = orjson.loads(body)["readings"]
    assert headers == {"Authorization": "Bearer t"}
    assert [r["event_id"] for r in readings] == ids and len(set(ids)) == 250
    assert [r["metrics"] for r in readings] == [_METRICS[(7 * 250 + k) % 1000] for k in range(250)]
    assert {r["kind"] for r in readings} == {"reading"}
    validated = readings_of_body(body)
    assert [str(r["event_id"]) for r in validated] == ids  # valid UUIDs, in canonical form
    assert target.batch_body(8)[2][0] == f"{target.id_prefix}{8 * 250:012x}"
