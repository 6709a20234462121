/* Model directories: a train --out models/ read back, its models' predictions
 * and their test metrics again (see train.h). */
#include "demographer/train.h"

#include "demographer/i64map.h"
#include "demographer/textbuf.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- model directories ---------------------------------------------------------------- */

typedef struct meta {
    char target[16], family[48], params[200], layout[20], data[20];
    int scenario;
    long long ncols; /* -1 when absent */
    double cv_score;
    dg_eval test; /* the metrics of metrics.def; its task is the reader's */
} meta;

/* A number of meta.txt: "VALUE" of KEY into *v, or why not. */
static int meta_number(const char *path, int lineno, const char *key, const char *val,
                       double *v, dg_err *err)
{
    char *end;
    *v = strtod(val, &end);
    if (end == val || *end)
        return dg_fail(err, "%s:%d: %s needs a number, found '%s'", path, lineno, key, val);
    return DG_OK;
}

static int meta_read(const char *path, meta *m, dg_err *err)
{
    FILE *fp = dg_open_regular(path, 0, err);
    if (!fp)
        return DG_ERR;
    memset(m, 0, sizeof *m);
    m->ncols = -1;
    m->cv_score = NAN;
    for (int i = 0; i < DG_METRIC_COUNT; i++)
        *dg_eval_at(&m->test, (dg_metric)i) = NAN;
    char line[512];
    int lineno = 0, rc = DG_OK, have_format = 0;
    while (rc == DG_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp) {
            rc = dg_fail(err, "%s:%d: expected 'KEY VALUE', found '%.60s'", path, lineno, line);
            break;
        }
        *sp = 0;
        const char *key = line, *val = sp + 1;
        if (strcmp(key, "format") == 0) {
            have_format = strcmp(val, "demographer-model 1") == 0;
            if (!have_format)
                rc = dg_fail(err, "%s:%d: format '%s'; this demographer reads "
                                  "'demographer-model 1'",
                             path, lineno, val);
        } else if (strcmp(key, "target") == 0)
            snprintf(m->target, sizeof m->target, "%s", val);
        else if (strcmp(key, "family") == 0)
            snprintf(m->family, sizeof m->family, "%s", val);
        else if (strcmp(key, "params") == 0)
            snprintf(m->params, sizeof m->params, "%s", val);
        else if (strcmp(key, "layout") == 0)
            snprintf(m->layout, sizeof m->layout, "%s", val);
        else if (strcmp(key, "data") == 0)
            snprintf(m->data, sizeof m->data, "%s", val);
        else if (strcmp(key, "scenario") == 0)
            m->scenario = atoi(val);
        else if (strcmp(key, "ncols") == 0) {
            char *end;
            errno = 0;
            m->ncols = strtoll(val, &end, 10);
            if (end == val || *end || errno || m->ncols < 0 || m->ncols > UINT32_MAX)
                rc = dg_fail(err, "%s:%d: ncols needs a column count, found '%.40s'", path,
                             lineno, val);
        }
        else if (strcmp(key, "cv_score") == 0)
            rc = meta_number(path, lineno, key, val, &m->cv_score, err);
        else
            for (int i = 0; i < DG_METRIC_COUNT; i++)
                if (strcmp(key, dg_metrics[i].name) == 0)
                    rc = meta_number(path, lineno, key, val, dg_eval_at(&m->test, (dg_metric)i),
                                     err);
    }
    fclose(fp);
    if (rc == DG_OK && !have_format)
        rc = dg_fail(err, "%s: no 'format demographer-model 1' line: not a model's meta.txt",
                     path);
    return rc;
}

void dg_model_dir_close(dg_model_dir *d)
{
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            dg_loaded_model *m = &d->m[s][t];
            if (m->model)
                m->family->free(m->model);
            dg_design_spec_free(&m->spec);
        }
    free(d->path);
    free(d->test_device);
    free(d->test_scenario);
    memset(d, 0, sizeof *d);
}

