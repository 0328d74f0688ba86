"""A process that must not outlive its parent asks the kernel to signal it when the parent ends (prctl(2))."""

from __future__ import annotations

import ctypes
import os

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def signal_when_the_parent_dies(signum: int, parent: int) -> None:
    """Have ``signum`` sent to this process when ``parent`` ends; at once if it ended already, before this was set.
    "Ends" is the end of the thread that started this process: call it in processes started from a main thread."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)
