"""The peer: how the notebooks load the same files with pandas.read_csv
(default dtypes, timestamps parsed as the notebooks do)."""
import os
import sys

import pandas as pd

d = sys.argv[1]
shapes = {
    "gender_age_train.csv": {},
    "gender_age_test.csv": {},
    "phone_brand_device_model.csv": {},
    "events.csv": {"parse_dates": ["timestamp"]},
    "app_events.csv": {},
    "app_labels.csv": {},
    "label_categories.csv": {},
    "train_test_split.csv": {},
}
rows = 0
for name, kw in shapes.items():
    path = os.path.join(d, name)
    if os.path.exists(path):
        rows += len(pd.read_csv(path, **kw))
print(rows)
