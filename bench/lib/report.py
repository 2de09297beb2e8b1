"""The Markdown table ``bench.decisions`` prints (the README's performance rows come from it).

Columns: ECS, the synchronous non-durable baseline (``bench.lib.baseline``) and the bare
workflow (``bench.lib.bare``), all measured in the same run; targets are issue 11's.
"""

from __future__ import annotations

from typing import Protocol

from bench.lib import bare
from bench.lib.journey import Journeys
from bench.lib.loops import Phase
from bench.lib.stats import verdict

TARGETS = {
    "offer p50": 25.0,
    "offer p99": 60.0,
    "accept p50": 10.0,
    "active p50": 25.0,
    "vs baseline": 1.5,
    "ratio": 0.9,
}


class RunShape(Protocol):
    rate: float
    duration: float
    concurrency: int
    closed_duration: float


def _ms(phase: Phase | None, q: float) -> str:
    return "n/a" if phase is None or not phase.ok else f"{phase.pct(q):.1f}"


def _pair(phase: Phase | None) -> str:
    return "n/a" if phase is None or not phase.ok else f"{_ms(phase, 0.5)} / {_ms(phase, 0.99)}"


def summary_table(
    opts: RunShape,
    results: dict[str, Journeys],
    bare_open: dict[str, Phase],
    floors: tuple[Phase, Phase] | None,
    ecs_closed: Phase,
    bare_closed: dict[str, Phase],
    floor_cpu: tuple[dict[str, float], float | None] = ({}, None),
) -> str:
    """The run's summary; ``floor_cpu``: CPU ms per bare workflow (by mix) and per accept-floor
    workflow."""
    ecs, base = results["ECS"], results.get("baseline")
    main = next(iter(bare_open), None)
    b_open, b_closed = (
        bare_open.get(main) if main else None,
        bare_closed.get(main) if main else None,
    )
    label = f"bare workflow ({bare.MIX_LABELS[main]})" if main else "bare workflow"
    rate = f"{opts.rate:g}/s x {opts.duration:g} s"
    p50 = ecs.offer.pct(0.5)
    rows = [
        f"| open loop {rate}, ms | ECS | synchronous baseline | {label} | target | met |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
        f"| request → offer p50 / p99 | {_pair(ecs.offer)} | {_pair(base.offer if base else None)} "
        f"| {_pair(b_open)} | ≤ {TARGETS['offer p50']:g} / ≤ {TARGETS['offer p99']:g} "
        f"| {verdict(p50 <= TARGETS['offer p50'])} "
        f"{verdict(ecs.offer.pct(0.99) <= TARGETS['offer p99'])} |",
        f"| accept → 202 p50 / p99 | {_pair(ecs.accept)} | {_pair(base.accept if base else None)} "
        f"| {_pair(floors[0] if floors else None)} (update) | ≤ {TARGETS['accept p50']:g} "
        f"| {verdict(ecs.accept.pct(0.5) <= TARGETS['accept p50'])} |",
        f"| accept → ACTIVE p50 / p99 | {_pair(ecs.active)} "
        f"| {_pair(base.active if base else None)} "
        f"| {_pair(floors[1] if floors else None)} (update + activity, to the end) "
        f"| ≤ {TARGETS['active p50']:g} "
        f"| {verdict(ecs.active.pct(0.5) <= TARGETS['active p50'])} |",
    ]
    if base and base.offer.ok:
        ratio = p50 / base.offer.pct(0.5)
        rows.append(
            f"| request → offer p50, ECS / baseline | {ratio:.2f}x | 1x | | "
            f"≤ {TARGETS['vs baseline']:g}x | {verdict(ratio <= TARGETS['vs baseline'])} |"
        )
    bare_ms, floor_ms = floor_cpu
    floor_cell = ""
    if main and main in bare_ms:
        floor_cell = f"{bare_ms[main]:.1f}" + (
            f" + {floor_ms:.1f} (accept floor)" if floor_ms else ""
        )
    rows.append(
        f"| CPU per journey, ms (the run's services, /proc) | {ecs.cpu_ms:.1f} "
        f"| {f'{base.cpu_ms:.1f}' if base else 'n/a'} | {floor_cell} | | |"
    )
    errors = sum(p.errors for p in ecs.phases())
    rows.append(
        f"| errors | {errors} | {sum(p.errors for p in base.phases()) if base else 'n/a'} "
        f"| {b_open.errors if b_open else 'n/a'} | 0 | {verdict(errors == 0)} |"
    )
    closed = f"closed loop C={opts.concurrency} x {opts.closed_duration:g} s"
    bare_tp = b_closed.throughput() if b_closed else None
    tp_ratio = ecs_closed.throughput() / bare_tp if bare_tp else None
    met = "n/a" if tp_ratio is None else verdict(tp_ratio >= TARGETS["ratio"])
    rows += [
        f"| {closed}: request → offer throughput | {ecs_closed.throughput():.1f}/s | | "
        f"{'n/a' if bare_tp is None else f'{bare_tp:.1f}/s'} | | |",
        f"| throughput ECS / bare | {'n/a' if tp_ratio is None else f'{tp_ratio:.2f}x'} | | | "
        f"≥ {TARGETS['ratio']:g}x | {met} |",
    ]
    for mix in list(bare_open)[1:]:
        rows.append(
            f"| bare ({bare.MIX_LABELS[mix]}): open p50 / p99, closed throughput | | | "
            f"{_pair(bare_open[mix])}, {bare_closed[mix].throughput():.1f}/s | | |"
        )
    return "\n".join(rows)
