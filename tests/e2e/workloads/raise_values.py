# SPDX-License-Identifier: MIT
"""Raises one audit event per value case, plus a few multi-argument events."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from valuecases import CASES  # noqa: E402

for name, value in CASES.items():
    sys.audit("seatrace.v." + name, value)

sys.audit("seatrace.noargs")
sys.audit("seatrace.multi", 1, "two", None, 3.5, b"6")
sys.audit("seatrace.ids", os.getpid(), threading.get_native_id())
# Seagrass-style third-party events.
sys.audit("prehook:foo", (1, 2), {"z": 3})
sys.audit("posthook:foo", None)
