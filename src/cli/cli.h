/* The command line's shared pieces: the command table entry every
 * subcommand defines, and the option and message helpers they all use. */
#ifndef DEMOGRAPHER_CLI_H
#define DEMOGRAPHER_CLI_H

#include "demographer/common.h"
#include "demographer/train.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "demographer/exit_status.h"

/* A macro's value as a string literal, for help texts. */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* A command's options, as git's parse-options has them: one table drives
 * both the parsing (getopt_long) and the option part of --help, so that the
 * help names exactly what is accepted. Shared options (the data, cleaning,
 * model and connection options) are tables of their own, included. */
typedef enum cli_option_kind {
    CLI_OPTION_END,     /* closes a table */
    CLI_OPTION_FLAG,    /* --name: no argument */
    CLI_OPTION_VALUE,   /* --name ARG */
    CLI_OPTION_TEXT,    /* help text only: a heading or a note, printed as is */
    CLI_OPTION_INCLUDE, /* the options of another table, here */
} cli_option_kind;

typedef struct cli_option {
    const char *long_name;
    int short_name;       /* 0: none */
    const char *argument; /* VALUE: its name in --help (DIR, N, ...) */
    const char *help;     /* wrapped to the terminal's 80 columns; '\n' breaks a line */
    cli_option_kind kind;
    int id; /* what cli_parse_next returns for it: above 0, unique in the command */
    const struct cli_option *include;
    /* Instead of help: writes the help into buf (cap bytes), for a text made
     * from a list the library holds (the default families). NULL: help. */
    void (*make_help)(char *buf, size_t cap);
} cli_option;

#define CLI_FLAG(id, short_name, long_name, help)                                            \
    {(long_name), (short_name), NULL, (help), CLI_OPTION_FLAG, (id), NULL, NULL}
#define CLI_VALUE(id, short_name, long_name, argument, help)                                 \
    {(long_name), (short_name), (argument), (help), CLI_OPTION_VALUE, (id), NULL, NULL}
#define CLI_VALUE_MADE(id, short_name, long_name, argument, make_help)                       \
    {(long_name), (short_name), (argument), NULL, CLI_OPTION_VALUE, (id), NULL, (make_help)}
#define CLI_TEXT(text) {NULL, 0, NULL, (text), CLI_OPTION_TEXT, 0, NULL, NULL}
#define CLI_INCLUDE(table) {NULL, 0, NULL, NULL, CLI_OPTION_INCLUDE, 0, (table), NULL}
#define CLI_OPTIONS_END {NULL, 0, NULL, NULL, CLI_OPTION_END, 0, NULL, NULL}

/* The run's default families (dg_default_families, train.h) as --help names
 * them, "prior, brand-model-prior, ..., blend", and the default grids,
 * "xgboost: eta=0.2 ...; ..."; "" when there are none. */
void cli_default_families_text(char *buf, size_t cap);
void cli_default_grids_text(char *buf, size_t cap);

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;               /* one line for demographer --help */
    const char *usage;                 /* --help's text before the options */
    const cli_option *options;         /* its options; -h, --help is every command's */
} cli_command;

/* Every command, in the order of demographer --help; NULL-terminated. */
extern const cli_command *const cli_commands[];
const cli_command *cli_command_by_name(const char *name);

extern const cli_command cli_db_import;
extern const cli_command cli_synth, cli_load, cli_mysql_import, cli_load_db, cli_fetch,
    cli_clean, cli_eda, cli_features, cli_replay;
extern const cli_command cli_train, cli_evaluate;
extern const cli_command cli_campaigns;
extern const cli_command cli_maps;
extern const cli_command cli_cluster;
extern const cli_command cli_serve, cli_health;
extern const cli_command cli_predict;
extern const cli_command cli_export_sql;
extern const cli_command cli_run;

/* Prints a command's --help: its usage text, then its options from the
 * table, -h, --help among them. */
void cli_print_help(const cli_command *c, FILE *f);

