#include "demographer/schema.h"

#include <string.h>

/* Column types chosen for memory and for what later stages need: device and
 * app ids are int64 (app_events' app_id is dictionary-encoded: 32 M rows over
 * ~19 k apps), event ids fit int32 (3.25 M), flags are int8, coordinates
 * float (they have two decimals), strings interned. */
/* The values the data set's labels and split flags take, exactly (DATA.md):
 * another spelling is a bad row, not a silently different label. */
static const char *const genders[] = {"M", "F", NULL};
static const char *const split_flags[] = {"train", "test", NULL};

const dg_tablespec dg_tables[DG_T_COUNT] = {
    [DG_T_LABELS] = {"labels", {"gender_age_train.csv", "train.csv"}, "train.csv",
                     "labelled devices: gender, age, group", 4,
                     {{"device_id", NULL, DG_COL_I64},
                      {"gender", NULL, DG_COL_STR, genders},
                      {"age", NULL, DG_COL_I32},
                      {"group", "group_train", DG_COL_STR}}},
    [DG_T_TEST] = {"test", {"gender_age_test.csv"}, NULL, "unlabelled (Kaggle test) devices", 1,
                   {{"device_id", NULL, DG_COL_I64}}},
    [DG_T_PHONES] = {"phones",
                     {"phone_brand_device_model.csv", "brand_device.csv", "brand_devices.csv"},
                     "brand_device.csv", "phone brand and model per device", 3,
                     {{"device_id", NULL, DG_COL_I64},
                      {"phone_brand", NULL, DG_COL_STR},
                      {"device_model", NULL, DG_COL_STR}}},
    [DG_T_EVENTS] = {"events", {"events.csv"}, NULL, "timestamped, geolocated events", 5,
                     {{"event_id", NULL, DG_COL_I32},
                      {"device_id", NULL, DG_COL_I64},
                      {"timestamp", NULL, DG_COL_TIME},
                      {"longitude", NULL, DG_COL_F32},
                      {"latitude", NULL, DG_COL_F32}}},
    [DG_T_APP_EVENTS] = {"app_events", {"app_events.csv"}, NULL, "apps installed/active per event",
                         4,
                         {{"event_id", NULL, DG_COL_I32},
                          {"app_id", NULL, DG_COL_KEY},
                          {"is_installed", NULL, DG_COL_I8},
                          {"is_active", NULL, DG_COL_I8}}},
    [DG_T_APP_LABELS] = {"app_labels", {"app_labels.csv", "app_labels_new.txt"},
                         "app_labels_new.txt", "labels of apps", 2,
                         {{"app_id", NULL, DG_COL_I64}, {"label_id", NULL, DG_COL_I32}}},
    [DG_T_LABEL_CATEGORIES] = {"label_categories", {"label_categories.csv"}, NULL,
                               "label names", 2,
                               {{"label_id", NULL, DG_COL_I32}, {"category", NULL, DG_COL_STR}}},
    [DG_T_SPLIT] = {"split", {"train_test_split.csv"}, NULL,
                    "the mapping file: train/test flag per labelled device", 5,
                    {{"device_id", NULL, DG_COL_I64},
                     {"gender", NULL, DG_COL_STR, genders},
                     {"age", NULL, DG_COL_I32},
                     {"group", "group_train", DG_COL_STR},
                     {"train_test_flag", NULL, DG_COL_STR, split_flags}}},
};

int dg_table_by_name(const char *name)
{
    for (int i = 0; i < DG_T_COUNT; i++)
        if (strcmp(dg_tables[i].name, name) == 0)
            return i;
    return -1;
}

const char *dg_shape_name(dg_shape s)
{
    return s == DG_SHAPE_UPGRAD ? "upgrad" : "kaggle";
}
