"""The peer for `demographer clean + eda + features`: the same computations
as a pandas notebook does them, on the same files. Prints a few figures so
that the work cannot be skipped."""
import os
import sys

import numpy as np
import pandas as pd

d = sys.argv[1]
labels = pd.read_csv(os.path.join(d, "gender_age_train.csv"))
phones = pd.read_csv(os.path.join(d, "phone_brand_device_model.csv"))
events = pd.read_csv(os.path.join(d, "events.csv"), parse_dates=["timestamp"])
app_events = pd.read_csv(os.path.join(d, "app_events.csv"))
app_labels = pd.read_csv(os.path.join(d, "app_labels.csv"))
cats = pd.read_csv(os.path.join(d, "label_categories.csv"))

# ---- cleaning
phones = phones.drop_duplicates("device_id", keep="first")
labels = labels[labels.device_id.isin(phones.device_id)]
events = events[events.device_id.isin(phones.device_id)]
events = events[(events.timestamp >= "2016-04-30") & (events.timestamp < "2016-05-09")]
zero = (events.latitude == 0) | (events.longitude == 0)
box = (events.latitude.abs() <= 1) & (events.longitude.abs() <= 1)
events.loc[zero | box, ["latitude", "longitude"]] = np.nan
observed = events.latitude.notna()
med = events.groupby("device_id")[["latitude", "longitude"]].transform("median")
events["latitude"] = events.latitude.fillna(med.latitude)
events["longitude"] = events.longitude.fillna(med.longitude)
cats["category"] = cats.category.fillna("unknown")

# ---- the ten EDA tables
t1 = labels.groupby(["age", "gender"]).size().unstack(fill_value=0)
t1b = labels.gender.value_counts(normalize=True)
t2 = labels.groupby("gender").age.describe()
with_ev = labels.device_id.isin(events.device_id).value_counts()
events["weekday"] = events.timestamp.dt.dayofweek
events["hour"] = events.timestamp.dt.hour
t4 = events.weekday.value_counts()
week = events[(events.timestamp >= "2016-05-01") & (events.timestamp < "2016-05-08")]
t5 = week.groupby([week.timestamp.dt.day, "hour"]).size()
lab_ev = events.merge(labels, on="device_id")
lab_week = lab_ev[(lab_ev.timestamp >= "2016-05-01") & (lab_ev.timestamp < "2016-05-08")]
t6 = lab_week.groupby(["gender", "hour"]).size().groupby(level=0).transform(lambda s: s / s.sum())
lab_ev["age_group"] = pd.cut(lab_ev.age, [0, 24, 32, 45, 200], labels=["0-24", "25-32", "33-45", "46+"])
t7 = lab_ev.groupby(["age_group", "weekday"], observed=True).size()
lp = labels.merge(phones, on="device_id")
top = lp.phone_brand.value_counts().index[:10]
t8 = lp[lp.phone_brand.isin(top)].groupby(["phone_brand", "gender"]).size().unstack(fill_value=0)
ae = app_events.merge(lab_ev[["event_id", "gender"]], on="event_id")
top_apps = ae.app_id.value_counts().index[:10]
t9 = ae[ae.app_id.isin(top_apps)].groupby(["app_id", "gender"]).size().unstack(fill_value=0)
lp["age_group"] = pd.cut(lp.age, [0, 24, 32, 45, 200], labels=["0-24", "25-32", "33-45", "46+"])
t10 = lp.groupby("age_group", observed=True).phone_brand.value_counts().groupby(level=0).head(10)

# ---- features
g = events.groupby("device_id")
feat = pd.DataFrame({"events": g.size(), "active_days": g.timestamp.apply(lambda s: s.dt.date.nunique())})
feat["events_per_day"] = feat.events / feat.active_days
hours = events.groupby(["device_id", "hour"]).size().unstack(fill_value=0)
hours = hours.div(hours.sum(axis=1), axis=0)
days = events.groupby(["device_id", "weekday"]).size().unstack(fill_value=0)
days = days.div(days.sum(axis=1), axis=0)
obs = events[observed.reindex(events.index, fill_value=False)]
med_all = obs.groupby("device_id")[["latitude", "longitude"]].median()
obs = obs.assign(part=obs.hour // 6)
med_part = obs.groupby(["device_id", "part"])[["latitude", "longitude"]].median().unstack()
locations = obs.groupby("device_id")[["latitude", "longitude"]].apply(lambda x: len(x.drop_duplicates()))
dev_ae = app_events.merge(events[["event_id", "device_id"]], on="event_id")
bag_inst = dev_ae.groupby(["device_id", "app_id"]).size()
bag_act = dev_ae[dev_ae.is_active == 1].groupby(["device_id", "app_id"]).size()
apps = bag_inst.reset_index()[["device_id", "app_id"]]
lab_bag = apps.merge(app_labels, on="app_id").groupby(["device_id", "label_id"]).size()
med_part.columns = [f"{a}_{b}" for a, b in med_part.columns]
features = feat.join([hours.add_prefix("h"), days.add_prefix("wd"), med_all, med_part, locations.rename("locations")])
print(len(features), len(bag_inst), len(bag_act), len(lab_bag), int(t4.sum()), len(t10))
