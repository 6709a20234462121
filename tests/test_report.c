/* The report model's three renderings (report.h) on a report built by hand,
 * with data that tries to break out of its markup: the same facts in
 * report.json, report.md and report.html, every data string escaped in the
 * HTML (and read back unchanged), no reference that leaves the file, charts
 * inlined byte for byte, and a missing chart refused. */
#include "testutil.h"
#include "report_check.h"

#include "demographer/report.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

/* Names and paths from the data, each aimed at a different escape. */
#define HOSTILE_CAMPAIGN "<script>alert(\"x\")</script> & 'friends' | more"
#define HOSTILE_DIR "/data/<b>run</b>&co"
#define HOSTILE_DETAIL "dropped <img src=http://evil.example/x.png> rows | \"quoted\""
#define HOSTILE_FILE "/data/\"events\".csv"
/* A chart's bytes: every base64 padding case appears across the first three. */
static const unsigned char chart_bytes[][7] = {{0x89, 'P', 'N', 'G', 0, 0xff, 1},
                                               {0x89, 'P', 'N', 'G', 0xfe, 0x7f, 2},
                                               {0x89, 'P', 'N', 'G', 3, 4, 5},
                                               {0x89, 'P', 'N', 'G', 6, 7, 8}};
static const size_t chart_len[] = {7, 6, 5, 7};

static dg_report_rule rules[2];
static dg_cluster_summary clusters[2];
static dg_run runs[4];

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    free(tu_write_str(tmp, "runs.json", "{\"runs\": [{\"family\": \"prior\"}]}"));
    const char *charts[] = {"eda/eda-01-age.png", "maps/maps-all.png", "campaigns/reach.png",
                            "campaigns/precision.png"};
    for (int i = 0; i < 4; i++) {
        char *dir = dg_path_join(tmp, i == 0 ? "eda" : i == 1 ? "maps" : "campaigns");
        dg_err err;
        assert_int_equal(dg_mkdirs(dir, &err), DG_OK);
        free(dir);
        free(tu_write(tmp, charts[i], chart_bytes[i], chart_len[i]));
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(tmp);
    free(tmp);
    return 0;
}

static const char *const stage_names[DG_STAGE_COUNT] = {
    "load",  "clean",    "eda",         "maps",      "cluster", "features",
    "train", "evaluate", "predictions", "campaigns", "report"};

