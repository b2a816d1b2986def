"""The terminal input thread of :mod:`mmtui.ui.quiet_input`, on a real pipe in a real thread:
keys arrive, a lone esc still times out after the thread has gone to sleep, a quiet thread does
not wake, and stopping it wakes it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from mmtui.ui import quiet_input
from mmtui.ui.app import MmtuiApp
from mmtui.ui.quiet_input import QuietLinuxDriver, quiet_driver
from tests.pinned import FakeSource

QUIET_AFTER = 0.3
"""The tests' :data:`~mmtui.ui.quiet_input.AWAKE_AFTER_INPUT` (still past ESCDELAY's 0.1 s)."""


class Collecting(QuietLinuxDriver):
    """The driver, with what it reads collected instead of sent to the app."""

    seen: list[Message]

    def process_message(self, message: Message) -> None:
        self.seen.append(message)


@dataclass
class Running:
    driver: Collecting
    terminal: int
    """The pipe's write end: what the test types."""
    thread: threading.Thread

    def keys(self) -> list[str]:
        return [m.key for m in list(self.driver.seen) if isinstance(m, events.Key)]

    def type_and_wait(self, data: bytes, key: str) -> None:
        os.write(self.terminal, data)
        deadline = time.monotonic() + 5
        while key not in self.keys():
            assert time.monotonic() < deadline, f"{key!r} never arrived: {self.keys()}"
            time.sleep(0.01)


@pytest.fixture
async def running(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    monkeypatch.setattr(quiet_input, "AWAKE_AFTER_INPUT", QUIET_AFTER)
    driver = Collecting(MmtuiApp(FakeSource()))
    driver.seen = []
    read, write = os.pipe()
    driver.fileno = read  # the terminal
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)
    thread.start()
    try:
        yield Running(driver, write, thread)
    finally:
        driver.exit_event.set()  # the thread may be asleep with no timeout: this must wake it
        thread.join(10)
        driver.close()
        os.close(read)
        os.close(write)
    assert not thread.is_alive(), "the input thread did not stop when told"


def voluntary_switches(thread: threading.Thread) -> int:
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("voluntary_ctxt_switches:"))
    return int(line.split(":")[1])


def test_it_stands_in_for_linux_driver_only() -> None:
    class Other(LinuxDriver):
        pass

    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    assert quiet_driver(Other) is Other


async def test_keys_arrive_and_a_lone_esc_times_out_after_the_thread_slept(
    running: Running,
) -> None:
    running.type_and_wait(b"j", "j")
    time.sleep(QUIET_AFTER * 2)  # quiet: the thread now waits with no timeout
    running.type_and_wait(b"\x1b", "escape")  # the parser's wait for more still runs out


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
async def test_a_quiet_input_thread_does_not_wake(running: Running) -> None:
    running.type_and_wait(b"j", "j")
    time.sleep(QUIET_AFTER * 2)
    before = voluntary_switches(running.thread)
    time.sleep(0.6)  # Textual's own input thread wakes six times meanwhile
    assert voluntary_switches(running.thread) == before
