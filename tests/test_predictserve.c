/* demographer predict and demographer serve --models against a model
 * directory trained here on a small generated set: predict equals the
 * library's dg_model_dir_predict, the API's GET equals predict's line, its
 * POST of a device described from the data's rows equals the same models on
 * that device, campaigns are answered, and a model directory of another
 * feature layout is refused by both commands. */
#define _GNU_SOURCE
#include "testutil.h"

#include "demographer/campaign.h"
#include "demographer/clean.h"
#include "demographer/dataset.h"
#include "demographer/prediction.h"
#include "demographer/serve.h"
#include "demographer/train.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmp, *data_dir, *train_dir, *cache_dir, *pred_path, *camp_dir, *other_super;

/* The data set and the models as the commands see them, built in-process. */
static dg_dataset raw;   /* as loaded: what a client would send */
static dg_dataset clean; /* loaded and cleaned by the default rules */
static dg_supercats sc;
static dg_features feat;
static dg_model_dir dir;
static dg_prediction *pred; /* predict's file */
static size_t npred;

static void run_ok(const char *cmd)
{
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fprintf(stderr, "# %s\n# exit %d: %s\n", cmd, rc, out ? out : "");
    assert_int_equal(rc, 0);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (asprintf(&data_dir, "%s/data", tmp) < 0 || asprintf(&train_dir, "%s/train", tmp) < 0 ||
        asprintf(&cache_dir, "%s/cache", tmp) < 0 || asprintf(&pred_path, "%s/pred.csv", tmp) < 0 ||
        asprintf(&camp_dir, "%s/campaigns", tmp) < 0)
        return -1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s synth --out %s --devices 3000 --seed 7 >/dev/null 2>&1",
             tu_bin(), data_dir);
    if (system(cmd) != 0)
        return -1;
    /* Softmax strongly regularised, so it beats the priors on some targets
     * at this size: the predictions then depend on the features. */
    snprintf(cmd, sizeof cmd,
             "%s train %s --out %s --families prior,softmax --grid softmax:l2=3,30 --folds 2 "
             "--no-charts --quiet --cache-dir %s >/dev/null 2>&1",
             tu_bin(), data_dir, train_dir, cache_dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd,
             "%s predict %s --models %s --out %s --campaigns-out %s --quiet --cache-dir %s",
             tu_bin(), data_dir, train_dir, pred_path, camp_dir, cache_dir);
    if (system(cmd) != 0)
        return -1;
    /* Other super-categories: another feature layout. */
    other_super = tu_write_str(tmp, "other_super.txt", "games: game\n");

    dg_err err;
    dg_load_opts lo = {.use_snapshot = 0};
    char path[4096];
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    dg_rules rules;
    dg_rules_init(&rules);
    dg_rules_default(&rules);
    dg_rule_effect fx[32];
    dg_dataset_init(&raw);
    dg_dataset_init(&clean);
    int ok = rules.n <= 32 && dg_supercats_load(&sc, path, &err) == DG_OK &&
             dg_dataset_load(&raw, data_dir, &lo, &err) == DG_OK &&
             dg_dataset_load(&clean, data_dir, &lo, &err) == DG_OK &&
             dg_clean(&clean, &rules, fx, NULL, &err) == DG_OK &&
             dg_features_for_models(&clean, &sc, DG_CLUSTER_EPS_KM_DEFAULT,
                                    DG_CLUSTER_MIN_PTS_DEFAULT, &feat, NULL, NULL,
                                    &err) == DG_OK &&
             dg_model_dir_open(&dir, train_dir, &err) == DG_OK &&
             dg_predictions_read(pred_path, &pred, &npred, &err) == DG_OK;
    dg_rules_free(&rules);
    if (!ok)
        fprintf(stderr, "# setup: %s\n", err.msg);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dg_model_dir_close(&dir);
    dg_features_free(&feat);
    dg_dataset_free(&raw);
    dg_dataset_free(&clean);
    dg_supercats_free(&sc);
    free(pred);
    tu_rmrf(tmp);
    free(tmp);
    free(data_dir);
    free(train_dir);
    free(cache_dir);
    free(pred_path);
    free(camp_dir);
    free(other_super);
    return 0;
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int prediction_equal(const dg_prediction *a, const dg_prediction *b)
{
    int eq = a->device_id == b->device_id && a->scenario == b->scenario &&
             same(a->p_female, b->p_female) && same(a->age, b->age);
    for (int g = 0; g < 6; g++)
        eq = eq && same(a->group6[g], b->group6[g]);
    for (int g = 0; g < 12; g++)
        eq = eq && same(a->group12[g], b->group12[g]);
    return eq;
}

