# SPDX-License-Identifier: MIT
"""Calls id() N times between two markers and writes the ids it got to a file.

argv: N OUTFILE
"""
import sys

n = int(sys.argv[1])
sys.audit("seatrace.begin", n)
ids = [id(i) for i in range(n)]
sys.audit("seatrace.end", n)
with open(sys.argv[2], "w") as f:
    f.write("\n".join(map(str, ids)))
