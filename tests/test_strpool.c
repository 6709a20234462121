#include "testutil.h"

#include "demographer/i64map.h"
#include "demographer/strpool.h"

#include <stdio.h>
#include <string.h>

static void interning_is_byte_exact(void **state)
{
    (void)state;
    dg_strpool p;
    dg_strpool_init(&p);
    uint32_t a = dg_strpool_intern(&p, "联想", strlen("联想"));
    uint32_t b = dg_strpool_intern(&p, "联想 ", strlen("联想 "));
    uint32_t c = dg_strpool_intern(&p, "联想", strlen("联想"));
    assert_int_not_equal(a, b);
    assert_int_equal(a, c);
    assert_string_equal(dg_strpool_get(&p, b), "联想 ");
    assert_int_equal(dg_strpool_len(&p, b), strlen("联想 "));
    assert_int_equal(dg_strpool_find(&p, "联", strlen("联")), UINT32_MAX);
    uint32_t e = dg_strpool_intern(&p, "", 0);
    assert_int_equal(dg_strpool_len(&p, e), 0);
    assert_int_equal(p.n, 3);
    dg_strpool_free(&p);
}

static void ids_are_dense_and_survive_growth(void **state)
{
    (void)state;
    dg_strpool p;
    dg_strpool_init(&p);
    char buf[32];
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(buf, sizeof buf, "model-%d", i);
        assert_int_equal(dg_strpool_intern(&p, buf, (size_t)n), (uint32_t)i);
    }
    for (int i = 0; i < 50000; i += 997) {
        int n = snprintf(buf, sizeof buf, "model-%d", i);
        assert_int_equal(dg_strpool_find(&p, buf, (size_t)n), (uint32_t)i);
        assert_string_equal(dg_strpool_get(&p, (uint32_t)i), buf);
    }
    dg_strpool_free(&p);
}

static void i64map_codes_follow_first_insertion(void **state)
{
    (void)state;
    dg_i64map m;
    dg_i64map_init(&m);
    assert_int_equal(dg_i64map_get(&m, 5), UINT32_MAX);
    int64_t keys[] = {INT64_MIN, -1, 0, 1, INT64_MAX, 5927333115845830913LL};
    for (int i = 0; i < 6; i++)
        assert_int_equal(dg_i64map_put(&m, keys[i]), (uint32_t)i);
    for (int i = 0; i < 6; i++)
        assert_int_equal(dg_i64map_put(&m, keys[i]), (uint32_t)i);
    for (int64_t k = 1000; k < 200000; k++)
        dg_i64map_put(&m, k * 7919);
    assert_int_equal(m.n, 6 + 199000);
    assert_int_equal(dg_i64map_get(&m, 1000 * 7919), 6);
    assert_int_equal(dg_i64map_get(&m, INT64_MAX), 4);
    assert_int_equal(dg_i64map_get(&m, 3), UINT32_MAX);
    dg_i64map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interning_is_byte_exact),
        cmocka_unit_test(ids_are_dense_and_survive_growth),
        cmocka_unit_test(i64map_codes_follow_first_insertion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
