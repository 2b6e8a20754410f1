# SPDX-License-Identifier: MIT
"""Raises one event per name of NAMES, in order, each with its index as argument."""
import sys

NAMES = ["seatrace.alpha", "seatrace.beta", "seatrace.gamma", "seatrace.a1", "seatrace.a2",
         "seatrace.b1", "seatrace.ab", "seatrace.x.y", "seatrace.", "seatrace.A1",
         "other.thing", "prehook:foo", "posthook:foo", "x"]

if __name__ == "__main__":
    for i, name in enumerate(NAMES):
        sys.audit(name, i)
