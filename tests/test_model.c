#include "testutil.h"

#include "demographer/model.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_parse_and_format),
        cmocka_unit_test(groups),
        cmocka_unit_test(groups_agree_with_real_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
