"""``--verbose``: the stages of a command and their timings, on stderr."""

import contextlib
import time

__all__ = ["StageLog"]


class StageLog:
    """Print ``skft advise: [  0.12 s] message`` lines when enabled, nothing otherwise.

    Parameters
    ----------
    stream : file-like
        Where to write (the command's stderr).
    prog : str
        Prefix of every line, e.g. ``"skft advise"``.
    enabled : bool
        False: every call is a no-op.

    Examples
    --------
    >>> import io
    >>> from skft._cli._log import StageLog
    >>> out = io.StringIO()
    >>> log = StageLog(out, "skft advise", True)
    >>> with log.stage("reading --X"):
    ...     pass
    >>> print(out.getvalue())  # doctest: +ELLIPSIS
    skft advise: [    0.00 s] reading --X ...
    skft advise: [    0.00 s] reading --X: done in 0.00 s
    """

    def __init__(self, stream, prog, enabled):
        self.stream = stream
        self.prog = prog
        self.enabled = bool(enabled)
        self._start = time.perf_counter()

    def __call__(self, message):
        """Print one line with the time since the command started."""
        if self.enabled:
            elapsed = time.perf_counter() - self._start
            print(f"{self.prog}: [{elapsed:8.2f} s] {message}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def stage(self, message):
        """Announce a stage, then report its duration when it ends without error.

        Yields a list: strings appended to it are printed with the duration.
        """
        self(f"{message} ...")
        start = time.perf_counter()
        notes = []
        yield notes
        detail = "".join(f"; {note}" for note in notes)
        self(f"{message}: done in {time.perf_counter() - start:.2f} s{detail}")
