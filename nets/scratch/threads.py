"""NumPy's BLAS threads: how many there are, and setting them (process-wide)."""
from __future__ import annotations


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
