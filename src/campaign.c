/* Campaigns: the rule file, the decile rule, age buckets, reach (see
 * campaign.h for the exact definitions). */
#include "demographer/campaign.h"

#include "demographer/csv.h"
#include "demographer/eda.h"
#include "demographer/plot.h"
#include "demographer/table.h"
#include "demographer/textbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const dg_gender_class_names[3] = {"-", "female", "male"};
/* The rule files of earlier versions named the buckets 0-24, 24-32, 32+
 * (the same edges); they still parse, and are written with eda.h's names. */
static const char *const old_bucket_names[DG_AGE_NBUCKETS] = {"0-24", "24-32", "32+"};

const char *dg_age_bucket_name(int bucket)
{
    return dg_age_group_name(DG_AGES_MAPS, bucket);
}

/* ---- the default rules ---------------------------------------------------- */

static void add_campaign(dg_campaign_rules *r, int id, const char *name, unsigned gender_mask,
                         unsigned age_mask)
{
    dg_campaign *c = &r->v[r->n++];
    c->id = id;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->gender_mask = gender_mask;
    c->age_mask = age_mask;
}

void dg_campaign_rules_default(dg_campaign_rules *r)
{
    memset(r, 0, sizeof *r);
    r->age_rule = DG_AGE_RULE_VALUE;
    r->female_deciles = 3;
    r->male_deciles = 3;
    add_campaign(r, 1, "Personalised fashion-related campaigns", 1u << DG_GENDER_FEMALE, 0);
    add_campaign(r, 2, "Cashback offers on special days (International Women's Day etc.)",
                 1u << DG_GENDER_FEMALE, 0);
    add_campaign(r, 3, "Personalised call and data packs", 1u << DG_GENDER_MALE, 0);
    add_campaign(r, 4, "Bundled smartphone offers", 0, 1u << DG_AGE_0_24);
    add_campaign(r, 5, "Payment wallet offers", 0, 1u << DG_AGE_25_32);
    add_campaign(r, 6, "Cashback offers for Privilege Membership", 0, 1u << DG_AGE_33_UP);
}

/* ---- the rule file -------------------------------------------------------- */

typedef struct token {
    const char *s; /* the raw text (quotes and escapes included) */
    size_t len;
    int col;       /* 1-based byte column */
    int quoted;
} token;

#define MAX_TOKENS 16

/* Splits one line (without its newline) into tokens; '#' outside quotes ends
 * it. Returns the number of tokens, or -1 with err set. */
static int tokenize(const char *line, size_t len, const char *origin, int lineno, token *tok,
                    dg_err *err)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '#')
            break;
        if (n == MAX_TOKENS)
            return dg_fail(err, "%s:%d:%zu: expected at most %d words on a line, found more",
                           origin, lineno, i + 1, MAX_TOKENS);
        token *t = &tok[n++];
        t->s = line + i;
        t->col = (int)i + 1;
        t->quoted = c == '"';
        if (t->quoted) {
            size_t j = i + 1;
            while (j < len && line[j] != '"') {
                if (line[j] == '\\') {
                    if (j + 1 >= len || (line[j + 1] != '"' && line[j + 1] != '\\'))
                        return dg_fail(err,
                                       "%s:%d:%zu: expected \\\" or \\\\ after a backslash in a "
                                       "name, found '\\%.1s'",
                                       origin, lineno, j + 1, j + 1 < len ? line + j + 1 : "");
                    j++;
                }
                j++;
            }
            if (j >= len)
                return dg_fail(err, "%s:%d:%d: expected a closing '\"' for the name, found the "
                               "end of the line", origin, lineno, t->col);
            i = j + 1;
            if (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#')
                return dg_fail(err, "%s:%d:%zu: expected a blank after the closing '\"', found "
                               "'%c'", origin, lineno, i + 1, line[i]);
        } else {
            while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
                   line[i] != '#')
                i++;
        }
        t->len = (size_t)(line + i - t->s);
    }
    return n;
}

static int tok_is(const token *t, const char *word)
{
    return !t->quoted && t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/* A whole number in [min, max], or -1. */
static long tok_int(const token *t, long min, long max)
{
    if (t->quoted || t->len == 0 || t->len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->s[i] < '0' || t->s[i] > '9')
            return -1;
        v = v * 10 + (t->s[i] - '0');
    }
    return v >= min && v <= max ? v : -1;
}

#define FAIL_AT(t, ...)                                                                       \
    do {                                                                                      \
        char what_[256];                                                                      \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                           \
        return dg_fail(err, "%s:%d:%d: %s, found '%.*s'", origin, lineno, (t)->col, what_,    \
                       (int)((t)->len > 60 ? 60 : (t)->len), (t)->s);                         \
    } while (0)

