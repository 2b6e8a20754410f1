# SPDX-License-Identifier: MIT
"""Raises real stdlib audit events; "seatrace.info" first tells the test what to expect.

argv[1]: a writable directory.
"""
import os
import socket
import subprocess
import sys

tmp = sys.argv[1]
path_w = os.path.join(tmp, "written.txt")
path_r = os.path.join(tmp, "read-me.txt")

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
port = server.getsockname()[1]
sys.audit("seatrace.info", {"port": port, "path_w": path_w, "path_r": path_r,
                            "sys.path": sys.path})

with open(path_w, "w") as f:
    f.write("x")
with open(path_r) as f:
    f.read()

client = socket.socket()
client.connect(("127.0.0.1", port))
client.close()
server.close()

src = "\n\nclass Outer:\n    def meth():\n        return 1\n"
ns = {}
exec(compile(src, "/tmp/seatrace-fake-module.py", "exec"), ns)
exec(ns["Outer"].meth.__code__)

subprocess.run(["/bin/true", "x"], check=True)
id(ns)
import colorsys  # noqa: E402,F401  (a module nothing else imports)