/* A report of every section, by hand. */
static void build(dg_report *r)
{
    memset(r, 0, sizeof *r);
    r->title = "demographer run";
    r->dir = tmp;
    r->data_dir = HOSTILE_DIR;
    r->seed = 7;
    r->folds = 3;
    r->have_stages = 1;
    for (int st = 0; st < DG_STAGE_COUNT; st++)
        r->stage[st] = (dg_report_stage){stage_names[st], st != DG_STAGE_MAPS,
                                         st == DG_STAGE_REPORT ? NAN : 0.25 * st, ""};
    r->stage[DG_STAGE_MAPS].seconds = NAN;
    r->stage[DG_STAGE_MAPS].note = "skipped (--skip)";
    r->seconds_before_report = 12.5;
    r->ntables = 2;
    r->table[0] = (dg_report_table){"events", 138593, HOSTILE_FILE};
    r->table[1] = (dg_report_table){"phones", 8000, "/data/phone_brand_device_model.csv"};
    rules[0] = (dg_report_rule){"dedupe-phones", 1, "phones", 8023, 8000, 23, 21, HOSTILE_DETAIL};
    rules[1] = (dg_report_rule){"bad-ages", 0, "labels", 3198, 3198, 0, 0, "off"};
    r->have_cleaning = 1;
    r->nrules = 2;
    r->rule = rules;
    r->have_eda = 1;
    r->neda = 1;
    r->eda[0] = (dg_report_eda){1, "Age of labelled devices, by gender", "eda/eda-01-age.csv",
                                "eda/eda-01-age.png"};
    r->nmaps = 1;
    r->map_sampled[0] = 9000;
    r->map_eligible[0] = 94056;
    r->map_sampled[1] = 3000;
    r->map_eligible[1] = 31000;
    r->map[0] = (dg_report_chart){"all", "maps/maps-all.png"};
    r->have_cluster = 1;
    r->eps_km = 1.2;
    r->min_pts = 10;
    r->cluster_events = 138593;
    r->clustered_events = 94056;
    r->distinct_locations = 25235;
    r->clusters = 2;
    r->noise_share = 0.1944;
    r->largest_cluster_share = 0.0383;
    r->knee_km = 3.87;
    clusters[0] = (dg_cluster_summary){292, 1, 3, 22.84, 108.5, 3.06};
    clusters[1] = (dg_cluster_summary){1092, 39, 12, 31.145, 121.271, 10.65};
    r->cluster = clusters;
    r->have_features = 1;
    r->feature_devices = 8000;
    r->feature_columns = 72;
    r->feature_apps = 3386;
    r->feature_labels = 930;
    r->have_train = 1;
    r->train_dir = "train";
    static char runs_json[4096];
    snprintf(runs_json, sizeof runs_json, "%s/runs.json", tmp);
    r->runs_json = runs_json;
    r->selection_rule = "lowest CV log loss";
    runs[0] = (dg_run){.family = "prior", .scenario = 1, .target = DG_TARGET_GENDER,
                       .cv_score = 0.6567, .train_seconds = 0.01,
                       .test = {.task = DG_TASK_BINARY, .n = 220, .accuracy = 0.6273,
                                .auc = 0.5, .log_loss = 0.6605}};
    runs[1] = (dg_run){.family = "brand|model", .scenario = 1, .target = DG_TARGET_AGE,
                       .params = "alpha=50", .cv_score = 9.974, .chosen = 1,
                       .test = {.task = DG_TASK_REGRESSION, .n = 220, .mae = 7.873,
                                .rmse = 10.934, .r2 = 0.0191}};
    runs[2] = (dg_run){.family = "chosen(prior|brand)", .scenario = 0,
                       .target = DG_TARGET_AGE, .cv_score = NAN, .chosen = 1,
                       .test = {.task = DG_TASK_REGRESSION, .mae = 7.5, .rmse = 10.1,
                                .r2 = NAN}};
    runs[3] = (dg_run){.family = "prior", .scenario = 1, .target = DG_TARGET_AGE,
                       .cv_score = 10.5, .train_seconds = 0.01,
                       .test = {.task = DG_TASK_REGRESSION, .n = 220, .mae = 8.1, .rmse = 11.2,
                                .r2 = 0}};
    r->runs = runs;
    r->nruns = 4;
    r->split_text = "split: 20% of the labelled devices";
    r->labelled = 3198;
    r->ntrain[1] = 779;
    r->ntest[1] = 220;
    r->ntrain[2] = 1729;
    r->ntest[2] = 470;
    r->have_checksum = 1;
    snprintf(r->checksum, sizeof r->checksum, "%016" PRIx64, (uint64_t)0xfaf6b6fda16e9df5u);
    r->nevals = 1;
    r->eval[0] = (dg_report_eval){1, DG_TARGET_AGE, "brand|model", 0,
                                  {.task = DG_TASK_REGRESSION, .mae = 7.873, .rmse = 10.934,
                                   .r2 = 0.0191}};
    r->have_predictions = 1;
    r->npredictions = 690;
    r->have_campaigns = 1;
    for (int k = 0; k < 9; k++)
        r->decile_edge[k] = 0.1 * (k + 1);
    r->campaign_devices = 690;
    r->campaign_labelled = 690;
    r->untargeted = 17;
    r->ncampaigns = 2;
    r->campaign[0] = (dg_report_campaign){1, HOSTILE_CAMPAIGN, "female", 207, 207, 0.3, 0.43,
                                          0.362};
    r->campaign[1] = (dg_report_campaign){4, "Bundled smartphone offers", "age 0-24", 0, 0, 0,
                                          NAN, 0.242};
}

typedef struct rendered {
    json_t *json;
    char *md, *html, *html_text;
    char **md_rows, **html_rows;
    size_t n_md, n_html;
} rendered;

