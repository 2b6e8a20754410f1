#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Measures, on live objects, every CPython offset seatrace's decoder uses, and
compares them with user/layout.def, the table user/layout.c is built from.

For each interpreter given (a command: a path, or a wrapper from
tools/fetch-pythons.sh), a probe snippet runs inside it and finds each offset by
searching object memory (read with ctypes) for a value it knows: id(type(x)) in
x, a string's length and characters, the address of co.co_filename in a code
object, a dict's key and value addresses in its keys table, and so on. Nothing
is taken from headers or from layout.def. The host then prints, per interpreter,
the measured value, the value layout.c gives for that minor version (read from
layout.def, whose records are one a line), and the mismatches.

For 3.13+ it also reads the _Py_DebugOffsets block (section .PyRuntime) from
the interpreter's binary file (its shape from layout.def's DEBUG_ records) and
checks the fields seatrace could take from it against the measurements.

Usage:
  tools/layout-check.py                    every interpreter of tools/interpreters.py present
  tools/layout-check.py CMD [CMD...]       these (e.g. /usr/bin/python3.11)
  tools/layout-check.py --json ...         machine-readable results
  tools/layout-check.py --debug-offsets FILE...   dump _Py_DebugOffsets of ELF files
Exit status: 0 when every measured value agrees with layout.c, 1 otherwise,
2 when an interpreter could not be measured.
"""
import json
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LAYOUT_DEF = os.path.join(REPO, "user", "layout.def")
sys.path.insert(0, HERE)
import interpreters  # noqa: E402


def default_interpreters():
    """The commands measured when none is given: the inventory's interpreters, Debian's
    first, then pyenv's, the fetched ones (through their wrappers, which run them whether
    or not tools/fetch-pythons.sh could patch them) and the built one."""
    order = {"debian": 0, "pyenv": 1, "trixie": 2, "sid": 2, "build": 3}
    found = sorted(interpreters.all_interpreters(), key=lambda i: order[i.source])
    return [i.wrapper or i.exe for i in found]


# ---------------------------------------------------------------------------
# The probe: runs inside the interpreter under test (3.8+), prints one JSON line.

PROBE = r'''
import ctypes, json, struct, sys

MAPS = []
def load_maps():
    del MAPS[:]
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()
            if p[1][0] != "r" or (len(p) > 5 and p[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
                continue
            a, b = p[0].split("-")
            MAPS.append((int(a, 16), int(b, 16)))

def readable(addr, n):
    for attempt in (0, 1):
        for a, b in MAPS:
            if a <= addr and addr + n <= b:
                return True
        load_maps()
    return False

def mem(addr, n):
    if not readable(addr, n):
        # shorten to what is mapped
        while n > 8 and not readable(addr, n):
            n //= 2
        if not readable(addr, n):
            return b""
    return ctypes.string_at(addr, n)

def q(buf, off):
    return struct.unpack_from("<Q", buf, off)[0] if off + 8 <= len(buf) else None

def u32(buf, off):
    return struct.unpack_from("<I", buf, off)[0]

def offs_q(buf, value, start=0, end=None, step=8):
    end = len(buf) - 8 if end is None else min(end, len(buf) - 8)
    value &= (1 << 64) - 1
    return set(o for o in range(start, end + 1, step) if q(buf, o) == value)

def find_bytes(buf, needle):
    return buf.find(needle)

def only(s, what):
    s = sorted(s)
    if len(s) == 1:
        return s[0]
    NOTES.append("%s: %s candidates %s" % (what, "no" if not s else "ambiguous", s[:8]))
    return None

def inter(sets):
    r = None
    for s in sets:
        r = set(s) if r is None else r & set(s)
    return r or set()

NOTES = []
R = {}
R["version"] = "%d.%d.%d" % sys.version_info[:3]
R["hexversion"] = sys.hexversion
R["executable"] = sys.executable
R["abiflags"] = getattr(sys, "abiflags", "")
R["gil_disabled"] = bool(getattr(sys, "_is_gil_enabled", lambda: True)() is False)
load_maps()

def obj(x, n=256):
    return mem(id(x), n)

def fresh(*parts):
    return "".join(list(parts))  # runtime-built: not interned, not cached

# --- object header ---------------------------------------------------------
samples = [1.25, (1, 2), [1], fresh("ab", "c"), b"yy" * 3, {}, 10 ** 30, bytearray(b"z")]
R["ob_type"] = only(inter(offs_q(obj(x, 64), id(type(x)), 0, 56) for x in samples), "ob_type")
seqs = [tuple(range(7)), tuple(range(11)), list(range(7)), list(range(11)),
        bytes(range(7)), bytes(range(11))]
R["ob_size"] = only(inter(offs_q(obj(x, 64), len(x), 8, 56) for x in seqs), "ob_size")

# --- type object ------------------------------------------------------------
types = [int, tuple, list, dict, str, bytes, float, bool, type(None), bytearray]
def tp_name_offs(t):
    b = obj(t, 512)
    out = set()
    want = t.__name__.encode()
    for o in range(8, len(b) - 8, 8):
        p = q(b, o)
        if p and readable(p, len(want) + 1) and ctypes.string_at(p, len(want) + 1) == want + b"\0":
            out.add(o)
    return out
R["tp_name"] = only(inter(tp_name_offs(t) for t in types), "tp_name")
R["tp_flags"] = only(inter(offs_q(obj(t, 512), t.__flags__, 8) for t in types), "tp_flags")
R["tp_basicsize"] = only(inter(offs_q(obj(t, 512), t.__basicsize__, 8, 64) for t in types),
                         "tp_basicsize")
bits = {"LONG": (int, 24), "LIST": (list, 25), "TUPLE": (tuple, 26), "BYTES": (bytes, 27),
        "UNICODE": (str, 28), "DICT": (dict, 29), "BASE_EXC": (BaseException, 30),
        "TYPE": (type, 31)}
R["tp_flags_subclass_bits"] = all(t.__flags__ >> b & 1 for t, b in bits.values())
R["bool_has_long_bit"] = bool(bool.__flags__ >> 24 & 1)

# --- tuple, list --------------------------------------------------------------
o1, o2, o3 = object(), object(), object()
t = tuple([o1, o2, o3])
pair = struct.pack("<QQ", id(o1), id(o2))
R["tuple_items"] = obj(t, 96).find(pair) if obj(t, 96).find(pair) >= 0 else None
lst = [o1, o2, o3]
def list_items_offs(l):
    b = obj(l, 64)
    out = set()
    for o in range(8, len(b) - 8, 8):
        p = q(b, o)
        if p and readable(p, 16) and ctypes.string_at(p, 16) == pair:
            out.add(o)
    return out
R["list_items"] = only(list_items_offs(lst), "list ob_item")

# --- str ----------------------------------------------------------------------
class S(str):
    pass
s_ascii = fresh("abcdefghij", "klmnop")          # 16 chars
s_latin1 = fresh("caf", "\xe9", "-latin1-text")  # 16 chars
s_ucs2 = fresh("\u20ac", "uro and more")        # 13 chars
s_ucs4 = fresh("\U0001f600", " emoji!")          # 8 chars
s_leg = S("caf\xe9 legacy string")               # str subclass: not compact
s_leg_ascii = S("plain legacy ascii")
strs = [s_ascii, s_latin1, s_ucs2, s_ucs4, s_leg, s_leg_ascii]
for s in strs:
    hash(s)
R["str_length"] = only(inter(offs_q(obj(s, 64), len(s), 8, 56) for s in strs), "str length")
R["str_hash"] = only(inter(offs_q(obj(s, 64), hash(s), 8, 56) for s in strs), "str hash")

def state_at(o):
    # the bit-field's low byte only: the rest of the word is padding, not always zeroed
    return [obj(s, 96)[o] for s in (s_ascii, s_latin1, s_ucs2, s_ucs4, s_leg)]

st = None
for o in range(16, 64, 4):
    a, l1, u2, u4, lg = state_at(o)
    x2, x4 = l1 ^ u2, l1 ^ u4
    if not x2 or x2 & (x2 - 1) == 0:
        continue
    shift = x2.bit_length() - 2
    if shift >= 0 and x2 == 3 << shift and x4 == 5 << shift and \
            (a >> shift) & 7 == 1 and (u2 >> shift) & 7 == 2 and (u4 >> shift) & 7 == 4:
        st = o
        R["str_state"] = o
        R["str_kind_shift"] = shift
        ab = a ^ l1
        R["str_ascii_bit"] = ab if ab and ab & (ab - 1) == 0 else None
        cb = l1 ^ lg
        R["str_compact_bit"] = cb if cb and cb & (cb - 1) == 0 else None
        if R["str_compact_bit"] is None:
            NOTES.append("str compact bit: compact vs legacy state differ by %#x" % cb)
        R["str_state_words"] = {"ascii": a, "latin1": l1, "ucs2": u2, "ucs4": u4,
                                "legacy_latin1": lg,
                                "legacy_ascii": obj(s_leg_ascii, 96)[o]}
        R["str_state_high_bits"] = sorted(set(u32(obj(x, 96), o) >> 8 for x in strs))
        break
if st is None:
    for k in ("str_state", "str_kind_shift", "str_ascii_bit", "str_compact_bit"):
        R[k] = None
    NOTES.append("str state word not found")

def at(s, data):
    i = obj(s, 160).find(data)
    return i if i >= 0 else None
R["str_ascii_data"] = at(s_ascii, s_ascii.encode("ascii") + b"\0")
c1 = at(s_latin1, s_latin1.encode("latin-1") + b"\0")
c2 = at(s_ucs2, s_ucs2.encode("utf-16-le") + b"\0\0")
c4 = at(s_ucs4, s_ucs4.encode("utf-32-le") + b"\0\0\0\0")
R["str_compact_data"] = c1 if c1 == c2 == c4 else None
if R["str_compact_data"] is None:
    NOTES.append("compact data: UCS1 at %s, UCS2 at %s, UCS4 at %s" % (c1, c2, c4))

def legacy_offs(s, data):
    b = obj(s, 128)
    out = set()
    for o in range(8, len(b) - 8, 8):
        p = q(b, o)
        if p and p != id(s) and readable(p, len(data)) and ctypes.string_at(p, len(data)) == data:
            out.add(o)
    return out
R["str_legacy_data"] = only(inter([legacy_offs(s_leg, s_leg.encode("latin-1") + b"\0"),
                                   legacy_offs(s_leg_ascii, s_leg_ascii.encode() + b"\0")]),
                            "legacy str data pointer")
R["str_legacy_is_compact"] = None if st is None or R["str_compact_bit"] is None else \
    bool(u32(obj(s_leg, 96), st) & R["str_compact_bit"])

# --- bytes, bytearray, float ----------------------------------------------------
bs = bytes(range(65, 65 + 20))
R["bytes_sval"] = at(bs, bs + b"\0")
ba = bytearray(b"0123456789abcdefghij")
del ba[:3]  # ob_start != ob_bytes
view = (ctypes.c_char * len(ba)).from_buffer(ba)
start = ctypes.addressof(view)
del view
R["bytearray_start"] = only(offs_q(obj(ba, 80), start, 8, 72), "bytearray ob_start")
R["bytearray_bytes"] = only(offs_q(obj(ba, 80), start - 3, 8, 72), "bytearray ob_bytes")
fl = float(fresh("1234.5", "678"))
i = obj(fl, 32).find(struct.pack("<d", fl))
R["float_val"] = i if i >= 0 else None

# --- int ------------------------------------------------------------------------
n3 = 5 | 7 << 30 | 9 << 60          # 3 digits
n2 = 11 | 13 << 30                  # 2 digits
digs = struct.pack("<III", 5, 7, 9)
i = obj(n3, 64).find(digs)
R["long_digits"] = i if i >= 0 else None
def word(x, o):
    return q(obj(x, 64), o)
enc = None
for o in range(8, 40, 8):
    w3, w2, wn = word(n3, o), word(n2, o), word(-n3, o)
    if (w3, w2, wn) == (3, 2, (-3) & (2 ** 64 - 1)):
        enc, R["long_size"] = "ob_size", o
        break
    if (w3, w2, wn) == (3 << 3, 2 << 3, 3 << 3 | 2):
        enc, R["long_size"] = "lv_tag", o
        break
if enc is None:
    R["long_size"] = None
    NOTES.append("long size word not found")
R["long_encoding"] = enc
if enc:
    o = R["long_size"]
    R["long_words"] = {"3 digits": word(n3, o), "-3 digits": word(-n3, o), "0": word(0, o),
                       "5 (small)": word(5, o), "-5 (small)": word(-5, o),
                       "300": word(int(fresh("3", "00")), o),
                       "True": word(True, o), "False": word(False, o)}

# --- dict -------------------------------------------------------------------------
def mkdict(keys):
    d = {}
    vals = []
    for k in keys:
        v = object()
        vals.append(v)
        d[k] = v
    return d, vals

kA = [fresh("ka", str(i)) for i in range(5)]
kB = [fresh("kb", str(i)) for i in range(9)]
kBig = [fresh("kc", str(i)) for i in range(200)]
kG = [10 ** 20 + i for i in range(5)]
dA, vA = mkdict(kA)
dB, vB = mkdict(kB)
dBig, vBig = mkdict(kBig)
dG, vG = mkdict(kG)

class C(object):
    def __init__(self, a, b, c):
        self.alpha = a
        self.beta = b
        self.gamma = c
C(1, 2, 3)
sv = [object(), object(), object()]
inst = C(*sv)
dS = inst.__dict__
ks = list(dS)  # interned attribute names

R["dict_used"] = only(inter([offs_q(obj(dA, 64), 5, 8, 56), offs_q(obj(dB, 64), 9, 8, 56),
                            offs_q(obj(dG, 64), 5, 8, 56)]), "dict ma_used")

def keys_ptr_offs(d, k0):
    b = obj(d, 64)
    out = set()
    for o in range(8, len(b) - 8, 8):
        p = q(b, o)
        if p and readable(p, 64):
            kb = mem(p, 4096)
            if kb.find(struct.pack("<Q", id(k0))) >= 0:
                out.add(o)
    return out
R["dict_keys"] = only(inter([keys_ptr_offs(dA, kA[0]), keys_ptr_offs(dG, kG[0]),
                            keys_ptr_offs(dS, ks[0])]), "dict ma_keys")
spair = struct.pack("<QQ", id(sv[0]), id(sv[1]))
def values_offs(d):
    b = obj(d, 64)
    out = {}
    for o in range(8, len(b) - 8, 8):
        p = q(b, o)
        if p and readable(p, 16):
            i = mem(p, 256).find(spair)
            if i >= 0:
                out[o] = i
    return out
vo = values_offs(dS)
zero = [o for o in range(8, 56, 8) if q(obj(dA, 64), o) == 0 and q(obj(dG, 64), o) == 0]
cand = [o for o in vo if o in zero]
if len(cand) == 1:
    R["dict_values"] = cand[0]
    R["dict_values_items"] = vo[cand[0]]
else:
    R["dict_values"] = R["dict_values_items"] = None
    NOTES.append("split dict values: candidates %s (zero in combined dicts: %s)" % (vo, zero))

def keys_of(d):
    return q(obj(d, 64), R["dict_keys"]) if R["dict_keys"] is not None else None

def idx_width(size):
    return 1 if size <= 0xff else 2 if size <= 0xffff else 4 if size <= 0xffffffff else 8

def analyse_keys(d, keys, vals, general):
    """entries start, entry size, index table start and size from one dict."""
    kp = keys_of(d)
    kb = mem(kp, 16384)
    k0 = kb.find(struct.pack("<Q", id(keys[0])))
    k1 = kb.find(struct.pack("<Q", id(keys[1])))
    if k0 < 0 or k1 < 0:
        return None
    esize = k1 - k0
    # 24-byte entries start with me_hash; 16-byte ones with me_key
    kpos = 8 if esize == 24 and q(kb, k0 - 8) == hash(keys[0]) & (2 ** 64 - 1) else 0
    E = k0 - kpos
    vpos = None
    if vals and q(kb, k0 + 8) == id(vals[0]):
        vpos = kpos + 8
    best = None
    for I in range(8, E, 8):
        L = E - I
        for S in (1 << b for b in range(3, 24)):
            w = idx_width(S)
            if S * w != L:
                continue
            fmt = {1: "b", 2: "h", 4: "i", 8: "q"}[w]
            idx = struct.unpack_from("<%d%s" % (S, fmt), kb, I)
            used = sorted(x for x in idx if x >= 0)
            if used == list(range(len(keys))) and all(x == -1 for x in idx if x < 0):
                best = (I, S, w)
    if not best:
        return None
    I, S, w = best
    return {"keys": kp, "kb": kb, "E": E, "esize": esize, "kpos": kpos, "vpos": vpos,
            "I": I, "S": S, "w": w}

ka = analyse_keys(dA, kA, vA, False)
kbig = analyse_keys(dBig, kBig, vBig, False)
kg = analyse_keys(dG, kG, vG, True)
kB_ = analyse_keys(dB, kB, vB, False)
ok = ka and kbig and kg and kB_
if ok:
    Is = set(x["I"] for x in (ka, kbig, kg, kB_))
    R["dk_indices"] = Is.pop() if len(Is) == 1 else None
    R["entry_size_unicode"] = ka["esize"]
    R["entry_size_general"] = kg["esize"]
    R["entry_key_at"] = {"unicode": ka["kpos"], "general": kg["kpos"]}
    R["dk_sizes_seen"] = {"5 str keys": ka["S"], "200 str keys": kbig["S"], "5 int keys": kg["S"]}
    hdr = R["dk_indices"] or 32
    def qoffs(x, v):
        return set(o for o in range(8, hdr, 8) if q(x["kb"], o) == v)
    def boffs(x, v):
        return set(o for o in range(8, hdr) if x["kb"][o] == v)
    sz_q = inter([qoffs(x, x["S"]) for x in (ka, kbig, kg)])
    lg = lambda n: n.bit_length() - 1
    sz_b = inter([boffs(x, lg(x["S"])) for x in (ka, kbig, kg)])
    if sz_q:
        R["dk_size"] = only(sz_q, "dk_size")
        R["dk_size_kind"] = "Py_ssize_t dk_size"
        R["dk_log2_index_bytes"] = None
    else:
        R["dk_size"] = only(sz_b, "dk_log2_size")
        R["dk_size_kind"] = "uint8 dk_log2_size"
        R["dk_log2_index_bytes"] = only(inter([boffs(x, lg(x["S"] * x["w"]))
                                               for x in (ka, kbig, kg)]) - sz_b,
                                        "dk_log2_index_bytes")
    R["dk_nentries"] = only(inter([qoffs(ka, 5), qoffs(kB_, 9), qoffs(kg, 5), qoffs(kbig, 200)]),
                            "dk_nentries")
    # the kind byte (3.11+): general 0, unicode 1, split 2
    sk = keys_of(dS)
    sb = mem(sk, 64)
    kinds = set(o for o in range(8, 16) if kg["kb"][o] == 0 and ka["kb"][o] == 1 and sb[o] == 2)
    R["dk_kind"] = only(kinds, "dk_kind") if R["dk_size_kind"].startswith("uint8") else None
    # split keys: entry size and the order of values
    sa = analyse_keys(dS, ks, [], False)
    R["entry_size_split"] = sa["esize"] if sa else None
else:
    NOTES.append("dict keys tables could not be analysed: %s" % [bool(x) for x in (ka, kbig, kg, kB_)])
    for k in ("dk_indices", "dk_size", "dk_nentries", "dk_kind", "entry_size_unicode",
              "entry_size_general", "dk_log2_index_bytes"):
        R.setdefault(k, None)

# split dict whose instance order differs from its shared keys' order
class D(object):
    pass
da = D()
da.x1, da.x2, da.x3 = 1, 2, 3
db = D()
db.x3 = 3
db.x2 = 2
db.x1 = 1
dd = db.__dict__
if R.get("dict_values") is not None and R.get("dict_keys") is not None:
    kb = mem(keys_of(dd), 4096)
    pos = sorted((kb.find(struct.pack("<Q", id(k))), k) for k in dd)
    R["split_dict_order"] = {
        "split": q(obj(dd, 64), R["dict_values"]) != 0,
        "python_order": list(dd),
        "entries_order": [k for p, k in pos],
    }

# --- code objects ------------------------------------------------------------------
src = "\n" * 4241 + "class K:\n    def meth(self, a, b):\n        return a\n" + \
      "\n" * 50 + "def gen(x):\n    yield x\n"
ns = {}
exec(compile(src, "/seatrace/layout-check/unique_file_name.py", "exec"), ns)
co = ns["K"].meth.__code__
co2 = ns["gen"].__code__
ns3 = {}
exec("def h(a, b, c, d, e, f, g):\n    z = y = a\n    return z, y\n", ns3)
co3 = ns3["h"].__code__
def i32offs(c, v):
    b = obj(c, 256)
    return set(o for o in range(16, len(b) - 4, 4) if struct.unpack_from("<i", b, o)[0] == v)
R["co_firstlineno"] = only(inter([i32offs(co, co.co_firstlineno), i32offs(co2, co2.co_firstlineno)]),
                           "co_firstlineno")
R["co_argcount"] = only(inter([i32offs(c, c.co_argcount) for c in (co, co2, co3)]),
                        "co_argcount")
R["co_flags"] = only(inter([i32offs(c, c.co_flags) for c in (co, co2, co3)]), "co_flags")
R["co_filename"] = only(offs_q(obj(co, 256), id(co.co_filename), 16), "co_filename")
R["co_name_only"] = only(offs_q(obj(co, 256), id(co.co_name), 16), "co_name")
if hasattr(co, "co_qualname"):
    R["co_qualname"] = only(offs_q(obj(co, 256), id(co.co_qualname), 16), "co_qualname")
else:
    R["co_qualname"] = None
lt = getattr(co, "co_linetable", None) if sys.version_info >= (3, 10) else co.co_lnotab
R["co_linetable"] = only(offs_q(obj(co, 256), id(lt), 16), "co_linetable/co_lnotab")
R["notes"] = NOTES
print("LAYOUT-CHECK " + json.dumps(R))
'''

# ---------------------------------------------------------------------------
# layout.def: what seatrace would use for a given minor version


def read_def(path=LAYOUT_DEF):
    """[(kind, [arg, ...])] of layout.def, whose format is strict (see its header): one
    record KIND(arg, ...) a line, comments in blocks of whole lines. Integers become int,
    "-" None, names stay str. Anything else is an error, not a guess."""
    recs = []
    in_comment = False
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if in_comment or s.startswith("/*"):
                in_comment = not s.endswith("*/")
                continue
            if not s:
                continue
            kind, paren, rest = s.partition("(")
            body = rest[:-1]
            if not (paren and rest.endswith(")") and kind.isidentifier()) or "(" in body \
                    or ")" in body:
                raise ValueError("%s:%d: not a record: %s" % (path, n, s))
            args = []
            for a in body.split(","):
                a = a.strip()
                if a == "-":
                    args.append(None)
                elif a.isidentifier():
                    args.append(a)
                else:
                    try:
                        args.append(int(a, 0))
                    except ValueError:
                        raise ValueError("%s:%d: bad value %r" % (path, n, a))
            recs.append((kind, args))
    return recs


def version_rows(recs):
    """(minors, {kind: [(name, {minor: value})]}) of the per-version records."""
    minors = next(args for kind, args in recs if kind == "MINORS")
    rows = {}
    for kind, args in recs:
        skip = {"OBJ": 1, "FRAME": 1, "BPF": 1, "FLAG": 2, "FRAME_FLAG": 2}.get(kind)
        if skip is None:
            continue
        values = args[skip:]
        if len(values) != len(minors):
            raise ValueError("%s %s: %d values for %d versions" % (kind, args[0], len(values),
                                                                  len(minors)))
        rows.setdefault(kind, []).append((args[0], dict(zip(minors, values))))
    return minors, rows


def parse_layout_def(recs):
    """{minor: {field: value}}: the st_layout fields and object flags layout.c sets for
    3.minor (the frame fields as when _PyRuntime is known)."""
    minors, rows = version_rows(recs)
    out = {}
    for minor in minors:
        lo = {}
        for kind in ("OBJ", "FRAME"):
            for name, v in rows.get(kind, []):
                lo[name] = v[minor]
        for name, v in rows.get("FLAG", []):
            lo[name] = bool(v[minor])
        out[minor] = lo
    return out


def bpf_facts(recs):
    """{minor: {name: value}}: what the BPF program computes itself (BPF records)."""
    minors, rows = version_rows(recs)
    return {m: {name: v[m] for name, v in rows.get("BPF", [])} for m in minors}


# _Py_DebugOffsets (3.13+): its shape, from layout.def.
DEF = read_def()
DEBUG_HEAD = next(args for kind, args in DEF if kind == "DEBUG_HEAD")
DEBUG_OFFSETS = {}
for _kind, _args in DEF:
    if _kind == "DEBUG_STRUCT":
        DEBUG_OFFSETS.setdefault(_args[0], []).append((_args[1], _args[2:]))
# debug-offsets field -> the seatrace st_layout field it gives (DEBUG_FIELD), or the
# measured value it is compared with only (DEBUG_CHECK)
DEBUG_TO_SEATRACE = {"%s.%s" % (a[1], a[2]): a[0] for k, a in DEF
                     if k in ("DEBUG_FIELD", "DEBUG_CHECK")}


def debug_offsets_layout(minor):
    """[(dotted name, byte offset in the block)] for 3.minor."""
    fields = [(name, 8 * i) for i, name in enumerate(DEBUG_HEAD)]
    off = 8 * len(DEBUG_HEAD)
    for struct_name, members in DEBUG_OFFSETS[minor]:
        for mname in members:
            fields.append(("%s.%s" % (struct_name, mname), off))
            off += 8
    return fields, off


def elf_section(path, wanted):
    """(bytes, sh_addr) of section `wanted` of a 64-bit little-endian ELF file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = []
    for i in range(shnum):
        name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
        secs.append((name, typ, addr, off, size))
    strtab = secs[shstrndx]
    names = data[strtab[3]:strtab[3] + strtab[4]]
    for name, typ, addr, off, size in secs:
        n = names[name:names.index(b"\0", name)].decode()
        if n == wanted:
            if typ == 8:  # NOBITS
                return b"", addr
            return data[off:off + size], addr
    return None


