"""A small program that does what seatrace is for: it touches files, the
network, subprocesses and code, each raising CPython audit events.

    sudo ./seatrace -- /usr/bin/python3.11 tools/demo.py
"""
import os
import socket
import subprocess
import sys
import tempfile

path = os.path.join(tempfile.mkdtemp(prefix="seatrace-demo-"), "note.txt")
with open(path, "w") as f:  # open(path=..., mode='w', flags=...)
    f.write("hello\n")
os.rename(path, path + ".old")  # os.rename(src=..., dst=...)

server = socket.socket()
server.bind(("127.0.0.1", 0))  # socket.bind(self=<socket>, address=('127.0.0.1', 0))
server.listen()
client = socket.create_connection(server.getsockname())  # socket.connect
client.close()
server.close()

subprocess.run(["/bin/true"])  # subprocess.Popen(executable=..., args=[...], ...)
exec(compile("x = 6 * 7", "<demo>", "exec"))  # compile(...), exec(<code object>)
sys.audit("demo.custom", {"user": "alice", "ids": [1, 2, 3]}, b"\x00\xff", 2**100)