static uint32_t row_of(int64_t id)
{
    for (uint32_t r = 0; r < feat.ndevices; r++)
        if (feat.device_id[r] == id)
            return r;
    fail_msg("device %lld has no feature row", (long long)id);
    return 0;
}

/* ---- predict ---- */

static void predict_equals_the_library(void **state)
{
    (void)state;
    assert_int_equal(npred, dir.ntest);
    uint32_t *rows = malloc(dir.ntest * sizeof *rows);
    for (size_t i = 0; i < dir.ntest; i++)
        rows[i] = row_of(dir.test_device[i]);
    dg_prediction *want = calloc(dir.ntest, sizeof *want);
    dg_err err;
    assert_int_equal(dg_model_dir_predict(&dir, &feat, rows, (uint32_t)dir.ntest, want, &err),
                     DG_OK);
    size_t s1 = 0, distinct = 0;
    for (size_t i = 0; i < npred; i++) {
        if (!prediction_equal(&pred[i], &want[i]))
            fail_msg("device %lld: predict's line differs from dg_model_dir_predict",
                     (long long)want[i].device_id);
        assert_int_equal(pred[i].scenario, dir.test_scenario[i]);
        s1 += pred[i].scenario == 1;
        distinct += i > 0 && pred[i].p_female != pred[0].p_female;
    }
    /* Both scenarios, and predictions that depend on the device. */
    assert_true(s1 > 0 && s1 < npred);
    assert_true(distinct > 0);
    free(rows);
    free(want);

    /* --devices all: every device of the data set. */
    char cmd[4096], *all_path;
    assert_true(asprintf(&all_path, "%s/all.csv", tmp) > 0);
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s/models --out %s --devices all --quiet "
             "--cache-dir %s", tu_bin(), data_dir, train_dir, all_path, cache_dir);
    run_ok(cmd);
    dg_prediction *all;
    size_t nall;
    assert_int_equal(dg_predictions_read(all_path, &all, &nall, &err), DG_OK);
    assert_int_equal(nall, feat.ndevices);
    for (size_t i = 0; i < npred; i++)
        assert_true(prediction_equal(&pred[i], &all[row_of(pred[i].device_id)]));
    free(all);
    free(all_path);
}

