"""``shulian reporting rebuild``: projections emptied and replayed from the start of the streams,
giving identical figures, through the inbox and in batches."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shulian_common.cli import main
from shulian_common.consumer import Subscription
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import inbox
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWork
from shulian_reporting import consumers
from shulian_reporting import testing as t
from shulian_reporting.handlers import projections
from shulian_reporting.handlers import rebuild as rebuild_module
from shulian_reporting.handlers.bulk import WriteLock
from shulian_reporting.handlers.rebuild import rebuild
from shulian_reporting.testing import Reporting, reporting_settings_for, running
from shulian_reporting.testing.worked import AS_OF, events, stream_events


async def _figures(node: Reporting) -> list[dict[str, Any]]:
    found = []
    for scope in ("510000", "510100", "south"):
        response = await node.client.get(
            "/v1/indicators",
            params={"year": 2024, "scope": scope, "as_of": AS_OF.isoformat()},
            headers=node.province,
        )
        assert response.status_code == 200
        found.extend(response.json())
    return found


async def _inbox_rows(node: Reporting) -> int:
    async with node.runtime.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(inbox))).scalar_one())


def _forged(record_id: str) -> tuple[str, CloudEvent]:
    """A platform snapshot from a city node about a Chengdu record owned by Yibin: untrusted."""
    topic, event = t.platform(record_id, city="510100")
    data = {**event.data, "owner_node": "511500"}
    return topic, event.model_copy(update={"source": "/nodes/511500/registry", "data": data})


async def test_a_rebuild_gives_identical_figures(reporting: Reporting) -> None:
    scenario = [*events(), *stream_events()]  # registry, events and matching streams
    await t.publish(reporting, scenario)
    before = await _figures(reporting)
    inbox_before = await _inbox_rows(reporting)
    seen: list[tuple[int, int]] = []

    result = await rebuild(
        reporting.settings, batch_size=7, progress=lambda done, left: seen.append((done, left))
    )

    assert result.events == len(scenario)
    assert result.applied == len(scenario)
    assert result.rows == {
        "p_suppliers": 5, "p_network": 19, "p_enterprises": 1, "p_activities": 9,
        "p_registrations": 7, "p_orders": 5, "p_talents": 3,
    }  # fmt: skip
    assert seen[-1] == (len(scenario), 0)  # the progress bar ends full
    assert await _figures(reporting) == before
    assert await _inbox_rows(reporting) == inbox_before  # the rebuild's own rows are gone


async def test_a_rebuild_starts_from_empty_projections(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    # A row no event explains (as a bug or a hand edit would leave) is gone after a rebuild.
    async with reporting.runtime.uow_factory() as uow:
        from shulian_reporting import repository

        await repository.upsert_network(
            uow.session,
            {
                "id": "stray", "owner_node": "510000", "version": 1, "kind": "platform",
                "subtype": None, "level": None, "county_code": "510104", "city_code": "510100",
                "since": AS_OF, "supplier_id": None, "industries": [], "linked_platforms": 0,
                "key_service_objects": 0,
            },
        )  # fmt: skip
        await uow.commit()
    result = await rebuild(reporting.settings, batch_size=100)
    assert result.rows["p_network"] == 19


async def test_the_cli_rebuilds_with_the_environments_settings(
    reporting: Reporting, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await t.publish(reporting, events())
    before = await _figures(reporting)
    settings = reporting.settings
    monkeypatch.setenv("SHULIAN_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("SHULIAN_BUS_URL", str(settings.bus_url))
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(settings.data_dir))
    import asyncio

    code = await asyncio.to_thread(main, ["reporting", "rebuild", "--batch-size", "50"])

    assert code == 0
    out, err = capsys.readouterr()
    assert f"rebuilt from {len(events())} events" in out
    assert "重建报表投影" in err  # the progress bar
    assert await _figures(reporting) == before


async def test_the_consumer_path_rebuild_gives_the_same_figures_as_the_bulk_one(
    reporting: Reporting,
) -> None:
    await t.publish(reporting, [*events(), *stream_events()])
    before = await _figures(reporting)
    bulk = await rebuild(reporting.settings, batch_size=1000)
    assert await _figures(reporting) == before
    consumer = await rebuild(reporting.settings, batch_size=1000, bulk=False)
    assert await _figures(reporting) == before
    assert (bulk.rows, bulk.applied) == (consumer.rows, consumer.applied)


async def test_a_bulk_rebuild_dead_letters_what_the_live_consumer_would(
    reporting: Reporting,
) -> None:
    scenario = events()
    forged = _forged("forged")
    # A platform snapshot missing a field its reader model requires: invalid.
    topic, event = t.platform("broken", city="510100")
    data = {k: v for k, v in event.data.items() if k != "launched_on"}
    broken = (topic, event.model_copy(update={"data": data}))
    await t.publish(reporting, [*scenario, forged, broken])
    result = await rebuild(reporting.settings, batch_size=1000)
    assert result.dead_lettered == 2
    assert result.applied == len(scenario)
    assert result.rows["p_network"] == 19


async def test_a_bulk_rebuild_dead_letters_every_untrusted_record_not_only_the_first(
    reporting: Reporting,
) -> None:
    # The trust rule's outcome is remembered per (source, owner, divisions): records alike must
    # each be dead-lettered, and a trusted record alike but for its owner still applied.
    scenario = events()
    forged = [_forged(f"forged{i}") for i in range(3)]
    trusted = t.platform("trusted", city="510100")
    await t.publish(reporting, [*scenario, *forged, trusted, *forged[:1]])
    result = await rebuild(reporting.settings, batch_size=1000)
    assert result.dead_lettered == 4
    assert result.applied == len(scenario) + 1
    assert result.rows["p_network"] == 20


async def test_a_bulk_rebuild_applies_a_handler_without_a_row_builder_through_the_handler(
    reporting: Reporting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path's general way (envelope, trust, handler), for a handler that does more
    than stage a row (not in ``projections.ROWS``), ends where the short way does."""
    await t.publish(reporting, [*events(), *stream_events()])
    short = await rebuild(reporting.settings, batch_size=1000)
    figures = await _figures(reporting)
    handled: list[str] = []

    async def apply_platform(uow: UnitOfWork, event: CloudEvent, data: Any) -> None:
        handled.append(event.id)
        await projections.apply_platform(uow, event, data)

    def with_handler() -> list[Subscription]:
        return [
            replace(sub, handlers={
                kind: replace(reads, handle=apply_platform)
                if reads.handle is projections.apply_platform else reads
                for kind, reads in sub.handlers.items()
            })
            for sub in consumers.projection_subscriptions()
        ]  # fmt: skip

    monkeypatch.setattr(rebuild_module, "projection_subscriptions", with_handler)
    general = await rebuild(reporting.settings, batch_size=1000)
    assert len(handled) == 2  # the scenario's platform snapshots, through the handler
    assert (general.rows, general.applied) == (short.rows, short.applied)
    assert await _figures(reporting) == figures