/* Parses "gender=female,male" or "age=0-24,32+" into c. */
static int parse_condition(const token *t, dg_campaign *c, const char *origin, int lineno,
                           dg_err *err)
{
    const char *eq = t->quoted ? NULL : memchr(t->s, '=', t->len);
    if (!eq)
        FAIL_AT(t, "expected a condition gender=female|male or age=0-24|25-32|33+");
    size_t klen = (size_t)(eq - t->s);
    int is_gender = klen == 6 && memcmp(t->s, "gender", 6) == 0;
    int is_age = klen == 3 && memcmp(t->s, "age", 3) == 0;
    if (!is_gender && !is_age)
        FAIL_AT(t, "expected a condition on gender= or age=");
    unsigned *mask = is_gender ? &c->gender_mask : &c->age_mask;
    if (*mask)
        FAIL_AT(t, "expected one %s condition per campaign (values may be listed: %s)",
                is_gender ? "gender" : "age", is_gender ? "gender=female,male" : "age=0-24,25-32");
    const char *v = eq + 1, *end = t->s + t->len;
    for (;;) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *ve = comma ? comma : end;
        size_t vlen = (size_t)(ve - v);
        int found = -1;
        if (is_gender) {
            for (int g = DG_GENDER_FEMALE; g <= DG_GENDER_MALE; g++)
                if (vlen == strlen(dg_gender_class_names[g]) &&
                    memcmp(v, dg_gender_class_names[g], vlen) == 0)
                    found = g;
        } else {
            for (int b = 0; b < DG_AGE_NBUCKETS; b++)
                if ((vlen == strlen(dg_age_bucket_name(b)) &&
                     memcmp(v, dg_age_bucket_name(b), vlen) == 0) ||
                    (vlen == strlen(old_bucket_names[b]) &&
                     memcmp(v, old_bucket_names[b], vlen) == 0))
                    found = b;
        }
        if (found < 0)
            return dg_fail(err, "%s:%d:%d: expected %s, found '%.*s'", origin, lineno,
                           t->col + (int)(v - t->s),
                           is_gender ? "gender female or male"
                                     : "age bucket 0-24, 25-32 or 33+",
                           (int)(vlen > 40 ? 40 : vlen), v);
        if (*mask & (1u << found))
            return dg_fail(err, "%s:%d:%d: expected each value once, found '%.*s' again", origin,
                           lineno, t->col + (int)(v - t->s), (int)vlen, v);
        *mask |= 1u << found;
        if (!comma)
            break;
        v = comma + 1;
    }
    return DG_OK;
}

/* The name between the quotes of t, escapes undone. */
static int parse_name(const token *t, dg_campaign *c, const char *origin, int lineno, dg_err *err)
{
    if (!t->quoted)
        FAIL_AT(t, "expected the campaign's name in double quotes");
    size_t o = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        char ch = t->s[i];
        if (ch == '\\')
            ch = t->s[++i];
        if (o + 1 >= sizeof c->name)
            FAIL_AT(t, "expected a name of at most %zu bytes", sizeof c->name - 1);
        c->name[o++] = ch;
    }
    c->name[o] = '\0';
    if (o == 0)
        FAIL_AT(t, "expected a name that is not empty");
    return DG_OK;
}

static int parse_line(dg_campaign_rules *r, token *tok, int n, unsigned *seen, const char *origin,
                      int lineno, dg_err *err)
{
    /* Options may be given once each: seen holds a bit per option. */
    static const char *const options[] = {"age-rule", "female-deciles", "male-deciles"};
    for (int o = 0; o < 3; o++) {
        if (!tok_is(&tok[0], options[o]))
            continue;
        if (*seen & (1u << o))
            FAIL_AT(&tok[0], "expected each option once");
        *seen |= 1u << o;
        if (n != 2) {
            const token *t = n < 2 ? &tok[0] : &tok[2];
            return dg_fail(err, "%s:%d:%d: expected one value after %s, found %s", origin,
                           lineno, n < 2 ? t->col + (int)t->len : t->col, options[o],
                           n < 2 ? "the end of the line" : "more");
        }
        if (o == 0) {
            if (tok_is(&tok[1], "value"))
                r->age_rule = DG_AGE_RULE_VALUE;
            else if (tok_is(&tok[1], "group6"))
                r->age_rule = DG_AGE_RULE_GROUP6;
            else
                FAIL_AT(&tok[1], "expected age-rule value or group6");
        } else {
            long v = tok_int(&tok[1], 0, 10);
            if (v < 0)
                FAIL_AT(&tok[1], "expected a number of deciles from 0 to 10");
            *(o == 1 ? &r->female_deciles : &r->male_deciles) = (int)v;
        }
        return DG_OK;
    }
    if (!tok_is(&tok[0], "campaign"))
        FAIL_AT(&tok[0], "expected campaign, age-rule, female-deciles or male-deciles");
    if (n < 2)
        return dg_fail(err, "%s:%d:%d: expected a campaign id after campaign, found the end of "
                       "the line", origin, lineno, tok[0].col + (int)tok[0].len);
    long id = tok_int(&tok[1], 1, 999);
    if (id < 0)
        FAIL_AT(&tok[1], "expected a campaign id, a whole number from 1 to 999");
    for (int i = 0; i < r->n; i++)
        if (r->v[i].id == id)
            FAIL_AT(&tok[1], "expected a new campaign id (campaign %ld is defined above)", id);
    if (r->n == DG_CAMPAIGNS_MAX)
        FAIL_AT(&tok[0], "expected at most %d campaigns", DG_CAMPAIGNS_MAX);
    if (n < 3)
        return dg_fail(err, "%s:%d:%d: expected the campaign's name in double quotes, found the "
                       "end of the line", origin, lineno, tok[1].col + (int)tok[1].len);
    dg_campaign c;
    memset(&c, 0, sizeof c);
    c.id = (int)id;
    if (parse_name(&tok[2], &c, origin, lineno, err) != DG_OK)
        return DG_ERR;
    if (n < 4)
        return dg_fail(err, "%s:%d:%d: expected a condition gender=... or age=... after the "
                       "name, found the end of the line", origin, lineno,
                       tok[2].col + (int)tok[2].len);
    for (int i = 3; i < n; i++)
        if (parse_condition(&tok[i], &c, origin, lineno, err) != DG_OK)
            return DG_ERR;
    r->v[r->n++] = c;
    return DG_OK;
}

