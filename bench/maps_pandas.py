"""The peer for `demographer maps`: the brief's three maps as a notebook
makes them with pandas and matplotlib, on the same files: the events and
labels read, the locations cleaned as demographer's default rules do for
maps (coordinates at 0 or both within [-1, 1] dropped; events of devices
without a phone and outside the week dropped), 100,000 events sampled twice
(all; labelled devices), and three PNGs of small translucent points with the
same panels. It draws no basemap (that needs cartopy or geopandas and their
data), so it does a little less than demographer does."""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

d, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
labels = pd.read_csv(os.path.join(d, "gender_age_train.csv"))
phones = pd.read_csv(os.path.join(d, "phone_brand_device_model.csv"), usecols=["device_id"])
events = pd.read_csv(os.path.join(d, "events.csv"), parse_dates=["timestamp"])
events = events[events.device_id.isin(phones.device_id)]
events = events[(events.timestamp >= "2016-04-30") & (events.timestamp < "2016-05-09")]
zero = (events.latitude == 0) | (events.longitude == 0)
box = (events.latitude.abs() <= 1) & (events.longitude.abs() <= 1)
events = events[~(zero | box) & events.latitude.notna() & events.longitude.notna()]

n = 100000
every = events.sample(n=min(n, len(events)), random_state=1)
lab = events.merge(labels[["device_id", "gender", "age"]], on="device_id")
lab = lab.sample(n=min(n, len(lab)), random_state=1)
lab["age_group"] = pd.cut(lab.age, [0, 24, 32, 200], labels=["0-24", "25-32", "33+"])
lo, hi = every.longitude.quantile([0.001, 0.999]), every.latitude.quantile([0.001, 0.999])


def panels(name, groups):
    fig, axes = plt.subplots(1, len(groups), figsize=(9.9 * len(groups), 8.5), dpi=100,
                             squeeze=False)
    for ax, (title, df) in zip(axes[0], groups):
        ax.scatter(df.longitude, df.latitude, s=1, alpha=0.1, linewidths=0)
        ax.set_xlim(lo.iloc[0], lo.iloc[1])
        ax.set_ylim(hi.iloc[0], hi.iloc[1])
        ax.set_title(f"{title}: {len(df):,} events")
        ax.grid(True, color="#dddddd")
    fig.savefig(os.path.join(out, f"maps-{name}.png"))
    plt.close(fig)


panels("all", [("All events", every)])
panels("gender", [("Male", lab[lab.gender == "M"]), ("Female", lab[lab.gender == "F"])])
panels("age", [(g, lab[lab.age_group == g]) for g in ["0-24", "25-32", "33+"]])
print(len(every), len(lab))
