"""The peer for `demographer train`: the same data, split and scenarios, the
features built as a pandas notebook builds them (one-hot brand and model,
installed-app and label bags, per-device event numbers, standardised), and
scikit-learn's models with the same seeded 5-fold grid search on the train
split: LogisticRegression (lbfgs; multinomial for the groups) for gender,
group6 and group12, Ridge for age. Reads demographer's split.csv (device,
scenario, is_test) so that both score the same test devices.

Usage: models_sklearn.py DATA_DIR SPLIT_CSV OUT_CSV [PREDICTIONS_CSV]
  N_JOBS=2   GridSearchCV's n_jobs (default 1)
  NO_CV=1    the notebook without the search: one fit per target at fixed
             parameters (C=0.1, Ridge alpha=100)
Writes one line per scenario and target: the chosen parameters and the test
metrics, computed with sklearn.metrics (log loss clipped at 1e-15); with
PREDICTIONS_CSV also the test devices' predictions in the format of
demographer's predictions.csv (for `demographer run --peer-predictions`)."""
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (accuracy_score, log_loss, mean_absolute_error, mean_squared_error,
                             r2_score, roc_auc_score)
from sklearn.model_selection import GridSearchCV, StratifiedKFold

d, split_path, out_path = sys.argv[1:4]
pred_path = sys.argv[4] if len(sys.argv) > 4 else None
upgrad = os.path.exists(os.path.join(d, "brand_device.csv"))
labels = pd.read_csv(os.path.join(d, "train.csv" if upgrad else "gender_age_train.csv"))
phones = pd.read_csv(os.path.join(d, "brand_device.csv" if upgrad else "phone_brand_device_model.csv"))
events = pd.read_csv(os.path.join(d, "events.csv"), parse_dates=["timestamp"])
app_events = pd.read_csv(os.path.join(d, "app_events.csv"))
app_labels = pd.read_csv(os.path.join(d, "app_labels_new.txt" if upgrad else "app_labels.csv"))
split = pd.read_csv(split_path)

phones = phones.drop_duplicates("device_id", keep="first")
dev = split.merge(labels[["device_id", "gender", "age"]], on="device_id", how="left")
dev = dev.merge(phones, on="device_id", how="left")
dev["female"] = (dev.gender == "F").astype(int)
dev["group6"] = (1 - dev.female) * 3 + np.digitize(dev.age, [24.5, 32.5])
fem12 = np.digitize(dev.age, [23.5, 26.5, 28.5, 32.5, 42.5])
mal12 = np.digitize(dev.age, [22.5, 26.5, 28.5, 31.5, 38.5])
dev["group12"] = np.where(dev.female == 1, fem12, 6 + mal12)
dev["row"] = np.arange(len(dev))
n = len(dev)

# ---- features, notebook style
brand = pd.get_dummies(dev.phone_brand.fillna(""), sparse=True)
model = pd.get_dummies((dev.phone_brand.fillna("") + "/" + dev.device_model.fillna("")), sparse=True)
Xbrand = sp.csr_matrix(brand.sparse.to_coo())
Xmodel = sp.csr_matrix(model.sparse.to_coo())

ev = events[events.device_id.isin(dev.device_id)].copy()
ev["hour"] = ev.timestamp.dt.hour
g = ev.groupby("device_id")
num = pd.DataFrame({"events": g.size(), "active_days": g.timestamp.apply(lambda s: s.dt.date.nunique())})
num["events_per_day"] = num.events / num.active_days
hours = ev.groupby(["device_id", "hour"]).size().unstack(fill_value=0)
hours = hours.div(hours.sum(axis=1), axis=0).add_prefix("h")
num = num.join(hours)
for c in ["events", "active_days", "events_per_day"]:
    num[c] = np.log1p(num[c])
num = dev[["device_id"]].merge(num, left_on="device_id", right_index=True, how="left").drop(columns="device_id")
num = num.fillna(0)