int dg_campaign_rules_parse(dg_campaign_rules *r, const char *text, const char *origin,
                            dg_err *err)
{
    dg_campaign_rules *parsed = dg_xcalloc(1, sizeof *parsed);
    parsed->age_rule = DG_AGE_RULE_VALUE;
    parsed->female_deciles = 3;
    parsed->male_deciles = 3;
    unsigned seen = 0;
    int lineno = 0, rc = DG_OK, last_line = 0;
    for (const char *p = text; *p && rc == DG_OK;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        token tok[MAX_TOKENS];
        int n = tokenize(p, len, origin, lineno, tok, err);
        if (n < 0)
            rc = DG_ERR;
        else if (n > 0)
            rc = parse_line(parsed, tok, n, &seen, origin, lineno, err);
        last_line = lineno;
        p = nl ? nl + 1 : p + len;
    }
    if (rc == DG_OK && parsed->female_deciles + parsed->male_deciles > 10)
        rc = dg_fail(err, "%s: expected female-deciles + male-deciles of at most 10, found %d + %d",
                     origin, parsed->female_deciles, parsed->male_deciles);
    if (rc == DG_OK && parsed->n == 0)
        rc = dg_fail(err, "%s:%d:1: expected at least one campaign line, found none", origin,
                     last_line + 1);
    if (rc == DG_OK)
        *r = *parsed;
    free(parsed);
    return rc;
}

static int read_text(const char *path, size_t limit, char **text, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    size_t cap = 4096, len = 0, got;
    char *buf = dg_xmalloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            if (cap > limit) {
                fclose(f);
                free(buf);
                return dg_fail(err, "%s: expected a file of at most %zu KiB, found a larger one",
                               path, limit / 1024);
            }
            cap *= 2;
            buf = dg_xrealloc(buf, cap);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dg_fail(err, "%s: read error", path);
    }
    buf[len] = '\0';
    size_t text_len = strlen(buf);
    if (text_len != len) {
        free(buf);
        return dg_fail(err, "%s: expected text, found a NUL byte at offset %zu", path, text_len);
    }
    *text = buf;
    return DG_OK;
}

int dg_campaign_rules_load(dg_campaign_rules *r, const char *path, dg_err *err)
{
    char *text;
    if (read_text(path, 1u << 20, &text, err) != DG_OK)
        return DG_ERR;
    int rc = dg_campaign_rules_parse(r, text, path, err);
    free(text);
    return rc;
}

static void put_mask(dg_textbuf *b, const char *key, unsigned mask, const char *const *names,
                     int first, int last)
{
    dg_textbuf_printf(b, " %s=", key);
    int any = 0;
    for (int i = first; i <= last; i++)
        if (mask & (1u << i)) {
            dg_textbuf_printf(b, "%s%s", any ? "," : "", names[i]);
            any = 1;
        }
}

char *dg_campaign_rules_format(const dg_campaign_rules *r)
{
    const char *age_names[DG_AGE_NBUCKETS];
    for (int a = 0; a < DG_AGE_NBUCKETS; a++)
        age_names[a] = dg_age_bucket_name(a);
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "# demographer campaign rules (syntax: see the default campaigns.rules)\n");
    dg_textbuf_printf(&b, "age-rule %s\nfemale-deciles %d\nmale-deciles %d\n\n",
                      r->age_rule == DG_AGE_RULE_GROUP6 ? "group6" : "value", r->female_deciles,
                      r->male_deciles);
    for (int i = 0; i < r->n; i++) {
        const dg_campaign *c = &r->v[i];
        dg_textbuf_printf(&b, "campaign %d \"", c->id);
        for (const char *s = c->name; *s; s++) {
            if (*s == '"' || *s == '\\')
                dg_textbuf_putc(&b, '\\');
            dg_textbuf_putc(&b, *s);
        }
        dg_textbuf_putc(&b, '"');
        if (c->gender_mask)
            put_mask(&b, "gender", c->gender_mask, dg_gender_class_names, DG_GENDER_FEMALE,
                     DG_GENDER_MALE);
        if (c->age_mask)
            put_mask(&b, "age", c->age_mask, age_names, 0, DG_AGE_NBUCKETS - 1);
        dg_textbuf_putc(&b, '\n');
    }
    dg_textbuf_putc(&b, '\0');
    return b.p;
}