def read_debug_offsets(path):
    """{'cookie', 'version', 'free_threaded', 'struct.field': value, ...} or None."""
    sec = elf_section(path, ".PyRuntime")
    if not sec or len(sec[0]) < 24 or sec[0][:8] != b"xdebugpy":
        return None
    data = sec[0]
    version, = struct.unpack_from("<Q", data, 8)
    minor = (version >> 16) & 0xFF
    if minor not in DEBUG_OFFSETS:
        return {"cookie": "xdebugpy", "version": version, "unknown_minor": minor}
    fields, end = debug_offsets_layout(minor)
    out = {"_section_addr": sec[1], "_block_size": end}
    for name, off in fields:
        if name == "cookie":
            out[name] = data[:8].decode()
        else:
            out[name] = struct.unpack_from("<Q", data, off)[0]
    return out


# ---------------------------------------------------------------------------
# Running and reporting

COMPARED = [
    # (measured key, layout.c key, note)
    ("ob_type", "ob_type", ""),
    ("ob_size", "ob_size", ""),
    ("tp_name", "tp_name", ""),
    ("tp_flags", "tp_flags", ""),
    ("str_length", "str_length", ""),
    ("str_state", "str_state", ""),
    ("str_kind_shift", "str_kind_shift", ""),
    ("str_compact_bit", "str_compact_bit", ""),
    ("str_ascii_bit", "str_ascii_bit", ""),
    ("str_ascii_data", "str_ascii_data", ""),
    ("str_compact_data", "str_compact_data", ""),
    ("str_legacy_data", "str_legacy_data", ""),
    ("tuple_items", "tuple_items", ""),
    ("list_items", "list_items", ""),
    ("bytes_sval", "bytes_sval", ""),
    ("bytearray_start", "bytearray_start", ""),
    ("float_val", "float_val", ""),
    ("long_size", "long_size", ""),
    ("long_digits", "long_digits", ""),
    ("long_tag", "long_tag", "lv_tag encoding"),
    ("dict_used", "dict_used", ""),
    ("dict_keys", "dict_keys", ""),
    ("dict_values", "dict_values", ""),
    ("dict_values_items", "dict_values_items", "values[] inside ma_values"),
    ("dict_log2", "dict_log2", "keys: log2 bytes layout"),
    ("dk_size", "dk_size", "3.11+: dk_log2_size byte"),
    ("dk_log2_index_bytes", "bpf:dk_log2_index_bytes", "BPF reads byte dk_size+1"),
    ("dk_kind", "bpf:dk_kind", "BPF reads byte dk_size+2"),
    ("dk_kind", "dk_kind", "wire field; layout.c leaves it unset"),
    ("dk_nentries", "dk_nentries", ""),
    ("dk_indices", "dk_indices", ""),
    ("entry_size_unicode", "bpf:entry_size_unicode", "BPF: 16 if kind byte != 0 (log2)"),
    ("entry_size_split", "bpf:entry_size_split", "BPF: 16 if kind byte != 0 (log2)"),
    ("entry_size_general", "bpf:entry_size_general", "BPF: 24"),
    ("co_firstlineno", "co_firstlineno", ""),
    ("co_filename", "co_filename", ""),
    ("co_name", "co_name", "co_qualname where present"),
    ("qualname", "qualname", ""),
]


