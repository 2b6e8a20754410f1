#!/usr/bin/python3.11
"""Checks user/'s layering: modules (x.c with x.h) form no include cycle, and only the
loader's files use libbpf or the skeleton (the rest is unit-tested without them).

    tools/check-layers.py [LOADER_FILE ...]

A module depends on another when any of its two files includes the other's header.
Exits 1, naming the cycle or the file, when a rule is broken.
"""
import re
import sys
from pathlib import Path

USER = Path(__file__).resolve().parents[1] / "user"
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)


def main():
    loader = {Path(a).name for a in sys.argv[1:]}
    deps, bad = {}, []
    for f in sorted(USER.glob("*.[ch]")):
        mod = f.stem
        incs = INCLUDE.findall(f.read_text())
        deps.setdefault(mod, set())
        for inc in incs:
            dep = Path(inc).stem
            if inc.endswith(".h") and (USER / inc).is_file() and dep != mod:
                deps[mod].add(dep)
            if (inc.startswith("bpf/") or inc.endswith(".skel.h")) and loader and \
                    f.name not in loader and f.suffix == ".c":
                bad.append(f"user/{f.name} includes {inc}, but only the loader's files may "
                           f"({' '.join(sorted(loader))}): move that code there")
    # Depth-first search for a cycle in the module graph.
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(deps.get(m, ())):
            if state.get(d) == 1:
                cyc = stack[stack.index(d):] + [d]
                bad.append("include cycle: " + " -> ".join(cyc))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(deps):
        if m not in state:
            visit(m)
    for b in bad:
        print(f"check-layers: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
