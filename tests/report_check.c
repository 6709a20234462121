#include "report_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct rows {
    char **v;
    size_t n, cap;
} rows;

static void rows_add(rows *r, char *s)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = s;
}

/* A growing string. */
typedef struct str {
    char *p;
    size_t len, cap;
} str;

static void str_putc(str *s, char c)
{
    if (s->len + 2 > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->p = realloc(s->p, s->cap);
    }
    s->p[s->len++] = c;
    s->p[s->len] = '\0';
}

static void str_trim_end(str *s)
{
    while (s->len && s->p[s->len - 1] == ' ')
        s->p[--s->len] = '\0';
}

char **rc_md_rows(const char *md, size_t *n)
{
    rows r = {0};
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        if (line[0] == '|' && strncmp(line, "|---", 4) != 0) {
            str s = {0};
            str_putc(&s, 0);
            s.len = 0;
            int first = 1;
            for (const char *c = line + 1; c < end; c++) {
                if (*c == '\\' && c[1] == '|') {
                    str_putc(&s, '|');
                    c++;
                } else if (*c == '|') {
                    str_trim_end(&s);
                    if (c + 1 < end) /* the last '|' ends the row */
                        str_putc(&s, '\t');
                    first = 1;
                } else if (*c == ' ' && first) {
                    continue;
                } else if (*c == '*' && c[1] == '*') {
                    c++;
                } else {
                    str_putc(&s, *c);
                    first = 0;
                }
            }
            rows_add(&r, s.p);
        }
        line = *end ? end + 1 : end;
    }
    *n = r.n;
    return r.v;
}

/* Decodes the entity at s (after '&') into out; returns its length, or 0. */
static size_t entity(const char *s, str *out)
{
    static const struct {
        const char *name;
        char c;
    } e[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"#39;", '\''}};
    for (size_t i = 0; i < sizeof e / sizeof *e; i++)
        if (strncmp(s, e[i].name, strlen(e[i].name)) == 0) {
            str_putc(out, e[i].c);
            return strlen(e[i].name);
        }
    return 0;
}

/* The text of html[from, to): tags out, entities decoded. */
static void text_of(const char *from, const char *to, str *out)
{
    for (const char *c = from; c < to; c++) {
        if (*c == '<') {
            const char *gt = memchr(c, '>', (size_t)(to - c));
            if (!gt)
                break;
            c = gt;
        } else if (*c == '&') {
            size_t k = entity(c + 1, out);
            if (k)
                c += k;
            else
                str_putc(out, '&');
        } else {
            str_putc(out, *c);
        }
    }
}

char **rc_html_rows(const char *html, size_t *n)
{
    rows r = {0};
    for (const char *tr = strstr(html, "<tr>"); tr; tr = strstr(tr, "<tr>")) {
        const char *end = strstr(tr, "</tr>");
        if (!end)
            break;
        str s = {0};
        str_putc(&s, 0);
        s.len = 0;
        int cells = 0;
        for (const char *c = tr; c < end;) {
            const char *td = strstr(c, "<td"), *th = strstr(c, "<th");
            const char *open = td && (!th || td < th) ? td : th;
            if (!open || open >= end)
                break;
            const char *body = strchr(open, '>') + 1;
            const char *close = strstr(body, open == td ? "</td>" : "</th>");
            if (cells++)
                str_putc(&s, '\t');
            text_of(body, close, &s);
            c = close + 5;
        }
        rows_add(&r, s.p);
        tr = end;
    }
    *n = r.n;
    return r.v;
}

void rc_free_rows(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

long rc_find_row(char *const *v, size_t n, const char *row)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], row) == 0)
            return (long)i;
    return -1;
}

char *rc_html_text(const char *html)
{
    str s = {0};
    str_putc(&s, 0);
    s.len = 0;
    const char *style = strstr(html, "<style>"), *style_end = strstr(html, "</style>");
    if (style && style_end) {
        text_of(html, style, &s);
        html = style_end + 8;
    }
    text_of(html, html + strlen(html), &s);
    return s.p;
}

static int found(char *why, size_t cap, const char *what, const char *at)
{
    snprintf(why, cap, "%s at \"%.60s\"", what, at);
    return 1;
}

/* Style text [c, end): an @import, or a url( of anything but data:. */
static int style_refs(const char *c, const char *end, char *why, size_t cap, int bad)
{
    for (; c < end; c++) {
        if (strncasecmp(c, "@import", 7) == 0)
            bad += bad ? 1 : found(why, cap, "@import", c);
        if (strncasecmp(c, "url(", 4) == 0) {
            const char *v = c + 4;
            while (*v == '"' || *v == '\'' || isspace((unsigned char)*v))
                v++;
            if (strncasecmp(v, "data:", 5) != 0)
                bad += bad ? 1 : found(why, cap, "url(", c);
        }
    }
    return bad;
}

int rc_html_external_refs(const char *html, char *why, size_t cap)
{
    int bad = 0;
    static const char *const attrs[] = {"src", "href", "srcset", "action", "poster", "data"};
    static const char *const tags[] = {"script", "link", "iframe", "object", "embed", "base"};
    why[0] = '\0';
    for (const char *c = strchr(html, '<'); c; c = strchr(c, '<')) {
        /* One tag: its name, then its attributes up to the '>' outside quotes. */
        const char *name = c + 1, *p = name;
        while (isalnum((unsigned char)*p) || *p == '!' || *p == '/')
            p++;
        size_t namelen = (size_t)(p - name);
        for (size_t i = 0; i < sizeof tags / sizeof *tags; i++)
            if (namelen == strlen(tags[i]) && strncasecmp(name, tags[i], namelen) == 0)
                bad += bad ? 1 : found(why, cap, tags[i], c);
        while (*p && *p != '>') {
            while (isspace((unsigned char)*p))
                p++;
            const char *an = p;
            while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
                p++;
            size_t anlen = (size_t)(p - an);
            if (*p != '=')
                continue;
            p++;
            char q = *p == '"' || *p == '\'' ? *p++ : 0;
            const char *v = p;
            while (*p && (q ? *p != q : !isspace((unsigned char)*p) && *p != '>'))
                p++;
            const char *vend = p;
            if (q && *p)
                p++;
            for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++) {
                if (anlen != strlen(attrs[i]) || strncasecmp(an, attrs[i], anlen) != 0)
                    continue;
                const char *s = v;
                while (s < vend && (isalnum((unsigned char)*s) || *s == '+' || *s == '-' ||
                                    *s == '.'))
                    s++;
                int scheme = s < vend && *s == ':' && s > v;
                if ((scheme && strncasecmp(v, "data:", 5) != 0) || strncmp(v, "//", 2) == 0)
                    bad += bad ? 1 : found(why, cap, attrs[i], an);
            }
            if (anlen == 5 && strncasecmp(an, "style", 5) == 0)
                bad = style_refs(v, vend, why, cap, bad);
            if (anlen == 10 && strncasecmp(an, "http-equiv", 10) == 0)
                bad += bad ? 1 : found(why, cap, "http-equiv", an);
        }
        if (namelen == 5 && strncasecmp(name, "style", 5) == 0) {
            const char *end = strstr(p, "</style>");
            bad = style_refs(p, end ? end : p + strlen(p), why, cap, bad);
        }
        c = *p ? p + 1 : p;
        if (!*c)
            break;
    }
    return bad;
}
