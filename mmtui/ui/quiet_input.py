"""A terminal input thread that sleeps while no key is pressed.

Textual 8's ``LinuxDriver`` reads the terminal in a thread that wakes ten times a second
(``select`` with a 0.1 s timeout), to notice when it is told to stop and to let a lone ``esc``
time out. On an idle console those are most of the process's wake-ups; on the two-core virtual
machine the TUI benchmark runs on, each costs most of a tenth of a millisecond of CPU, together
a tenth of a percent of a core: a twentieth of the idle goal.

:class:`QuietLinuxDriver` reads the terminal exactly as Textual's does, with its 0.1 s ticks for
a while after each input (so ``esc``, and any sequence the parser waits on, times out as before),
and otherwise sleeps until input arrives or the driver stops the thread: its exit event also
writes to a pipe the thread watches.

:func:`quiet_driver` swaps it in for ``LinuxDriver`` itself on the Textual it was written against
(8.x, the dependency's range); the app keeps Textual's own driver when this module cannot be
imported (a Textual without the private parts it uses).
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from typing import TYPE_CHECKING, Any

import textual
from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

if TYPE_CHECKING:
    from textual.app import App

TICK = 0.1
"""Textual's input tick, kept while input is recent."""
AWAKE_AFTER_INPUT = max(1.0, 4 * constants.ESCAPE_DELAY)
"""Seconds of ticks after an input: well past the parser's longest wait (``ESCDELAY``)."""


def quiet_driver(driver: type[Driver]) -> type[Driver]:
    """:class:`QuietLinuxDriver` in place of ``driver`` when that is Textual 8's
    ``LinuxDriver``; ``driver`` itself otherwise."""
    if driver is LinuxDriver and textual.__version__.startswith("8."):
        return QuietLinuxDriver
    return driver


class _WakingEvent(threading.Event):
    """The driver's exit event: setting it also wakes the input thread out of its ``select``."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        """The pipe's write end; -1 once the driver has closed it."""

    def set(self) -> None:
        super().set()
        if self.fd >= 0:
            try:
                os.write(self.fd, b"\0")
            except BlockingIOError:  # full: the thread has wake-ups enough to read
                pass


class QuietLinuxDriver(LinuxDriver):
    """Textual's ``LinuxDriver`` with an input thread that sleeps while the terminal is quiet."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._wake_read, wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(wake_write, False)
        self._waking = _WakingEvent(wake_write)
        self.exit_event = self._waking

    def close(self) -> None:
        super().close()
        fd, self._waking.fd = self._waking.fd, -1
        if fd >= 0:
            os.close(fd)
            os.close(self._wake_read)

    def run_input_thread(self) -> None:
        """Textual's ``LinuxDriver.run_input_thread`` (8.2), with the wake-up pipe in the
        selector and no timeout while the terminal has been quiet for a while."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        fileno = self.fileno
        parser = XTermParser(self._debug)
        feed = parser.feed
        tick = parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def process_selector_events(
            selector_events: list[tuple[selectors.SelectorKey, int]], final: bool = False
        ) -> bool:
            """Feed what the terminal sent to the parser; whether it sent anything."""
            read = False
            for last, (key, mask) in loop_last(selector_events):
                if key.fd != fileno:
                    self._drain_wake_ups()
                    continue
                if mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        # This can occur if the stdin is piped
                        break
                    read = True
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)
            return read

        try:
            awake_until = 0.0
            while not self.exit_event.is_set():
                timeout = TICK if time.monotonic() < awake_until else None
                if process_selector_events(selector.select(timeout)):
                    awake_until = time.monotonic() + AWAKE_AFTER_INPUT
            selector.unregister(self.fileno)
            process_selector_events(selector.select(TICK), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def _drain_wake_ups(self) -> None:
        try:
            while os.read(self._wake_read, 64):
                pass
        except BlockingIOError:
            pass
