# SPDX-License-Identifier: MIT
"""Runtime events raised exactly as Seagrass raises them with raise_runtime_events=True.

audit(name) decorates a function (or a coroutine function): the wrapper raises
`prehook:NAME` with (args, kwargs) before the call and, in a `finally` block, `posthook:NAME`
with the result (None when the call raised). Both events come from the wrapper's own frame.

audited_gen(name, tag) is the generator counterpart: the generator's own frame raises
`prehook:NAME` ((tag,), {}) when first resumed, yields, and raises `posthook:NAME` with its
return value (tag + "-done") from a `finally` block, in the same frame, when resumed again.
"""
import functools
import inspect
import sys


def audit(name):
    def deco(fn):
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args, **kwargs):
                sys.audit(f"prehook:{name}", args, kwargs)
                result = None
                try:
                    result = await fn(*args, **kwargs)
                    return result
                finally:
                    sys.audit(f"posthook:{name}", result)
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            sys.audit(f"prehook:{name}", args, kwargs)
            result = None
            try:
                result = fn(*args, **kwargs)
                return result
            finally:
                sys.audit(f"posthook:{name}", result)
        return wrapper
    return deco


def audited_gen(name, tag):
    sys.audit(f"prehook:{name}", (tag,), {})
    result = None
    try:
        yield f"{tag}-item"
        result = f"{tag}-done"
        return result
    finally:
        sys.audit(f"posthook:{name}", result)