static int read_test_devices(dg_model_dir *d, const char *path, dg_err *err)
{
    FILE *fp = dg_open_regular(path, 0, err);
    if (!fp)
        return DG_ERR;
    char line[128];
    int lineno = 0, rc = DG_OK;
    size_t cap = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, "device_id,scenario\n") != 0)
                rc = dg_fail(err, "%s:1: expected the header 'device_id,scenario'", path);
            if (rc != DG_OK)
                break;
            continue;
        }
        int64_t id;
        int s;
        if (sscanf(line, "%" SCNd64 ",%d", &id, &s) != 2 || (s != 1 && s != 2)) {
            rc = dg_fail(err, "%s:%d: expected DEVICE_ID,SCENARIO (1 or 2), found '%.40s'", path,
                         lineno, line);
            break;
        }
        if (d->ntest == cap) {
            cap = cap ? 2 * cap : 1024;
            d->test_device = dg_xrealloc(d->test_device, cap * sizeof *d->test_device);
            d->test_scenario = dg_xrealloc(d->test_scenario, cap);
        }
        d->test_device[d->ntest] = id;
        d->test_scenario[d->ntest++] = (int8_t)s;
    }
    fclose(fp);
    return rc;
}

/* ---- checksums.txt: every file of the folder sealed ---------------------------------- */

static const char seal_format[] = "demographer-checksums 1";

static int put_file_sum(dg_textbuf *b, const char *dir, const char *rel, dg_err *err)
{
    char *path = dg_path_join(dir, rel);
    uint64_t h;
    int rc = dg_file_xxh3(path, &h, err);
    free(path);
    if (rc == DG_OK)
        dg_textbuf_printf(b, "file %s %016" PRIx64 "\n", rel, h);
    return rc;
}

int dg_model_dir_seal(const char *dir, uint64_t data, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_printf(&b, "%s\ndata %016" PRIx64 "\n", seal_format, data);
    struct dirent **top = NULL;
    int ntop = scandir(dir, &top, NULL, alphasort), rc = DG_OK;
    if (ntop < 0)
        rc = dg_fail(err, "%s: cannot list: %s", dir, strerror(errno));
    for (int i = 0; i < ntop; i++) {
        const char *name = top[i]->d_name;
        char *path = dg_path_join(dir, name);
        struct stat st;
        if (rc == DG_OK && name[0] != '.' && strcmp(name, DG_MODEL_DIR_CHECKSUMS) != 0 &&
            lstat(path, &st) == 0) {
            if (S_ISREG(st.st_mode)) {
                rc = put_file_sum(&b, dir, name, err);
            } else if (S_ISDIR(st.st_mode)) {
                struct dirent **sub = NULL;
                int nsub = scandir(path, &sub, NULL, alphasort);
                if (nsub < 0)
                    rc = dg_fail(err, "%s: cannot list: %s", path, strerror(errno));
                for (int k = 0; k < nsub; k++) {
                    char rel[600];
                    snprintf(rel, sizeof rel, "%.250s/%.250s", name, sub[k]->d_name);
                    char *sp = dg_path_join(dir, rel);
                    if (rc == DG_OK && sub[k]->d_name[0] != '.' && lstat(sp, &st) == 0 &&
                        S_ISREG(st.st_mode))
                        rc = put_file_sum(&b, dir, rel, err);
                    free(sp);
                    free(sub[k]);
                }
                free(sub);
            }
        }
        free(path);
        free(top[i]);
    }
    free(top);
    dg_textbuf_puts(&b, "end\n");
    if (rc == DG_OK) {
        char *path = dg_path_join(dir, DG_MODEL_DIR_CHECKSUMS);
        rc = dg_textbuf_save(&b, path, err);
        free(path);
    }
    dg_textbuf_free(&b);
    return rc;
}

/* A name checksums.txt may list: FILE or FOLDER/FILE, no "." or ".."
 * element, nothing absolute (a listed path never leads out of the folder). */
