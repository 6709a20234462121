"""Turns the generator's truth file (demographer synth --truth: per device the
Bayes posterior given what the files show) into predictions.csv files, the
best predictions any model could make on that data:
p_female = 1 - p_male, age = expected_age, group12 = the p_ columns.
The truth has no 6-group probabilities (the Kaggle bands do not nest in the
Upgrad ones), so the group6 columns are written as 0: use these files with the
value age rule only. Scenario 1 when the device has events.

usage: truth_predictions.py TRUTH EVENTS SPLIT ALL_OUT TEST_OUT
"""
import csv
import sys

truth_path, events_path, split_path, all_out, test_out = sys.argv[1:6]
G6 = "F0-24,F25-32,F32+,M0-24,M25-32,M32+".split(",")
G12 = ("F23-,F24-26,F27-28,F29-32,F33-42,F43+,"
       "M22-,M23-26,M27-28,M29-31,M32-38,M39+").split(",")
HEADER = "device_id,scenario,p_female,age," + ",".join(G6 + G12) + "\n"

with open(events_path, newline="") as f:
    r = csv.reader(f)
    col = next(r).index("device_id")
    with_events = {row[col] for row in r}
with open(split_path, newline="") as f:
    test = {row["device_id"] for row in csv.DictReader(f) if row["train_test_flag"] == "test"}

n_all = n_test = 0
with open(truth_path, newline="") as f, open(all_out, "w") as fa, open(test_out, "w") as ft:
    fa.write(HEADER)
    ft.write(HEADER)
    for row in csv.DictReader(f):
        dev = row["device_id"]
        p_female = repr(1.0 - float(row["p_male"]))
        groups = [row["p_" + g] for g in G12]
        line = ",".join([dev, "1" if dev in with_events else "2", p_female,
                         row["expected_age"]] + ["0"] * 6 + groups) + "\n"
        fa.write(line)
        n_all += 1
        if dev in test:
            ft.write(line)
            n_test += 1
print(f"{n_all} devices, {n_test} of the test split", file=sys.stderr)