async def test_a_rebuild_in_worker_processes_gives_identical_figures(reporting: Reporting) -> None:
    """The partitions shared out among processes: each record's events share a partition and
    the projections are version-gated upserts by record, so the figures are one process's."""
    scenario = [*events(), *stream_events()]
    await t.publish(reporting, scenario)
    before = await _figures(reporting)
    one = await rebuild(reporting.settings, batch_size=3)
    seen: list[tuple[int, int]] = []

    many = await rebuild(
        reporting.settings,
        batch_size=3,
        jobs=3,
        progress=lambda done, left: seen.append((done, left)),
    )

    assert (many.events, many.applied, many.dead_lettered) == (len(scenario), len(scenario), 0)
    assert many.rows == one.rows
    assert many.worker_cpu > 0  # it ran in other processes, which reported their CPU time
    assert seen[-1] == (len(scenario), 0)
    assert await _figures(reporting) == before


async def test_a_rebuild_in_worker_processes_dead_letters_what_one_process_would(
    reporting: Reporting,
) -> None:
    scenario = events()
    forged = _forged("forged")
    await t.publish(reporting, [*scenario, forged])
    result = await rebuild(reporting.settings, batch_size=1000, jobs=2)
    assert (result.applied, result.dead_lettered) == (len(scenario), 1)
    assert result.rows["p_network"] == 19


async def test_a_worker_killed_mid_rebuild_fails_it_and_a_rebuild_again_ends_right(
    reporting: Reporting,
) -> None:
    scenario = [*events(), *stream_events()]
    await t.publish(reporting, scenario)
    before = await _figures(reporting)
    killed: list[int] = []

    def kill_one(done: int, _left: int) -> None:
        for worker in multiprocessing.active_children():
            if not killed and worker.name.startswith("reporting-"):
                killed.append(worker.pid or 0)
                os.kill(worker.pid or 0, signal.SIGKILL)

    with pytest.raises(rebuild_module.RebuildError, match=r"exit -9.*run it again"):
        await rebuild(reporting.settings, batch_size=1, jobs=2, progress=kill_one)
    assert killed

    result = await rebuild(reporting.settings, batch_size=1, jobs=2)
    assert result.applied == len(scenario)
    assert await _figures(reporting) == before