void dg_campaign_condition_text(const dg_campaign *c, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
#define ADD(...)                                                                              \
    do {                                                                                      \
        if (o < size)                                                                         \
            o += (size_t)snprintf(buf + o, size - o, __VA_ARGS__);                            \
    } while (0)
    int any = 0;
    for (int g = DG_GENDER_FEMALE; g <= DG_GENDER_MALE; g++)
        if (c->gender_mask & (1u << g)) {
            ADD("%s%s", any ? " or " : "", dg_gender_class_names[g]);
            any = 1;
        }
    if (c->age_mask) {
        ADD("%sage ", c->gender_mask ? ", " : "");
        int n = 0;
        for (int b = 0; b < DG_AGE_NBUCKETS; b++)
            if (c->age_mask & (1u << b))
                ADD("%s%s", n++ ? " or " : "", dg_age_bucket_name(b));
    }
    if (!c->gender_mask && !c->age_mask)
        ADD("anyone");
#undef ADD
}

/* ---- the decile rule ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int dg_deciles_fit(dg_deciles *d, const double *p_female, size_t n, dg_err *err)
{
    if (n < 10)
        return dg_fail(err, "expected at least 10 reference predictions for deciles, found %zu",
                       n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p_female[i]))
            return dg_fail(err, "expected a finite P(female) in every reference prediction, "
                           "found %g in prediction %zu", p_female[i], i + 1);
    double *v = dg_xmalloc(n * sizeof *v);
    memcpy(v, p_female, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    d->reference = n;
    for (int k = 0; k < 9; k++)
        d->edge[k] = INFINITY;
    /* Each block of equal values [a, b] (ranks) takes the decile of its middle
     * rank (a + b) / 2; edge k is the first value whose decile is above k. */
    for (size_t a = 0, b; a < n; a = b + 1) {
        for (b = a; b + 1 < n && v[b + 1] == v[a];)
            b++;
        int dec = (int)((10 * (a + b)) / (2 * n)) + 1;
        for (int k = 1; k < dec; k++)
            if (isinf(d->edge[k - 1]))
                d->edge[k - 1] = v[a];
    }
    free(v);
    return DG_OK;
}

int dg_deciles_fit_predictions(dg_deciles *d, const dg_prediction *p, size_t n,
                               const char *origin, dg_err *err)
{
    double *v = dg_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = p[i].p_female;
    dg_err inner;
    int rc = dg_deciles_fit(d, v, n, &inner);
    free(v);
    if (rc != DG_OK)
        dg_fail(err, "%s: %s", origin, inner.msg);
    return rc;
}

int dg_decile_of(const dg_deciles *d, double p)
{
    if (isnan(p))
        return 0;
    int dec = 1;
    for (int k = 0; k < 9; k++)
        dec += p >= d->edge[k];
    return dec;
}


