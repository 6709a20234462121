"""The scikit-learn side of bench/dbscan.sh: DBSCAN(metric='haversine',
algorithm='ball_tree') on the coordinates of an events CSV, in radians, as
the analysts' pipeline runs it. Prints one line the benchmark compares with
demographer's: points, clusters, core and noise points, and the seconds of
the read and of the fit.
    /usr/bin/python3 bench/dbscan_sklearn.py EVENTS_CSV EPS_KM MIN_PTS [OUT_TXT]
(OUT_TXT gets the line instead of stdout: bench/measure.py discards stdout.)"""
import sys
import time

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN

EARTH_KM = 6371.0088  # the radius demographer divides by

path, eps_km, min_pts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
t0 = time.monotonic()
ev = pd.read_csv(path, usecols=["longitude", "latitude"],
                 dtype={"longitude": np.float32, "latitude": np.float32})
ev = ev.dropna()
# float32 as read (demographer holds float32), widened before the radians.
X = np.radians(ev[["latitude", "longitude"]].to_numpy(dtype=np.float64))
t1 = time.monotonic()
db = DBSCAN(eps=eps_km / EARTH_KM, min_samples=min_pts, metric="haversine",
            algorithm="ball_tree").fit(X)
t2 = time.monotonic()
labels = db.labels_
line = (f"sklearn: points {len(X)}, clusters {labels.max() + 1}, "
      f"core points {len(db.core_sample_indices_)}, noise points {(labels < 0).sum()}, "
      f"read {t1 - t0:.2f} s, fit {t2 - t1:.2f} s")
if len(sys.argv) > 4:
    with open(sys.argv[4], "w") as f:
        print(line, file=f)
else:
    print(line)