static void predict_writes_the_campaigns(void **state)
{
    (void)state;
    char path[4096];
    dg_err err;
    dg_deciles got, want;
    snprintf(path, sizeof path, "%s/thresholds.txt", camp_dir);
    assert_int_equal(dg_deciles_load(&got, path, &err), DG_OK);
    assert_int_equal(dg_deciles_fit_predictions(&want, pred, npred, "pred", &err), DG_OK);
    assert_int_equal(got.reference, npred);
    for (int k = 0; k < 9; k++)
        assert_true(got.edge[k] == want.edge[k]);
    const char *files[] = {"device_campaigns.csv", "reach.csv", "reach.png", "campaigns.rules"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", camp_dir, files[i]);
        assert_int_equal(access(path, R_OK), 0);
    }
    /* The reach has the test labels' precision. */
    snprintf(path, sizeof path, "%s/reach.csv", camp_dir);
    FILE *f = fopen(path, "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    /* campaign,name,condition,devices,share,labelled,correct,precision,...:
     * the first campaign (no comma in its name) has labelled test devices
     * and a precision. */
    char *field[9];
    char *cur = line;
    for (int i = 0; i < 9; i++)
        field[i] = strsep(&cur, ",");
    assert_non_null(field[8]);
    assert_true(atoi(field[5]) > 0);
    assert_true(strlen(field[7]) > 0);
}

/* The competition's submission: sample_submission.csv's header, the devices
 * of gender_age_test.csv in its order, 12 probabilities summing to 1, equal
 * to the model directory's group12 predictions scaled to their sum. */
static void predict_writes_a_kaggle_submission(void **state)
{
    (void)state;
    char cmd[4096], *sub_path;
    assert_true(asprintf(&sub_path, "%s/submission.csv", tmp) > 0);
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --kaggle-submission %s --quiet "
             "--cache-dir %s", tu_bin(), data_dir, train_dir, sub_path, cache_dir);
    run_ok(cmd);
    size_t len;
    char *text = tu_read(sub_path, &len);
    assert_non_null(text);
    const char *header = "device_id,F23-,F24-26,F27-28,F29-32,F33-42,F43+,M22-,M23-26,"
                         "M27-28,M29-31,M32-38,M39+";
    char *line = text, *next = strchr(line, '\n');
    assert_non_null(next);
    *next = 0;
    assert_string_equal(line, header);
    /* The real file's header, where the real data pieces are here. */
    char *real = tu_real_path("heads/sample_submission.csv");
    if (real) {
        char *head = tu_read(real, NULL);
        assert_non_null(head);
        head[strcspn(head, "\r\n")] = 0;
        assert_string_equal(line, head);
        free(head);
        free(real);
    }
    const dg_table *t = dg_dataset_table(&clean, DG_T_TEST);
    const dg_column *id = dg_table_column((dg_table *)t, "device_id");
    assert_non_null(id);
    assert_true(t->nrows > 0);
    uint32_t *rows = malloc(t->nrows * sizeof *rows);
    for (size_t i = 0; i < t->nrows; i++)
        rows[i] = row_of(dg_col_id(id, i));
    dg_prediction *want = calloc(t->nrows, sizeof *want);
    dg_err err;
    assert_int_equal(dg_model_dir_predict(&dir, &feat, rows, (uint32_t)t->nrows, want, &err),
                     DG_OK);
    size_t n = 0;
    for (line = next + 1; *line; line = next + 1, n++) {
        next = strchr(line, '\n');
        assert_non_null(next);
        *next = 0;
        assert_true(n < t->nrows);
        char *end;
        assert_int_equal(strtoll(line, &end, 10), dg_col_id(id, n));
        double sum = 0, wsum = 0;
        for (int g = 0; g < 12; g++)
            wsum += want[n].group12[g];
        for (int g = 0; g < 12; g++) {
            assert_int_equal(*end, ',');
            double p = strtod(end + 1, &end);
            assert_true(p >= 0 && p <= 1);
            assert_true(fabs(p - want[n].group12[g] / wsum) < 1e-15);
            sum += p;
        }
        assert_int_equal(*end, 0);
        assert_true(fabs(sum - 1) < 1e-12);
    }
    assert_int_equal(n, t->nrows);
    free(want);
    free(rows);
    free(text);
    free(sub_path);
}

static void predict_refuses_bad_input(void **state)
{
    (void)state;
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --out %s/x.csv --super %s --quiet "
             "--cache-dir %s", tu_bin(), data_dir, train_dir, tmp, other_super, cache_dir);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "demographer predict: "));
    assert_non_null(strstr(out, "the models were trained on feature layout"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s/x.csv", tmp);
    assert_int_equal(access(cmd, F_OK), -1); /* nothing written */
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --quiet", tu_bin(), data_dir, train_dir);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--out FILE or --kaggle-submission FILE is required"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --out %s/y.csv --devices some",
             tu_bin(), data_dir, train_dir, tmp);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--devices: expected test, labelled or all, found 'some'"));
    free(out);
    /* A folder without models (the snapshot cache); the output is not inside
     * it (an output inside an input is refused: next). */
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --out %s/y.csv", tu_bin(), data_dir,
             cache_dir, tmp);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "no model here"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s predict %s --models %s --out %s/y.csv", tu_bin(), data_dir,
             tmp, tmp);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "refusing --out"));
    free(out);
}