static void render(const dg_report *r, rendered *o)
{
    dg_err err;
    char *text = dg_report_json(r, &err);
    if (!text)
        fail_msg("report.json: %s", err.msg);
    json_error_t je;
    o->json = json_loads(text, 0, &je);
    if (!o->json)
        fail_msg("report.json does not parse: %s", je.text);
    free(text);
    dg_textbuf b;
    memset(&b, 0, sizeof b);
    dg_report_md(r, &b);
    dg_textbuf_putc(&b, '\0');
    o->md = b.p;
    memset(&b, 0, sizeof b);
    if (dg_report_html(r, &b, &err) != DG_OK)
        fail_msg("report.html: %s", err.msg);
    dg_textbuf_putc(&b, '\0');
    o->html = b.p;
    o->html_text = rc_html_text(o->html);
    o->md_rows = rc_md_rows(o->md, &o->n_md);
    o->html_rows = rc_html_rows(o->html, &o->n_html);
}

static void rendered_free(rendered *o)
{
    json_decref(o->json);
    free(o->md);
    free(o->html);
    free(o->html_text);
    rc_free_rows(o->md_rows, o->n_md);
    rc_free_rows(o->html_rows, o->n_html);
}

/* A row of report.json's values must be a row of both tables. */
static void assert_row(const rendered *o, const char *row)
{
    if (rc_find_row(o->md_rows, o->n_md, row) < 0)
        fail_msg("report.md has no table row \"%s\"", row);
    if (rc_find_row(o->html_rows, o->n_html, row) < 0)
        fail_msg("report.html has no table row \"%s\"", row);
}

