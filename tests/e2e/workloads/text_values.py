# SPDX-License-Identifier: MIT
"""Values whose text rendering must equal Python's repr(): one event per value."""
import sys

VALUES = [
    "plain", "", "café", "€uro", "😀 emoji", "\udc80", "it's", 'say "hi"', "both'\"",
    "tab\tnl\nnul\x00", "\u200b\xa0\u0378\U000e0001é\x7f\x80", "back\\slash",
    b"\x00\xff", b"", b"it's", b"\t\n\r\\", bytearray(b"ab\x00"), bytearray(),
    0, 1, -1, 2**62, 2**64, 2**100, -(2**200), 10**500,
    0.1, -2.5, 1e100, 1e16, 1e-5, 123456789.125, -0.0, 3.0, 5e-324,
    float("inf"), float("-inf"), float("nan"),
    True, False, None,
    (), (1,), (1, 2), [], [1, "a", None], {}, {"a": 1, 2: (3,), None: [b"x"]},
    {"a": [1, (2, "x")], "b": None},
]

if __name__ == "__main__":
    for i, v in enumerate(VALUES):
        sys.audit("seatrace.text.%d" % i, v)
    sys.audit("seatrace.text.multi", 1, "two", None, [3])
    sys.audit("seatrace.text.noargs")
