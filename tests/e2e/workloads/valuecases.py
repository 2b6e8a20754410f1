# SPDX-License-Identifier: MIT
"""Values raised by raise_values.py, one event "seatrace.v.<name>" per case, with
the value as the only argument. Imported by the tests too, as the oracle's input."""


class Custom:
    """A user class: seatrace shows its instances as {"type": "Custom"}."""


def nest(depth, leaf, kind=list):
    """A container at nesting depth `depth` (the event's argument is depth 1)
    holding `leaf`, inside single-item lists down from depth 1."""
    v = kind([leaf]) if kind is not dict else {"k": leaf}
    for _ in range(depth - 1):
        v = [v]
    return v


def after_deletes():
    """6 items left in a dict that held 30: its entry table starts with 24 holes."""
    d = {i: i for i in range(30)}
    for i in range(24):
        del d[i]
    return d


def instance_dict():
    """An instance __dict__: a split-table dict on 3.11 (keys shared, values apart)."""
    o = Custom()
    o.a = 1
    o.b = "two"
    return o.__dict__


def recursive_list():
    x = []
    x.append(x)
    return x


def recursive_dict():
    d = {}
    d["self"] = d
    return d


CASES = {
    # str, every storage kind
    "str_ascii": "hello, world",
    "str_empty": "",
    "str_latin1": "café",
    "str_latin1_high": "ÿ\xa0\x80x",
    "str_ucs2": "€uro",
    "str_ucs2_mixed": "Ünïcödé ✓",
    "str_ucs4": "😀 emoji",
    "str_ucs4_mixed": "a\xe9\u20ac\U0001f600\U0010ffff",
    "str_surrogate": "\udc80",
    "str_surrogate_in_text": "a\ud800b\udfffc",
    "str_escapes": 'quote" backslash\\ nl\n tab\t nul\x00 bell\x07 del\x7f',
    "str_256": "y" * 256,
    "str_300": "x" * 300,
    # bytes
    "bytes": b"\x00\xff",
    "bytes_empty": b"",
    "bytes_ascii": b"hello",
    "bytes_all": bytes(range(256)),
    "bytes_300": bytes(range(256)) + b"z" * 44,
    "bytearray": bytearray(b"\x01\x02\xfe"),
    "bytearray_empty": bytearray(),
    # int
    "int_0": 0,
    "int_1": 1,
    "int_m1": -1,
    "int_2_30_m1": 2**30 - 1,
    "int_2_30": 2**30,
    "int_2_62": 2**62,
    "int_2_63": 2**63,
    "int_m2_63": -(2**63),
    "int_2_64": 2**64,
    "int_2_100": 2**100,
    "int_m2_200": -(2**200),
    "int_10_500": 10**500,
    "int_m10_500": -(10**500),
    "int_64_digits": 2**1920 - 1,  # exactly 64 30-bit digits: kept
    "int_65_digits": 2**1920,  # 65 digits: cut
    "int_10_700": 10**700,
    "int_m10_700": -(10**700),
    # float
    "float_0_1": 0.1,
    "float_m2_5": -2.5,
    "float_1e100": 1e100,
    "float_3": 3.0,
    "float_m0": -0.0,
    "float_tiny": 5e-324,
    "float_max": 1.7976931348623157e308,
    "float_third": 1 / 3,
    "float_inf": float("inf"),
    "float_minf": float("-inf"),
    "float_nan": float("nan"),
    # singletons
    "true": True,
    "false": False,
    "none": None,
    # containers
    "tuple_empty": (),
    "list_empty": [],
    "dict_empty": {},
    "tuple": (1, "a", None),
    "tuple_1": (42,),
    "list": [1.5, b"x", True, False],
    "nested": {"a": [1, (2, "x")], "b": None},
    "nested_3": [{"k": (1, "deep")}, ()],
    "nested_4": [{"k": (1, [2, "deep"])}, ()],
    "dict_int_keys": {1: "one", 2: "two", -3: None},
    "dict_other_keys": {None: 1, (1, 2): "t", b"k": 3, 1.5: 4, True: 5, "s": 6},
    "list_16": list(range(16)),
    "list_20": list(range(20)),
    "tuple_20": tuple(range(100, 120)),
    "dict_16": {f"k{i}": i for i in range(16)},
    "dict_20": {f"k{i}": i for i in range(20)},
    "dict_after_deletes": after_deletes(),
    "dict_instance": instance_dict(),
    "dict_with_list_20": {"l": list(range(20))},
    # nesting (the argument itself is at depth 1)
    "depth_3": nest(3, "leaf"),
    "depth_4": nest(4, "leaf"),
    "depth_5_list": nest(5, "leaf"),
    "depth_5_tuple": nest(5, "leaf", tuple),
    "depth_5_dict": nest(5, "leaf", dict),
    "recursive_list": recursive_list(),
    "recursive_dict": recursive_dict(),
    # anything else is named by its type
    "custom": Custom(),
    "builtin_function": len,
    "type_object": int,
    "set": {1, 2},
    "range": range(3),
}
