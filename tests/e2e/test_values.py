# SPDX-License-Identifier: MIT
"""Decoded argument values in JSON output: every type, every cut form.

One seatrace run (module fixture) traces workloads/raise_values.py, which raises one
"seatrace.v.<case>" event per value of workloads/valuecases.py; each test checks one
case's decoded value exactly.
"""
import math
import time

import pytest

import interpreters
from conftest import (WORKLOADS, assert_value, b64, conforms, run_seatrace, short, strict_eq,
                      to_json, trace_code, trace_script)
from valuecases import CASES


def cut_str(s, n):
    return {"str": s[:n], "length": len(s), "truncated": True}


def summary(kind, length):
    return {"type": kind, "length": length, "truncated": True}


def wrap(depth, leaf):
    """leaf inside (depth - 1) single-item lists, as JSON."""
    for _ in range(depth - 1):
        leaf = [leaf]
    return leaf


EXPECTED = {
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
    "str_300": cut_str("x" * 300, 256),
    "bytes": {"bytes": "AP8="},
    "bytes_empty": {"bytes": ""},
    "bytes_ascii": {"bytes": "aGVsbG8="},
    "bytes_all": {"bytes": b64(bytes(range(256)))},
    "bytes_300": {"bytes": b64(bytes(range(256))), "length": 300, "truncated": True},
    "bytearray": {"bytearray": "AQL+"},
    "bytearray_empty": {"bytearray": ""},
    "int_0": 0,
    "int_1": 1,
    "int_m1": -1,
    "int_2_30_m1": 2**30 - 1,
    "int_2_30": 2**30,
    "int_2_62": 2**62,
    "int_2_63": 2**63,
    "int_m2_63": -(2**63),
    "int_2_64": 2**64,
    "int_2_100": 1267650600228229401496703205376,
    "int_m2_200": -(2**200),
    "int_10_500": 10**500,
    "int_m10_500": -(10**500),
    "int_64_digits": 2**1920 - 1,
    "int_65_digits": {"int": None, "digits30": 65, "truncated": True},
    "int_10_700": {"int": None, "digits30": 78, "truncated": True},
    "int_m10_700": {"int": None, "digits30": 78, "truncated": True},
    "float_0_1": 0.1,
    "float_m2_5": -2.5,
    "float_1e100": 1e100,
    "float_3": 3.0,
    "float_m0": -0.0,
    "float_tiny": 5e-324,
    "float_max": 1.7976931348623157e308,
    "float_third": 1 / 3,
    "float_inf": "inf",
    "float_minf": "-inf",
    "float_nan": "nan",
    "true": True,
    "false": False,
    "none": None,
    "tuple_empty": [],
    "list_empty": [],
    "dict_empty": {},
    "tuple": [1, "a", None],
    "tuple_1": [42],
    "list": [1.5, {"bytes": "eA=="}, True, False],
    "nested": {"a": [1, [2, "x"]], "b": None},
    "nested_3": [{"k": [1, "deep"]}, []],
    "nested_4": [{"k": [1, [2, "deep"]]}, []],
    "dict_int_keys": {"pairs": [[1, "one"], [2, "two"], [-3, None]]},
    "dict_other_keys": {"pairs": [[None, 1], [[1, 2], "t"], [{"bytes": "aw=="}, 3], [1.5, 4],
                                  [True, 5], ["s", 6]]},
    "list_16": list(range(16)),
    "list_20": {"items": list(range(16)), "length": 20, "truncated": True},
    "tuple_20": {"items": list(range(100, 116)), "length": 20, "truncated": True},
    "dict_16": {f"k{i}": i for i in range(16)},
    "dict_20": {"dict": {f"k{i}": i for i in range(16)}, "length": 20, "truncated": True},
    "dict_after_deletes": {"pairs": [[i, i] for i in range(24, 30)]},
    "dict_instance": {"a": 1, "b": "two"},
    "dict_with_list_20": {"l": {"items": list(range(16)), "length": 20, "truncated": True}},
    "depth_3": wrap(3, ["leaf"]),
    # "beyond nesting depth 4" is summarised: a container at depth 4 is still shown
    "depth_4": wrap(4, ["leaf"]),
    "depth_5_list": wrap(4, [summary("list", 1)]),
    "depth_5_tuple": wrap(4, [summary("tuple", 1)]),
    "depth_5_dict": wrap(4, [summary("dict", 1)]),
    "recursive_list": wrap(4, [summary("list", 1)]),
    "recursive_dict": {"self": {"self": {"self": {"self": summary("dict", 1)}}}},
    "custom": {"type": "Custom"},
    "builtin_function": {"type": "builtin_function_or_method"},
    "type_object": {"type": "type"},
    "set": {"type": "set"},
    "range": {"type": "range"},
}