static int has_prefix(char *const *rows, size_t n, const char *prefix)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(rows[i], prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

static void assert_row_prefix(const rendered *o, const char *prefix)
{
    if (!has_prefix(o->md_rows, o->n_md, prefix))
        fail_msg("report.md has no table row starting \"%s\"", prefix);
    if (!has_prefix(o->html_rows, o->n_html, prefix))
        fail_msg("report.html has no table row starting \"%s\"", prefix);
}

static void assert_text(const rendered *o, const char *s)
{
    if (!strstr(o->md, s))
        fail_msg("report.md lacks \"%s\"", s);
    if (!strstr(o->html_text, s))
        fail_msg("report.html lacks \"%s\"", s);
}

/* A count as the report writes it, "9,467" (a few at a time: rotating buffers). */
static const char *grouped(json_int_t v)
{
    static char buf[8][32];
    static int k;
    k = (k + 1) % 8;
    return dg_format_count((unsigned long long)v, buf[k], sizeof buf[k]);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("report.json: %s is not an integer", key);
    return json_integer_value(v);
}

static void three_renderings_state_the_same_facts(void **state)
{
    (void)state;
    dg_report r;
    build(&r);
    rendered o;
    render(&r, &o);
    /* The two documents' tables agree cell by cell (Markdown's escapes and
     * HTML's entities read back). */
    assert_int_equal(o.n_md, o.n_html);
    for (size_t i = 0; i < o.n_md; i++)
        if (strcmp(o.md_rows[i], o.html_rows[i]) != 0)
            fail_msg("row %zu: report.md \"%s\", report.html \"%s\"", i, o.md_rows[i],
                     o.html_rows[i]);
    /* ... and their rows are report.json's values. */
    char row[1024];
    json_t *clean = json_object_get(o.json, "cleaning");
    assert_int_equal(json_array_size(clean), 2);
    for (size_t i = 0; i < json_array_size(clean); i++) {
        json_t *x = json_array_get(clean, i);
        snprintf(row, sizeof row,
                 "%s%s\t%s\t%s\t%s\t%s\t%s\t%s",
                 json_is_true(json_object_get(x, "enabled")) ? "" : "off ",
                 json_string_value(json_object_get(x, "rule")),
                 json_string_value(json_object_get(x, "table")), grouped(jint(x, "rows_before")),
                 grouped(jint(x, "rows_after")), grouped(jint(x, "rows_changed")),
                 grouped(jint(x, "devices")),
                 json_string_value(json_object_get(x, "detail")));
        assert_row(&o, row);
    }
    json_t *tables = json_object_get(o.json, "tables_after_cleaning");
    const char *name;
    json_t *t;
    json_object_foreach(tables, name, t) {
        snprintf(row, sizeof row, "%s\t%s\t%s", name, grouped(jint(t, "rows")),
                 json_string_value(json_object_get(t, "file")));
        assert_row(&o, row);
    }
    json_t *st = json_object_get(o.json, "stages");
    for (size_t i = 0; i + 1 < json_array_size(st); i++) {
        json_t *x = json_array_get(st, i);
        json_t *sec = json_object_get(x, "seconds");
        const char *note = json_string_value(json_object_get(x, "note"));
        if (json_is_null(sec))
            snprintf(row, sizeof row, "%s\tskipped\t%s",
                     json_string_value(json_object_get(x, "stage")), note ? note : "");
        else
            snprintf(row, sizeof row, "%s\t%.2f\t%s",
                     json_string_value(json_object_get(x, "stage")), json_real_value(sec),
                     note ? note : "");
        assert_row(&o, row);
    }
    json_t *cl = json_object_get(o.json, "cluster");
    json_t *first = json_object_get(cl, "largest_clusters");
    assert_int_equal(json_array_size(first), 2);
    /* The largest first (issue 27: they were listed by number). */
    assert_int_equal(jint(json_array_get(first, 0), "cluster"), 1);
    assert_int_equal(jint(json_array_get(first, 1), "cluster"), 0);
    for (size_t i = 0; i < json_array_size(first); i++) {
        json_t *x = json_array_get(first, i);
        char ev[32], dv[32];
        snprintf(row, sizeof row, "%" JSON_INTEGER_FORMAT "\t%s\t%s\t%.3f\t%.3f\t%.2f",
                 jint(x, "cluster"), dg_format_count(jint(x, "events"), ev, sizeof ev),
                 dg_format_count(jint(x, "devices"), dv, sizeof dv),
                 json_real_value(json_object_get(x, "lat")),
                 json_real_value(json_object_get(x, "lon")),
                 json_real_value(json_object_get(x, "radius_km")));
        assert_row(&o, row);
    }
    char ce[32], dl[32];
    snprintf(row, sizeof row, "%" JSON_INTEGER_FORMAT " clusters over %s"
             " events with an observed location (%s distinct locations); "
             "noise %.2f%%, largest cluster %.2f%%",
             jint(cl, "clusters"), dg_format_count(jint(cl, "clustered_events"), ce, sizeof ce),
             dg_format_count(jint(cl, "distinct_locations"), dl, sizeof dl),
             100 * json_real_value(json_object_get(cl, "noise_share")),
             100 * json_real_value(json_object_get(cl, "largest_cluster_share")));
    assert_text(&o, row);
    json_t *camp = json_object_get(o.json, "campaigns");
    json_t *reach = json_object_get(camp, "reach");
    for (size_t i = 0; i < json_array_size(reach); i++) {
        json_t *x = json_array_get(reach, i);
        json_t *p = json_object_get(x, "expected_precision");
        char prec[32];
        if (json_is_null(p))
            snprintf(prec, sizeof prec, "–");
        else
            snprintf(prec, sizeof prec, "%.1f%%", 100 * json_real_value(p));
        snprintf(row, sizeof row,
                 "%" JSON_INTEGER_FORMAT "\t%s\t%s\t%s\t%.1f%%\t%s\t%.1f%%",
                 jint(x, "campaign"), json_string_value(json_object_get(x, "name")),
                 json_string_value(json_object_get(x, "condition")), grouped(jint(x, "devices")),
                 100 * json_real_value(json_object_get(x, "share")), prec,
                 100 * json_real_value(json_object_get(x, "base_rate")));
        assert_row(&o, row);
    }
    snprintf(row, sizeof row, "%s devices get no campaign.", grouped(jint(camp, "untargeted")));
    assert_text(&o, row);
    json_t *split = json_object_get(o.json, "split");
    snprintf(row, sizeof row, "Labelled devices: %s (scenario 1, with events: %s train, %s test",
             grouped(jint(split, "labelled")), grouped(jint(split, "train_s1")),
             grouped(jint(split, "test_s1")));
    assert_text(&o, row);
    assert_text(&o, json_string_value(json_object_get(o.json, "data_checksum")));
    assert_text(&o, json_string_value(json_object_get(o.json, "data_dir")));
    /* The chosen models are rows of the comparison table. */
    json_t *chosen = json_object_get(o.json, "chosen_models");
    for (size_t i = 0; i < json_array_size(chosen); i++) {
        json_t *x = json_array_get(chosen, i);
        snprintf(row, sizeof row, "%s\t%" JSON_INTEGER_FORMAT "\t%s\t%s\t%.4f\t",
                 json_string_value(json_object_get(x, "family")), jint(x, "scenario"),
                 json_string_value(json_object_get(x, "target")),
                 json_string_value(json_object_get(x, "params")),
                 json_real_value(json_object_get(x, "cv_score")));
        assert_row_prefix(&o, row);
    }
    /* A run's row: a NaN CV shows as a dash, the combined row's scenario in words. */
    assert_row(&o, "chosen(prior|brand)\t1+2 (chosen)\tage\t\t–\tMAE 7.500, RMSE 10.100, R2 "
                   "–\t0.00");
    assert_row(&o, "1\tage\tbrand|model\tMAE 7.873, RMSE 10.934, R2 0.0191\tno");
    /* report.json keeps the run's own keys and values. */
    assert_int_equal(jint(o.json, "seed"), 7);
    assert_int_equal(jint(o.json, "folds"), 3);
    assert_true(json_is_null(json_object_get(json_array_get(st, DG_STAGE_MAPS), "seconds")));
    assert_true(json_is_null(json_object_get(json_array_get(st, DG_STAGE_REPORT), "seconds")));
    json_t *train_runs = json_object_get(json_object_get(o.json, "train"), "runs");
    assert_string_equal(json_string_value(json_object_get(json_array_get(train_runs, 0),
                                                          "family")),
                        "prior");
    assert_int_equal(json_array_size(json_object_get(o.json, "chosen_models")), 1);
    rendered_free(&o);
}

/* Issue 27 §5: the report opens with what the analyst came for, the chosen
 * models against the baselines, then the campaigns' reach, then the rest,
 * with version, split, checksum and stage seconds last. */
static void the_report_leads_with_the_results(void **state)
{
    (void)state;
    dg_report r;
    build(&r);
    rendered o;
    render(&r, &o);
    const char *order[] = {"Chosen models against the baselines", "Campaigns: reach",
                           "Every run", "Cleaning", "Location clusters (DBSCAN)",
                           "Data checksum", "all stages before the report"};
    const char *texts[] = {o.md, o.html_text};
    for (int t = 0; t < 2; t++) {
        const char *prev = texts[t];
        for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
            const char *at = strstr(texts[t], order[i]);
            if (!at || at < prev)
                fail_msg("%s: \"%s\" is missing or out of order", t ? "html" : "md", order[i]);
            prev = at;
        }
    }
    /* The chosen age model (bold), then the baseline it beats; prior's
     * gender run, chosen for no target, is not there. */
    const char *chosen = strstr(o.md, "| 1 | age | **brand\\|model** | 9.9740 |");
    const char *base = strstr(o.md, "| 1 | age | prior (baseline) | 10.5000 |");
    assert_non_null(chosen);
    assert_non_null(base);
    assert_true(chosen < base && base < strstr(o.md, "Campaigns: reach"));
    assert_null(strstr(o.md, "| 1 | gender | prior (baseline)"));
    rendered_free(&o);
}