static int sealed_name_ok(const char *rel)
{
    int parts = 0;
    for (const char *p = rel;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        parts++;
        if (!p[n])
            break;
        p += n + 1;
    }
    return parts <= 2;
}

static int parse_hex64(const char *s, uint64_t *v)
{
    char *end;
    if (strlen(s) != 16 || strspn(s, "0123456789abcdef") != 16)
        return DG_ERR;
    errno = 0;
    *v = strtoull(s, &end, 16);
    return *end || errno ? DG_ERR : DG_OK;
}

/* Checks every file checksums.txt lists; listed[s][t] says which model
 * folders it names (by their meta.txt), *data the training data's checksum. */
static int verify_seal(const char *dir, int listed[3][DG_TARGET_COUNT], uint64_t *data,
                       dg_err *err)
{
    char *path = dg_path_join(dir, DG_MODEL_DIR_CHECKSUMS), *text = NULL;
    size_t len;
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        int rc = dg_fail(err, "%s: missing: without it the model files cannot be checked "
                              "(a models/ folder of an earlier demographer, or a damaged one); "
                              "train the models again",
                         path);
        free(path);
        return rc;
    }
    if (dg_read_file(path, &text, &len, err) != DG_OK) {
        free(path);
        return DG_ERR;
    }
    int rc = DG_OK, lineno = 0, ended = 0, have_data = 0;
    char *save = NULL;
    if (strlen(text) != len)
        rc = dg_fail(err, "%s: holds a NUL byte: not a checksums file", path);
    for (char *line = strtok_r(text, "\n", &save); line && rc == DG_OK;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (ended) {
            rc = dg_fail(err, "%s:%d: text after 'end'", path, lineno);
        } else if (lineno == 1) {
            if (strcmp(line, seal_format) != 0)
                rc = dg_fail(err, "%s:1: expected '%s', found '%.60s'", path, seal_format, line);
        } else if (strncmp(line, "data ", 5) == 0) {
            if (parse_hex64(line + 5, data) != DG_OK)
                rc = dg_fail(err, "%s:%d: expected 'data HEX' (16 hex digits)", path, lineno);
            have_data = 1;
        } else if (strncmp(line, "file ", 5) == 0) {
            char *rel = line + 5, *sp = strrchr(rel, ' ');
            uint64_t want, got;
            if (!sp || parse_hex64(sp + 1, &want) != DG_OK) {
                rc = dg_fail(err, "%s:%d: expected 'file NAME HEX', found '%.60s'", path,
                             lineno, line);
                break;
            }
            *sp = 0;
            if (!sealed_name_ok(rel)) {
                rc = dg_fail(err, "%s:%d: '%.60s' is not a name inside the folder", path, lineno,
                             rel);
                break;
            }
            char *fp = dg_path_join(dir, rel);
            struct stat fst;
            if (lstat(fp, &fst) != 0 && errno == ENOENT)
                rc = dg_fail(err, "%s: missing, but %s lists it (a model removed?): train the "
                                  "models again",
                             fp, DG_MODEL_DIR_CHECKSUMS);
            else
                rc = dg_file_xxh3(fp, &got, err);
            if (rc == DG_OK && got != want)
                rc = dg_fail(err, "%s: its contents differ from the checksum %s lists (edited, "
                                  "damaged or from another run): train the models again",
                             fp, DG_MODEL_DIR_CHECKSUMS);
            free(fp);
            for (int s = 1; s <= 2; s++)
                for (int t = 0; t < DG_TARGET_COUNT; t++) {
                    char name[64];
                    snprintf(name, sizeof name, "s%d-%s/meta.txt", s, dg_target_name((dg_target)t));
                    if (strcmp(rel, name) == 0)
                        listed[s][t] = 1;
                }
        } else if (strcmp(line, "end") == 0) {
            ended = 1;
        } else {
            rc = dg_fail(err, "%s:%d: expected 'file NAME HEX', 'data HEX' or 'end', found "
                              "'%.60s'",
                         path, lineno, line);
        }
    }
    if (rc == DG_OK && (!ended || !have_data))
        rc = dg_fail(err, "%s: cut short (no %s line): train the models again", path,
                     have_data ? "'end'" : "'data'");
    free(text);
    free(path);
    return rc;
}