def derived(m):
    """Measured values under the names the comparison uses."""
    d = dict(m)
    d["long_tag"] = {"lv_tag": True, "ob_size": False}.get(m.get("long_encoding"))
    kind = m.get("dk_size_kind") or ""
    d["dict_log2"] = True if kind.startswith("uint8") else False if kind else None
    d["co_name"] = m.get("co_qualname") if m.get("co_qualname") is not None else m.get("co_name_only")
    d["qualname"] = m.get("co_qualname") is not None
    return d


def expected_for(lo, bpf):
    e = dict(lo)
    for name, v in bpf.items():
        e["bpf:" + name] = v
    if not lo.get("dict_log2"):
        e["dk_kind"] = None  # no kind byte before 3.11
    return e


def run_probe(cmd):
    argv = cmd if isinstance(cmd, list) else [cmd]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONSTARTUP", None)
    try:
        p = subprocess.run(argv + ["-S", "-c", PROBE], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, env=env)
    except (OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    for line in p.stdout.decode(errors="replace").splitlines():
        if line.startswith("LAYOUT-CHECK "):
            return json.loads(line[len("LAYOUT-CHECK "):]), None
    return None, "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-2000:])


def real_binary(cmd, measured):
    """The ELF file that holds _PyRuntime: sys.executable, or its libpython when shared."""
    exe = measured.get("executable") or cmd
    cands = [exe]
    try:
        out = subprocess.run(["ldd", exe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=30).stdout.decode()
        for line in out.splitlines():
            mm = re.search(r"(libpython3\.\d+\.so[.\d]*)\s+=>\s+(\S+)", line)
            if mm and os.path.exists(mm.group(2)):
                cands.insert(0, mm.group(2))
    except (OSError, subprocess.SubprocessError):
        pass
    # pyenv shared builds: libpython next to the prefix, found through RUNPATH
    prefix = os.path.dirname(os.path.dirname(exe))
    v = measured["version"].rsplit(".", 1)[0]
    for p in (os.path.join(prefix, "lib", "libpython%s.so.1.0" % v),):
        if os.path.exists(p) and p not in cands:
            cands.insert(0, p)
    for c in cands:
        try:
            if elf_section(c, ".PyRuntime"):
                return c
        except OSError:
            continue
    return exe


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) and v >= 0x20 and v & (v - 1) == 0 and v < 0x10000 and v not in (32, 64, 128):
        return "%#x" % v
    return str(v)


def report(name, m, layout, bpf, dbg, binary):
    d = derived(m)
    minor = int(m["version"].split(".")[1])
    lo = layout.get(minor)
    print("=" * 78)
    print("%s: CPython %s (hexversion %#x)%s" % (name, m["version"], m["hexversion"],
                                                " free-threaded" if m["gil_disabled"] else ""))
    print("  sys.executable %s" % m["executable"])
    mismatches = []
    if lo is None:
        print("  layout.c has no row for 3.%d" % minor)
        exp = {}
    else:
        exp = expected_for(lo, bpf[minor])
    print("  %-26s %9s %9s  %s" % ("field", "measured", "layout.c", ""))
    for mk, lk, note in COMPARED:
        mv = d.get(mk)
        ev = exp.get(lk) if exp else None
        if not exp:
            flag = ""
        elif mv == ev:
            flag = ""
        else:
            flag = "MISMATCH"
            mismatches.append((mk if mk == lk else "%s (%s)" % (mk, lk), mv, ev, note))
        label = mk if mk == lk or not lk.startswith("bpf:") else mk + " [bpf]"
        print("  %-26s %9s %9s  %s%s" % (label, fmt(mv), fmt(ev) if exp else "", flag,
                                         ("  (" + note + ")") if note and flag else ""))
    print("  -- informative (not in st_layout) --")
    for k in ("tp_basicsize", "str_hash", "bytearray_bytes", "co_argcount", "co_flags",
              "co_name_only", "co_qualname", "co_linetable", "dk_size_kind", "dk_sizes_seen",
              "entry_key_at", "str_legacy_is_compact", "tp_flags_subclass_bits",
              "bool_has_long_bit", "long_encoding", "long_words", "str_state_words", "split_dict_order",
              "str_state_high_bits"):
        if k in m:
            v = m[k]
            if isinstance(v, dict):
                v = ", ".join("%s=%s" % (a, hex(b) if isinstance(b, int) and k.endswith("words") else b)
                              for a, b in v.items())
            print("  %-26s %s" % (k, v))
    for n in m.get("notes", []):
        print("  note: %s" % n)
    if dbg:
        print("  -- _Py_DebugOffsets in %s (.PyRuntime at %#x) --" % (binary, dbg["_section_addr"]))
        print("  cookie %s version %#x free_threaded %d" % (dbg["cookie"], dbg["version"],
                                                          dbg["free_threaded"]))
        for dk, sk in DEBUG_TO_SEATRACE.items():
            if dk not in dbg:
                continue
            mv = d.get(sk)
            ok = "ok" if mv == dbg[dk] else "DIFFERS from measured %s" % fmt(mv)
            print("  %-34s %5d  -> %-14s %s" % (dk, dbg[dk], sk, ok))
            if mv != dbg[dk]:
                mismatches.append(("debug_offsets " + dk, dbg[dk], mv, "vs measured"))
    if exp:
        if mismatches:
            print("  %d mismatch(es):" % len(mismatches))
            for k, mv, ev, note in mismatches:
                print("    %s: measured %s, layout.c %s%s" % (k, fmt(mv), fmt(ev),
                                                            ("  (" + note + ")") if note else ""))
        else:
            print("  all measured offsets agree with layout.c")
    return mismatches


def dump_debug_offsets(paths):
    rc = 0
    for p in paths:
        d = read_debug_offsets(p)
        if not d:
            print("%s: no _Py_DebugOffsets (.PyRuntime with cookie xdebugpy)" % p)
            rc = 1
            continue
        print("%s: .PyRuntime at %#x" % (p, d.get("_section_addr", 0)))
        if "unknown_minor" in d:
            print("  version %#x: field list for 3.%d unknown" % (d["version"], d["unknown_minor"]))
            continue
        minor = (d["version"] >> 16) & 0xFF
        fields, end = debug_offsets_layout(minor)
        for name, off in fields:
            v = d[name]
            print("  +%-4d %-44s %s" % (off, name, v if not isinstance(v, int) or name != "version"
                                        else "%#x" % v))
        print("  (block size %d bytes)" % end)
    return rc


def main(argv):
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    if argv and argv[0] == "--debug-offsets":
        return dump_debug_offsets(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    layout = parse_layout_def(DEF)
    bpf = bpf_facts(DEF)
    default = default_interpreters()
    cmds = argv or [c for c in default if os.access(c, os.X_OK)]
    if not argv:
        missing = [c for c in default if not os.access(c, os.X_OK)]
        for c in missing:
            print("(not present: %s)" % c, file=sys.stderr)
    results = {}
    status = 0
    summary = []
    for c in cmds:
        m, err = run_probe(c)
        if m is None:
            print("%s: could not be measured: %s" % (c, err), file=sys.stderr)
            status = 2
            continue
        binary = real_binary(c, m)
        dbg = None
        try:
            dbg = read_debug_offsets(binary)
        except OSError:
            pass
        results[c] = {"measured": m, "debug_offsets": dbg, "binary": binary}
        if as_json:
            continue
        mism = report(c, m, layout, bpf, dbg, binary)
        summary.append((c, m["version"], mism))
        if mism and status == 0:
            status = 1
    if as_json:
        json.dump({"layout_c": {str(k): v for k, v in layout.items()}, "results": results},
                  sys.stdout, indent=1, sort_keys=True)
        print()
        return status
    print("=" * 78)
    print("summary:")
    for c, v, mism in summary:
        print("  %-8s %-52s %s" % (v, c, "%d mismatch(es): %s" % (
            len(mism), ", ".join(x[0] for x in mism)) if mism else "agrees with layout.c"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