static void html_escapes_every_data_string(void **state)
{
    (void)state;
    dg_report r;
    build(&r);
    rendered o;
    render(&r, &o);
    /* Nothing from the data opens a tag or closes an attribute... */
    assert_null(strstr(o.html, "<script"));
    assert_null(strstr(o.html, "<b>run"));
    assert_null(strstr(o.html, "<img src=http"));
    assert_non_null(strstr(o.html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                                   "&#39;friends&#39;"));
    assert_non_null(strstr(o.html, "/data/&quot;events&quot;.csv"));
    /* ... and every one reads back as it was. */
    const char *data[] = {HOSTILE_CAMPAIGN, HOSTILE_DIR, HOSTILE_DETAIL, HOSTILE_FILE};
    for (size_t i = 0; i < sizeof data / sizeof *data; i++)
        if (!strstr(o.html_text, data[i]))
            fail_msg("report.html's text lacks \"%s\"", data[i]);
    /* Markdown: a '|' in a cell is escaped, so the row keeps its cells. */
    assert_non_null(strstr(o.md, "'friends' \\| more"));
    assert_non_null(strstr(o.md, "| **brand\\|model** |"));
    dg_textbuf b;
    memset(&b, 0, sizeof b);
    dg_html_escape(&b, "a<b>&\"c'");
    dg_textbuf_putc(&b, '\0');
    assert_string_equal(b.p, "a&lt;b&gt;&amp;&quot;c&#39;");
    dg_textbuf_free(&b);
    rendered_free(&o);
}