async def test_a_worker_dead_while_holding_the_sqlite_write_lock_fails_the_rebuild_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-commit never releases SQLite's write lock, and the others would wait
    for it forever (a whole CI run once hung so): the rebuild stops them and fails. Here the lock
    is held from the start, as by such a worker, and one worker is killed."""
    held: list[WriteLock] = []
    make_lock = rebuild_module._write_lock

    def taken(context: BaseContext, settings: Settings) -> WriteLock | None:
        lock = make_lock(context, settings)
        assert lock is not None  # SQLite
        lock.acquire()
        held.append(lock)
        return lock

    monkeypatch.setattr(rebuild_module, "_write_lock", taken)
    database = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    async with running(reporting_settings_for(database, tmp_path)) as node:
        await t.publish(node, [*events(), *stream_events()])
        killed: list[int] = []

        def kill_one(done: int, _left: int) -> None:
            for worker in multiprocessing.active_children():
                if not killed and worker.name.startswith("reporting-") and worker.pid:
                    killed.append(worker.pid)
                    os.kill(worker.pid, signal.SIGKILL)

        stuck = rebuild(node.settings, batch_size=1, jobs=2, progress=kill_one)
        with pytest.raises(rebuild_module.RebuildError, match=r"exit -9\) failed \(.+ stopped\)"):
            await asyncio.wait_for(stuck, timeout=60)
        assert killed
        assert held
        assert not [w for w in multiprocessing.active_children() if w.name.startswith("reporting-")]
        held[0].release()


_STUCK_REBUILD = """
import sys
from shulian_common.cli import main
from shulian_reporting.handlers import rebuild

make_lock = rebuild._write_lock

def taken(context, settings):  # held from the start: the workers wait on it
    lock = make_lock(context, settings)
    lock.acquire()
    return lock

rebuild._write_lock = taken
sys.exit(main(["reporting", "rebuild", "--jobs", "2", "--batch-size", "1"]))
"""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.2)
    return done()


async def test_workers_of_a_killed_rebuild_stop_by_themselves(tmp_path: Path) -> None:
    """``kill -9`` of a rebuild: nothing joins or terminates its workers, which would go on
    writing projections (or, here, wait for ever on the write lock, held from the start): they
    notice and exit. SQLite, where the workers share a write lock."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}"
    async with running(reporting_settings_for(database, tmp_path)) as node:
        await t.publish(node, [*events(), *stream_events()])
        settings = node.settings
    env = {
        **os.environ,
        "SHULIAN_DATABASE_URL": database,
        "SHULIAN_BUS_URL": str(settings.bus_url),
        "SHULIAN_DATA_DIR": str(settings.data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _STUCK_REBUILD, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: set[int] = set()

    def started() -> bool:
        workers.update(w for server in _children(process.pid) for w in _children(server))
        return len(workers) == 2

    try:
        assert await asyncio.to_thread(_until, started, 60), "the two workers never started"
        process.kill()
        await process.wait()
        gone = await asyncio.to_thread(_until, lambda: not any(map(_running, workers)), 30)
        assert gone, "workers outlived their rebuild"
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


def test_partitions_are_shared_out_balanced_and_empty_ones_left_out() -> None:
    from shulian_common.bus.base import TopicPartition

    ends = {
        TopicPartition("a", 0): 50,
        TopicPartition("a", 1): 40,
        TopicPartition("b", 0): 30,
        TopicPartition("b", 1): 20,
        TopicPartition("b", 2): 0,
    }
    shares = rebuild_module.shares_of(ends, 2)
    assert sorted(sum(ends[tp] for tp in share) for share in shares) == [70, 70]
    shared = [tp for share in shares for tp in share]
    assert len(shared) == len(set(shared))  # each partition in one share
    assert set(shared) == {tp for tp, end in ends.items() if end}
    assert len(rebuild_module.shares_of(ends, 8)) == 4  # never more workers than partitions
    assert rebuild_module.shares_of({TopicPartition("a", 0): 0}, 2) == []
