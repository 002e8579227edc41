"""Wake-ups between processes on one machine, for what SQLite files share: pure Python, no server.

A process that waits for another one's commits to a file (the local log's ``bus.db``, a service's
SQLite database) binds a Unix datagram socket in that file's wake directory
(``<dir>/.wake/<file name>.<channel>/<pid>-<random>.sock``); a process that committed, once the
commit is durable, sends a 1-byte datagram to every socket there (``Waker.wake``). The waiter's
event loop reads its socket and runs a callback (``WakeSocket``). A datagram says only "look
again": the waiter re-reads the file, so a wake-up that says nothing new costs a read, and one
that is lost costs time, never data, because every waiter keeps a slow fallback poll.

Writers never block and never fail on a waiter: a socket whose owner died (its file left behind,
nobody bound: ``ECONNREFUSED``) is removed by the first writer that finds it, one removed
meanwhile (``ENOENT``) is skipped, and a waiter whose queue is full (``EAGAIN``/``ENOBUFS``) has
wake-ups to read already. A waiter re-binds when its socket file vanished (a wiped directory) at
its next fallback poll.

Socket paths are limited to about 100 bytes (``sun_path``: 108 on Linux, 104 on macOS); when the
file's directory is too deep for that, its wake directory is ``/tmp/shulian-wake-<uid>/<hash of
the file's wake directory>`` instead, the same for every process that names the same file. Where
Unix sockets or ``loop.add_reader`` are missing (Windows) nothing binds, ``WakeSocket.open``
says so, and waiters poll as before.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import secrets
import socket
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

logger = logging.getLogger(__name__)

WAKE_DIR = ".wake"
SUFFIX = ".sock"
MAX_SOCKET_PATH = 100  # bytes of a socket path, below sun_path's 104 (macOS) and 108 (Linux)
_NAME_ROOM = 32  # bytes a socket's name takes at most: "<pid>-<8 hex>.sock" with its slash
_SHORT_ROOT = Path("/tmp")  # a fixed root every process finds (TMPDIR may differ)
_RECV_SIZE = 64
# A full queue: the waiter has wake-ups to read already (EAGAIN on Linux, ENOBUFS on macOS).
_FULL = {errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS}

SUPPORTED = hasattr(socket, "AF_UNIX")


def wake_dir(file: str | Path, channel: str) -> Path:
    """The directory of the sockets waiting for ``channel`` commits to ``file``."""
    file = Path(os.path.abspath(file))
    directory = file.parent / WAKE_DIR / f"{file.name}.{channel}"
    if len(os.fsencode(directory)) + _NAME_ROOM <= MAX_SOCKET_PATH:
        return directory
    digest = hashlib.sha256(os.fsencode(directory)).hexdigest()[:24]
    return _SHORT_ROOT / f"shulian-wake-{os.getuid()}" / digest


def _make_dir(directory: Path) -> None:
    """Create ``directory`` (and, under ``/tmp``, a private root this user owns) or raise."""
    if directory.parent.parent == _SHORT_ROOT:
        root = directory.parent
        with suppress(FileExistsError):
            root.mkdir(mode=0o700)
        info = root.lstat()
        # Another user's directory (or a link) in /tmp could see or hijack the wake-ups.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise PermissionError(f"{root} is not a directory of this user")
    directory.mkdir(parents=True, exist_ok=True)


class Waker:
    """Sends a wake-up to every socket in one wake directory (thread-safe, never blocks)."""

    def __init__(self, directory: Path, *, skip: Callable[[], str | None] | None = None) -> None:
        self.directory = directory
        self._skip = skip  # the name of a socket not to wake (this process's own waiter)
        self._socket: socket.socket | None = None
        self.removed = 0  # stale sockets removed (their owner died without closing)

    def wake(self) -> int:
        """Wake every waiter in the directory; how many sockets took the datagram."""
        if not SUPPORTED:
            return 0
        try:
            entries = list(os.scandir(self.directory))
        except (FileNotFoundError, NotADirectoryError):
            return 0  # nobody ever waited here
        except OSError as exc:
            logger.debug("wake-ups of %s not sent: %r", self.directory, exc)
            return 0
        sender = self._sender()
        skip = self._skip() if self._skip is not None else None
        woken = 0
        for entry in entries:
            if not entry.name.endswith(SUFFIX) or entry.name == skip:
                continue
            try:
                sender.sendto(b"\x01", entry.path)
            except ConnectionRefusedError:
                self._remove_stale(entry.path)
            except FileNotFoundError:
                continue  # closed meanwhile
            except OSError as exc:
                if exc.errno not in _FULL:
                    logger.debug("wake-up to %s not sent: %r", entry.path, exc)
            else:
                woken += 1
        return woken

    def close(self) -> None:
        """Close the sending socket (``wake`` opens another if called again)."""
        sender, self._socket = self._socket, None
        if sender is not None:
            sender.close()

    def _sender(self) -> socket.socket:
        if self._socket is None:
            sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sender.setblocking(False)
            self._socket = sender
        return self._socket

    def _remove_stale(self, path: str) -> None:
        # Nobody is bound to it: its process died without closing it. A socket is bound in the
        # same call that creates its file, so a live waiter is never mistaken for a stale one.
        try:
            os.unlink(path)
        except OSError:
            return  # removed meanwhile, or not a file of ours (a directory)
        self.removed += 1
        logger.debug("removed the stale wake-up socket %s", path)


class WakeSocket:
    """One waiter's socket in a wake directory, read by the running event loop.

    ``callback`` runs in the event loop once per batch of datagrams read. ``open`` binds (or
    re-binds, when the socket file vanished) and says whether wake-ups can arrive.
    """

    def __init__(self, directory: Path, callback: Callable[[], None]) -> None:
        self.directory = directory
        self._callback = callback
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.path: Path | None = None

    @property
    def name(self) -> str | None:
        """The socket file's name while bound (what this process's ``Waker`` may skip)."""
        return None if self.path is None else self.path.name

    @property
    def listening(self) -> bool:
        """Whether the socket is bound and read by the event loop."""
        return self._socket is not None

    @property
    def bound(self) -> bool:
        """Whether the socket is read by the running event loop and its file is still there."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return (
            self._socket is not None
            and self._loop is loop
            and self.path is not None
            and os.path.exists(self.path)
        )

    def open(self) -> bool:
        """Bind the socket unless ``bound``; whether it is listening."""
        if not SUPPORTED:
            return False
        if self.bound:
            return True
        self.close()  # its file vanished (a wiped directory) or another loop read it: bind anew
        loop = asyncio.get_running_loop()
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.setblocking(False)
        path = self.directory / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        try:
            _make_dir(self.directory)
            try:
                receiver.bind(os.fspath(path))
            except FileNotFoundError:  # the last waiter removed the directory meanwhile
                _make_dir(self.directory)
                receiver.bind(os.fspath(path))
            loop.add_reader(receiver.fileno(), self._readable)
        except (OSError, NotImplementedError) as exc:
            receiver.close()
            with suppress(OSError):
                path.unlink(missing_ok=True)
            logger.info("no wake-ups in %s, polling: %r", self.directory, exc)
            return False
        self._socket, self._loop, self.path = receiver, loop, path
        return True

    def close(self) -> None:
        """Stop reading, close the socket and remove its file."""
        receiver, self._socket = self._socket, None
        path, self.path = self.path, None
        loop, self._loop = self._loop, None
        if receiver is not None:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(receiver.fileno())
            receiver.close()
        if path is not None:
            with suppress(OSError):
                path.unlink(missing_ok=True)
            if self.directory.parent.parent == _SHORT_ROOT:
                with suppress(OSError):  # not empty: other waiters use it
                    self.directory.rmdir()  # no litter under /tmp

    def _readable(self) -> None:
        receiver = self._socket
        if receiver is None:
            return
        try:
            while True:
                receiver.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            pass  # drained
        except OSError as exc:
            logger.debug("wake-up socket %s: %r", self.path, exc)
        self._callback()