TRUNCATED = {"str_300", "bytes_300", "int_65_digits", "int_10_700", "int_m10_700", "list_20",
             "tuple_20", "dict_20", "dict_with_list_20", "depth_5_list", "depth_5_tuple",
             "depth_5_dict", "recursive_list", "recursive_dict"}


# The whole suite runs once per interpreter that has the probe (Debian's 3.11 always; trixie's
# and sid's 3.13 and 3.14 once tools/fetch-pythons.sh has fetched them).
@pytest.fixture(scope="module", params=interpreters.params(probe=True))
def values_run(request):
    interp = request.param
    t0 = time.time()
    res = run_seatrace("-j", "-e", "seatrace.*", "--", *interp.argv,
                       str(WORKLOADS / "raise_values.py"))
    res.t0, res.t1 = t0, time.time()
    res.comm = "python%d.%d" % interp.version[:2]
    assert res.returncode == 0, res
    return res


def test_expected_table_covers_all_cases():
    assert set(EXPECTED) == set(CASES)
    for name, v in CASES.items():
        if name not in TRUNCATED:
            assert strict_eq(to_json(v), EXPECTED[name]), name  # the oracle agrees


def test_one_event_per_case_in_order(values_run):
    names = [e["event"] for e in values_run.events if e["event"].startswith("seatrace.v.")]
    assert names == ["seatrace.v." + n for n in CASES]


@pytest.mark.parametrize("name", list(CASES))
def test_value(values_run, name):
    ev = values_run.one("seatrace.v." + name)
    assert isinstance(ev["args"], list) and len(ev["args"]) == 1, ev
    assert_value(ev["args"][0], EXPECTED[name], f"case {name}")
    if name in TRUNCATED:
        assert ev.get("truncated") is True, ev
    else:
        assert ev.get("truncated", False) is False, ev


def test_float_negative_zero_sign(values_run):
    v = values_run.one("seatrace.v.float_m0")["args"][0]
    assert v == 0.0 and math.copysign(1.0, v) == -1.0


def test_big_int_exact_digits(values_run):
    """10**500 must come out digit for digit, not rounded through a double."""
    line = next(l for l in values_run.output.decode().splitlines()
                if '"seatrace.v.int_10_500"' in l)
    assert "1" + "0" * 500 in line
    assert "e+" not in line.split('"args"')[1]


def test_dict_with_20_items_keeps_a_prefix(values_run):
    """Whatever the number of pairs kept, they are the first ones, values exact."""
    ev = values_run.one("seatrace.v.dict_20")
    v = ev["args"][0]
    assert ev.get("truncated") is True
    assert isinstance(v, dict) and v.get("truncated") is True and v.get("length") == 20, v
    kept = v["dict"]
    assert 1 <= len(kept) <= 16, v
    assert list(kept.items()) == [(f"k{i}", i) for i in range(len(kept))], v


def test_event_header_fields(values_run):
    ids = values_run.one("seatrace.ids")
    pid, tid = ids["args"]
    for ev in values_run.events:
        assert ev["type"] == "event"
        assert ev["pid"] == pid and ev["tid"] == tid, ev
        assert ev["comm"] == values_run.comm, ev
        assert isinstance(ev["ts"], (int, float)) and not isinstance(ev["ts"], bool)
        # epoch seconds (a sanity bound of minutes, not a timing assertion)
        assert values_run.t0 - 300 <= ev["ts"] <= values_run.t1 + 300, ev
        assert "argnames" not in ev, ev  # none of these events is known
    ts = [e["ts"] for e in values_run.events]
    assert ts == sorted(ts)


