/* The model interface's shared parts: hyper-parameter pairs, the family
 * registry and the group names. The families live one per file
 * (model_*.c). */
#include "demographer/model.h"

#include "model_blend.h"
#include "model_family.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The baselines (model_prior.c) first: every report puts them beside the rest. */
extern const dg_model_family dg_family_prior;

const dg_model_family *const dg_model_families[] = {
    &dg_family_prior,
    &dg_family_brand_model_prior,
    &dg_family_softmax,
    &dg_family_liblinear_lr_l2,
    &dg_family_liblinear_lr_l1,
    &dg_family_liblinear_svr,
    &dg_family_xgboost,
    &dg_family_libsvm_svc,
    &dg_family_libsvm_svr,
    &dg_family_phone_softmax,
    &dg_family_persona_softmax,
    NULL,
};

const dg_model_family *dg_model_family_find(const char *name)
{
    for (const dg_model_family *const *f = dg_model_families; *f; f++)
        if (strcmp((*f)->name, name) == 0)
            return *f;
    if (strcmp(name, dg_family_blend.name) == 0)
        return &dg_family_blend;
    return strcmp(name, dg_family_group12_sum.name) == 0 ? &dg_family_group12_sum : NULL;
}

int dg_task_nout(dg_task task, int nclasses)
{
    return task == DG_TASK_MULTICLASS ? nclasses : 1;
}

static int is_sep(char c)
{
    return c == ' ' || c == ',' || c == '\t';
}

int dg_params_parse(dg_params *p, const char *text, const char *const *known, dg_err *err)
{
    memset(p, 0, sizeof *p);
    const char *s = text;
    for (;;) {
        while (is_sep(*s))
            s++;
        if (!*s)
            return DG_OK;
        const char *eq = s;
        while (*eq && *eq != '=' && !is_sep(*eq))
            eq++;
        if (*eq != '=' || eq == s)
            return dg_fail(err, "parameters '%s': expected NAME=VALUE at '%.*s'", text,
                           (int)strcspn(s, " ,\t"), s);
        size_t len = (size_t)(eq - s);
        if (len >= sizeof p->name[0])
            return dg_fail(err, "parameters '%s': the name '%.*s' is too long", text, (int)len,
                           s);
        if (p->n == DG_PARAMS_MAX)
            return dg_fail(err, "parameters '%s': more than %d", text, DG_PARAMS_MAX);
        char name[sizeof p->name[0]];
        memcpy(name, s, len);
        name[len] = 0;
        if (known) {
            int found = 0;
            for (const char *const *k = known; *k && !found; k++)
                found = strcmp(*k, name) == 0;
            if (!found)
                return dg_fail(err, "parameters '%s': unknown parameter '%s'", text, name);
        }
        for (int i = 0; i < p->n; i++)
            if (strcmp(p->name[i], name) == 0)
                return dg_fail(err, "parameters '%s': '%s' is given twice", text, name);
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || (*end && !is_sep(*end)) || !isfinite(v))
            return dg_fail(err, "parameters '%s': '%s' needs a finite number, found '%.*s'", text,
                           name, (int)strcspn(eq + 1, " ,\t"), eq + 1);
        memcpy(p->name[p->n], name, len + 1);
        p->value[p->n++] = v;
        s = end;
    }
}

double dg_param(const dg_params *p, const char *name, double dflt)
{
    for (int i = 0; p && i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return dflt;
}

void dg_params_format(const dg_params *p, char *buf, size_t size)
{
    size_t at = 0;
    if (size)
        buf[0] = 0;
    for (int i = 0; i < p->n && at < size; i++) {
        /* The shortest %g precision that reads back as the same double. */
        char num[32];
        int prec = 1;
        for (; prec <= 17; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, p->value[i]);
            if (strtod(num, NULL) == p->value[i])
                break;
        }
        /* 20 reads back from "2e+01" too; whole numbers keep their digits. */
        double mag = fabs(p->value[i]);
        int digits = mag >= 1 ? (int)floor(log10(mag)) + 1 : 0;
        if (strchr(num, 'e') && mag < 1e15 && digits > prec)
            snprintf(num, sizeof num, "%.*g", digits, p->value[i]);
        int w = snprintf(buf + at, size - at, "%s%s=%s", i ? " " : "", p->name[i], num);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

const char *const dg_group6_names[6] = {"F0-24", "F25-32", "F32+", "M0-24", "M25-32", "M32+"};
const char *const dg_group12_names[12] = {"F23-",   "F24-26", "F27-28", "F29-32",
                                          "F33-42", "F43+",   "M22-",   "M23-26",
                                          "M27-28", "M29-31", "M32-38", "M39+"};

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int dg_group6_index(const char *name)
{
    return name_index(dg_group6_names, 6, name);
}

int dg_group12_index(const char *name)
{
    return name_index(dg_group12_names, 12, name);
}

int dg_group6_of(int female, double age)
{
    int band = age <= 24 ? 0 : age <= 32 ? 1 : 2;
    return (female ? 0 : 3) + band;
}

int dg_group12_of(int female, double age)
{
    /* Upper bounds of each band, from the Kaggle group names. */
    static const double female_top[] = {23, 26, 28, 32, 42};
    static const double male_top[] = {22, 26, 28, 31, 38};
    const double *top = female ? female_top : male_top;
    int band = 0;
    while (band < 5 && age > top[band])
        band++;
    return (female ? 0 : 6) + band;
}
