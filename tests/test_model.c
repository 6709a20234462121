#include "testutil.h"

#include "demographer/model.h"
#include "demographer/prediction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void params_parse_and_format(void **state)
{
    (void)state;
    dg_params p;
    dg_err err;
    static const char *const known[] = {"C", "eps", NULL};
    assert_int_equal(dg_params_parse(&p, " C=0.1, eps=1e-3 ", known, &err), DG_OK);
    assert_int_equal(p.n, 2);
    assert_true(dg_param(&p, "C", 9) == 0.1);
    assert_true(dg_param(&p, "eps", 9) == 1e-3);
    assert_true(dg_param(&p, "rows", 9) == 9);
    char buf[64];
    dg_params_format(&p, buf, sizeof buf);
    assert_string_equal(buf, "C=0.1 eps=0.001");
    assert_int_equal(dg_params_parse(&p, "", known, &err), DG_OK);
    assert_int_equal(p.n, 0);

    assert_int_equal(dg_params_parse(&p, "C=0.1 gamma=2", known, &err), DG_ERR);
    assert_string_equal(err.msg, "parameters 'C=0.1 gamma=2': unknown parameter 'gamma'");
    assert_int_equal(dg_params_parse(&p, "C=x", known, &err), DG_ERR);
    assert_string_equal(err.msg, "parameters 'C=x': 'C' needs a finite number, found 'x'");
    assert_int_equal(dg_params_parse(&p, "C", known, &err), DG_ERR);
    assert_string_equal(err.msg, "parameters 'C': expected NAME=VALUE at 'C'");
    assert_int_equal(dg_params_parse(&p, "C=1 C=2", NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "parameters 'C=1 C=2': 'C' is given twice");
    assert_int_equal(dg_params_parse(&p, "C=inf", NULL, &err), DG_ERR);
}

static void groups(void **state)
{
    (void)state;
    /* Band edges from the names: 24 is in 0-24, 25 in 25-32, 32 in 25-32, 33 in 32+. */
    assert_string_equal(dg_group6_names[dg_group6_of(1, 24)], "F0-24");
    assert_string_equal(dg_group6_names[dg_group6_of(1, 25)], "F25-32");
    assert_string_equal(dg_group6_names[dg_group6_of(0, 32)], "M25-32");
    assert_string_equal(dg_group6_names[dg_group6_of(0, 33)], "M32+");
    assert_string_equal(dg_group12_names[dg_group12_of(1, 23)], "F23-");
    assert_string_equal(dg_group12_names[dg_group12_of(1, 24)], "F24-26");
    assert_string_equal(dg_group12_names[dg_group12_of(1, 43)], "F43+");
    assert_string_equal(dg_group12_names[dg_group12_of(0, 22)], "M22-");
    assert_string_equal(dg_group12_names[dg_group12_of(0, 31)], "M29-31");
    assert_string_equal(dg_group12_names[dg_group12_of(0, 32)], "M32-38");
    assert_string_equal(dg_group12_names[dg_group12_of(0, 39)], "M39+");
    assert_int_equal(dg_group6_index("M32+"), 5);
    assert_int_equal(dg_group12_index("F29-32"), 3);
    assert_int_equal(dg_group12_index("F29"), -1);
    assert_int_equal(dg_task_nout(DG_TASK_MULTICLASS, 12), 12);
    assert_int_equal(dg_task_nout(DG_TASK_BINARY, 2), 1);
}

/* Every real label's group agrees with its gender and age. */
static void groups_agree_with_real_labels(void **state)
{
    (void)state;
    char *path = tu_real_path("gender_age_train.csv");
    if (!path)
        skip();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    long rows = 0;
    while (fgets(line, sizeof line, f)) {
        char gender, group[16];
        long long id;
        int age;
        assert_int_equal(sscanf(line, "%lld,%c,%d,%15s", &id, &gender, &age, group), 4);
        assert_string_equal(dg_group12_names[dg_group12_of(gender == 'F', age)], group);
        rows++;
    }
    fclose(f);
    free(path);
    assert_int_equal(rows, 74645);
}

static void predictions_round_trip(void **state)
{
    (void)state;
    dg_prediction p[2] = {{.device_id = -9223372036854775807LL - 1, .scenario = 1,
                           .p_female = 0.1, .age = 31.333333333333332}};
    p[1] = p[0];
    p[1].device_id = 6943568600617760000LL;
    p[1].scenario = 2;
    p[1].p_female = 1.0 / 3;
    p[1].age = NAN; /* a model that gives no age: an empty field, read back as NaN */
    for (int i = 0; i < 6; i++)
        p[1].group6[i] = (i + 1) / 21.0;
    for (int i = 0; i < 12; i++)
        p[1].group12[i] = (i + 1) / 78.0;
    char *dir = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    dg_err err;
    assert_int_equal(dg_predictions_write(p, 2, path, &err), DG_OK);
    dg_prediction *back;
    size_t n;
    assert_int_equal(dg_predictions_read(path, &back, &n, &err), DG_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(back, p, sizeof p[0]);
    assert_true(isnan(back[1].age));
    back[1].age = p[1].age = 20;
    assert_memory_equal(&back[1], &p[1], sizeof p[1]);
    free(back);

    static const char head[] = "device_id,scenario,p_female,age,F0-24,F25-32,F32+,M0-24,M25-32,"
                               "M32+,F23-,F24-26,F27-28,F29-32,F33-42,F43+,M22-,M23-26,M27-28,"
                               "M29-31,M32-38,M39+\n";
    static const char *const bad[][2] = {
        {"device_id,p\n", ":1:1: expected the header 'device_id,scenario,"},
        {"7,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n",
         ":2:3: expected scenario 1 or 2, found '3'"},
        {"7,1,x,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n",
         ":2:5: expected a number in column p_female, found 'x'"},
        {"7,1,0,0\n", ":2:8: expected 22 fields, found 4"},
        {"7,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,9\n",
         ":2:44: expected the end of the line after 22 fields, found ',9'"},
        {"99999999999999999999,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n",
         ":2:1: expected a signed 64-bit integer (out of range) in column device_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", i == 0 ? "" : head, bad[i][0]);
        free(tu_write_str(dir, "predictions.csv", text));
        assert_int_equal(dg_predictions_read(path, &back, &n, &err), DG_ERR);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_parse_and_format),
        cmocka_unit_test(groups),
        cmocka_unit_test(groups_agree_with_real_labels),
        cmocka_unit_test(predictions_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