int dg_model_dir_open(dg_model_dir *d, const char *dir, dg_err *err)
{
    memset(d, 0, sizeof *d);
    /* A train --out directory holds models/; accept either. */
    char *sub = dg_path_join(dir, "models");
    struct stat st;
    d->path = stat(sub, &st) == 0 && S_ISDIR(st.st_mode) ? sub : (free(sub), dg_xstrdup(dir));
    int listed[3][DG_TARGET_COUNT];
    memset(listed, 0, sizeof listed);
    uint64_t data = 0;
    int rc = DG_OK, found = 0, folders = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            char name[64];
            snprintf(name, sizeof name, "s%d-%s", s, dg_target_name((dg_target)t));
            char *mdir = dg_path_join(d->path, name);
            folders += lstat(mdir, &st) == 0;
            free(mdir);
        }
    if (!folders)
        rc = dg_fail(err, "%s: no model here (expected s1-gender/meta.txt ... s2-group12/meta.txt, "
                          "as demographer train --out writes under models/)",
                     d->path);
    if (rc == DG_OK)
        rc = verify_seal(d->path, listed, &data, err);
    for (int s = 1; s <= 2 && rc == DG_OK; s++)
        for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++) {
            char name[64];
            snprintf(name, sizeof name, "s%d-%s", s, dg_target_name((dg_target)t));
            char *mdir = dg_path_join(d->path, name);
            char *metap = dg_path_join(mdir, "meta.txt"), *designp = dg_path_join(mdir, "design.txt"),
                 *modelp = dg_path_join(mdir, "model");
            int here = lstat(mdir, &st) == 0;
            if (here != listed[s][t])
                rc = here ? dg_fail(err, "%s: a model folder %s does not list (copied from "
                                         "another run?): train the models again",
                                    mdir, DG_MODEL_DIR_CHECKSUMS)
                          : dg_fail(err, "%s: missing, but %s lists it: train the models again",
                                    mdir, DG_MODEL_DIR_CHECKSUMS);
            if (rc == DG_OK && here) {
                dg_loaded_model *m = &d->m[s][t];
                meta mt;
                dg_design_spec_init(&m->spec);
                rc = meta_read(metap, &mt, err);
                if (rc == DG_OK && (mt.scenario != s || strcmp(mt.target, name + 3) != 0))
                    rc = dg_fail(err, "%s: says scenario %d target '%s' but lies in %s", metap,
                                 mt.scenario, mt.target, name);
                if (rc == DG_OK && !(m->family = dg_model_family_find(mt.family)))
                    rc = dg_fail(err, "%s: model family '%s' is not in this demographer", metap,
                                 mt.family);
                if (rc == DG_OK)
                    rc = dg_design_load(&m->spec, designp, err);
                uint64_t layout = strtoull(mt.layout, NULL, 16);
                if (rc == DG_OK && layout != m->spec.fingerprint)
                    rc = dg_fail(err, "%s: layout %s differs from its design.txt's %016" PRIx64,
                                 metap, mt.layout, m->spec.fingerprint);
                if (rc == DG_OK && mt.ncols != (long long)dg_design_ncols(&m->spec))
                    rc = dg_fail(err, "%s: says %lld columns, but its design.txt makes %u", metap,
                                 mt.ncols, dg_design_ncols(&m->spec));
                uint64_t mdata = 0;
                if (rc == DG_OK && parse_hex64(mt.data, &mdata) != DG_OK)
                    rc = dg_fail(err, "%s: expected 'data HEX' (16 hex digits), found '%s'", metap,
                                 mt.data);
                if (rc == DG_OK && mdata != data)
                    rc = dg_fail(err, "%s: trained on data %s, but the folder's %s says %016" PRIx64
                                      " (a model from another run?)",
                                 metap, mt.data, DG_MODEL_DIR_CHECKSUMS, data);
                if (rc == DG_OK && found && layout != d->fingerprint)
                    rc = dg_fail(err, "%s: layout %s differs from the other models' %016" PRIx64,
                                 metap, mt.layout, d->fingerprint);
                if (rc == DG_OK)
                    rc = m->family->load(modelp, &m->model, err);
                int want = dg_task_nout(dg_target_task((dg_target)t),
                                        dg_target_nclasses((dg_target)t));
                if (rc == DG_OK && m->family->nout(m->model) != want)
                    rc = dg_fail(err, "%s: gives %d numbers per device, but %s needs %d", modelp,
                                 m->family->nout(m->model), dg_target_name((dg_target)t), want);
                if (rc == DG_OK) {
                    d->fingerprint = layout;
                    m->present = 1;
                    snprintf(m->params, sizeof m->params, "%s", mt.params);
                    m->cv_score = mt.cv_score;
                    m->test = mt.test;
                    m->test.task = dg_target_task((dg_target)t);
                    m->test.nclasses = dg_target_nclasses((dg_target)t);
                    m->data_checksum = strtoull(mt.data, NULL, 16);
                    found++;
                }
            }
            free(mdir);
            free(metap);
            free(designp);
            free(modelp);
        }
    if (rc == DG_OK && !found)
        rc = dg_fail(err, "%s: no model here (expected s1-gender/meta.txt ... s2-group12/meta.txt, "
                          "as demographer train --out writes under models/)",
                     d->path);
    if (rc == DG_OK) {
        char *tp = dg_path_join(d->path, "test_devices.csv");
        rc = read_test_devices(d, tp, err);
        free(tp);
    }
    if (rc != DG_OK)
        dg_model_dir_close(d);
    return rc;
}

