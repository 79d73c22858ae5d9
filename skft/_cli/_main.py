"""Parser and dispatch of the ``skft`` command line (``skft.__main__.main`` calls :func:`main`).

Every failure ends the same way: one line ``skft COMMAND: error: ...`` on stderr and exit
status 2 (usage errors, bad input files, numerical failures, a closed output pipe, an
unexpected exception). With ``--verbose`` an unexpected exception also prints its traceback.
"""

import argparse
import contextlib
import os
import re
import sys
import traceback

from .. import __version__
from . import _advise, _demo
from ._io import InputFileError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (the usage is in ``--help``), and
    for which ``-1e-05`` is a number (argparse only knows ``-1`` and ``-1.5``; it would read
    ``--intercept -1e-05`` as an option without its value)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser():
    """The ``skft`` argument parser with its sub-commands.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> from skft._cli._main import build_parser
    >>> build_parser().parse_args(["demo", "--no-figure"]).figure
    False
    """
    parser = _Parser(
        prog="skft",
        description="Fine-tune pretrained linear models on a few target samples, and know "
        "from exact theory whether it pays.",
        epilog="run 'skft COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skft {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _demo.add_parser(sub)
    _advise.add_parser(sub)
    return parser


def _say(stream, line):
    """Write one line, ignoring a stream that is itself closed (``2>&1 | head``)."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=stream, flush=True)


def _detach_stdout():
    """After a broken pipe, point fd 1 at /dev/null so that the exit flush cannot fail."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv=None, *, stdout=None, stderr=None):
    """Run the command line; return the exit status (0 success, 2 any failure).

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (default: ``sys.argv[1:]``).
    stdout, stderr : file-like, default=None
        Streams to write to (default: ``sys.stdout``, ``sys.stderr``).

    Returns
    -------
    int
        0 on success; 2 on bad usage, bad input, a numerical failure, a closed output or
        an unexpected error (one line on ``stderr``); 130 when interrupted.

    Examples
    --------
    >>> from skft._cli._main import main
    >>> import sys
    >>> main(["advise", "--coef", "missing.csv", "--X", "X.csv", "--y", "y.csv",
    ...       "--intercept", "0"], stderr=sys.stdout)
    skft advise: error: --X: no such file: X.csv
    2
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    except BrokenPipeError:  # skft --help | head -1
        if stdout is sys.stdout:
            _detach_stdout()
        return 2
    prog = f"skft {args.command}"
    try:
        code = args.func(args, stdout, stderr)
        stdout.flush()
        return code
    except InputFileError as exc:
        _say(stderr, f"{prog}: error: {exc}")
    except BrokenPipeError:
        if stdout is sys.stdout:
            _detach_stdout()
        _say(stderr, f"{prog}: error: the output was closed before it was all written "
                     "(broken pipe)")
    except KeyboardInterrupt:
        _say(stderr, f"{prog}: interrupted")
        return 130
    except MemoryError:
        _say(stderr, f"{prog}: error: out of memory; try smaller inputs")
    except OSError as exc:  # e.g. a full disk while writing the figure
        where = f": {exc.filename}" if exc.filename else ""
        _say(stderr, f"{prog}: error: {exc.strerror or exc}{where}")
    except Exception as exc:  # a bug: one line, the traceback with --verbose
        if getattr(args, "verbose", False):
            with contextlib.suppress(OSError, ValueError):
                traceback.print_exc(file=stderr)
        reason = str(exc).splitlines()[0] if str(exc) else ""
        _say(stderr, f"{prog}: error: internal error ({type(exc).__name__}: {reason}); "
                     "rerun with --verbose for the traceback and please report it")
    return 2
