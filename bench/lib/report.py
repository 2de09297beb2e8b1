"""The Markdown table ``bench.decisions`` prints (the README's performance rows come from it).

Columns: ECS, the synchronous non-durable baseline (``bench.lib.baseline``) and the journey
floor (``bench.lib.floor``), then the bare workflow (``bench.lib.bare``) as rows, all measured in
the same run; targets are issue 11's.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _cpu(spent: dict[str, float], who: str) -> str:
    return f"{spent[who]:.1f}" if spent.get(who) else "n/a"


def _pair(phase: Phase | None) -> str:
    return "n/a" if phase is None or not phase.ok else f"{_ms(phase, 0.5)} / {_ms(phase, 0.99)}"


def summary_table(
    opts: RunShape,
    results: dict[str, Journeys],
    closed: tuple[Phase, Phase | None],
    bare_open: dict[str, Phase],
    bare_closed: dict[str, Phase],
    bare_cpu: dict[str, float],
    closed_cpu: dict[str, float],
) -> str:
    """The run's summary: ECS, the synchronous baseline and the journey floor by column (the
    floor is the throughput ratio's reference: the same journey in Temporal's terms, trivial
    activities); the bare workflow by mix as rows below. ``closed``: ECS's and the floor's
    closed loops; ``bare_cpu``: the bare workflow's CPU ms per run; ``closed_cpu``: CPU ms per
    decision in each closed loop, by who ran it."""
    ecs, base, flo = results["ECS"], results.get("baseline"), results.get("journey floor")
    ecs_closed, floor_closed = closed
    rate = f"{opts.rate:g}/s x {opts.duration:g} s"
    p50 = ecs.offer.pct(0.5)

    def cells(pick: Callable[[Journeys], Phase]) -> str:
        return " | ".join(_pair(pick(j) if j else None) for j in (ecs, base, flo))

    rows = [
        f"| open loop {rate}, ms | ECS | synchronous baseline | journey floor (bare Temporal) "
        "| target | met |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
        f"| request → offer p50 / p99 | {cells(lambda j: j.offer)} "
        f"| ≤ {TARGETS['offer p50']:g} / ≤ {TARGETS['offer p99']:g} "
        f"| {verdict(p50 <= TARGETS['offer p50'])} "
        f"{verdict(ecs.offer.pct(0.99) <= TARGETS['offer p99'])} |",
        f"| accept → 202 p50 / p99 | {cells(lambda j: j.accept)} | ≤ {TARGETS['accept p50']:g} "
        f"| {verdict(ecs.accept.pct(0.5) <= TARGETS['accept p50'])} |",
        f"| accept → ACTIVE p50 / p99 | {cells(lambda j: j.active)} "
        f"| ≤ {TARGETS['active p50']:g} "
        f"| {verdict(ecs.active.pct(0.5) <= TARGETS['active p50'])} |",
    ]
    if base and base.offer.ok:
        ratio = p50 / base.offer.pct(0.5)
        floor_ratio = f"{flo.offer.pct(0.5) / base.offer.pct(0.5):.2f}x" if flo else ""
        rows.append(
            f"| request → offer p50, / baseline | {ratio:.2f}x | 1x | {floor_ratio} "
            f"| ≤ {TARGETS['vs baseline']:g}x | {verdict(ratio <= TARGETS['vs baseline'])} |"
        )
    cpu = " | ".join(f"{j.cpu_ms:.1f}" if j else "n/a" for j in (ecs, base, flo))
    rows.append(f"| CPU per journey, ms (the run's services, /proc) | {cpu} | | |")
    errors = " | ".join(
        str(sum(p.errors for p in j.phases())) if j else "n/a" for j in (ecs, base, flo)
    )
    ecs_errors = sum(p.errors for p in ecs.phases())
    rows.append(f"| errors | {errors} | 0 | {verdict(ecs_errors == 0)} |")
    label = f"closed loop C={opts.concurrency} x {opts.closed_duration:g} s"
    floor_tp = floor_closed.throughput() if floor_closed and floor_closed.ok else None
    tp_ratio = ecs_closed.throughput() / floor_tp if floor_tp else None
    met = "n/a" if tp_ratio is None else verdict(tp_ratio >= TARGETS["ratio"])
    rows += [
        f"| {label}: request → offer throughput | {ecs_closed.throughput():.1f}/s | "
        f"| {'n/a' if floor_tp is None else f'{floor_tp:.1f}/s'} | | |",
        f"| throughput ECS / journey floor | {'n/a' if tp_ratio is None else f'{tp_ratio:.2f}x'} "
        f"| | | ≥ {TARGETS['ratio']:g}x | {met} |",
        f"| closed loop: CPU per decision, ms | {_cpu(closed_cpu, 'ECS')} | "
        f"| {_cpu(closed_cpu, 'journey floor')} | | |",
    ]
    for mix, phase in bare_open.items():
        cpu_ms = f", CPU {bare_cpu[mix]:.1f} ms" if mix in bare_cpu else ""
        rows.append(
            f"| bare workflow ({bare.MIX_LABELS[mix]}, no update): p50 / p99{cpu_ms}, closed "
            f"throughput | | | {_pair(phase)}, {bare_closed[mix].throughput():.1f}/s | | |"
        )
    return "\n".join(rows)
