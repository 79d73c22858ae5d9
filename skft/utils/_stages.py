"""Stages of long work and their timings, printed when asked (``verbose``, ``--verbose``)."""

import contextlib
import sys
import time

__all__ = ["NO_LOG", "StageLog"]


class StageLog:
    """Print ``skft advise: [  0.12 s] message`` lines when enabled, nothing otherwise.

    Parameters
    ----------
    stream : file-like or None
        Where to write (a command's stderr); None: ``sys.stderr`` at the time of writing.
    prog : str
        Prefix of every line, e.g. ``"skft advise"``.
    enabled : bool
        False: every call is a no-op.
    announce : bool, default=True
        Whether :meth:`stage` also prints a line when a stage starts (else only its end,
        with the duration).

    Examples
    --------
    >>> import io
    >>> from skft.utils._stages import StageLog
    >>> out = io.StringIO()
    >>> log = StageLog(out, "skft advise", True)
    >>> with log.stage("reading --X"):
    ...     pass
    >>> print(out.getvalue())  # doctest: +ELLIPSIS
    skft advise: [    0.00 s] reading --X ...
    skft advise: [    0.00 s] reading --X: done in 0.00 s
    """

    def __init__(self, stream, prog, enabled, announce=True):
        self.stream = stream
        self.prog = prog
        self.enabled = bool(enabled)
        self.announce = bool(announce)
        self._start = time.perf_counter()

    def __call__(self, message):
        """Print one line with the time since the log was created."""
        if self.enabled:
            elapsed = time.perf_counter() - self._start
            stream = sys.stderr if self.stream is None else self.stream
            print(f"{self.prog}: [{elapsed:8.2f} s] {message}", file=stream, flush=True)

    def child(self, label):
        """The same log (same clock and stream) with ``label`` after the prefix."""
        out = StageLog(self.stream, f"{self.prog} [{label}]", self.enabled, self.announce)
        out._start = self._start
        return out

    @contextlib.contextmanager
    def stage(self, message):
        """Announce a stage, then report its duration when it ends without error.

        Yields a list: strings appended to it are printed with the duration.
        """
        if not self.enabled:
            yield []
            return
        if self.announce:
            self(f"{message} ...")
        start = time.perf_counter()
        notes = []
        yield notes
        detail = "".join(f"; {note}" for note in notes)
        self(f"{message}: done in {time.perf_counter() - start:.2f} s{detail}")


#: A log that prints nothing (the default of functions that take a ``log``).
NO_LOG = StageLog(None, "", False)