int dg_model_dir_check(const dg_model_dir *d, const dg_features *f, dg_err *err)
{
    uint64_t fp = dg_features_fingerprint(f);
    if (fp != d->fingerprint)
        return dg_fail(err,
                       "%s: the models were trained on feature layout %016" PRIx64
                       " but these features have layout %016" PRIx64
                       " (%d dense columns: %s ... %s); train again on these features, or use "
                       "the features (super-category rules) the models were trained with",
                       d->path, d->fingerprint, fp, f->ncols, f->ncols ? f->col_names[0] : "",
                       f->ncols ? f->col_names[f->ncols - 1] : "");
    return DG_OK;
}

int dg_model_dir_predict_target(const dg_model_dir *d, int scenario, dg_target t,
                                const dg_features *f, const uint32_t *rows, uint32_t n,
                                double *out, dg_err *err)
{
    const dg_loaded_model *m = &d->m[scenario][t];
    if (!m->present)
        return dg_fail(err, "%s: no model for scenario %d %s", d->path, scenario,
                       dg_target_name(t));
    dg_csr x;
    if (dg_design_apply(&m->spec, f, rows, n, &x, err) != DG_OK)
        return DG_ERR;
    int rc = m->family->predict(m->model, &x, out, err);
    dg_csr_free(&x);
    /* A damaged model can answer NaN (or infinity): never passed on as a
     * prediction, nor to the metrics. */
    size_t nout = (size_t)n * (size_t)dg_task_nout(dg_target_task(t), dg_target_nclasses(t));
    for (size_t i = 0; rc == DG_OK && i < nout; i++)
        if (!isfinite(out[i]))
            rc = dg_fail(err, "%s/s%d-%s: the model gives %g for device %" PRId64
                              "; it is damaged: train it again",
                         d->path, scenario, dg_target_name(t), out[i],
                         f->device_id[rows[i / (nout / n)]]);
    return rc;
}

