"""Writes the DBSCAN agreement fixtures: fixed point sets and the labels and
core flags scikit-learn's DBSCAN(metric='haversine', algorithm='ball_tree')
gives them. Run with Debian's python3-sklearn:
    /usr/bin/python3 tests/dbscan/make_expected.py tests/fixtures
The coordinates are rounded to two decimals and then to float32, as
demographer holds them, so both sides cluster the same numbers."""
import sys

import numpy as np
from sklearn.cluster import DBSCAN

EARTH_KM = 6371.0088


def points(seed, n, centres, spread, noise_share, dup_share):
    rng = np.random.RandomState(seed)
    lat, lon = [], []
    for i in range(n):
        if rng.rand() < noise_share:
            lat.append(rng.uniform(20, 45))
            lon.append(rng.uniform(100, 125))
        else:
            c = centres[rng.randint(len(centres))]
            lat.append(c[0] + rng.randn() * spread)
            lon.append(c[1] + rng.randn() * spread)
    lat, lon = np.round(lat, 2), np.round(lon, 2)
    # A share of the points repeats earlier locations (the data's duplicates).
    for i in range(1, n):
        if rng.rand() < dup_share:
            j = rng.randint(i)
            lat[i], lon[i] = lat[j], lon[j]
    return lat.astype(np.float32).astype(np.float64), lon.astype(np.float32).astype(np.float64)


SETS = [
    # name, seed, n, centres, spread (deg), noise, duplicates, eps km, min samples
    ("cities", 1, 3000, [(39.91, 116.39), (31.23, 121.47), (30.67, 104.06)], 0.05, 0.2, 0.3, 1.5, 8),
    ("dense", 2, 2500, [(34.74, 113.62)], 0.02, 0.05, 0.6, 0.7, 30),
    ("sparse", 3, 1500, [(23.13, 113.26), (22.54, 114.06)], 0.3, 0.5, 0.1, 5.3, 4),
    ("north", 4, 1200, [(68.97, 33.08), (69.5, 35.0)], 0.2, 0.3, 0.2, 9.7, 5),
]

out = sys.argv[1]
for name, seed, n, centres, spread, noise, dup, eps, ms in SETS:
    lat, lon = points(seed, n, centres, spread, noise, dup)
    X = np.radians(np.column_stack([lat, lon]))
    db = DBSCAN(eps=eps / EARTH_KM, min_samples=ms, metric="haversine",
                algorithm="ball_tree").fit(X)
    core = np.zeros(n, dtype=int)
    core[db.core_sample_indices_] = 1
    with open(f"{out}/dbscan-{name}.csv", "w") as f:
        f.write(f"# eps_km={eps} min_samples={ms}\n")
        f.write("lat,lon,label,core\n")
        for i in range(n):
            f.write(f"{lat[i]:.9g},{lon[i]:.9g},{db.labels_[i]},{core[i]}\n")
    print(name, n, "clusters", db.labels_.max() + 1, "noise", int((db.labels_ < 0).sum()))