dev_ae = app_events[app_events.is_installed == 1].merge(ev[["event_id", "device_id"]], on="event_id")
bag = dev_ae[["device_id", "app_id"]].drop_duplicates()
bag = bag.merge(dev[["device_id", "row"]], on="device_id")
app_codes, app_index = pd.factorize(bag.app_id)
Xapps = sp.csr_matrix((np.ones(len(bag)), (bag.row, app_codes)), shape=(n, len(app_index)))
lab = bag.merge(app_labels, on="app_id")[["row", "label_id"]].drop_duplicates()
lab_codes, lab_index = pd.factorize(lab.label_id)
Xlabels = sp.csr_matrix((np.ones(len(lab)), (lab.row, lab_codes)), shape=(n, len(lab_index)))

rows = []
pred = {}  # test row -> {column: value}
for scenario in (1, 2):
    sel = dev[dev.scenario == scenario]
    tr = sel[sel.is_test == 0].row.values
    te = sel[sel.is_test == 1].row.values
    if scenario == 1:
        numeric = num.values
        mu = numeric[tr].mean(axis=0)
        sd = numeric[tr].std(axis=0)
        sd[sd == 0] = 1
        Xnum = sp.csr_matrix((numeric - mu) / sd)
        X = sp.hstack([Xbrand, Xmodel, Xnum, Xapps, Xlabels]).tocsr()
    else:
        X = sp.hstack([Xbrand, Xmodel]).tocsr()
    folds = StratifiedKFold(5, shuffle=True, random_state=1)
    strata = dev.group12.values[tr]
    n_jobs = int(os.environ.get("N_JOBS", "1"))
    no_cv = os.environ.get("NO_CV") == "1"
    for target in ("gender", "age", "group6", "group12"):
        if target == "age":
            y = dev.age.values
            grid = {"alpha": [100] if no_cv else [1, 10, 100, 1000]}
            gs = GridSearchCV(Ridge(), grid, scoring="neg_root_mean_squared_error",
                              cv=folds.split(X[tr], strata), n_jobs=n_jobs)
        else:
            y = (dev.female if target == "gender" else dev[target]).values
            grid = {"C": [0.1] if no_cv else [0.01, 0.03, 0.1, 0.3, 1]}
            gs = GridSearchCV(LogisticRegression(max_iter=500), grid, scoring="neg_log_loss",
                              cv=folds.split(X[tr], strata), n_jobs=n_jobs)
        if no_cv:
            m = gs.estimator.set_params(**{k: v[0] for k, v in grid.items()}).fit(X[tr], y[tr])
            best, score = {k: v[0] for k, v in grid.items()}, float("nan")
        else:
            gs.fit(X[tr], y[tr])
            m, best, score = gs.best_estimator_, gs.best_params_, -gs.best_score_
        r = {"scenario": scenario, "target": target, "params": str(best),
             "cv_score": score, "n_train": len(tr), "n_test": len(te)}
        if target == "age":
            p = m.predict(X[te])
            for row, v in zip(te, p):
                pred.setdefault(row, {})["age"] = v
            r.update(mae=mean_absolute_error(y[te], p),
                     rmse=mean_squared_error(y[te], p, squared=False), r2=r2_score(y[te], p))
        else:
            P = m.predict_proba(X[te])
            k = 2 if target == "gender" else (6 if target == "group6" else 12)
            full = np.zeros((len(te), k))
            full[:, m.classes_] = P
            for row, v in zip(te, full):
                pred.setdefault(row, {})[target] = v
            r.update(accuracy=accuracy_score(y[te], full.argmax(axis=1)),
                     log_loss=log_loss(y[te], full, labels=list(range(k)), eps=1e-15))
            if target == "gender":
                r["auc"] = roc_auc_score(y[te], full[:, 1])
        rows.append(r)
pd.DataFrame(rows).to_csv(out_path, index=False)
if pred_path:
    G6 = "F0-24,F25-32,F32+,M0-24,M25-32,M32+"
    G12 = ("F23-,F24-26,F27-28,F29-32,F33-42,F43+,"
           "M22-,M23-26,M27-28,M29-31,M32-38,M39+")
    with open(pred_path, "w") as f:
        f.write("device_id,scenario,p_female,age," + G6 + "," + G12 + "\n")
        for row in sorted(pred):
            p = pred[row]
            f.write(",".join([str(dev.device_id[row]), str(dev.scenario[row]),
                              repr(float(p["gender"][1])), repr(float(p["age"]))] +
                             [repr(float(x)) for x in p["group6"]] +
                             [repr(float(x)) for x in p["group12"]]) + "\n")
