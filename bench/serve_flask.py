#!/usr/bin/python3
"""The comparison for bench/serve.sh: the brief's Flask endpoint doing what
demographer serve does for GET /v1/devices/{device_id}: the same predictions
file loaded into a dict, the same answer JSON built per request, 400 for an id
that is not a signed 64-bit integer, 404 for an unknown one.
Usage: serve_flask.py PREDICTIONS_CSV PORT (serves on 127.0.0.1 only)."""
import csv
import logging
import re
import sys

from flask import Flask, jsonify

G6 = ["F0-24", "F25-32", "F32+", "M0-24", "M25-32", "M32+"]
G12 = ["F23-", "F24-26", "F27-28", "F29-32", "F33-42", "F43+",
       "M22-", "M23-26", "M27-28", "M29-31", "M32-38", "M39+"]
ID = re.compile(r"-?[0-9]{1,19}\Z")

app = Flask(__name__)
table = {}
version = ""


@app.get("/health")
def health():
    return jsonify(status="ok", model_version=version)


@app.get("/v1/devices/<device_id>")
def device(device_id):
    if not ID.match(device_id) or not -2**63 <= int(device_id) < 2**63:
        return jsonify(error="invalid device id", detail=device_id), 400
    row = table.get(int(device_id))
    if row is None:
        return jsonify(error="unknown device", detail="no prediction for device " + device_id), 404
    return jsonify(device_id=device_id, scenario=row[0], p_female=row[1], predicted_age=row[2],
                   group6=[{"group": g, "p": p} for g, p in zip(G6, row[3])],
                   group12=[{"group": g, "p": p} for g, p in zip(G12, row[4])],
                   campaigns=[], model_version=version)


def main():
    global version
    path, port = sys.argv[1], int(sys.argv[2])
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for r in rows:
            v = [float(x) for x in r[2:]]
            table[int(r[0])] = (int(r[1]), v[0], v[1], v[2:8], v[8:20])
    version = "predictions:" + path.rsplit("/", 1)[-1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log, as demographer's run
    print("flask: %d devices, listening on 127.0.0.1:%d" % (len(table), port), flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
