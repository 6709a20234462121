#!/usr/bin/python3
"""Runs the Dockerfile's CMD and HEALTHCHECK outside Docker (which cannot
build images on these machines), and checks the image's layout: a non-root
user, the volumes and port the README names. tests/deps_guard.py checks that
the runtime stage installs a package for every shared library the binary
links; scripts/image-check.sh builds the image for real.

Word for word, except what a container changes: "demographer" is the binary
under test ($DG_BIN), the volume /models is a temporary folder, and the port
8080 is a free one (another server may hold 8080 here). Prints TAP."""
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from dockerfile import instructions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DG_BIN", os.path.join(ROOT, "build", "demographer"))
results = []


def check(name, ok, why=""):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and why:
        for line in str(why).splitlines():
            print("# " + line)


def exec_form(arg):
    form = json.loads(arg)
    assert isinstance(form, list) and all(isinstance(a, str) for a in form)
    return form


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ins = instructions(os.path.join(ROOT, "Dockerfile"))
    stages = [i for i, (kw, _) in enumerate(ins) if kw == "FROM"]
    check("two stages, both debian:bookworm-slim",
          len(stages) == 2 and all(ins[i][1].startswith("debian:bookworm-slim") for i in stages),
          [ins[i] for i in stages])
    final = ins[stages[-1]:]
    get = lambda kw: [a for k, a in final if k == kw]
    cmd = exec_form(get("CMD")[-1])
    hc = get("HEALTHCHECK")[-1]
    hc_cmd = exec_form(hc[hc.index("CMD ") + 4:])
    user = get("USER")[-1]
    check("runs as a non-root user", user not in ("root", "0"), user)
    volumes = json.loads(get("VOLUME")[-1])
    check("volumes /data and /models", sorted(volumes) == ["/data", "/models"], volumes)
    check("exposes 8080", get("EXPOSE") == ["8080"], get("EXPOSE"))
    check("CMD serves on 0.0.0.0:8080", cmd[:2] == ["demographer", "serve"]
          and "0.0.0.0" in cmd and "8080" in cmd, cmd)

    # The packages of the linked libraries: tests/deps_guard.py.

    tmp = tempfile.mkdtemp()
    models = os.path.join(tmp, "models")
    os.mkdir(models)
    ids = os.path.join(tmp, "ids")
    with open(ids, "w") as f:
        f.write("1\n-8260683887967679142\n")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "serve_predictions.py"),
                    ids, os.path.join(models, "predictions.csv")], check=True)
    port = str(free_port())

    def outside(argv):
        out = []
        for a in argv:
            a = BIN if a == "demographer" else a
            a = a.replace("/models/", models + "/").replace("8080", port)
            out.append(a)
        return out

    line = outside(cmd)
    print("# " + shlex.join(line))
    proc = subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    check("CMD starts and listens", "listening on http://0.0.0.0:%s/" % port in first,
          first + proc.stderr.read() if proc.poll() is not None else first)
    hc_line = outside(hc_cmd)
    print("# " + shlex.join(hc_line))
    h = subprocess.run(hc_line, capture_output=True, text=True, timeout=30)
    check("HEALTHCHECK passes", h.returncode == 0 and '"status":"ok"' in h.stdout,
          h.stdout + h.stderr)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%s/v1/devices/-8260683887967679142" % port,
                     timeout=10) as r:
        body = json.load(r)
    check("answers a device from /models/predictions.csv",
          body.get("device_id") == "-8260683887967679142", body)
    proc.send_signal(signal.SIGTERM)  # what docker stop sends
    try:
        rc = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    rest = proc.stdout.read()
    check("docker stop (SIGTERM) exits 0 after draining", rc == 0 and "SIGTERM" in rest,
          "exit %s: %s%s" % (rc, rest, proc.stderr.read()))
    h = subprocess.run(hc_line, capture_output=True, text=True, timeout=30)
    check("HEALTHCHECK fails once the server is gone", h.returncode == 1, h.stdout + h.stderr)
    subprocess.run(["rm", "-rf", tmp])
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
