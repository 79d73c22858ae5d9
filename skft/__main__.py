"""Command line of skft.

``skft demo`` (or ``python -m skft demo``) shows what skft does on generated and bundled
data; ``skft advise`` answers "fine-tune or keep the pretrained model?" from your files.
The commands live in :mod:`skft._cli`, one module each.
"""

import sys

from ._cli._main import main as _main

__all__ = ["main"]


def main(argv=None):
    """Run the ``skft`` command line and return its exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 2 on any failure (bad usage or input, a numerical failure, a closed
        output pipe), reported as one line on stderr; 130 when interrupted.
    """
    return _main(argv)


if __name__ == "__main__":
    sys.exit(main())