/* Walks argv's options by the command's table (getopt_long underneath:
 * optarg holds an option's argument, optind the first operand at the end;
 * operands may come before options, as with getopt). */
#define CLI_MAX_OPTIONS 64
typedef struct cli_parser {
    const cli_command *cmd;
    int argc;
    char **argv;
    int exit_status;                          /* when cli_parse_next returned CLI_PARSE_STOP */
    struct option longopts[CLI_MAX_OPTIONS + 2]; /* and --help, and the end */
    char shortopts[3 * CLI_MAX_OPTIONS + 4];
    int short_id[128]; /* getopt returns a short option's letter: its id */
} cli_parser;
enum { CLI_PARSE_DONE = 0, CLI_PARSE_STOP = -1 };
void cli_parse_start(cli_parser *p, const cli_command *cmd, int argc, char **argv);
/* The next option's id; CLI_PARSE_DONE after the last option; CLI_PARSE_STOP
 * when the command is to return p->exit_status at once: 0 after printing its
 * --help (-h), DG_EXIT_USAGE after saying on one line which option was wrong
 * (unknown, ambiguous, missing its argument, or given one it does not take). */
int cli_parse_next(cli_parser *p);
/* For a switch's default: an id of the table that the command does not
 * handle, a bug. Says so; returns DG_EXIT_SOFTWARE. */
int cli_option_unhandled(const char *cmd, int id);

/* The ids of the shared options' tables (the connection options, cli_sources.h,
 * are 1000 on). */
enum cli_shared_option_id {
    CLI_O_HELP = 1099,     /* -h, --help: every command's */
    CLI_O_FAMILIES = 1100, /* the model options */
    CLI_O_GRID,
    CLI_O_FOLDS,
    CLI_O_SEED,
    CLI_O_ABLATION,
    CLI_O_LENIENT = 1200, /* the data options */
    CLI_O_THREADS,
    CLI_O_NO_SNAPSHOT,
    CLI_O_CACHE_DIR,
    CLI_O_FILE,
    CLI_O_RULES = 1300, /* the cleaning options */
    CLI_O_NO_CLEAN,
};

/* The options of every command that reads a data directory: the reading
 * options (--lenient, --no-snapshot, --cache-dir, --file), and those with
 * --threads, the parser's threads. */
extern const cli_option cli_data_read_options[];
extern const cli_option cli_data_options[];
struct dg_load_opts;
struct dg_dataset;
/* Takes one of the data options into o: returns 1 when ch was one of them,
 * 0 when it was not, and DG_EXIT_USAGE (after saying why) for a bad value. */
int cli_data_option(const char *cmd, int ch, char *arg, struct dg_load_opts *o);
/* Loads DIR with progress; on failure prints "demographer CMD: why" and
 * returns 1. */
int cli_load_data(const char *cmd, const char *dir, struct dg_load_opts *o, int quiet,
                  struct dg_dataset *ds);

/* The one place text reaches the terminal: when stdout or stderr is a
 * terminal, it is replaced by a stream that shows control characters other
 * than newline and tab as \xHH, so that bytes from files (meta.txt, rule
 * values, a health target's body) never drive the terminal (ESC sequences).
 * Called once before a command runs (not for the workbench: curses draws
 * with escapes, and shows control characters as ^X itself). */
void cli_tty_guard(void);
/* The terminal's own stderr, for the progress line's \r and ESC [K. */
FILE *cli_tty_raw(void);

/* Prints "demographer CMD: <message>; try 'demographer CMD --help'" on one
 * line; returns DG_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_usage_verror(const char *cmd, const char *fmt, va_list ap);
/* Splits a comma list into its non-empty words, in place: their count, or
 * -1 when there are more than max. */
int cli_split_list(char *s, const char **out, int max);
/* Writes the names of a list of kinds (name(0) ... name(n - 1), skipping
 * NULL ones) into buf, joined by sep: for the messages that list the
 * choices, so that they follow the list itself. Returns buf. */
