"""The peer: how the course's notebooks read the MySQL tables, with
pandas.read_sql over a PyMySQL connection (Debian's python3-pandas and
python3-pymysql), the same columns in the same order as demographer.

Usage: read_sql_pandas.py HOST PORT USER DATABASE PASSWORD_FILE
Prints the rows read."""
import sys
import warnings

import pandas as pd
import pymysql

host, port, user, db, pwfile = sys.argv[1:6]
with open(pwfile) as f:
    password = f.readline().rstrip("\n")
conn = pymysql.connect(host=host, port=int(port), user=user, password=password, database=db,
                       charset="utf8mb4")
queries = {
    "train": "SELECT device_id, gender, age, group_train FROM train ORDER BY dg_row",
    "brand_device": "SELECT device_id, phone_brand, device_model FROM brand_device ORDER BY dg_row",
    "events": "SELECT event_id, device_id, timestamp, longitude, latitude FROM events "
              "ORDER BY dg_row",
    "app_events": "SELECT event_id, app_id, is_installed, is_active FROM app_events "
                  "ORDER BY dg_row",
}
rows = 0
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pandas' note that PyMySQL is not SQLAlchemy
    for name, q in queries.items():
        rows += len(pd.read_sql(q, conn))
conn.close()
print(rows)