int dg_deciles_save(const dg_deciles *d, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b,
                    "# demographer P(female) decile edges. decile(p) = 1 + the number of edges\n"
                    "# e with p >= e; edge K is the smallest P(female) of the reference\n"
                    "# predictions in a decile above K (inf: none is). Top deciles are targeted\n"
                    "# as female, bottom ones as male (campaigns.rules: female-deciles,\n"
                    "# male-deciles).\n");
    dg_textbuf_printf(&b, "reference %llu\n", (unsigned long long)d->reference);
    for (int k = 0; k < 9; k++) {
        dg_textbuf_printf(&b, "edge %d ", k + 1);
        if (isinf(d->edge[k]))
            dg_textbuf_puts(&b, "inf"); /* no reference value reaches decile k + 2 */
        else
            dg_textbuf_exact(&b, d->edge[k]);
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

int dg_deciles_parse(dg_deciles *d, const char *text, const char *origin, dg_err *err)
{
    dg_deciles out;
    memset(&out, 0, sizeof out);
    int have_ref = 0, have_edge[9] = {0}, lineno = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        token tok[MAX_TOKENS];
        int n = tokenize(p, len, origin, lineno, tok, err);
        p = nl ? nl + 1 : p + len;
        if (n < 0)
            return DG_ERR;
        if (n == 0)
            continue;
        if (tok_is(&tok[0], "reference")) {
            if (n != 2 || tok_int(&tok[1], 10, 999999999) < 0)
                FAIL_AT(n < 2 ? &tok[0] : &tok[1],
                        "expected 'reference N' with N from 10 to 999999999");
            if (have_ref)
                FAIL_AT(&tok[0], "expected one reference line");
            out.reference = (uint64_t)tok_int(&tok[1], 10, 999999999);
            have_ref = 1;
        } else if (tok_is(&tok[0], "edge")) {
            long k = n >= 2 ? tok_int(&tok[1], 1, 9) : -1;
            if (k < 0)
                FAIL_AT(n < 2 ? &tok[0] : &tok[1], "expected 'edge K VALUE' with K from 1 to 9");
            if (have_edge[k - 1])
                FAIL_AT(&tok[1], "expected each edge once");
            if (n != 3)
                FAIL_AT(n < 3 ? &tok[1] : &tok[3], "expected one value after edge %ld", k);
            double v;
            if (tok_is(&tok[2], "inf"))
                v = INFINITY;
            else if (tok[2].quoted || dg_parse_f64(tok[2].s, tok[2].len, &v) != 0 || !isfinite(v))
                FAIL_AT(&tok[2], "expected a finite number or inf");
            out.edge[k - 1] = v;
            have_edge[k - 1] = 1;
        } else {
            FAIL_AT(&tok[0], "expected 'reference N' or 'edge K VALUE'");
        }
    }
    if (!have_ref)
        return dg_fail(err, "%s: expected a line 'reference N', found none", origin);
    for (int k = 0; k < 9; k++) {
        if (!have_edge[k])
            return dg_fail(err, "%s: expected a line 'edge %d VALUE', found none", origin, k + 1);
        if (k && out.edge[k] < out.edge[k - 1]) {
            char a[32], b[32];
            dg_format_exact(out.edge[k], a);
            dg_format_exact(out.edge[k - 1], b);
            return dg_fail(err, "%s: expected non-decreasing edges, found edge %d = %s below "
                           "edge %d = %s", origin, k + 1, a, k, b);
        }
    }
    *d = out;
    return DG_OK;
}

int dg_deciles_load(dg_deciles *d, const char *path, dg_err *err)
{
    char *text;
    if (read_text(path, 1u << 16, &text, err) != DG_OK)
        return DG_ERR;
    int rc = dg_deciles_parse(d, text, path, err);
    free(text);
    return rc;
}

/* ---- one device ----------------------------------------------------------- */

int dg_age_bucket_of(double age)
{
    if (isnan(age))
        return -1;
    return dg_age_group_of(DG_AGES_MAPS, age);
}

int dg_age_bucket_of_group6(const double g[6])
{
    int best = -1;
    double best_p = -1;
    for (int b = 0; b < DG_AGE_NBUCKETS; b++) {
        double p = g[b] + g[b + 3]; /* F and M of the band (model.h's order) */
        if (isnan(p))
            return -1;
        if (p > best_p) {
            best_p = p;
            best = b;
        }
    }
    return best;
}

int dg_campaign_matches(const dg_campaign *c, int gender, int age_bucket)
{
    if (c->gender_mask && (gender == DG_GENDER_UNTARGETED || !(c->gender_mask & (1u << gender))))
        return 0;
    if (c->age_mask && (age_bucket < 0 || !(c->age_mask & (1u << age_bucket))))
        return 0;
    return 1;
}

void dg_campaigns_assign(const dg_campaign_rules *r, const dg_deciles *d, const dg_prediction *p,
                         dg_targeting *out)
{
    int dec = dg_decile_of(d, p->p_female);
    out->decile = (int8_t)dec;
    out->gender = dec == 0                          ? DG_GENDER_UNTARGETED
                  : dec > 10 - r->female_deciles ? DG_GENDER_FEMALE
                  : dec <= r->male_deciles       ? DG_GENDER_MALE
                                                 : DG_GENDER_UNTARGETED;
    out->age_bucket = (int8_t)(r->age_rule == DG_AGE_RULE_GROUP6 ? dg_age_bucket_of_group6(p->group6)
                                                                 : dg_age_bucket_of(p->age));
    out->campaigns = 0;
    for (int i = 0; i < r->n; i++)
        if (dg_campaign_matches(&r->v[i], out->gender, out->age_bucket))
            out->campaigns |= 1ull << i;
}

/* ---- truth ---------------------------------------------------------------- */

static int cmp_truth(const void *a, const void *b)
{
    int64_t x = ((const dg_truth *)a)->device_id, y = ((const dg_truth *)b)->device_id;
    return (x > y) - (x < y);
}

/* The 0-based position of a column in a CSV file's header line (for
 * messages), or -1. */
static int header_index(const char *path, const char *name)
{
    char line[4096];
    dg_err ignored;
    FILE *f = dg_open_regular(path, 0, &ignored);
    if (!f)
        return -1;
    int found = -1;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        int idx = 0;
        for (char *s = line, *comma;; s = comma + 1, idx++) {
            comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (len == strlen(name) && memcmp(s, name, len) == 0) {
                found = idx;
                break;
            }
            if (!comma)
                break;
        }
    }
    fclose(f);
    return found;
}

