"""The peer for demographer's search, on demographer's own features and folds:
scikit-learn's GridSearchCV over softmax's grid (the family that takes most
of the train stage's cross-validation and wins its classification targets),
for gender, group6 and group12 in both scenarios, with the folds train drew
(PredefinedSplit) and the bag weighting train chose, n_jobs=N_JOBS.

softmax minimises the mean log loss + l2/2 |W|^2 (intercepts unpenalised);
LogisticRegression (lbfgs, multinomial) minimises C * the summed log loss +
|W|^2 / 2 (intercepts unpenalised), so C = 1 / (l2 * rows fitted), with the
rows of a fold's fit. Not in this search: xgboost (no scikit-learn
estimator takes the same sparse design and grid) and the priors.

Usage: search_sklearn.py DESIGN_DIR BAGS OUT_CSV
  DESIGN_DIR  what demographer train --save-design wrote
  BAGS        binary or tfidf: scenario 1's variant (runs.json's bags)
  N_JOBS=2    GridSearchCV's n_jobs (default 1)
  GRID=...    softmax's l2 values, comma separated (default the family's)
  SUBSET=F    fit on a seeded share F of each scenario's train rows (its
              folds kept), to time a search too long at full size
Writes one line per scenario and target: the chosen l2, its CV log loss and
the test log loss."""
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, PredefinedSplit

design, bags, out_path = sys.argv[1:4]
n_jobs = int(os.environ.get("N_JOBS", "1"))
l2s = [float(v) for v in os.environ.get("GRID", "3e-3,1e-2,3e-2,1e-1,3e-1").split(",")]
subset = float(os.environ.get("SUBSET", "1"))


def csr(prefix, ncols=None):
    ptr = np.fromfile(prefix + ".ptr", dtype=np.uint64).astype(np.int64)
    idx = np.fromfile(prefix + ".idx", dtype=np.uint32).astype(np.int32)
    val = np.fromfile(prefix + ".val", dtype=np.float32).astype(np.float64)
    n = len(ptr) - 1
    ncols = ncols if ncols is not None else (int(idx.max()) + 1 if len(idx) else 0)
    return sp.csr_matrix((val, idx, ptr), shape=(n, ncols))


rows = []
for s, variant in ((1, bags), (2, "none")):
    base = os.path.join(design, f"s{s}")
    if not os.path.exists(f"{base}-train.csv"):
        continue
    tr, te = pd.read_csv(f"{base}-train.csv"), pd.read_csv(f"{base}-test.csv")
    Xtr = csr(f"{base}-{variant}-train")
    Xte = csr(f"{base}-{variant}-test")
    ncols = max(Xtr.shape[1], Xte.shape[1])
    Xtr = csr(f"{base}-{variant}-train", ncols)
    Xte = csr(f"{base}-{variant}-test", ncols)
    if subset < 1:
        keep = np.random.default_rng(1).random(len(tr)) < subset
        tr, Xtr = tr[keep].reset_index(drop=True), Xtr[keep]
    folds = tr.fold.values
    nfit = len(tr) * (1 - 1 / (folds.max() + 1))
    for target in ("gender", "group6", "group12"):
        y = (tr.female if target == "gender" else tr[target]).values
        yte = (te.female if target == "gender" else te[target]).values
        k = 2 if target == "gender" else (6 if target == "group6" else 12)
        gs = GridSearchCV(LogisticRegression(max_iter=300, tol=1e-4),
                          {"C": [1 / (l2 * nfit) for l2 in l2s]}, scoring="neg_log_loss",
                          cv=PredefinedSplit(folds), n_jobs=n_jobs)
        gs.fit(Xtr, y)
        m = gs.best_estimator_
        P = np.zeros((len(te), k))
        P[:, m.classes_] = m.predict_proba(Xte)
        rows.append({"scenario": s, "target": target, "rows": len(tr),
                     "l2": 1 / (gs.best_params_["C"] * nfit), "cv_log_loss": -gs.best_score_,
                     "test_log_loss": log_loss(yte, P, labels=list(range(k)), eps=1e-15)})
pd.DataFrame(rows).to_csv(out_path, index=False)
