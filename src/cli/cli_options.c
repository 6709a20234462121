/* The option tables (cli.h) read two ways: into getopt_long's arrays for the
 * parsing, and into the option part of --help. */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

/* The column where an option's help starts, and the width it wraps to. */
#define HELP_COLUMN 26
#define HELP_WIDTH 80

static const cli_option help_option =
    CLI_FLAG(CLI_O_HELP, 'h', "help", "print this help and exit");

/* Calls fn on every option of t, the included tables' in place, in order. */
static void each_option(const cli_option *t, void (*fn)(const cli_option *o, void *ctx),
                        void *ctx)
{
    for (; t && t->kind != CLI_OPTION_END; t++) {
        if (t->kind == CLI_OPTION_INCLUDE)
            each_option(t->include, fn, ctx);
        else
            fn(t, ctx);
    }
}

static void add_getopt(const cli_option *o, void *ctx)
{
    cli_parser *p = ctx;
    if (o->kind != CLI_OPTION_FLAG && o->kind != CLI_OPTION_VALUE)
        return;
    size_t n = 0;
    while (p->longopts[n].name)
        n++;
    /* A table larger than the arrays is a bug the option test catches. */
    if (n >= CLI_MAX_OPTIONS)
        return;
    int has_arg = o->kind == CLI_OPTION_VALUE ? required_argument : no_argument;
    p->longopts[n] = (struct option){o->long_name, has_arg, NULL, o->id};
    if (o->short_name) {
        size_t k = strlen(p->shortopts);
        p->shortopts[k++] = (char)o->short_name;
        if (has_arg)
            p->shortopts[k++] = ':';
        p->shortopts[k] = '\0';
        p->short_id[o->short_name & 127] = o->id;
    }
}

void cli_parse_start(cli_parser *p, const cli_command *cmd, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    /* ':' first: a missing argument returns ':' rather than '?'. */
    strcpy(p->shortopts, ":");
    add_getopt(&help_option, p);
    each_option(cmd->options, add_getopt, p);
    optind = 1;
    opterr = 0; /* the messages are ours, one line each */
}

/* The option of t with that id (short_name 0) or that short name. */
static const cli_option *find(const cli_option *t, int id, int short_name)
{
    for (; t && t->kind != CLI_OPTION_END; t++) {
        if (t->kind == CLI_OPTION_INCLUDE) {
            const cli_option *o = find(t->include, id, short_name);
            if (o)
                return o;
        } else if ((t->kind == CLI_OPTION_FLAG || t->kind == CLI_OPTION_VALUE) &&
                   (short_name ? t->short_name == short_name : t->id == id)) {
            return t;
        }
    }
    return NULL;
}

/* The option as the user wrote it, up to any '=': for the messages. A
 * short option's error leaves optind where it was (inside a cluster such as
 * -qx) or past an element that is no long option; a long one's, past it. */
static int written(const cli_parser *p, int before, char *buf, size_t cap)
{
    const char *w = optind > before && optind <= p->argc ? p->argv[optind - 1] : "";
    if (strncmp(w, "--", 2) == 0) {
        snprintf(buf, cap, "%.*s", (int)strcspn(w, "="), w);
        return 1;
    }
    snprintf(buf, cap, "-%c", optopt);
    return 0;
}

static int stop(cli_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int stop(cli_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    p->exit_status = cli_usage_verror(p->cmd->name, fmt, ap);
    va_end(ap);
    return CLI_PARSE_STOP;
}

/* How many long options begin with prefix; the first two in *a and *b. */
static int prefix_matches(const cli_parser *p, const char *prefix, const char **a,
                          const char **b)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const struct option *o = p->longopts; o->name; o++)
        if (strcmp(o->name, prefix) == 0) {
            *a = o->name;
            return 1;
        }
    for (const struct option *o = p->longopts; o->name; o++)
        if (strncmp(o->name, prefix, len) == 0 && ++n <= 2)
            *(n == 1 ? a : b) = o->name;
    return n;
}

