# SPDX-License-Identifier: MIT
"""The inventory of interpreters is tools/interpreters.py, shared with the tools: `import
interpreters` here gives that module itself (one module, one set of paths)."""
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    __name__, Path(__file__).resolve().parents[2] / "tools" / "interpreters.py")
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module
_spec.loader.exec_module(_module)