const char *cli_join_names(char *buf, size_t cap, const char *(*name)(int i), int n,
                           const char *sep);
const char *cli_table_name(int i);       /* dg_tables[i].name */
const char *cli_target_name(int i);      /* dg_target_name(i) */
const char *cli_skippable_stage(int i);  /* stage i's name when --skip may name it, else NULL */
/* Parses a whole number in [min, max] given to option opt, or says why not. */
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
                  uint64_t *out);
/* The model options of train and run (--families, --grid, --folds, --seed,
 * --ablation: ids CLI_O_FAMILIES...; each command's table says its defaults),
 * parsed by cli_model_option into a cli_model_opts. */
typedef struct cli_model_opts {
    const char *families[DG_TRAIN_MAX_FAMILIES]; /* NULL-terminated */
    const char *grids[DG_TRAIN_MAX_FAMILIES];    /* NULL-terminated */
    int ngrids;
    int folds;                /* 0: train's default */
    uint64_t seed;            /* 1 unless given */
    int ablation;             /* --ablation */
} cli_model_opts;
void cli_model_opts_init(cli_model_opts *m);
/* Takes one of the model options into m: returns 1 when ch was one of them,
 * 0 when it was not, and DG_EXIT_USAGE (after saying why) for a bad value. */
int cli_model_option(const char *cmd, int ch, char *arg, cli_model_opts *m);

/* The cleaning options of the commands that work on cleaned data (--rules,
 * --no-clean), taken by cli_clean_option. */
extern const cli_option cli_clean_options[];
typedef struct cli_clean_opts {
    const char *rules_path; /* NULL: the default rules */
    int no_clean;
} cli_clean_opts;
/* Takes one of the cleaning options into c: 1 when ch was one, else 0. */
int cli_clean_option(int ch, const char *arg, cli_clean_opts *c);

/* Loads DIR, then applies the rules of rules_path (NULL: the default rules)
 * unless no_clean; on failure prints "demographer CMD: why" and returns 1. */
int cli_load_cleaned(const char *cmd, const char *dir, struct dg_load_opts *o, int quiet,
                     const char *rules_path, int no_clean, struct dg_dataset *ds);

/* The features a model directory predicts from, built as train builds them:
 * the super-categories of super_path (NULL: the assets'), DIR loaded and
 * cleaned (cli_load_cleaned), the features with the cluster columns
 * (progress shown unless quiet when `progress`), and d's layout check. On
 * failure prints "demographer CMD: why" and returns 1; sc, ds and f are
 * freed by the caller either way (each starts zeroed). */
int cli_model_features(const char *cmd, const char *dir, struct dg_load_opts *o, int quiet,
                       const char *rules_path, int no_clean, const char *super_path,
                       int progress, const dg_model_dir *d, dg_supercats *sc,
                       struct dg_dataset *ds, dg_features *f);

/* Refuses an output that is, contains or lies inside an input (common.h,
 * dg_output_apart): the data directory and lo's --file paths (either may be
 * NULL) and the other inputs (NULL ones skipped). Prints "demographer CMD:
 * why" and returns 1; 0 when apart. Call it before touching anything. */
int cli_output_apart(const char *cmd, const char *what, const char *out, const char *data_dir,
                     const struct dg_load_opts *lo, const char *const *more, size_t nmore);
/* An output folder written whole or not at all (common.h, dg_outdir): begin
 * prints why and returns 1 when it cannot start; end publishes it when rc
 * is 0 and removes it otherwise, and returns the exit status (1 when the
 * publish failed, said). */
int cli_outdir_begin(const char *cmd, dg_outdir *od, const char *dir);
int cli_outdir_end(const char *cmd, dg_outdir *od, int rc);

/* The path of a file shipped in assets/: $DEMOGRAPHER_ASSETS first, then the
 * installed copy, then the source tree's (for a build that is not installed).
 * Returns a static buffer. */
const char *cli_asset(const char *name);

#endif