def test_multiple_and_no_arguments(values_run):
    assert_value(values_run.one("seatrace.noargs")["args"], [])
    assert_value(values_run.one("seatrace.multi")["args"],
                 [1, "two", None, 3.5, {"bytes": "Ng=="}])


def test_scalars_before_and_after_a_container():
    """The leading scalars of an arguments tuple take a shorter path than the rest (ints, floats,
    strings, None and the bools, up to the items the tuple's first read holds): every value still comes out,
    in order, whichever path it took and wherever the path changes."""
    code = ("import sys\n"
            "sys.audit('seatrace.mix', 7, 'é' * 3, 2.5, [1, (2, 'x')], 'after', 2**100, -1,"
            " {'k': b'v'}, 'z' * 20)\n"
            "sys.audit('seatrace.mix2', 'a' * 20, 2**100, -5)\n"
            "sys.audit('seatrace.mix3', (1,), 2, 'b')\n"
            "sys.audit('seatrace.mix4', None, True, 'c', False, None, [0], None)\n")
    res = trace_code(code, "-e", "seatrace.*", "-s", "8")
    assert res.returncode == 0, res
    cut = {"str": "z" * 8, "length": 20, "truncated": True}
    assert_value(res.one("seatrace.mix")["args"],
                 [7, "ééé", 2.5, [1, [2, "x"]], "after", 2**100, -1, {"k": {"bytes": "dg=="}},
                  cut])
    assert_value(res.one("seatrace.mix2")["args"],
                 [{"str": "a" * 8, "length": 20, "truncated": True}, 2**100, -5])
    assert_value(res.one("seatrace.mix3")["args"], [[1], 2, "b"])
    # None and the bools on the shorter path too, and after it.
    assert_value(res.one("seatrace.mix4")["args"], [None, True, "c", False, None, [0], None])


def test_third_party_event_names():
    """Seagrass-style events: any name, a colon included."""
    res = trace_script("raise_values.py", "-e", "*hook:*")
    assert res.returncode == 0, res
    assert_value(res.one("prehook:foo")["args"], [[1, 2], {"z": 3}])
    assert_value(res.one("posthook:foo")["args"], [None])
    assert "argnames" not in res.one("prehook:foo")
    assert {e["event"] for e in res.events} == {"prehook:foo", "posthook:foo"}


# --- -s (string size) -------------------------------------------------------

S_CODE = r"""
import sys
sys.audit("seatrace.s", "a" * 100, b"b" * 100, "€" * 100, "😀" * 100, bytearray(b"c" * 100),
          "x" * 10, b"y" * 10, "z" * 11)
"""


def test_string_size_10():
    res = trace_code(S_CODE, "-s", "10", "-e", "seatrace.*")
    assert res.returncode == 0, res
    ev = res.one("seatrace.s")
    assert ev.get("truncated") is True
    assert_value(ev["args"], [
        cut_str("a" * 100, 10),
        {"bytes": b64(b"b" * 10), "length": 100, "truncated": True},
        cut_str("€" * 100, 10),
        cut_str("😀" * 100, 10),
        {"bytearray": b64(b"c" * 10), "length": 100, "truncated": True},
        "x" * 10,
        {"bytes": b64(b"y" * 10)},
        cut_str("z" * 11, 10),
    ])


def test_string_size_0():
    res = trace_code('import sys; sys.audit("seatrace.s0", "abcde", b"", "")', "-s", "0",
                     "-e", "seatrace.*")
    assert res.returncode == 0, res
    assert_value(res.one("seatrace.s0")["args"],
                 [cut_str("abcde", 0), {"bytes": ""}, ""])