static void html_fetches_nothing_from_elsewhere(void **state)
{
    (void)state;
    char why[256];
    /* The check itself sees each kind of reference. */
    const char *leaks[] = {"<img src=\"https://x.example/a.png\">", "<a href=\"//x.example/\">",
                           "<img src='http://x/a'>", "<style>@import 'x.css';</style>",
                           "<style>p{background:url(http://x/a.png)}</style>",
                           "<p style=\"background:url( //x/a.png)\">", "<script>1</script>",
                           "<link rel=stylesheet href=x.css>", "<img src=file:///etc/a.png>",
                           "<meta http-equiv=\"refresh\" content=\"0; url=http://x\">"};
    for (size_t i = 0; i < sizeof leaks / sizeof *leaks; i++)
        if (rc_html_external_refs(leaks[i], why, sizeof why) == 0)
            fail_msg("the check misses %s", leaks[i]);
    assert_int_equal(rc_html_external_refs("<a href=\"#eda\">x</a><a href=\"eda/a.csv\">y</a>"
                                           "<img src=\"data:image/png;base64,AAAA\">"
                                           "<p>see src=http://x and url(http://y)</p>",
                                           why, sizeof why),
                     0);
    dg_report r;
    build(&r);
    rendered o;
    render(&r, &o);
    int n = rc_html_external_refs(o.html, why, sizeof why);
    if (n)
        fail_msg("report.html has %d references outside the file, the first %s", n, why);
    /* Every chart is inlined: its bytes, base64, in a data URI. */
    const char *charts[] = {"eda/eda-01-age.png", "maps/maps-all.png", "campaigns/reach.png",
                            "campaigns/precision.png"};
    for (int i = 0; i < 4; i++) {
        dg_textbuf b;
        memset(&b, 0, sizeof b);
        dg_textbuf_puts(&b, "src=\"data:image/png;base64,");
        dg_base64(&b, chart_bytes[i], chart_len[i]);
        dg_textbuf_puts(&b, "\"");
        dg_textbuf_putc(&b, '\0');
        if (!strstr(o.html, b.p))
            fail_msg("report.html does not inline %s as %s", charts[i], b.p);
        assert_non_null(strstr(o.md, charts[i])); /* Markdown links the same file */
        dg_textbuf_free(&b);
    }
    /* The page declares its width for phones, and tables scroll in a box. */
    assert_non_null(strstr(o.html, "<meta name=\"viewport\" content=\"width=device-width"));
    assert_non_null(strstr(o.html, ".scroll{overflow-x:auto"));
    assert_non_null(strstr(o.html, "img{display:block;max-width:100%"));
    rendered_free(&o);
}

static void base64_matches_rfc_4648(void **state)
{
    (void)state;
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        dg_textbuf b;
        memset(&b, 0, sizeof b);
        dg_base64(&b, (const unsigned char *)in[i], strlen(in[i]));
        dg_textbuf_putc(&b, '\0');
        assert_string_equal(b.p, out[i]);
        dg_textbuf_free(&b);
    }
    dg_textbuf b;
    memset(&b, 0, sizeof b);
    const unsigned char high[] = {0xff, 0xfe, 0xfd};
    dg_base64(&b, high, 3);
    dg_textbuf_putc(&b, '\0');
    assert_string_equal(b.p, "//79");
    dg_textbuf_free(&b);
}

static void a_missing_chart_is_refused(void **state)
{
    (void)state;
    dg_report r;
    build(&r);
    snprintf(r.map[0].png, sizeof r.map[0].png, "maps/maps-gone.png");
    dg_textbuf b;
    memset(&b, 0, sizeof b);
    dg_textbuf_puts(&b, "before");
    dg_err err;
    assert_int_equal(dg_report_html(&r, &b, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "maps/maps-gone.png"));
    assert_int_equal(b.len, 6); /* what was there stays; nothing half-written is added */
    dg_textbuf_free(&b);
}

