"""NumPy's BLAS threads: how many there are, setting them, and one thread each for a job (process-wide)."""
from __future__ import annotations

from contextlib import contextmanager


def _openblas():
    """NumPy's OpenBLAS, found among the libraries loaded in this process (Linux), or None."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and line.rstrip().endswith(".so")}
    except OSError:
        return None
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get, put = f"{prefix}_get_num_threads{suffix}", f"{prefix}_set_num_threads{suffix}"
                if hasattr(lib, get) and hasattr(lib, put):
                    return getattr(lib, get), getattr(lib, put)
    return None


def numpy_blas_threads(n: int | None = None) -> int | None:
    """The number of threads NumPy's BLAS uses (None where it cannot be told), after setting it to
    `n` when given. Process-wide. Measured on 2 busy cores: two OpenBLAS threads made an epoch 14×
    slower than one (18.6 s against 1.3 s) because they wait for each other spinning."""
    import numpy  # noqa: F401  (loads the library)
    blas = _openblas()
    if blas is None:
        return None
    if n is not None:
        blas[1](int(n))
    return int(blas[0]())


@contextmanager
def one_thread_each():
    """NumPy's BLAS and torch on one thread each for the job, restored after. Both counts are
    process-wide: only for a process that is the job's (a worker), never for the web server's.
    With batch-32 matrices two threads gain little on an idle machine and wait for each other on a
    busy one: on 2 busy cores an epoch took 14× longer with two BLAS threads (numpy_blas_threads) and
    the twin's 0.1 s became 4.6-6.8 s with two torch threads."""
    from nets.scratch.twin import torch_threads
    before = numpy_blas_threads()
    numpy_blas_threads(1)
    try:
        with torch_threads(1):
            yield
    finally:
        if before is not None:
            numpy_blas_threads(before)
