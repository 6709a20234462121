/* Campaigns: the rule file and its errors, the decile rule (edges, ties, n
 * not divisible by 10), the age edges, reach and precision on a hand-made
 * population, and the campaigns command end to end. */
#include "testutil.h"

#include "demographer/campaign.h"
#include "demographer/prediction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F (1u << DG_GENDER_FEMALE)
#define M (1u << DG_GENDER_MALE)
#define A0 (1u << DG_AGE_0_24)
#define A1 (1u << DG_AGE_25_32)
#define A2 (1u << DG_AGE_33_UP)

static void default_rules_are_the_briefs_table(void **state)
{
    (void)state;
    dg_campaign_rules r;
    dg_campaign_rules_default(&r);
    assert_int_equal(r.n, 6);
    assert_int_equal(r.age_rule, DG_AGE_RULE_VALUE);
    assert_int_equal(r.female_deciles, 3);
    assert_int_equal(r.male_deciles, 3);
    static const struct {
        const char *name;
        unsigned gender, age;
    } brief[6] = {
        {"Personalised fashion-related campaigns", F, 0},
        {"Cashback offers on special days (International Women's Day etc.)", F, 0},
        {"Personalised call and data packs", M, 0},
        {"Bundled smartphone offers", 0, A0},
        {"Payment wallet offers", 0, A1},
        {"Cashback offers for Privilege Membership", 0, A2},
    };
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r.v[i].id, i + 1);
        assert_string_equal(r.v[i].name, brief[i].name);
        assert_int_equal(r.v[i].gender_mask, brief[i].gender);
        assert_int_equal(r.v[i].age_mask, brief[i].age);
    }

    /* The shipped rule file says the same. */
    char path[1024];
    snprintf(path, sizeof path, "%s/campaigns.rules", getenv("DG_ASSETS"));
    dg_campaign_rules *file = calloc(1, sizeof *file);
    dg_err err;
    if (dg_campaign_rules_load(file, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_memory_equal(file, &r, sizeof r);

    /* Formatting parses back to the same rules. */
    char *text = dg_campaign_rules_format(&r);
    memset(file, 0xff, sizeof *file);
    assert_int_equal(dg_campaign_rules_parse(file, text, "formatted", &err), DG_OK);
    assert_memory_equal(file, &r, sizeof r);
    free(text);
    free(file);

    char cond[128];
    dg_campaign_condition_text(&r.v[0], cond, sizeof cond);
    assert_string_equal(cond, "female");
    dg_campaign_condition_text(&r.v[4], cond, sizeof cond);
    assert_string_equal(cond, "age 25-32");
}

static void rule_files_parse(void **state)
{
    (void)state;
    const char *text = "# a comment\r\n"
                       "\n"
                       "   \t# an indented comment\n"
                       "age-rule group6   # trailing comment\n"
                       "female-deciles 2\n"
                       "male-deciles 4\n"
                       "campaign 7 \"Say \\\"hi\\\" # not a comment \\\\o/\" gender=female age=24-32,33+\n"
                       "campaign\t12\t\"Anyone young\"\tage=0-24\n"
                       "campaign 999 \"Both\" gender=male,female\r\n"
                       "campaign 1 \"小米 offers\" age=32+";  /* no final newline */
    dg_campaign_rules r;
    dg_err err;
    if (dg_campaign_rules_parse(&r, text, "t", &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(r.age_rule, DG_AGE_RULE_GROUP6);
    assert_int_equal(r.female_deciles, 2);
    assert_int_equal(r.male_deciles, 4);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.v[0].id, 7);
    assert_string_equal(r.v[0].name, "Say \"hi\" # not a comment \\o/");
    assert_int_equal(r.v[0].gender_mask, F);
    assert_int_equal(r.v[0].age_mask, A1 | A2);
    assert_int_equal(r.v[1].id, 12);
    assert_int_equal(r.v[1].gender_mask, 0);
    assert_int_equal(r.v[1].age_mask, A0);
    assert_int_equal(r.v[2].gender_mask, F | M);
    assert_string_equal(r.v[3].name, "小米 offers");

    char cond[128];
    dg_campaign_condition_text(&r.v[0], cond, sizeof cond);
    /* Earlier versions' names (24-32, 32+) parse to the same buckets,
     * and are written with the one table's names. */
    assert_string_equal(cond, "female, age 25-32 or 33+");
    assert_int_equal(r.v[3].age_mask, A2);
    dg_campaign_condition_text(&r.v[2], cond, sizeof cond);
    assert_string_equal(cond, "female or male");

    /* Escapes survive formatting. */
    char *back = dg_campaign_rules_format(&r);
    dg_campaign_rules r2;
    assert_int_equal(dg_campaign_rules_parse(&r2, back, "back", &err), DG_OK);
    assert_memory_equal(&r2, &r, sizeof r);
    free(back);

    /* Matching: an untargeted gender or missing age meets only "any". */
    assert_true(dg_campaign_matches(&r.v[0], DG_GENDER_FEMALE, DG_AGE_25_32));
    assert_false(dg_campaign_matches(&r.v[0], DG_GENDER_FEMALE, DG_AGE_0_24));
    assert_false(dg_campaign_matches(&r.v[0], DG_GENDER_MALE, DG_AGE_33_UP));
    assert_false(dg_campaign_matches(&r.v[0], DG_GENDER_UNTARGETED, DG_AGE_33_UP));
    assert_true(dg_campaign_matches(&r.v[1], DG_GENDER_UNTARGETED, DG_AGE_0_24));
    assert_false(dg_campaign_matches(&r.v[1], DG_GENDER_FEMALE, -1));
}

static void rule_file_errors_name_line_column_and_what(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"campain 1 \"x\" gender=female\n",
         "r:1:1: expected campaign, age-rule, female-deciles or male-deciles, found 'campain'"},
        {"\n  campaign\n", "r:2:11: expected a campaign id after campaign, found the end"},
        {"campaign x \"n\" age=0-24\n", "r:1:10: expected a campaign id, a whole number from 1 to 999, found 'x'"},
        {"campaign 0 \"n\" age=0-24\n", "r:1:10: expected a campaign id, a whole number from 1 to 999, found '0'"},
        {"campaign 1000 \"n\" age=0-24\n", "found '1000'"},
        {"campaign 1 \"a\" age=0-24\ncampaign 1 \"b\" age=32+\n",
         "r:2:10: expected a new campaign id (campaign 1 is defined above), found '1'"},
        {"campaign 1\n", "r:1:11: expected the campaign's name in double quotes, found the end"},
        {"campaign 1 name age=0-24\n", "r:1:12: expected the campaign's name in double quotes, found 'name'"},
        {"campaign 1 \"open age=0-24\n", "r:1:12: expected a closing '\"' for the name, found the end of the line"},
        {"campaign 1 \"a\\n\" age=0-24\n", "r:1:14: expected \\\" or \\\\ after a backslash in a name, found '\\n'"},
        {"campaign 1 \"a\"age=0-24\n", "r:1:15: expected a blank after the closing '\"', found 'a'"},
        {"campaign 1 \"\" age=0-24\n", "r:1:12: expected a name that is not empty"},
        {"campaign 1 \"n\"\n", "r:1:15: expected a condition gender=... or age=... after the name, found the end"},
        {"campaign 1 \"n\" female\n", "r:1:16: expected a condition gender=female|male or age=0-24|25-32|33+, found 'female'"},
        {"campaign 1 \"n\" sex=female\n", "r:1:16: expected a condition on gender= or age=, found 'sex=female'"},
        {"campaign 1 \"n\" gender=woman\n", "r:1:23: expected gender female or male, found 'woman'"},
        {"campaign 1 \"n\" age=0-24,25-33\n", "r:1:25: expected age bucket 0-24, 25-32 or 33+, found '25-33'"},
        {"campaign 1 \"n\" age=\n", "r:1:20: expected age bucket 0-24, 25-32 or 33+, found ''"},
        {"campaign 1 \"n\" age=32+,32+\n", "r:1:24: expected each value once, found '32+' again"},
        {"campaign 1 \"n\" age=0-24 age=32+\n", "r:1:25: expected one age condition per campaign"},
        {"campaign 1 \"n\" gender=male gender=female\n", "r:1:28: expected one gender condition per campaign"},
        {"age-rule\ncampaign 1 \"n\" age=0-24\n", "r:1:9: expected one value after age-rule, found the end of the line"},
        {"age-rule value group6\n", "r:1:16: expected one value after age-rule, found more"},
        {"age-rule median\n", "r:1:10: expected age-rule value or group6, found 'median'"},
        {"age-rule value\nage-rule group6\n", "r:2:1: expected each option once, found 'age-rule'"},
        {"female-deciles 11\n", "r:1:16: expected a number of deciles from 0 to 10, found '11'"},
        {"male-deciles -1\n", "r:1:14: expected a number of deciles from 0 to 10, found '-1'"},
        {"female-deciles 6\nmale-deciles 5\ncampaign 1 \"n\" age=0-24\n",
         "r: expected female-deciles + male-deciles of at most 10, found 6 + 5"},
        {"# nothing\n\n", "r:3:1: expected at least one campaign line, found none"},
        {"campaign 1 \"n\" age=0-24 age=0-24 a b c d e f g h i j k l m\n",
         "r:1:56: expected at most 16 words on a line, found more"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dg_campaign_rules r;
        dg_campaign_rules_default(&r);
        dg_campaign_rules before = r;
        dg_err err;
        assert_int_equal(dg_campaign_rules_parse(&r, bad[i][0], "r", &err), DG_ERR);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
        /* A failed parse leaves the rules as they were. */
        assert_memory_equal(&r, &before, sizeof r);
    }
    dg_campaign_rules r;
    dg_err err;
    /* 65 campaigns: one too many. */
    char many[65 * 40 + 1];
    size_t o = 0;
    for (int i = 1; i <= 65; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "campaign %d \"c%d\" age=32+\n", i, i);
    assert_int_equal(dg_campaign_rules_parse(&r, many, "r", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "r:65:1: expected at most 64 campaigns, found 'campaign'"));
    many[o - (sizeof "campaign 65 \"c65\" age=32+\n" - 1)] = '\0'; /* 64 are fine */
    assert_int_equal(dg_campaign_rules_parse(&r, many, "r", &err), DG_OK);
    assert_int_equal(r.n, 64);
    /* A name of 159 bytes fits, 160 does not. */
    char name[512];
    snprintf(name, sizeof name, "campaign 1 \"%0159d\" age=32+\n", 0);
    assert_int_equal(dg_campaign_rules_parse(&r, name, "r", &err), DG_OK);
    snprintf(name, sizeof name, "campaign 1 \"%0160d\" age=32+\n", 0);
    assert_int_equal(dg_campaign_rules_parse(&r, name, "r", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "r:1:12: expected a name of at most 159 bytes"));

    /* A file with a NUL byte is not a rule file. */
    char *dir = tu_tmpdir();
    char *bin = tu_write(dir, "bin.rules", "campaign 1 \"a\0\" age=32+\n", 25);
    assert_int_equal(dg_campaign_rules_load(&r, bin, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "bin.rules: expected text, found a NUL byte at offset 13"));
    free(bin);
    tu_rmrf(dir);
    free(dir);

    /* A missing file names it. */
    assert_int_equal(dg_campaign_rules_load(&r, "/nonexistent/c.rules", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/c.rules: cannot open"));
}

/* Decile of rank r of n when every value is distinct. */
static int rank_decile(size_t r, size_t n)
{
    return (int)(10 * r / n) + 1;
}

static void deciles_of_distinct_values_follow_rank(void **state)
{
    (void)state;
    dg_err err;
    dg_deciles d;
    /* n = 10: one device per decile; edges are the values of ranks 1..9. */
    double ten[10] = {0.9, 0.0, 0.8, 0.1, 0.7, 0.2, 0.6, 0.3, 0.5, 0.4};
    assert_int_equal(dg_deciles_fit(&d, ten, 10, &err), DG_OK);
    assert_int_equal(d.reference, 10);
    for (int k = 0; k < 9; k++)
        assert_true(d.edge[k] == (k + 1) / 10.0 || fabs(d.edge[k] - (k + 1) / 10.0) < 1e-15);
    assert_int_equal(dg_decile_of(&d, 0.0), 1);
    assert_int_equal(dg_decile_of(&d, 0.1), 2);       /* on an edge: the decile above */
    assert_int_equal(dg_decile_of(&d, nextafter(0.1, 0)), 1); /* just below it */
    assert_int_equal(dg_decile_of(&d, 0.9), 10);
    assert_int_equal(dg_decile_of(&d, -5), 1);
    assert_int_equal(dg_decile_of(&d, 7), 10);
    assert_int_equal(dg_decile_of(&d, NAN), 0);

    /* n = 15: deciles of 2,1,2,1,... devices; edge k at rank ceil(1.5 k). */
    double v[64];
    for (int i = 0; i < 15; i++)
        v[i] = i / 100.0;
    assert_int_equal(dg_deciles_fit(&d, v, 15, &err), DG_OK);
    static const int rank15[9] = {2, 3, 5, 6, 8, 9, 11, 12, 14};
    static const int dec15[15] = {1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9, 10};
    for (int k = 0; k < 9; k++)
        assert_true(d.edge[k] == v[rank15[k]]);
    for (int i = 0; i < 15; i++)
        assert_int_equal(dg_decile_of(&d, v[i]), dec15[i]);

    /* Every n from 10 to 64, values given in a scrambled order. */
    for (size_t n = 10; n <= 64; n++) {
        double in[64];
        for (size_t i = 0; i < n; i++)
            in[i] = (double)((i * 37) % n) / (double)n; /* 37 is prime to every n here but 37 */
        if (n == 37)
            for (size_t i = 0; i < n; i++)
                in[i] = (double)(n - 1 - i) / (double)n;
        assert_int_equal(dg_deciles_fit(&d, in, n, &err), DG_OK);
        size_t per[11] = {0};
        for (size_t r = 0; r < n; r++) {
            int dec = dg_decile_of(&d, (double)r / (double)n);
            if (dec != rank_decile(r, n))
                fail_msg("n %zu rank %zu: decile %d, expected %d", n, r, dec, rank_decile(r, n));
            per[dec]++;
        }
        /* Sizes differ by at most one: floor or ceil of n / 10. */
        for (int k = 1; k <= 10; k++)
            assert_true(per[k] == n / 10 || per[k] == (n + 9) / 10);
    }

    /* Too few or NaN: refused with the reason. */
    assert_int_equal(dg_deciles_fit(&d, v, 9, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected at least 10 reference predictions for deciles, found 9"));
    v[4] = NAN;
    assert_int_equal(dg_deciles_fit(&d, v, 15, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "found nan in prediction 5"));
}

static void tied_values_take_the_decile_of_their_middle_rank(void **state)
{
    (void)state;
    dg_err err;
    dg_deciles d;
    /* 5 x 0.1 (ranks 0-4, middle 2: decile 2), 10 x 0.2 (ranks 5-14, middle
     * 9.5: decile 5), 5 x 0.3 (ranks 15-19, middle 17: decile 9). */
    double v[20];
    for (int i = 0; i < 20; i++)
        v[(i * 7) % 20] = i < 5 ? 0.1 : i < 15 ? 0.2 : 0.3;
    assert_int_equal(dg_deciles_fit(&d, v, 20, &err), DG_OK);
    const double want[9] = {0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3, INFINITY};
    for (int k = 0; k < 9; k++)
        assert_true(d.edge[k] == want[k]);
    assert_int_equal(dg_decile_of(&d, 0.1), 2);
    assert_int_equal(dg_decile_of(&d, 0.2), 5);
    assert_int_equal(dg_decile_of(&d, 0.3), 9);
    /* Values the reference lacks: the decile of the nearest one below. */
    assert_int_equal(dg_decile_of(&d, 0.05), 1);
    assert_int_equal(dg_decile_of(&d, 0.25), 5);
    assert_int_equal(dg_decile_of(&d, 1.0), 9);

    /* So the straddling block of 0.2 is targeted by no gender campaign, and
     * each side gets its 25%. */
    dg_campaign_rules r;
    dg_campaign_rules_default(&r);
    int gender[3];
    for (int i = 0; i < 3; i++) {
        dg_prediction p = {.device_id = i, .scenario = 1, .p_female = 0.1 * (i + 1), .age = 30};
        dg_targeting t;
        dg_campaigns_assign(&r, &d, &p, &t);
        gender[i] = t.gender;
    }
    assert_int_equal(gender[0], DG_GENDER_MALE);
    assert_int_equal(gender[1], DG_GENDER_UNTARGETED);
    assert_int_equal(gender[2], DG_GENDER_FEMALE);

    /* All equal: the middle decile, targeted by neither side. */
    for (int i = 0; i < 20; i++)
        v[i] = 0.5;
    assert_int_equal(dg_deciles_fit(&d, v, 20, &err), DG_OK);
    assert_int_equal(dg_decile_of(&d, 0.5), 5);
    /* 11 values, 10 tied at the top (ranks 1-10, middle 5.5: decile 6). */
    for (int i = 0; i < 11; i++)
        v[i] = i == 0 ? 0.0 : 0.9;
    assert_int_equal(dg_deciles_fit(&d, v, 11, &err), DG_OK);
    assert_int_equal(dg_decile_of(&d, 0.0), 1);
    assert_int_equal(dg_decile_of(&d, 0.9), 6);
}

static void thresholds_file_round_trips_and_rejects_bad_lines(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/thresholds.txt", dir);
    dg_deciles d = {.reference = 1234,
                    .edge = {1.0 / 3, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 2.0 / 3, 0.9,
                             INFINITY}};
    d.edge[0] = 1e-300; /* keep non-decreasing */
    dg_err err;
    assert_int_equal(dg_deciles_save(&d, path, &err), DG_OK);
    dg_deciles back;
    if (dg_deciles_load(&back, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_memory_equal(&back, &d, sizeof d);

    static const char *const ok_tail = "edge 2 0.2\nedge 3 0.3\nedge 4 0.4\nedge 5 0.5\n"
                                       "edge 6 0.6\nedge 7 0.7\nedge 8 0.8\nedge 9 0.9\n";
    static const char *const bad[][2] = {
        {"reference 100\nedge 1 x\n", "t:2:8: expected a finite number or inf, found 'x'"},
        {"reference 100\nedge 1 nan\n", "t:2:8: expected a finite number or inf, found 'nan'"},
        {"reference 100\nedge 0 0.1\n", "t:2:6: expected 'edge K VALUE' with K from 1 to 9, found '0'"},
        {"reference 100\nedge 1\n", "t:2:6: expected one value after edge 1, found '1'"},
        {"reference 100\nedge 1 0.1 0.2\n", "t:2:12: expected one value after edge 1, found '0.2'"},
        {"reference 100\nedge 1 0.1\nedge 1 0.1\n", "t:3:6: expected each edge once, found '1'"},
        {"reference 9\n", "t:1:11: expected 'reference N' with N from 10 to 999999999, found '9'"},
        {"reference 100\nreference 100\n", "t:2:1: expected one reference line, found 'reference'"},
        {"threshold 1\n", "t:1:1: expected 'reference N' or 'edge K VALUE', found 'threshold'"},
        {"edge 1 0.1\n", "t: expected a line 'reference N', found none"},
        {"reference 100\nedge 9 0.9\n", "t: expected a line 'edge 1 VALUE', found none"},
        {"reference 100\nedge 1 0.25\n", "t: expected non-decreasing edges, found edge 2 = 0.2 below edge 1 = 0.25"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        /* The last case adds the other edges so that only the order is wrong. */
        snprintf(text, sizeof text, "%s%s", bad[i][0],
                 i == sizeof bad / sizeof bad[0] - 1 ? ok_tail : "");
        assert_int_equal(dg_deciles_parse(&back, text, "t", &err), DG_ERR);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
    }
    tu_rmrf(dir);
    free(dir);
}

static void age_edges_are_exact(void **state)
{
    (void)state;
    assert_int_equal(dg_age_bucket_of(-3), DG_AGE_0_24);
    assert_int_equal(dg_age_bucket_of(0), DG_AGE_0_24);
    assert_int_equal(dg_age_bucket_of(24), DG_AGE_0_24);
    assert_int_equal(dg_age_bucket_of(24.0001), DG_AGE_25_32);
    assert_int_equal(dg_age_bucket_of(nextafter(24, 25)), DG_AGE_25_32);
    assert_int_equal(dg_age_bucket_of(32), DG_AGE_25_32);
    assert_int_equal(dg_age_bucket_of(32.0001), DG_AGE_33_UP);
    assert_int_equal(dg_age_bucket_of(nextafter(32, 33)), DG_AGE_33_UP);
    assert_int_equal(dg_age_bucket_of(96), DG_AGE_33_UP);
    assert_int_equal(dg_age_bucket_of(NAN), -1);
    /* The buckets are the group6 bands over whole years. */
    for (int age = 1; age < 90; age++)
        assert_int_equal(dg_age_bucket_of(age), dg_group6_of(1, age));

    /* group6: F + M of each band; a tie goes to the younger band. */
    const double g[6] = {0.10, 0.30, 0.05, 0.20, 0.05, 0.30}; /* 0.30 0.35 0.35 */
    assert_int_equal(dg_age_bucket_of_group6(g), DG_AGE_25_32);
    const double g2[6] = {0.05, 0.05, 0.40, 0.05, 0.05, 0.40};
    assert_int_equal(dg_age_bucket_of_group6(g2), DG_AGE_33_UP);
    const double g3[6] = {0.5, 0, 0, 0, 0, 0.5};
    assert_int_equal(dg_age_bucket_of_group6(g3), DG_AGE_0_24);
    const double g4[6] = {0.5, NAN, 0, 0, 0, 0.5};
    assert_int_equal(dg_age_bucket_of_group6(g4), -1);
}

/* Ten devices with P(female) 0.05, 0.15, ..., 0.95 (one per decile) and ages
 * 20, 24, 24.0001, 30, 32, 32.0001, 40, 50, NaN, 18. */
static void hand_made_population(dg_prediction *p)
{
    static const double age[10] = {20, 24, 24.0001, 30, 32, 32.0001, 40, 50, NAN, 18};
    for (int i = 0; i < 10; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].device_id = 100 + i;
        p[i].scenario = 1 + (i % 2);
        p[i].p_female = (i + 0.5) / 10;
        p[i].age = age[i];
        /* group6 says 32+ for everyone (used only with age-rule group6). */
        p[i].group6[2] = 0.5;
        p[i].group6[5] = 0.4;
        p[i].group6[0] = 0.1;
    }
}

static void assignment_and_reach_on_a_hand_made_population(void **state)
{
    (void)state;
    dg_prediction p[10];
    hand_made_population(p);
    double pf[10];
    for (int i = 0; i < 10; i++)
        pf[i] = p[i].p_female;
    dg_deciles d;
    dg_err err;
    assert_int_equal(dg_deciles_fit(&d, pf, 10, &err), DG_OK);
    dg_campaign_rules r;
    dg_campaign_rules_default(&r);
    dg_targeting t[10];
    for (int i = 0; i < 10; i++)
        dg_campaigns_assign(&r, &d, &p[i], &t[i]);
    /* Campaign bits: 0,1 female; 2 male; 3 age 0-24; 4 25-32; 5 33+. */
    static const uint64_t want[10] = {
        0x4 | 0x8,  /* decile 1 male, 20 */
        0x4 | 0x8,  /* decile 2 male, 24 */
        0x4 | 0x10, /* decile 3 male, 24.0001 */
        0x10,       /* decile 4, 30 */
        0x10,       /* decile 5, 32 */
        0x20,       /* decile 6, 32.0001 */
        0x20,       /* decile 7, 40 */
        0x3 | 0x20, /* decile 8 female, 50 */
        0x3,        /* decile 9 female, no age */
        0x3 | 0x8,  /* decile 10 female, 18 */
    };
    for (int i = 0; i < 10; i++) {
        assert_int_equal(t[i].decile, i + 1);
        if (t[i].campaigns != want[i])
            fail_msg("device %d: campaigns 0x%llx, expected 0x%llx", i,
                     (unsigned long long)t[i].campaigns, (unsigned long long)want[i]);
    }
    assert_int_equal(t[8].age_bucket, -1);

    /* Truth for 8 of them (devices 104 and 109 unlabelled, 999 predicted by
     * nobody); sorted by dg_truth_read in real use, by hand here. */
    static const dg_truth truth[] = {
        {100, 0, 22}, /* male 0-24: campaign 3 right, 4 right */
        {101, 1, 23}, /* female: 3 wrong, 4 right */
        {102, 0, 40}, /* male: 3 right, 5 wrong (32+) */
        {103, 0, 28}, /* 5 right */
        {105, 1, 33}, /* 6 right */
        {106, 1, 31}, /* 6 wrong */
        {107, 1, 45}, /* 1,2 right, 6 right */
        {108, 0, 30}, /* 1,2 wrong */
        {999, 1, 30},
    };
    dg_reach reach;
    dg_reach_compute(&r, p, t, 10, truth, sizeof truth / sizeof *truth, &reach);
    assert_int_equal(reach.devices, 10);
    assert_int_equal(reach.labelled, 8);
    assert_int_equal(reach.untargeted, 0);
    static const struct {
        uint64_t devices, labelled, correct;
        double base; /* of the 8 labelled: 4 female, 4 male; 2 of 0-24, 3 of 25-32, 3 of 33+ */
    } rows[6] = {
        {3, 2, 1, 4 / 8.0}, {3, 2, 1, 4 / 8.0}, {3, 3, 2, 4 / 8.0},
        {3, 2, 2, 2 / 8.0}, {3, 2, 1, 3 / 8.0}, {3, 3, 2, 3 / 8.0},
    };
    for (int c = 0; c < 6; c++) {
        const dg_reach_row *row = &reach.row[c];
        if (row->devices != rows[c].devices || row->labelled != rows[c].labelled ||
            row->correct != rows[c].correct)
            fail_msg("campaign %d: %llu devices %llu labelled %llu correct", c + 1,
                     (unsigned long long)row->devices, (unsigned long long)row->labelled,
                     (unsigned long long)row->correct);
        assert_true(fabs(row->share - 0.3) < 1e-12);
        assert_true(fabs(row->precision - (double)rows[c].correct / rows[c].labelled) < 1e-12);
        assert_true(fabs(row->base_rate - rows[c].base) < 1e-12);
    }
    /* Campaign 3: precision 2/3 against a base rate of 1/2. */
    assert_true(fabs(reach.row[2].precision - 2.0 / 3) < 1e-12);
    /* By scenario (even devices have events): campaign 6 reaches 105 (s2,
     * right), 106 (s1, wrong), 107 (s2, right). */
    assert_int_equal(reach.row[5].scenario_devices[0], 1);
    assert_int_equal(reach.row[5].scenario_devices[1], 2);
    assert_int_equal(reach.row[5].scenario_labelled[1], 2);
    assert_int_equal(reach.row[5].scenario_correct[0], 0);
    assert_int_equal(reach.row[5].scenario_correct[1], 2);
    assert_true(reach.row[5].scenario_precision[0] == 0);
    assert_true(reach.row[5].scenario_precision[1] == 1);

    /* Without truth: no precision. */
    dg_reach_compute(&r, p, t, 10, NULL, 0, &reach);
    assert_int_equal(reach.labelled, 0);
    assert_true(isnan(reach.row[0].precision));
    assert_true(isnan(reach.row[0].base_rate));

    /* age-rule group6 (everyone's most probable band is 32+), and 2 + 2
     * deciles: devices in deciles 3..8 have no gender campaign. */
    r.age_rule = DG_AGE_RULE_GROUP6;
    r.female_deciles = 2;
    r.male_deciles = 2;
    for (int i = 0; i < 10; i++) {
        dg_campaigns_assign(&r, &d, &p[i], &t[i]);
        uint64_t g = i < 2 ? 0x4 : i >= 8 ? 0x3 : 0;
        assert_int_equal(t[i].campaigns, g | 0x20);
    }
    /* Zero deciles for a side: nobody on it. */
    r.female_deciles = 0;
    r.male_deciles = 10;
    for (int i = 0; i < 10; i++) {
        dg_campaigns_assign(&r, &d, &p[i], &t[i]);
        assert_int_equal(t[i].gender, DG_GENDER_MALE);
    }
}

static void truth_files_are_read_strictly(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_write_str(dir, "labels.csv",
                              "device_id,gender,age,group\n7,F,30,F25-32\n-3,M,22,M0-24\n");
    dg_truth *t;
    size_t n;
    dg_err err;
    if (dg_truth_read(path, &t, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 2);
    assert_int_equal(t[0].device_id, -3); /* sorted */
    assert_int_equal(t[0].female, 0);
    assert_true(t[1].age == 30);
    assert_ptr_equal(dg_truth_find(t, n, 7), &t[1]);
    assert_null(dg_truth_find(t, n, 8));
    free(t);
    free(path);

    /* The mapping file: its test rows only. */
    path = tu_write_str(dir, "split.csv", "device_id,gender,age,group,train_test_flag\n"
                                          "1,F,30,F25-32,train\n2,M,40,M32+,test\n"
                                          "3,F,20,F0-24,test\n");
    if (dg_truth_read(path, &t, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 2);
    assert_int_equal(t[0].device_id, 2);
    assert_int_equal(t[1].device_id, 3);
    assert_int_equal(t[1].female, 1);
    free(t);
    free(path);

    static const char *const bad[][2] = {
        {"device_id,gender\n7,F\n", "age"},
        {"device_id,gender,age,train_test_flag\n7,F,30,test\n8,M,30,val\n",
         "labels.csv: line 3, column 4 (train_test_flag): expected train or test, found 'val'"},
        {"device_id,age,gender\n7,30,X\n", "labels.csv: line 2, column 3 (gender): expected M or F, found 'X'"},
        {"device_id,gender,age\n7,F,thirty\n", "labels.csv: line 2, column 3 (age): expected an integer"},
        {"device_id,gender,age\n7,F,30\n7,M,31\n", "expected each device once, found device_id 7 twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = tu_write_str(dir, "labels.csv", bad[i][0]);
        assert_int_equal(dg_truth_read(path, &t, &n, &err), DG_ERR);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
        free(path);
    }
    tu_rmrf(dir);
    free(dir);
}

static char *slurp(const char *dir, const char *name)
{
    char *path = dg_path_join(dir, name);
    char *buf = tu_read(path, NULL);
    if (!buf)
        fail_msg("cannot open %s", path);
    free(path);
    return buf;
}

static void command_end_to_end(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char path[1024];
    dg_prediction p[10];
    hand_made_population(p);
    p[3].p_female = 1.0 / 3 + 0.01; /* a value that needs 16 digits, still in decile 4 */
    p[8].age = 27;                  /* predictions files hold numbers only */
    dg_err err;
    snprintf(path, sizeof path, "%s/predictions.csv", dir);
    assert_int_equal(dg_predictions_write(p, 10, path, &err), DG_OK);
    /* The predictions file reads back exactly (what the command reads). */
    dg_prediction *back;
    size_t n;
    assert_int_equal(dg_predictions_read(path, &back, &n, &err), DG_OK);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        assert_true(back[i].p_female == p[i].p_female);
        assert_true(back[i].age == p[i].age || (isnan(back[i].age) && isnan(p[i].age)));
    }
    free(back);
    free(tu_write_str(dir, "labels.csv",
                      "device_id,gender,age,group\n100,M,22,M0-24\n101,F,23,F0-24\n"
                      "102,M,40,M32+\n103,M,28,M25-32\n105,F,33,F32+\n106,F,31,F25-32\n"
                      "107,F,45,F32+\n108,M,30,M25-32\n999,F,30,F25-32\n"));

    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "%s campaigns --predictions %s/predictions.csv --truth %s/labels.csv "
             "--out %s/out", tu_bin(), dir, dir, dir);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, out);
    assert_non_null(strstr(out, "10 devices; P(female) deciles over "));
    assert_non_null(strstr(out, "female: deciles 8-10, P(female) >= 0.75\n"
                                "male: deciles 1-3, P(female) < 0.3433\n"));
    assert_non_null(strstr(out, "Personalised call and data packs"));
    /* Campaign 3: 3 devices, 30%, 3 labelled, precision 2/3, base rate 1/2. */
    assert_non_null(strstr(out, "\n3            3      30.0%          3      66.7%      50.0%  male "
                                "                    Personalised call and data packs\n"));
    free(out);
    /* With labelled devices, the precision against the base rate has a
     * chart of its own (one denominator per chart: reach.png is of all). */
    snprintf(path, sizeof path, "%s/out/precision.png", dir);
    assert_int_equal(access(path, R_OK), 0);

    char *dc = slurp(dir, "out/device_campaigns.csv");
    assert_non_null(strstr(dc, "device_id,scenario,p_female,decile,gender,age,age_bucket,campaigns,"
                               "campaign_1,campaign_2,campaign_3,campaign_4,campaign_5,campaign_6\n"));
    assert_non_null(strstr(dc, "\n100,1,0.05,1,male,20,0-24,3;4,0,0,1,1,0,0\n"));
    assert_non_null(strstr(dc, "\n103,2,0.3433333333333333,4,-,30,25-32,5,0,0,0,0,1,0\n"));
    assert_non_null(strstr(dc, "\n108,1,0.85,9,female,27,25-32,1;2;5,1,1,0,0,1,0\n"));
    free(dc);
    char *reach = slurp(dir, "out/reach.csv");
    /* Campaign 1: devices 107 (s2, truly female), 108 (s1, male), 109 (s2,
     * unlabelled). Campaign 3: 100 (s1, male), 101 (s2, female), 102 (s1, male). */
    assert_non_null(strstr(reach, "campaign,name,condition,devices,share,labelled,correct,precision,base_rate,"
                                  "devices_s1,labelled_s1,correct_s1,precision_s1,"
                                  "devices_s2,labelled_s2,correct_s2,precision_s2\n"
                                  "1,Personalised fashion-related campaigns,female,3,0.300000,2,1,0.500000,0.500000,"
                                  "1,1,0,0.000000,2,1,1,1.000000\n"));
    assert_non_null(strstr(reach, "\n3,Personalised call and data packs,male,3,0.300000,3,2,0.666667,0.500000,"
                                  "2,2,2,1.000000,1,1,0,0.000000\n"));
    assert_non_null(strstr(reach, "\nnone,No campaign,untargeted,0,0.000000,,,,,,,,,,,,\n"));
    free(reach);

    /* The chart: a 1200 x 800 PNG (the IHDR's width and height, big-endian). */
    snprintf(path, sizeof path, "%s/out/reach.png", dir);
    FILE *png = fopen(path, "rb");
    assert_non_null(png);
    unsigned char head[24];
    assert_int_equal(fread(head, 1, 24, png), 24);
    fclose(png);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19], 1200);
    assert_int_equal((head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23], 800);

    /* The saved thresholds give the same answer to one device alone: a
     * one-device predictions file with the thresholds of the first run. */
    dg_prediction one = p[7];
    snprintf(path, sizeof path, "%s/one.csv", dir);
    assert_int_equal(dg_predictions_write(&one, 1, path, &err), DG_OK);
    snprintf(cmd, sizeof cmd, "%s campaigns --predictions %s/one.csv --thresholds %s/out/thresholds.txt "
             "--out %s/one --quiet", tu_bin(), dir, dir, dir);
    rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, out);
    assert_string_equal(out, "");
    free(out);
    dc = slurp(dir, "one/device_campaigns.csv");
    assert_non_null(strstr(dc, "\n107,2,0.75,8,female,50,33+,1;2;6,1,1,0,0,0,1\n"));
    free(dc);
    reach = slurp(dir, "one/reach.csv"); /* no truth: no precision */
    assert_non_null(strstr(reach, "\n6,Cashback offers for Privilege Membership,age 33+,1,1.000000,,,,,0,,,,1,,,\n"));
    free(reach);
    /* And --reference ranks over another file: against the 10, the same. */
    snprintf(cmd, sizeof cmd, "%s campaigns --predictions %s/one.csv --reference %s/predictions.csv "
             "--out %s/one --quiet", tu_bin(), dir, dir, dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    dc = slurp(dir, "one/device_campaigns.csv");
    assert_non_null(strstr(dc, "\n107,2,0.75,8,female,50,33+,1;2;6,1,1,0,0,0,1\n"));
    free(dc);

    /* Custom rules, saved beside the output. */
    free(tu_write_str(dir, "my.rules", "age-rule group6\ncampaign 40 \"Old women\" gender=female age=32+\n"));
    snprintf(cmd, sizeof cmd, "%s campaigns --predictions %s/predictions.csv --rules %s/my.rules "
             "--out %s/mine", tu_bin(), dir, dir, dir);
    rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, out);
    assert_non_null(strstr(out, "female, age 33+          Old women\n"));
    free(out);
    char *rules = slurp(dir, "mine/campaigns.rules");
    assert_non_null(strstr(rules, "age-rule group6\n"));
    /* Written with the names of eda.h's table, the same edges as the 32+ read. */
    assert_non_null(strstr(rules, "campaign 40 \"Old women\" gender=female age=33+\n"));
    free(rules);

    /* Errors: exit status and a message naming what was wrong. */
    static const char *const bad[][3] = {
        {"--out %s/x", "2", "--predictions FILE is required"},
        {"--predictions %s/predictions.csv", "2", "--out DIR is required"},
        {"--predictions %s/predictions.csv --out x --thresholds t --reference r", "2",
         "--thresholds and --reference exclude each other"},
        {"--predictions %s/nope.csv --out x", "1", "nope.csv"},
        {"--predictions %s/one.csv --out %s/x", "1",
         "one.csv: expected at least 10 reference predictions for deciles, found 1"},
        {"--predictions %s/predictions.csv --rules %s/labels.csv --out x", "1",
         "labels.csv:1:1: expected campaign, age-rule, female-deciles or male-deciles, found "
         "'device_id,gender,age,group'"},
        {"--predictions %s/labels.csv --out x", "1", "labels.csv:1:1: expected the header"},
        {"--predictions %s/predictions.csv --truth %s/one.csv --out x", "1", "one.csv"},
        {"--predictions %s/predictions.csv --thresholds %s/labels.csv --out x", "1",
         "labels.csv:1:1: expected 'reference N' or 'edge K VALUE', found 'device_id,gender,age,group'"},
        {"--bogus", "2", "unknown option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[2048];
        snprintf(args, sizeof args, bad[i][0], dir, dir);
        snprintf(cmd, sizeof cmd, "cd %s && %s campaigns %s", dir, tu_bin(), args);
        rc = tu_run(cmd, &out);
        if (rc != atoi(bad[i][1]) || !strstr(out, bad[i][2]))
            fail_msg("case %zu: rc %d, output '%s' lacks '%s'", i, rc, out, bad[i][2]);
        free(out);
    }

    /* A device listed twice is refused (it would count twice). */
    p[1].device_id = p[0].device_id;
    snprintf(path, sizeof path, "%s/twice.csv", dir);
    assert_int_equal(dg_predictions_write(p, 10, path, &err), DG_OK);
    snprintf(cmd, sizeof cmd, "%s campaigns --predictions %s --out %s/t", tu_bin(), path, dir);
    rc = tu_run(cmd, &out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "twice.csv: expected each device once, found device_id 100 twice"));
    free(out);

    /* --help is the usage; --print-rules the default rules. */
    snprintf(cmd, sizeof cmd, "%s campaigns --print-rules", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    dg_campaign_rules parsed, dflt;
    dg_campaign_rules_default(&dflt);
    assert_int_equal(dg_campaign_rules_parse(&parsed, out, "printed", &err), DG_OK);
    assert_memory_equal(&parsed, &dflt, sizeof dflt);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_rules_are_the_briefs_table),
        cmocka_unit_test(rule_files_parse),
        cmocka_unit_test(rule_file_errors_name_line_column_and_what),
        cmocka_unit_test(deciles_of_distinct_values_follow_rank),
        cmocka_unit_test(tied_values_take_the_decile_of_their_middle_rank),
        cmocka_unit_test(thresholds_file_round_trips_and_rejects_bad_lines),
        cmocka_unit_test(age_edges_are_exact),
        cmocka_unit_test(assignment_and_reach_on_a_hand_made_population),
        cmocka_unit_test(truth_files_are_read_strictly),
        cmocka_unit_test(command_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
