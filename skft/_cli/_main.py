"""Parser and dispatch of the ``skft`` command line (``skft.__main__.main`` calls :func:`main`)."""

import argparse
import sys

from .. import __version__
from . import _advise, _demo
from ._io import InputFileError

__all__ = ["build_parser", "main"]


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
    parser = argparse.ArgumentParser(
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


def main(argv=None, *, stdout=None, stderr=None):
    """Run the command line; return the exit status (0 success, 2 bad usage or input).

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (default: ``sys.argv[1:]``).
    stdout, stderr : file-like, default=None
        Streams to write to (default: ``sys.stdout``, ``sys.stderr``).

    Returns
    -------
    int

    Examples
    --------
    >>> from skft._cli._main import main
    >>> import sys
    >>> main(["advise", "--coef", "missing.csv", "--X", "X.csv", "--y", "y.csv"],
    ...      stderr=sys.stdout)
    skft advise: error: --X: no such file: X.csv
    2
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args, stdout, stderr)
    except InputFileError as exc:
        print(f"skft {args.command}: error: {exc}", file=stderr)
        return 2