int cli_parse_next(cli_parser *p)
{
    int longindex = -1, before = optind;
    int ch = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, &longindex);
    char w[128];
    /* A short option comes back as its letter, a long one as its id. */
    if (ch > 0 && ch < 128 && longindex < 0 && ch != ':' && ch != '?')
        ch = p->short_id[ch];
    switch (ch) {
    case -1: return CLI_PARSE_DONE;
    case CLI_O_HELP:
        cli_print_help(p->cmd, stdout);
        p->exit_status = DG_EXIT_OK;
        return CLI_PARSE_STOP;
    case ':': {
        /* optopt is a long option's id, or a short option's letter. */
        int is_long = written(p, before, w, sizeof w);
        const cli_option *o =
            find(p->cmd->options, is_long ? optopt : 0, is_long ? 0 : optopt);
        if (!o)
            return stop(p, "option '%s' needs an argument", w);
        if (is_long)
            return stop(p, "option '--%s' needs an argument, %s", o->long_name, o->argument);
        return stop(p, "option '-%c' (--%s) needs an argument, %s", o->short_name, o->long_name,
                    o->argument);
    }
    case '?': {
        const char *a = NULL, *b = NULL;
        if (written(p, before, w, sizeof w)) {
            int n = prefix_matches(p, w + 2, &a, &b);
            if (n > 1)
                return stop(p, "ambiguous option '%s': --%s, --%s%s", w, a, b,
                            n > 2 ? " or another" : "");
            if (n == 1 && optopt)
                return stop(p, "option '--%s' takes no argument", a);
        }
        return stop(p, "unknown option '%s'", w);
    }
    default: return ch;
    }
}

int cli_option_unhandled(const char *cmd, int id)
{
    fprintf(stderr, "demographer %s: option %d of the table has no handler (a bug)\n", cmd, id);
    return DG_EXIT_SOFTWARE;
}

/* Prints text from column `at`, wrapped to HELP_WIDTH at spaces, each
 * further line indented to `indent`; '\n' breaks a line. */
static void print_wrapped(FILE *f, const char *text, int at, int indent)
{
    int col = at;
    const char *s = text;
    while (*s) {
        if (*s == '\n') {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            s++;
            continue;
        }
        size_t word = strcspn(s, " \n");
        int first = col == at || col == indent;
        if (!first && col + 1 + (int)word > HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            first = 1;
        }
        if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(s, 1, word, f);
        col += (int)word;
        s += word;
        while (*s == ' ')
            s++;
    }
    fputc('\n', f);
}

static void print_option(const cli_option *o, void *ctx)
{
    FILE *f = ctx;
    if (o->kind == CLI_OPTION_TEXT) {
        fputs(o->help, f);
        return;
    }
    char left[128];
    int n;
    if (o->short_name)
        n = snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->long_name);
    else
        n = snprintf(left, sizeof left, "      --%s", o->long_name);
    if (o->kind == CLI_OPTION_VALUE && n > 0 && (size_t)n < sizeof left)
        snprintf(left + n, sizeof left - (size_t)n, " %s", o->argument);
    n = (int)strlen(left);
    fputs(left, f);
    /* A long left part puts the help on the next line, at the column. */
    if (n + 2 > HELP_COLUMN)
        fprintf(f, "\n%*s", HELP_COLUMN, "");
    else
        fprintf(f, "%*s", HELP_COLUMN - n, "");
    char made[2048];
    if (o->make_help)
        o->make_help(made, sizeof made);
    print_wrapped(f, o->make_help ? made : o->help, HELP_COLUMN, HELP_COLUMN);
}

/* Appends to buf at *at, never past cap (a cut text rather than an overrun). */
static void append(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at += (size_t)n < cap - *at ? (size_t)n : cap - *at - 1;
}

void cli_default_families_text(char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; dg_default_families[i].family; i++)
        append(buf, cap, &at, "%s%s", i ? ", " : "", dg_default_families[i].family);
}

void cli_default_grids_text(char *buf, size_t cap)
{
    size_t at = 0, n = 0;
    buf[0] = '\0';
    for (int i = 0; dg_default_families[i].family; i++) {
        const char *g = dg_default_families[i].grid;
        if (!g)
            continue;
        /* "FAMILY:PARAMS" as --grid takes it, shown as "FAMILY: PARAMS" */
        size_t len = strcspn(g, ":");
        append(buf, cap, &at, "%s%.*s: %s", n++ ? "; " : "", (int)len, g, g[len] ? g + len + 1 : "");
    }
}

void cli_print_help(const cli_command *c, FILE *f)
{
    fputs(c->usage, f);
    /* The command's own options and the included ones up to the first
     * heading (a text entry), then -h, --help, then the headed groups. */
    const cli_option *t = c->options;
    for (; t && t->kind != CLI_OPTION_END && t->kind != CLI_OPTION_TEXT; t++) {
        if (t->kind == CLI_OPTION_INCLUDE && t->include && t->include->kind == CLI_OPTION_TEXT)
            break;
        if (t->kind == CLI_OPTION_INCLUDE)
            each_option(t->include, print_option, f);
        else
            print_option(t, f);
    }
    print_option(&help_option, f);
    for (; t && t->kind != CLI_OPTION_END; t++) {
        if (t->kind == CLI_OPTION_INCLUDE)
            each_option(t->include, print_option, f);
        else
            print_option(t, f);
    }
}
