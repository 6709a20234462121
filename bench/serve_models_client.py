#!/usr/bin/python3
"""Client of bench/serve_models.sh: on one keep-alive connection, N GETs of
random test devices, then N POSTs of test devices with events described
from the data's CSV rows (as a client would send them). Prints requests/s
and p50/p99 latency of each; any non-200 answer is an error."""
import csv
import http.client
import json
import random
import sys
import time
from datetime import datetime, timezone

port, data, tests, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(1)
ids = [row[0] for row in csv.reader(open(tests)) if row[0] != "device_id"]
with_events = [row[0] for row in csv.reader(open(tests)) if row[1:] == ["1"]]
chosen = set(rng.sample(with_events, min(50, len(with_events))))

phones = {}
for r in csv.DictReader(open(f"{data}/phone_brand_device_model.csv", encoding="utf-8")):
    if r["device_id"] in chosen:
        phones[r["device_id"]] = (r["phone_brand"], r["device_model"])
events, of_event = {d: [] for d in chosen}, {}
for r in csv.DictReader(open(f"{data}/events.csv")):
    if r["device_id"] in chosen:
        e = {"timestamp": r["timestamp"], "apps": []}
        if r["latitude"] and r["longitude"]:
            e["latitude"], e["longitude"] = float(r["latitude"]), float(r["longitude"])
        events[r["device_id"]].append(e)
        of_event[r["event_id"]] = e
for r in csv.DictReader(open(f"{data}/app_events.csv")):
    e = of_event.get(r["event_id"])
    if e is not None:
        e["apps"].append({"app_id": r["app_id"], "installed": r["is_installed"] == "1",
                          "active": r["is_active"] == "1"})
bodies = []
for d in sorted(chosen):
    if d in phones and len(events[d]) <= 1000:
        bodies.append(json.dumps({"device_id": d, "brand": phones[d][0], "model": phones[d][1],
                                  "events": events[d]}))

conn = http.client.HTTPConnection("127.0.0.1", port)


def run(what, count, send):
    lat, errors = [], 0
    t0 = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        status = send(i)
        lat.append(time.perf_counter() - t)
        errors += status != 200
    total = time.perf_counter() - t0
    lat.sort()
    print(f"{what:<36} {count / total:10.0f} req/s  p50 {lat[len(lat) // 2] * 1e3:7.3f} ms  "
          f"p99 {lat[int(len(lat) * 0.99)] * 1e3:7.3f} ms  errors {errors}")


def get(i):
    conn.request("GET", "/v1/devices/" + ids[rng.randrange(len(ids))])
    r = conn.getresponse()
    r.read()
    return r.status


def post(i):
    conn.request("POST", "/v1/predict", bodies[i % len(bodies)],
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


events_per_body = sum(len(json.loads(b)["events"]) for b in bodies) / max(1, len(bodies))
run("GET /v1/devices/{id}", n, get)
run(f"POST /v1/predict ({len(bodies)} bodies, {events_per_body:.0f} events avg)", n, post)
