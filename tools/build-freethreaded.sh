#!/bin/sh
# SPDX-License-Identifier: MIT
# The free-threaded build of tools/build-cpython.sh (see there): $CACHE/freethreaded/src/python.
exec "$(dirname "$0")/build-cpython.sh" freethreaded "$@"
