"""A pulse fired between a reader's check and its wait still wakes it (``arm`` / ``since``)."""

from __future__ import annotations

import asyncio

from shulian_common.pulse import Pulse


async def test_a_pulse_fired_after_arming_wakes_the_wait_at_once() -> None:
    pulse = Pulse()
    armed = pulse.arm()
    pulse.fire()  # e.g. the relay committed while the feed was reading

    woken = await asyncio.wait_for(pulse.wait(30.0, since=armed), timeout=5)
    unarmed = await pulse.wait(0.05)  # waits for the next pulse, which does not come

    assert woken is True
    assert unarmed is False
