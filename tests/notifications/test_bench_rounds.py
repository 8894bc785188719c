"""bench/notify_latency.py times a message only in its own round: one that comes a round late
is counted apart, never timed against the later round's commit (which once printed a minimum
latency of −31,781 ms)."""

import asyncio
import json

import pytest

from bench.notify_latency import Tally, drain, own_round, round_of


def notification(case: int) -> bytes:
    return json.dumps({"type": "notification", "notification": {"case": case}}).encode()


def test_a_message_of_an_earlier_round_is_late_not_timed():
    tally = Tally()

    async def scenario() -> float:
        messages: asyncio.Queue = asyncio.Queue()
        # Round 1 (case 11) gave up on this recipient; its message comes during round 2.
        messages.put_nowait((1.0, notification(11)))
        messages.put_nowait((1.5, json.dumps({"type": "unread", "count": 2}).encode()))
        messages.put_nowait((2.0, notification(12)))
        return await own_round(messages, round_of, 12, {11}, set(), tally)

    assert asyncio.run(scenario()) == 2.0
    assert tally.late == 1
    assert tally.latencies == []


def test_what_is_left_after_the_last_round_is_late_or_twice():
    tally = Tally()
    messages: asyncio.Queue = asyncio.Queue()
    for at, case in ((3.0, 11), (3.1, 12), (3.2, 12)):
        messages.put_nowait((at, notification(case)))
    drain([messages], round_of, {11, 12}, [{11}], tally)
    assert (tally.late, tally.twice) == (1, 2)


def test_a_negative_latency_stops_the_bench():
    tally = Tally()
    tally.add(0.004)
    with pytest.raises(RuntimeError, match="négative"):
        tally.add(-31.781)
    assert tally.latencies == [0.004]