static void write_puts_the_three_files_beside_each_other(void **state)
{
    (void)state;
    dg_report r;
    build(&r);
    dg_err err;
    if (dg_report_write(&r, &err) != DG_OK)
        fail_msg("%s", err.msg);
    const char *names[] = {"report.json", "report.md", "report.html"};
    for (int i = 0; i < 3; i++) {
        char *p = dg_path_join(tmp, names[i]);
        size_t len = 0;
        char *text = tu_read(p, &len);
        if (!text || len < 100)
            fail_msg("%s missing or short", p);
        free(text);
        free(p);
    }
}

/* The parts of the model filled from the library's results (report_of.c),
 * the same for a run and the workbench: the EDA files under eda/ by the
 * tables' slugs, the maps' files, the cluster shares (an empty run's too),
 * and only the train charts train drew, linked under the folder given. */
static void the_model_is_filled_from_the_results(void **state)
{
    (void)state;
    dg_report r;
    memset(&r, 0, sizeof r);
    dg_eda e;
    memset(&e, 0, sizeof e);
    e.ntables = 2;
    e.chart_of[0] = 1;
    e.chart_of[1] = 10;
    snprintf(e.slug[0], sizeof e.slug[0], "01-age");
    snprintf(e.slug[1], sizeof e.slug[1], "10-brands-age-0-24");
    snprintf(e.tables[0].title, sizeof e.tables[0].title, "Age");
    for (int i = 0; i < e.ntables; i++)
        dg_report_add_eda(&r, &e, i);
    assert_int_equal(r.have_eda, 1);
    assert_int_equal(r.neda, 2);
    assert_int_equal(r.eda[1].chart, 10);
    assert_string_equal(r.eda[0].title, "Age");
    assert_string_equal(r.eda[0].csv, "eda/eda-01-age.csv");
    assert_string_equal(r.eda[1].png, "eda/eda-10-brands-age-0-24.png");

    dg_report_set_map(&r, 1);
    assert_string_equal(r.map[1].name, dg_map_kind_name((dg_map_kind)1));
    char want[96];
    snprintf(want, sizeof want, "maps/maps-%s.png", r.map[1].name);
    assert_string_equal(r.map[1].png, want);

    dg_dbscan_report c = {.clusters = 3, .total_weight = 8, .noise_weight = 2,
                          .largest_cluster_weight = 4};
    dg_report_set_cluster(&r, &c, 0.5, 10, 100, 80, 40, NULL);
    assert_int_equal(r.have_cluster, 1);
    assert_int_equal(r.clusters, 3);
    assert_true(r.noise_share == 0.25 && r.largest_cluster_share == 0.5);
    assert_true(r.eps_km == 0.5 && r.min_pts == 10);
    assert_int_equal(r.cluster_events, 100);
    assert_int_equal(r.clustered_events, 80);
    assert_int_equal(r.distinct_locations, 40);
    dg_dbscan_report none = {0};
    dg_report_set_cluster(&r, &none, 0.5, 10, 0, 0, 0, NULL);
    assert_true(r.noise_share == 0 && r.largest_cluster_share == 0);

    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "roc_gender.png", "x"));
    free(tu_write_str(dir, "residuals_age_s2.png", "x"));
    dg_report_add_train_charts(&r, dir, "../train");
    assert_int_equal(r.ntrain_charts, 2);
    assert_string_equal(r.train_chart[0].name, "roc_gender");
    assert_string_equal(r.train_chart[0].png, "../train/roc_gender.png");
    assert_string_equal(r.train_chart[1].name, "residuals_age_s2");
    assert_string_equal(r.train_chart[1].png, "../train/residuals_age_s2.png");
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_renderings_state_the_same_facts),
        cmocka_unit_test(the_report_leads_with_the_results),
        cmocka_unit_test(html_escapes_every_data_string),
        cmocka_unit_test(html_fetches_nothing_from_elsewhere),
        cmocka_unit_test(base64_matches_rfc_4648),
        cmocka_unit_test(a_missing_chart_is_refused),
        cmocka_unit_test(write_puts_the_three_files_beside_each_other),
        cmocka_unit_test(the_model_is_filled_from_the_results),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