int dg_truth_read(const char *path, dg_truth **out, size_t *n, dg_err *err)
{
    static const dg_colspec cols[] = {
        {"device_id", NULL, DG_COL_I64, NULL},
        {"gender", NULL, DG_COL_STR, NULL},
        {"age", NULL, DG_COL_I32, NULL},
        {"train_test_flag", NULL, DG_COL_STR, NULL},
    };
    *out = NULL;
    *n = 0;
    /* The mapping file: only its test rows are the truth a precision may be
     * measured on (train rows would flatter it). */
    int flag_col = header_index(path, "train_test_flag");
    dg_table t;
    dg_table_init(&t, "truth");
    dg_csv_opts opts = {.threads = 1};
    dg_csv_report rep;
    if (dg_csv_read(path, cols, flag_col >= 0 ? 4 : 3, &opts, &t, &rep, err) != DG_OK) {
        dg_table_free(&t);
        return DG_ERR;
    }
    const int64_t *id = dg_col_i64(&t.cols[0]);
    const uint32_t *gender = dg_col_u32(&t.cols[1]);
    const int32_t *age = dg_col_i32(&t.cols[2]);
    const uint32_t *flag = flag_col >= 0 ? dg_col_u32(&t.cols[3]) : NULL;
    uint32_t female = dg_strpool_find(&t.strings, "F", 1);
    uint32_t male = dg_strpool_find(&t.strings, "M", 1);
    uint32_t test = dg_strpool_find(&t.strings, "test", 4);
    uint32_t train = dg_strpool_find(&t.strings, "train", 5);
    dg_truth *v = dg_xcalloc(t.nrows ? t.nrows : 1, sizeof *v);
    size_t rows = 0;
    for (uint64_t i = 0; i < t.nrows; i++) {
        /* Rows are lines 2.. (label files have no fields that span lines). */
        const char *what = NULL;
        int col = 0;
        uint32_t bad = 0;
        if (gender[i] != female && gender[i] != male) {
            what = "gender): expected M or F";
            col = header_index(path, "gender");
            bad = gender[i];
        } else if (flag && flag[i] != test && flag[i] != train) {
            what = "train_test_flag): expected train or test";
            col = flag_col;
            bad = flag[i];
        }
        if (what) {
            dg_fail(err, "%s: line %llu, column %d (%s, found '%.40s'", path,
                    (unsigned long long)i + 2, col + 1, what, dg_strpool_get(&t.strings, bad));
            free(v);
            dg_table_free(&t);
            return DG_ERR;
        }
        if (flag && flag[i] != test)
            continue;
        v[rows].device_id = id[i];
        v[rows].female = gender[i] == female;
        v[rows].age = age[i];
        rows++;
    }
    dg_table_free(&t);
    qsort(v, rows, sizeof *v, cmp_truth);
    for (size_t i = 1; i < rows; i++)
        if (v[i].device_id == v[i - 1].device_id) {
            dg_fail(err, "%s: expected each device once, found device_id %lld twice", path,
                    (long long)v[i].device_id);
            free(v);
            return DG_ERR;
        }
    *out = v;
    *n = rows;
    return DG_OK;
}

const dg_truth *dg_truth_find(const dg_truth *t, size_t n, int64_t device_id)
{
    dg_truth key = {.device_id = device_id};
    return n ? bsearch(&key, t, n, sizeof *t, cmp_truth) : NULL;
}

/* ---- reach ---------------------------------------------------------------- */

void dg_reach_compute(const dg_campaign_rules *r, const dg_prediction *p, const dg_targeting *t,
                      size_t n, const dg_truth *truth, size_t ntruth, dg_reach *out)
{
    memset(out, 0, sizeof *out);
    out->n = r->n;
    out->devices = n;
    uint64_t base[DG_CAMPAIGNS_MAX] = {0};
    for (size_t i = 0; i < n; i++) {
        if (!t[i].campaigns)
            out->untargeted++;
        const dg_truth *tr = truth ? dg_truth_find(truth, ntruth, p[i].device_id) : NULL;
        int true_gender = tr ? (tr->female ? DG_GENDER_FEMALE : DG_GENDER_MALE) : 0;
        int true_bucket = tr ? dg_age_bucket_of(tr->age) : -1;
        if (tr)
            out->labelled++;
        for (int c = 0; c < r->n; c++) {
            int truly = tr && dg_campaign_matches(&r->v[c], true_gender, true_bucket);
            base[c] += truly;
            if (!(t[i].campaigns & (1ull << c)))
                continue;
            dg_reach_row *row = &out->row[c];
            int sc = p[i].scenario == 1 || p[i].scenario == 2 ? p[i].scenario - 1 : -1;
            row->devices++;
            if (sc >= 0)
                row->scenario_devices[sc]++;
            if (tr) {
                row->labelled++;
                row->correct += truly;
                if (sc >= 0) {
                    row->scenario_labelled[sc]++;
                    row->scenario_correct[sc] += truly;
                }
            }
        }
    }
    for (int c = 0; c < r->n; c++) {
        dg_reach_row *row = &out->row[c];
        row->share = n ? (double)row->devices / (double)n : NAN;
        row->precision = row->labelled ? (double)row->correct / (double)row->labelled : NAN;
        row->base_rate = out->labelled ? (double)base[c] / (double)out->labelled : NAN;
        for (int sc = 0; sc < 2; sc++)
            row->scenario_precision[sc] =
                row->scenario_labelled[sc]
                    ? (double)row->scenario_correct[sc] / (double)row->scenario_labelled[sc]
                    : NAN;
    }
}

