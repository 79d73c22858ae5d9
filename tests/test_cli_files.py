"""Hostile paths given to ``skft advise``: only regular files are read, at most --max-bytes.

FIFOs, devices, directories and symbolic links to them are refused at once (exit 2, one
line); opening a FIFO would block, so every test that could hang runs under an alarm (or in
a subprocess with a timeout) and fails instead of hanging. Pickled .npy/.npz payloads are
refused without being unpickled (a payload with a side effect proves it).
"""

import io
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from skft._cli import _files
from skft._cli._files import InputFileError, format_size, parse_size, read_bytes
from skft._cli._io import load_array, load_labels
from skft._cli._main import main

needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs and devices")


@pytest.fixture
def no_hang():
    """Turn a hang (a blocking open or an endless read) into a failure after 20 s."""

    def alarm(signum, frame):
        raise TimeoutError("the command line hung on this input")

    if not hasattr(signal, "SIGALRM"):  # no alarms (Windows): the FIFO tests skip anyway
        yield
        return
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def good(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 8))
    np.save(tmp_path / "w0.npy", rng.standard_normal(8))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", X @ np.ones(8) + rng.standard_normal(30))
    return {name: tmp_path / f"{name}.npy" for name in ("w0", "X", "y")}


def advise(good, **replace):
    argv = {"--coef": good["w0"], "--X": good["X"], "--y": good["y"], "--intercept": "0"}
    argv.update(replace)
    extra = argv.pop("extra", [])
    out, err = io.StringIO(), io.StringIO()
    code = main(["advise"] + [str(v) for kv in argv.items() for v in kv] + extra,
                stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def one_line(code, out, err):
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skft advise: error: "), err
    return lines[0]


# ---------------------------------------------------------------------- not regular files
@needs_posix
@pytest.mark.parametrize("option", ["--X", "--y", "--coef", "--intercept"])
def test_fifo_is_refused_without_blocking(option, good, tmp_path, no_hang):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    line = one_line(*advise(good, **{option: fifo}))
    assert f"{option}: {fifo} is a named pipe (FIFO); only regular files are read" in line


@needs_posix
def test_symlink_to_fifo_and_unlabeled_fifo(good, tmp_path, no_hang):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link.npy").symlink_to(fifo)
    line = one_line(*advise(good, **{"--X": tmp_path / "link.npy"}))
    assert "a link to" in line and "named pipe (FIFO)" in line
    line = one_line(*advise(good, extra=["--unlabeled", str(fifo)]))
    assert "--unlabeled:" in line and "FIFO" in line


@needs_posix
def test_fifo_subprocess_exits_at_once():
    """End to end: the real command on a FIFO returns (a regression of this hung forever)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "X.csv")
        os.mkfifo(fifo)
        res = subprocess.run(
            [sys.executable, "-m", "skft", "advise", "--coef", fifo, "--X", fifo, "--y", fifo,
             "--intercept", "0"],
            capture_output=True, text=True, timeout=60,
        )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"skft advise: error: --X: {fifo} is a named pipe (FIFO); only regular files are read"
    ]


@needs_posix
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_symlink_to_a_device_is_refused_before_reading(device, good, tmp_path, no_hang):
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    link = tmp_path / "X.csv"
    link.symlink_to(device)
    line = one_line(*advise(good, **{"--X": link}))
    assert f"(a link to {device}) is a device; only regular files are read" in line


@needs_posix
def test_plot_into_a_fifo_is_refused_before_computing(good, tmp_path, no_hang):
    fifo = tmp_path / "curve.png"
    os.mkfifo(fifo)
    line = one_line(*advise(good, extra=["--plot", str(fifo)]))
    assert "--plot: " in line and "is not a regular file" in line


def test_directory_missing_file_and_broken_link(good, tmp_path):
    assert "is a directory" in one_line(*advise(good, **{"--X": tmp_path}))
    (tmp_path / "d.npy").symlink_to(tmp_path)
    assert "is a directory" in one_line(*advise(good, **{"--coef": tmp_path / "d.npy"}))
    assert "--y: no such file" in one_line(*advise(good, **{"--y": tmp_path / "none.csv"}))
    (tmp_path / "broken.csv").symlink_to(tmp_path / "gone.csv")
    line = one_line(*advise(good, **{"--X": tmp_path / "broken.csv"}))
    assert "broken symbolic link" in line and "gone.csv" in line


def test_a_fifo_swapped_in_after_the_check_is_refused_by_fstat(tmp_path, monkeypatch, no_hang):
    """The race: the path passes os.stat, then is a FIFO when opened (non-blocking open)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("POSIX FIFOs")
    fifo = tmp_path / "X.csv"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(_files, "_stat", lambda path: regular)
    with pytest.raises(InputFileError, match="named pipe"):
        read_bytes(fifo, "--X")


def test_symlink_to_a_regular_file_is_read(good, tmp_path):
    link = tmp_path / "alias.npy"
    link.symlink_to(good["X"])
    np.testing.assert_array_equal(load_array(link, "--X", ndim=2), np.load(good["X"]))


# ---------------------------------------------------------------------- permissions
@pytest.mark.parametrize("where", ["_stat", "_os_open"])
def test_permission_denied_is_one_line(where, good, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_files, where, denied)
    line = one_line(*advise(good))
    assert line.startswith("skft advise: error: --X: permission denied: ")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_permission_denied_for_real(good, tmp_path):
    locked = tmp_path / "locked.npy"
    locked.write_bytes(good["X"].read_bytes())
    locked.chmod(0)
    try:
        assert "permission denied" in one_line(*advise(good, **{"--X": locked}))
    finally:
        locked.chmod(0o600)


# ---------------------------------------------------------------------- size cap
def test_parse_and_format_sizes():
    assert parse_size("1024") == 1024 and parse_size("1.5K") == 1536
    assert parse_size("3 GiB") == 3 * 2**30 and parse_size("2mb") == 2 * 2**20
    assert parse_size("none") is None
    for bad in ("", "-1", "lots", "0", "1Q"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert format_size(1536) == "1.5 KiB" and format_size(999) == "999 bytes"


def test_size_cap_text_file(good, tmp_path):
    X = np.load(good["X"])
    np.savetxt(tmp_path / "X.csv", X, delimiter=",")
    size = (tmp_path / "X.csv").stat().st_size
    assert size > 2048
    line = one_line(*advise(good, **{"--X": tmp_path / "X.csv"}, extra=["--max-bytes", "2K"]))
    assert f"--X: {tmp_path / 'X.csv'} is {format_size(size)}, more than the 2 KiB limit" in line
    assert "--max-bytes" in line
    code, out, err = advise(good, **{"--X": tmp_path / "X.csv"}, extra=["--max-bytes", "1M"])
    assert code == 0, err


def test_size_cap_bounds_the_bytes_read_even_if_the_size_lies(tmp_path, monkeypatch):
    """A file reporting a small size (as /proc files do) is still read at most cap + 1."""
    big = tmp_path / "big.csv"
    big.write_bytes(b"1,2\n" * 10_000)

    class Small:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 0

    monkeypatch.setattr(_files, "_stat", lambda p: Small(os.stat(p)))
    with pytest.raises(InputFileError, match="holds more than 1 KiB"):
        read_bytes(big, "--X", max_bytes=1024)


def test_npz_declaring_a_huge_array_is_refused_before_decompressing(good, tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", X=np.zeros((4000, 1000)))  # 32 MB, ~30 KB zipped
    assert (tmp_path / "bomb.npz").stat().st_size < 200_000
    line = one_line(*advise(good, **{"--X": tmp_path / "bomb.npz"},
                            extra=["--max-bytes", "1M"]))
    assert "declares an array of 30.5 MiB, more than the 1 MiB limit" in line


def test_npy_whose_header_lies_about_its_size(tmp_path):
    path = tmp_path / "liar.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
        )
        fh.write(np.zeros(10).tobytes())
    with pytest.raises(InputFileError, match="declares an array of 7.28 TiB"):
        load_array(path, "--X", ndim=2)
    with pytest.raises(InputFileError, match="is truncated"):
        load_array(path, "--X", ndim=2, max_bytes=None)


# ---------------------------------------------------------------------- pickles
class _Payload:
    """Unpickling this object would create a file: the proof that nothing was unpickled."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
@pytest.mark.parametrize("option", ["--X", "--y", "--coef"])
def test_pickled_payloads_are_refused_unopened(suffix, option, good, tmp_path):
    payload = _Payload()
    payload.marker = tmp_path / "unpickled"
    array = np.array([payload, 1.0], dtype=object)
    path = tmp_path / f"evil{suffix}"
    if suffix == ".npy":
        np.save(path, array, allow_pickle=True)
    else:
        np.savez(path, X=array)
    line = one_line(*advise(good, **{option: path}))
    assert f"{option}: {path} holds Python objects (a pickle); skft never unpickles" in line
    assert not payload.marker.exists()
    with pytest.raises(InputFileError, match="pickle"):
        load_labels(path, option)
    assert not payload.marker.exists()


def test_corrupt_npy_and_npz(good, tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    assert "--X: cannot read" in one_line(*advise(good, **{"--X": tmp_path / "bad.npy"}))
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert "--X: cannot read" in one_line(*advise(good, **{"--X": tmp_path / "bad.npz"}))
    np.savez(tmp_path / "empty.npz")
    line = one_line(*advise(good, **{"--X": tmp_path / "empty.npz"}))
    assert "holds 0 arrays (none); expected exactly one" in line
