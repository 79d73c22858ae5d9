"""Opening the files of the command line safely: regular files only, with a size cap.

A path given on the command line may name anything: a FIFO (opening it blocks until a
writer appears), a device (``/dev/zero`` never ends), a directory, a symbolic link to any of
these, or a file far larger than memory. Every file is opened here: without blocking, then
checked with ``fstat`` on the open descriptor (no race between the check and the read), and
refused unless it is a regular file no larger than the cap. ``.npy`` / ``.npz`` payloads are
read from their header first: pickled (object) arrays are refused and the declared size is
checked against the cap before any memory is allocated.
"""

import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_MAX_BYTES",
    "InputFileError",
    "format_size",
    "load_npy",
    "load_npz",
    "parse_size",
    "read_bytes",
]

DEFAULT_MAX_BYTES = 2**30  # 1 GiB per input file
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class InputFileError(ValueError):
    """A file given on the command line cannot be read as the array it should hold."""


def parse_size(text):
    """A byte count from ``"500M"``, ``"2G"``, ``"123456"`` or ``"none"`` (no cap: None).

    Parameters
    ----------
    text : str
        A whole number with an optional binary unit K, M, G or T (optionally followed by
        ``B`` or ``iB``), or ``"none"``.

    Returns
    -------
    int or None

    Examples
    --------
    >>> from skft._cli._files import parse_size
    >>> parse_size("2G"), parse_size("512k"), parse_size("none")
    (2147483648, 524288, None)
    """
    if text.strip().lower() in ("none", "unlimited"):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"expected a size such as 500M, 2G or none, got {text!r}")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if value < 1:
        raise ValueError(f"must be at least 1 byte, got {text!r}")
    return int(value)


def format_size(n_bytes):
    """``1536`` -> ``"1.5 KiB"`` (binary units, as ``--max-bytes`` reads them).

    Examples
    --------
    >>> from skft._cli._files import format_size
    >>> format_size(3 * 2**30), format_size(100)
    ('3 GiB', '100 bytes')
    """
    for unit in ("T", "G", "M", "K"):
        if n_bytes >= _UNITS[unit]:
            return f"{n_bytes / _UNITS[unit]:.3g} {unit}iB"
    return f"{n_bytes} bytes"


_stat = os.stat  # module-level names, so that tests can simulate races and permissions
_os_open = os.open


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _too_big(path, option, size, max_bytes, what="is"):
    return InputFileError(
        f"{option}: {path} {what} {format_size(size)}, more than the {format_size(max_bytes)} "
        "limit per file; raise it with --max-bytes (e.g. --max-bytes 8G) if this is intended"
    )


def _open_regular(path, option, max_bytes):
    """A binary file object for ``path`` after checking that it is a small regular file."""
    path = Path(path)
    try:
        info = _stat(path)  # follows symbolic links: the target is what gets read
    except FileNotFoundError:
        if path.is_symlink():
            raise InputFileError(
                f"{option}: {path} is a broken symbolic link (to {os.readlink(path)})"
            ) from None
        raise InputFileError(f"{option}: no such file: {path}") from None
    except PermissionError:
        raise InputFileError(f"{option}: permission denied: {path}") from None
    except OSError as exc:
        raise InputFileError(f"{option}: cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        target = f" (a link to {path.resolve()})" if path.is_symlink() else ""
        raise InputFileError(
            f"{option}: {path}{target} is {_kind(info.st_mode)}; only regular files are read"
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise _too_big(path, option, info.st_size, max_bytes)
    # O_NONBLOCK: should the path have been swapped for a FIFO since the stat, opening it
    # does not wait for a writer; fstat on the descriptor then refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = _os_open(path, flags)
    except PermissionError:
        raise InputFileError(f"{option}: permission denied: {path}") from None
    except OSError as exc:
        raise InputFileError(f"{option}: cannot open {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(
                f"{option}: {path} is {_kind(info.st_mode)}; only regular files are read"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path, option, max_bytes=DEFAULT_MAX_BYTES):
    """The content of a regular file of at most ``max_bytes`` bytes.

    Parameters
    ----------
    path : str or Path
    option : str
        The command-line option the file was given to (named in every error).
    max_bytes : int or None, default=1 GiB
        Refuse larger files (None: no cap). At most ``max_bytes + 1`` bytes are ever read,
        so a file that grows while it is read, or reports a size of 0, cannot exhaust memory.

    Returns
    -------
    bytes

    Raises
    ------
    InputFileError
        Missing file, broken link, permission denied, not a regular file (directory, FIFO,
        device, socket, also behind a symbolic link), or too large.

    Examples
    --------
    >>> import os, tempfile
    >>> from skft._cli._files import InputFileError, read_bytes
    >>> try:
    ...     read_bytes(os.devnull, "--X")
    ... except InputFileError as exc:
    ...     print(exc)
    --X: /dev/null is a device; only regular files are read
    """
    with _open_regular(path, option, max_bytes) as handle:
        try:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputFileError(f"{option}: cannot read {path}: {exc.strerror}") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_big(path, option, len(data), max_bytes, what="holds more than")
    return data


def _npy_header(handle, path, option, max_bytes, available):
    """Read and check an ``.npy`` header; leave ``handle`` at the start of the data."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = fmt.read_array_header_1_0(handle)
    elif version in ((2, 0), (3, 0)):
        shape, fortran_order, dtype = fmt.read_array_header_2_0(handle)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        raise InputFileError(
            f"{option}: {path} holds Python objects (a pickle); skft never unpickles input "
            "files: save a numeric array (np.save of a float or integer array)"
        )
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if max_bytes is not None and n_bytes > max_bytes:
        raise _too_big(path, option, n_bytes, max_bytes, what="declares an array of")
    if available is not None and n_bytes > available:
        raise InputFileError(
            f"{option}: {path} is truncated: its header declares shape {shape} "
            f"({format_size(n_bytes)}) but the file holds less"
        )


def load_npy(path, option, max_bytes=DEFAULT_MAX_BYTES):
    """The array of a ``.npy`` file, never unpickled, its declared size checked first.

    Parameters
    ----------
    path : str or Path
    option : str
    max_bytes : int or None, default=1 GiB

    Returns
    -------
    ndarray

    Raises
    ------
    InputFileError
    """
    with _open_regular(path, option, max_bytes) as handle:
        size = os.fstat(handle.fileno()).st_size
        _npy_header(handle, path, option, max_bytes, size - handle.tell())
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)


def load_npz(path, option, max_bytes=DEFAULT_MAX_BYTES):
    """The single array of an ``.npz`` archive, never unpickled, its size checked first.

    The cap applies to the archive and to the decompressed array (a small compressed
    archive may declare a huge array).

    Parameters
    ----------
    path : str or Path
    option : str
    max_bytes : int or None, default=1 GiB

    Returns
    -------
    ndarray

    Raises
    ------
    InputFileError
        Also when the archive holds no array or several.
    """
    with _open_regular(path, option, max_bytes) as handle, zipfile.ZipFile(handle) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        if len(names) != 1:
            shown = ", ".join(name.removesuffix(".npy") for name in names) or "none"
            raise InputFileError(
                f"{option}: {path} holds {len(names)} arrays ({shown}); expected exactly one"
            )
        with archive.open(names[0]) as member:
            _npy_header(member, path, option, max_bytes, None)
        with archive.open(names[0]) as member:
            return np.lib.format.read_array(member, allow_pickle=False)