static void put_ratio(dg_textbuf *b, double v)
{
    if (!isnan(v))
        dg_textbuf_printf(b, "%.6f", v);
}

int dg_reach_write(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                   dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "campaign,name,condition,devices,share,labelled,correct,precision,base_rate");
    for (int sc = 1; sc <= 2; sc++)
        dg_textbuf_printf(&b, ",devices_s%d,labelled_s%d,correct_s%d,precision_s%d", sc, sc, sc,
                          sc);
    dg_textbuf_putc(&b, '\n');
    for (int c = 0; c < reach->n; c++) {
        const dg_reach_row *row = &reach->row[c];
        char cond[128];
        dg_campaign_condition_text(&r->v[c], cond, sizeof cond);
        dg_textbuf_printf(&b, "%d,", r->v[c].id);
        dg_textbuf_csv_field(&b, r->v[c].name, strlen(r->v[c].name));
        dg_textbuf_putc(&b, ',');
        dg_textbuf_csv_field(&b, cond, strlen(cond));
        dg_textbuf_printf(&b, ",%llu,", (unsigned long long)row->devices);
        put_ratio(&b, row->share);
        if (reach->labelled) {
            dg_textbuf_printf(&b, ",%llu,%llu,", (unsigned long long)row->labelled,
                              (unsigned long long)row->correct);
            put_ratio(&b, row->precision);
            dg_textbuf_putc(&b, ',');
            put_ratio(&b, row->base_rate);
        } else {
            dg_textbuf_puts(&b, ",,,,");
        }
        for (int sc = 0; sc < 2; sc++) {
            dg_textbuf_printf(&b, ",%llu,", (unsigned long long)row->scenario_devices[sc]);
            if (reach->labelled) {
                dg_textbuf_printf(&b, "%llu,%llu,", (unsigned long long)row->scenario_labelled[sc],
                                  (unsigned long long)row->scenario_correct[sc]);
                put_ratio(&b, row->scenario_precision[sc]);
            } else {
                dg_textbuf_puts(&b, ",,");
            }
        }
        dg_textbuf_putc(&b, '\n');
    }
    dg_textbuf_printf(&b, "none,No campaign,untargeted,%llu,", (unsigned long long)reach->untargeted);
    put_ratio(&b, reach->devices ? (double)reach->untargeted / (double)reach->devices : NAN);
    dg_textbuf_puts(&b, ",,,,,,,,,,,,\n");
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

/* The campaigns' labels: id and whole name (the renderers wrap or cut
 * what does not fit their room). */
static void reach_labels(const dg_campaign_rules *r, const dg_reach *reach,
                         dg_reach_chart_desc *out)
{
    for (int c = 0; c < reach->n; c++) {
        snprintf(out->label[c], sizeof out->label[c], "%d %s", r->v[c].id, r->v[c].name);
        out->labels[c] = out->label[c];
    }
}

/* One denominator per chart: the reach is a share of all devices; the
 * precision and the base rate (dg_precision_chart_of) are both the share of
 * labelled devices that truly meet the condition, among the targeted and
 * among all. A campaign that reaches nobody is a zero bar, not a gap. */
void dg_reach_chart_of(const dg_campaign_rules *r, const dg_reach *reach, dg_reach_chart_desc *out)
{
    memset(out, 0, sizeof *out);
    reach_labels(r, reach, out);
    for (int c = 0; c < reach->n; c++)
        out->values[c] = isnan(reach->row[c].share) ? 0 : 100 * reach->row[c].share;
    char n[32];
    snprintf(out->subtitle, sizeof out->subtitle, "%s devices",
             dg_format_count(reach->devices, n, sizeof n));
    out->chart = (dg_chart){
        .kind = DG_CHART_BAR_H,
        .title = "Campaign reach",
        .subtitle = out->subtitle,
        .value_label = "% of all devices reached",
        .category_label = "campaign",
        .n = reach->n,
        .labels = out->labels,
        .values = out->values,
        .value_labels = 1,
    };
}