int dg_model_dir_predict(const dg_model_dir *d, const dg_features *f, const uint32_t *rows,
                         uint32_t n, dg_prediction *out, dg_err *err)
{
    if (dg_model_dir_check(d, f, err) != DG_OK)
        return DG_ERR;
    int evcol = dg_features_col(f, "events");
    uint32_t *part = dg_xmalloc(((size_t)n + 1) * sizeof *part);
    uint32_t *where = dg_xmalloc(((size_t)n + 1) * sizeof *where);
    double *buf = dg_xmalloc(((size_t)n * 12 + 1) * sizeof *buf);
    for (uint32_t i = 0; i < n; i++) {
        dg_prediction *p = &out[i];
        memset(p, 0, sizeof *p);
        p->device_id = f->device_id[rows[i]];
        p->scenario = evcol >= 0 && f->dense[(size_t)rows[i] * f->ncols + evcol] > 0 ? 1 : 2;
        p->p_female = p->age = NAN;
        for (int g = 0; g < 6; g++)
            p->group6[g] = NAN;
        for (int g = 0; g < 12; g++)
            p->group12[g] = NAN;
    }
    int rc = DG_OK;
    for (int s = 1; s <= 2 && rc == DG_OK; s++) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (out[i].scenario == s) {
                where[m] = i;
                part[m++] = rows[i];
            }
        if (!m)
            continue;
        for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++) {
            if (!d->m[s][t].present)
                continue;
            rc = dg_model_dir_predict_target(d, s, (dg_target)t, f, part, m, buf, err);
            int k = dg_task_nout(dg_target_task((dg_target)t), dg_target_nclasses((dg_target)t));
            for (uint32_t i = 0; rc == DG_OK && i < m; i++) {
                dg_prediction *p = &out[where[i]];
                const double *v = buf + (size_t)i * k;
                if (t == DG_TARGET_GENDER)
                    p->p_female = v[0];
                else if (t == DG_TARGET_AGE)
                    p->age = v[0];
                else if (t == DG_TARGET_GROUP6)
                    memcpy(p->group6, v, 6 * sizeof *v);
                else
                    memcpy(p->group12, v, 12 * sizeof *v);
            }
        }
    }
    free(part);
    free(where);
    free(buf);
    return rc;
}

int dg_model_dir_evaluate(const dg_model_dir *d, int s, dg_target t, const dg_features *f,
                          const dg_labelled *l, dg_eval *out, dg_err *err)
{
    dg_i64map ids;
    dg_i64map_init(&ids);
    for (uint32_t i = 0; i < l->n; i++)
        dg_i64map_put(&ids, l->device_id[i]);
    uint32_t *rows = dg_xmalloc((d->ntest + 1) * sizeof *rows);
    double *y = dg_xmalloc((d->ntest + 1) * sizeof *y);
    uint32_t n = 0, missing = 0;
    for (size_t i = 0; i < d->ntest; i++) {
        if (d->test_scenario[i] != s)
            continue;
        uint32_t k = dg_i64map_get(&ids, d->test_device[i]);
        if (k == UINT32_MAX) {
            missing++;
            continue;
        }
        rows[n] = l->row[k];
        y[n++] = dg_labelled_y(l, t, k);
    }
    dg_i64map_free(&ids);
    int rc = DG_OK;
    if (missing)
        rc = dg_fail(err, "%u test devices of scenario %d listed in %s/test_devices.csv are not "
                          "labelled devices of this data set",
                     missing, s, d->path);
    int k = dg_target_nclasses(t), nout = dg_task_nout(dg_target_task(t), k);
    double *pred = dg_xmalloc(((size_t)n * nout + 1) * sizeof *pred);
    if (rc == DG_OK)
        rc = dg_model_dir_predict_target(d, s, t, f, rows, n, pred, err);
    if (rc == DG_OK)
        dg_evaluate(dg_target_task(t), k, y, pred, n, out);
    free(rows);
    free(y);
    free(pred);
    return rc;
}