def test_string_size_max_keeps_wide_strings_whole():
    """-s counts characters: with -s 2000 a 1500-character str is whole, whatever its
    storage kind (1500 emoji are 6000 bytes, within one record)."""
    code = ('import sys\n'
            'sys.audit("seatrace.w1", "😀" * 1500)\n'
            'sys.audit("seatrace.w2", "€" * 1500)\n'
            'sys.audit("seatrace.w4", "q" * 4096)\n')
    res = trace_code(code, "-s", "4096", "-e", "seatrace.*")
    assert res.returncode == 0, res
    assert_value(res.one("seatrace.w2")["args"], ["€" * 1500])
    assert_value(res.one("seatrace.w4")["args"], ["q" * 4096])
    v = res.one("seatrace.w1")["args"][0]
    kept = v if isinstance(v, str) else v.get("str", "")
    ok = v == "😀" * 1500
    assert ok, (f"a 1500-emoji str with -s 4096: kept {len(kept)} chars "
                             f"({len(kept) * 4} bytes), marked {v.get('truncated')!r}"
                             if isinstance(v, dict) else short(v))


def test_record_size_limit_cuts_consistently():
    """Eight 4096-char strings cannot all fit one record: whatever is kept is exact."""
    code = 'import sys; sys.audit("seatrace.big", *[chr(65 + i) * 4096 for i in range(8)])'
    res = trace_code(code, "-s", "4096", "-e", "seatrace.*")
    assert res.returncode == 0, res
    ev = res.one("seatrace.big")
    assert ev.get("truncated") is True
    args = ev["args"]
    vals = tuple(chr(65 + i) * 4096 for i in range(8))
    assert conforms(vals, args, depth=0), args if len(str(args)) < 2000 else str(args)[:2000]
    assert args[0] == "A" * 4096  # the first one fits whole


def test_value_budget_cuts_consistently():
    """More values than one record decodes (8 lists of 16): a faithful prefix."""
    value = [list(range(i * 16, i * 16 + 16)) for i in range(8)]
    code = f'import sys; sys.audit("seatrace.budget", {value!r})'
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == 0, res
    ev = res.one("seatrace.budget")
    assert ev.get("truncated") is True
    assert conforms((value,), ev["args"], depth=0), ev["args"]
    # the first list is complete
    first = ev["args"][0]
    first = first["items"] if isinstance(first, dict) else first
    assert first[0] == list(range(16)), ev["args"]


def test_more_than_16_arguments():
    res = trace_code('import sys; sys.audit("seatrace.many", *range(20))', "-e", "seatrace.*")
    assert res.returncode == 0, res
    ev = res.one("seatrace.many")
    assert ev.get("truncated") is True
    args = ev["args"]
    kept = args["items"] if isinstance(args, dict) else args
    assert kept == list(range(16)), args


def test_long_event_name_is_cut_and_flagged():
    name = "seatrace." + "n" * 600
    res = trace_code(f'import sys; sys.audit({name!r}, 1)', "-e", "seatrace.*")
    assert res.returncode == 0, res
    evs = [e for e in res.events if e["event"].startswith("seatrace.n")]
    assert len(evs) == 1, res
    ev = evs[0]
    assert 0 < len(ev["event"]) < len(name) and name.startswith(ev["event"]), ev
    assert ev.get("truncated") is True
    assert ev["args"] == [1]


def test_subclasses_of_builtin_types():
    """Subclasses of the built-in types share their layout: decoded as their base."""
    code = ("import sys, enum, collections\n"
            "class S(str): pass\n"
            "class C(enum.IntEnum):\n    A = 7\n"
            "P = collections.namedtuple('P', 'x y')\n"
            "class L(list): pass\n"
            "class D(dict): pass\n"
            "sys.audit('seatrace.sub', S('sub'), C.A, True, P(1, 'y'), L([2]), D(k=3))\n")
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == 0, res
    assert_value(res.one("seatrace.sub")["args"], ["sub", 7, True, [1, "y"], [2], {"k": 3}])


def test_event_names_empty_and_non_ascii():
    code = "import sys; sys.audit('', 42); sys.audit('événement.😀', 'ü')"
    res = trace_code(code)
    assert res.returncode == 0, res
    assert_value(res.one("")["args"], [42])
    assert_value(res.one("événement.😀")["args"], ["ü"])


def test_unicode_strings_in_every_container_position():
    value = {"κλειδί": ["😀", ("€", "é")], "plain": {"ä": "\udcff"}}
    code = f'import sys; sys.audit("seatrace.uni", {value!r})'
    res = trace_code(code, "-e", "seatrace.*")
    assert res.returncode == 0, res
    assert_value(res.one("seatrace.uni")["args"], [to_json(value)])