int dg_precision_chart_of(const dg_campaign_rules *r, const dg_reach *reach,
                          dg_reach_chart_desc *out)
{
    memset(out, 0, sizeof *out);
    if (!reach->labelled)
        return 0;
    reach_labels(r, reach, out);
    for (int c = 0; c < reach->n; c++) {
        /* A campaign with no labelled device targeted has no precision: no
         * bar (NaN), not a bar at 0, and its label says why. */
        out->values[c * 2] = 100 * reach->row[c].precision;
        out->values[c * 2 + 1] = 100 * reach->row[c].base_rate;
        if (isnan(reach->row[c].precision)) {
            size_t len = strlen(out->label[c]);
            snprintf(out->label[c] + len, sizeof out->label[c] - len, " (none targeted)");
        }
    }
    static const char *const series[] = {"among the targeted (precision)",
                                         "among all (base rate: targeting at random)"};
    char n[32];
    snprintf(out->subtitle, sizeof out->subtitle,
             "%s labelled devices: the share that truly meets each campaign's condition",
             dg_format_count(reach->labelled, n, sizeof n));
    out->chart = (dg_chart){
        .kind = DG_CHART_BAR_H,
        .title = "Campaign precision against the base rate",
        .subtitle = out->subtitle,
        .value_label = "% of labelled devices meeting the condition",
        .category_label = "campaign",
        .n = reach->n,
        .labels = out->labels,
        .values = out->values,
        .nseries = 2,
        .series_names = series,
    };
    return 1;
}

int dg_reach_chart(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                   dg_err *err)
{
    dg_reach_chart_desc *c = dg_xmalloc(sizeof *c);
    dg_reach_chart_of(r, reach, c);
    int rc = dg_chart_save(&c->chart, path, err);
    free(c);
    return rc;
}

int dg_precision_chart(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                       dg_err *err)
{
    dg_reach_chart_desc *c = dg_xmalloc(sizeof *c);
    int rc = dg_precision_chart_of(r, reach, c) ? dg_chart_save(&c->chart, path, err) : DG_OK;
    free(c);
    return rc;
}

int dg_device_campaigns_write(const dg_campaign_rules *r, const dg_prediction *p,
                              const dg_targeting *t, size_t n, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario,p_female,decile,gender,age,age_bucket,campaigns");
    for (int c = 0; c < r->n; c++)
        dg_textbuf_printf(&b, ",campaign_%d", r->v[c].id);
    dg_textbuf_putc(&b, '\n');
    for (size_t i = 0; i < n; i++) {
        dg_textbuf_i64(&b, p[i].device_id);
        dg_textbuf_printf(&b, ",%d,", p[i].scenario);
        dg_textbuf_exact(&b, p[i].p_female);
        dg_textbuf_printf(&b, ",%d,%s,", t[i].decile, dg_gender_class_names[t[i].gender]);
        dg_textbuf_exact(&b, p[i].age);
        dg_textbuf_printf(&b, ",%s,", t[i].age_bucket < 0 ? "" : dg_age_bucket_name(t[i].age_bucket));
        int any = 0;
        for (int c = 0; c < r->n; c++)
            if (t[i].campaigns & (1ull << c)) {
                dg_textbuf_printf(&b, "%s%d", any ? ";" : "", r->v[c].id);
                any = 1;
            }
        for (int c = 0; c < r->n; c++)
            dg_textbuf_puts(&b, t[i].campaigns & (1ull << c) ? ",1" : ",0");
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

int dg_campaigns_check_unique(const dg_prediction *p, size_t n, const char *origin, dg_err *err)
{
    int64_t *ids = dg_xmalloc((n ? n : 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = p[i].device_id;
    qsort(ids, n, sizeof *ids, dg_cmp_i64);
    int rc = DG_OK;
    for (size_t i = 1; i < n && rc == DG_OK; i++)
        if (ids[i] == ids[i - 1])
            rc = dg_fail(err, "%s: expected each device once, found device_id %lld twice", origin,
                         (long long)ids[i]);
    free(ids);
    return rc;
}

int dg_campaigns_save(const char *dir, const dg_campaign_rules *r, const dg_deciles *d,
                      const dg_prediction *p, const dg_targeting *t, size_t n,
                      const dg_reach *reach, dg_err *err)
{
    static const char *const names[] = {"device_campaigns.csv", "reach.csv", "reach.png",
                                        "thresholds.txt", "campaigns.rules", "precision.png"};
    if (dg_mkdirs(dir, err) != DG_OK)
        return DG_ERR;
    int rc = DG_OK;
    for (int f = 0; f < 6 && rc == DG_OK; f++) {
        size_t len = strlen(dir) + strlen(names[f]) + 2;
        char *path = dg_xmalloc(len);
        snprintf(path, len, "%s/%s", dir, names[f]);
        if (f == 0) {
            rc = dg_device_campaigns_write(r, p, t, n, path, err);
        } else if (f == 1) {
            rc = dg_reach_write(r, reach, path, err);
        } else if (f == 2) {
            rc = dg_reach_chart(r, reach, path, err);
        } else if (f == 3) {
            rc = dg_deciles_save(d, path, err);
        } else if (f == 5) {
            rc = dg_precision_chart(r, reach, path, err);
        } else {
            char *text = dg_campaign_rules_format(r);
            rc = dg_write_file_atomic(path, text, strlen(text), err);
            free(text);
        }
        free(path);
    }
    return rc;
}