/* ---- serve --models ---- */

static pid_t server_pid;
static unsigned server_port;
/* The server's output after its start-up lines: kept open, so that a
 * sanitizer report it writes later is read (and fails the test) instead of
 * vanishing into a closed pipe. */
static FILE *server_out;

typedef struct reply {
    long status;
    char *body;
    size_t len;
    json_t *json;
} reply;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    r->body = realloc(r->body, r->len + size * n + 1);
    memcpy(r->body + r->len, data, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static reply http(const char *method, const char *path, const char *body)
{
    reply r;
    memset(&r, 0, sizeof r);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", server_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "# %s %s: %s\n", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (r.body)
        r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

static void reply_free(reply *r)
{
    free(r->body);
    json_decref(r->json);
}

static double num(const json_t *v)
{
    return json_is_null(v) ? NAN : json_number_value(v);
}

/* The answer's prediction equals p (the device id aside). */
static void assert_answer(const reply *r, const dg_prediction *p)
{
    if (r->status != 200 || !r->json)
        fail_msg("expected 200 with JSON, got %ld: %s", r->status, r->body ? r->body : "");
    const json_t *j = r->json;
    int eq = json_integer_value(json_object_get(j, "scenario")) == p->scenario &&
             same(num(json_object_get(j, "p_female")), p->p_female) &&
             same(num(json_object_get(j, "predicted_age")), p->age);
    const json_t *g6 = json_object_get(j, "group6"), *g12 = json_object_get(j, "group12");
    assert_int_equal(json_array_size(g6), 6);
    assert_int_equal(json_array_size(g12), 12);
    for (int g = 0; g < 6; g++)
        eq = eq && same(num(json_object_get(json_array_get(g6, g), "p")), p->group6[g]);
    for (int g = 0; g < 12; g++)
        eq = eq && same(num(json_object_get(json_array_get(g12, g), "p")), p->group12[g]);
    if (!eq)
        fail_msg("device %lld: the answer differs from the expected prediction: %s",
                 (long long)p->device_id, r->body);
}

static int start_server(const char *extra, char *first_lines, size_t cap)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    server_pid = fork();
    if (server_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "exec %s serve --models %s --data %s --port 0 --quiet "
                 "--no-access-log --cache-dir %s %s", tu_bin(), train_dir, data_dir, cache_dir,
                 extra);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    size_t used = 0;
    char line[2048];
    server_port = 0;
    first_lines[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        used += (size_t)snprintf(first_lines + used, cap - used, "%s", line);
        const char *at = strstr(line, "http://127.0.0.1:");
        if (at) {
            server_port = (unsigned)atoi(at + strlen("http://127.0.0.1:"));
            if (fgets(line, sizeof line, f))
                snprintf(first_lines + used, cap - used, "%s", line);
            break;
        }
        if (used >= cap - 1)
            break;
    }
    if (server_port) {
        server_out = f;
        return 0;
    }
    fclose(f);
    int st;
    waitpid(server_pid, &st, 0);
    server_pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void stop_server(void)
{
    kill(server_pid, SIGTERM);
    /* Quiet and without an access log, the server says nothing more than
     * its own shutdown line: anything else (a sanitizer report) fails. */
    char line[2048];
    int said = 0;
    while (fgets(line, sizeof line, server_out)) {
        fprintf(stderr, "# server: %s", line);
        said |= strncmp(line, "demographer serve: ", 19) != 0;
    }
    fclose(server_out);
    server_out = NULL;
    int st;
    assert_int_equal(waitpid(server_pid, &st, 0), server_pid);
    assert_false(said);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    server_pid = 0;
}

/* The POST body of a device, from the rows the generated CSVs hold for it. */
static char *describe(int64_t id, int *nevents)
{
    const dg_table *ph = &raw.tables[DG_T_PHONES], *ev = &raw.tables[DG_T_EVENTS],
                   *ae = &raw.tables[DG_T_APP_EVENTS];
    json_t *root = json_object();
    json_object_set_new(root, "device_id", json_sprintf("%lld", (long long)id));
    const int64_t *pid = dg_col_i64(dg_table_column(ph, "device_id"));
    for (uint64_t i = 0; i < ph->nrows; i++)
        if (pid[i] == id) {
            json_object_set_new(root, "brand", json_string(dg_strpool_get(
                &ph->strings, dg_col_u32(dg_table_column(ph, "phone_brand"))[i])));
            json_object_set_new(root, "model", json_string(dg_strpool_get(
                &ph->strings, dg_col_u32(dg_table_column(ph, "device_model"))[i])));
            break;
        }
    const int64_t *edev = dg_col_i64(dg_table_column(ev, "device_id"));
    const int32_t *eid = dg_col_i32(dg_table_column(ev, "event_id"));
    const int64_t *ets = dg_col_i64(dg_table_column(ev, "timestamp"));
    const float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    const float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    const int32_t *aeid = dg_col_i32(dg_table_column(ae, "event_id"));
    const dg_column *aapp = dg_table_column(ae, "app_id");
    const int8_t *inst = dg_col_i8(dg_table_column(ae, "is_installed"));
    const int8_t *act = dg_col_i8(dg_table_column(ae, "is_active"));
    json_t *events = json_array();
    *nevents = 0;
    for (uint64_t i = 0; i < ev->nrows; i++) {
        if (edev[i] != id)
            continue;
        json_t *e = json_object();
        time_t t = (time_t)ets[i];
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        json_object_set_new(e, "timestamp", json_string(when));
        if (!isnan(lat[i]) && !isnan(lon[i])) {
            /* %.9g: the float reads back exactly. */
            char buf[64];
            snprintf(buf, sizeof buf, "%.9g", (double)lat[i]);
            json_object_set_new(e, "latitude", json_real(strtod(buf, NULL)));
            snprintf(buf, sizeof buf, "%.9g", (double)lon[i]);
            json_object_set_new(e, "longitude", json_real(strtod(buf, NULL)));
        }
        json_t *apps = json_array();
        for (uint64_t k = 0; k < ae->nrows; k++)
            if (aeid[k] == eid[i]) {
                json_t *a = json_object();
                json_object_set_new(a, "app_id", json_sprintf("%lld",
                                                              (long long)dg_col_id(aapp, k)));
                json_object_set_new(a, "installed", json_boolean(inst[k]));
                json_object_set_new(a, "active", json_boolean(act[k]));
                json_array_append_new(apps, a);
            }
        json_object_set_new(e, "apps", apps);
        json_array_append_new(events, e);
        ++*nevents;
    }
    json_object_set_new(root, "events", events);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* What the models give a device of the data set with its cluster columns
 * unknown, as the API takes them for a described device. */
static void expected_described(int64_t id, dg_prediction *out)
{
    uint32_t row = row_of(id);
    float saved[DG_CLUSTER_NCOLS];
    int idx[DG_CLUSTER_NCOLS];
    for (int c = 0; c < DG_CLUSTER_NCOLS; c++) {
        idx[c] = dg_features_col(&feat, dg_cluster_cols[c]);
        assert_true(idx[c] >= 0);
        saved[c] = feat.dense[(size_t)row * feat.ncols + idx[c]];
        feat.dense[(size_t)row * feat.ncols + idx[c]] = NAN;
    }
    dg_err err;
    assert_int_equal(dg_model_dir_predict(&dir, &feat, &row, 1, out, &err), DG_OK);
    for (int c = 0; c < DG_CLUSTER_NCOLS; c++)
        feat.dense[(size_t)row * feat.ncols + idx[c]] = saved[c];
}

/* The campaign names of a prediction by the deciles predict saved. */
static void expected_campaigns(const dg_prediction *p, json_t **names)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/thresholds.txt", camp_dir);
    dg_deciles d;
    dg_err err;
    assert_int_equal(dg_deciles_load(&d, path, &err), DG_OK);
    dg_campaign_rules rules;
    dg_campaign_rules_default(&rules);
    dg_targeting t;
    dg_campaigns_assign(&rules, &d, p, &t);
    *names = json_array();
    for (int i = 0; i < rules.n; i++)
        if (t.campaigns & (1ull << i))
            json_array_append_new(*names, json_string(rules.v[i].name));
}

typedef struct poster {
    const char *body;
    const char *want;
    int ok;
} poster;

static void *post_many(void *arg)
{
    poster *p = arg;
    p->ok = 1;
    for (int i = 0; i < 10; i++) {
        reply r = http("POST", "/v1/predict", p->body);
        p->ok &= r.status == 200 && r.body && strcmp(r.body, p->want) == 0;
        reply_free(&r);
    }
    return NULL;
}

static void serve_answers_from_a_model_directory(void **state)
{
    (void)state;
    char lines[8192];
    assert_int_equal(start_server("", lines, sizeof lines), 0);
    assert_non_null(strstr(lines, "model version models:"));
    assert_non_null(strstr(lines, "POST /v1/predict served"));

    /* GET: every test device equals predict's line, with its campaigns. */
    size_t with_campaigns = 0;
    for (size_t i = 0; i < npred; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/devices/%lld", (long long)pred[i].device_id);
        reply r = http("GET", path, NULL);
        assert_answer(&r, &pred[i]);
        json_t *want;
        expected_campaigns(&pred[i], &want);
        assert_true(json_equal(json_object_get(r.json, "campaigns"), want));
        with_campaigns += json_array_size(want) > 0;
        json_decref(want);
        if (i == 0) {
            char version[64];
            snprintf(version, sizeof version, "data=%016llx",
                     (unsigned long long)dir.m[1][DG_TARGET_GENDER].data_checksum);
            assert_non_null(strstr(json_string_value(json_object_get(r.json, "model_version")),
                                   version));
        }
        reply_free(&r);
    }
    assert_true(with_campaigns > 0);

    /* Unknown devices: a labelled device of the train split, and one that
     * does not exist. */
    int64_t train_device = 0;
    for (uint32_t r = 0; r < feat.ndevices && !train_device; r++) {
        int listed = 0;
        for (size_t i = 0; i < dir.ntest; i++)
            listed |= dir.test_device[i] == feat.device_id[r];
        if (!listed)
            train_device = feat.device_id[r];
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/devices/%lld", (long long)train_device);
    reply r = http("GET", path, NULL);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\":\"unknown device\""));
    reply_free(&r);
    r = http("GET", "/v1/devices/12345", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = http("GET", "/health", NULL);
    assert_true(json_is_true(json_object_get(r.json, "predict")));
    reply_free(&r);

    /* POST: devices described from their data rows, in each scenario. A
     * device without events equals predict's line; one with events equals
     * the models on its features with the cluster columns unknown. */
    int done[3] = {0, 0, 0};
    char *s1_body = NULL, *s1_answer = NULL;
    for (size_t i = 0; i < npred && (done[1] < 3 || done[2] < 3); i++) {
        int s = pred[i].scenario;
        if (done[s] >= 3)
            continue;
        int nev;
        char *body = describe(pred[i].device_id, &nev);
        if (nev > DG_SERVE_MAX_EVENTS) {
            free(body);
            continue;
        }
        assert_int_equal(nev > 0, s == 1);
        reply a = http("POST", "/v1/predict", body);
        if (s == 2) {
            assert_answer(&a, &pred[i]);
        } else {
            dg_prediction want;
            expected_described(pred[i].device_id, &want);
            assert_answer(&a, &want);
        }
        char idtext[32];
        snprintf(idtext, sizeof idtext, "%lld", (long long)pred[i].device_id);
        assert_string_equal(json_string_value(json_object_get(a.json, "device_id")), idtext);
        assert_true(json_is_array(json_object_get(a.json, "campaigns")));
        if (s == 1 && !s1_body) {
            s1_body = body;
            s1_answer = strdup(a.body);
        } else {
            free(body);
        }
        reply_free(&a);
        done[s]++;
    }
    assert_int_equal(done[1], 3);
    assert_int_equal(done[2], 3);

    /* A device the data set has never seen: a brand of none of its phones,
     * an app no label knows. */
    r = http("POST", "/v1/predict",
             "{\"brand\":\"nobrand\",\"model\":\"nomodel\",\"events\":[{\"timestamp\":"
             "\"2016-05-01 08:00:00\",\"latitude\":31.2,\"longitude\":121.5,\"apps\":"
             "[{\"app_id\":\"42\"}]}]}");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "scenario")), 1);
    assert_true(json_is_null(json_object_get(r.json, "device_id")));
    double pf = num(json_object_get(r.json, "p_female"));
    assert_true(pf > 0 && pf < 1);
    reply_free(&r);

    /* Concurrent POSTs answer as a single one did. */
    pthread_t th[4];
    poster ps[4];
    for (int t = 0; t < 4; t++) {
        ps[t] = (poster){s1_body, s1_answer, 0};
        assert_int_equal(pthread_create(&th[t], NULL, post_many, &ps[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_true(ps[t].ok);
    }
    free(s1_body);
    free(s1_answer);
    stop_server();
}

static void serve_models_applies_the_thresholds(void **state)
{
    (void)state;
    /* Edges from a file: every device in decile 10 (all edges -inf is not
     * expressible; tiny edges are), so everyone is targeted as female. */
    char *thr = tu_write_str(tmp, "low.txt",
                             "reference 10\nedge 1 -1\nedge 2 -1\nedge 3 -1\nedge 4 -1\n"
                             "edge 5 -1\nedge 6 -1\nedge 7 -1\nedge 8 -1\nedge 9 -1\n");
    char extra[4200], lines[8192];
    snprintf(extra, sizeof extra, "--thresholds %s", thr);
    assert_int_equal(start_server(extra, lines, sizeof lines), 0);
    assert_non_null(strstr(lines, "campaign deciles from "));
    assert_non_null(strstr(lines, "low.txt"));
    char path[64];
    snprintf(path, sizeof path, "/v1/devices/%lld", (long long)pred[0].device_id);
    reply r = http("GET", path, NULL);
    assert_int_equal(r.status, 200);
    const json_t *c = json_object_get(r.json, "campaigns");
    int female = 0;
    for (size_t i = 0; i < json_array_size(c); i++)
        female |= strstr(json_string_value(json_array_get(c, i)), "ashion") != NULL;
    assert_true(female);
    reply_free(&r);
    stop_server();
    free(thr);
}

static void serve_models_refuses_bad_model_directories(void **state)
{
    (void)state;
    char extra[4200], lines[8192];
    snprintf(extra, sizeof extra, "--super %s", other_super);
    assert_int_equal(start_server(extra, lines, sizeof lines), 1);
    assert_non_null(strstr(lines, "demographer serve: "));
    assert_non_null(strstr(lines, "the models were trained on feature layout"));
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "%s serve --models %s --port 0", tu_bin(), train_dir);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--models DIR needs --data DATA_DIR"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s serve --models %s --data %s --predictions %s", tu_bin(),
             train_dir, data_dir, pred_path);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "exclude each other"));
    free(out);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(predict_equals_the_library),
        cmocka_unit_test(predict_writes_the_campaigns),
        cmocka_unit_test(predict_writes_a_kaggle_submission),
        cmocka_unit_test(predict_refuses_bad_input),
        cmocka_unit_test(serve_answers_from_a_model_directory),
        cmocka_unit_test(serve_models_applies_the_thresholds),
        cmocka_unit_test(serve_models_refuses_bad_model_directories),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
