/* The command line's shared pieces: the command table entry every
 * subcommand defines, and the option and message helpers they all use. */
#ifndef DEMOGRAPHER_CLI_H
#define DEMOGRAPHER_CLI_H

#include "demographer/common.h"
#include "demographer/train.h"

#include <stdio.h>

#define CLI_EXIT_USAGE 2

/* A macro's value as a string literal, for help texts. */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;               /* one line for demographer --help */
    const char *usage;                 /* the command's --help text */
} cli_command;

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

/* The options every command that reads a data directory takes, for its
 * getopt_long table and string, and their help text. */
#define CLI_DATA_LONGOPTS                                                                    \
    {"lenient", no_argument, NULL, 'l'}, {"threads", required_argument, NULL, 'j'},          \
        {"no-snapshot", no_argument, NULL, 'N'}, {"cache-dir", required_argument, NULL, 'c'}, \
        {"file", required_argument, NULL, 'f'}
#define CLI_DATA_SHORTOPTS "lj:Nc:f:"
#define CLI_DATA_HELP                                                                        \
    "  --lenient          skip bad rows (counted; the first few shown) instead of stopping\n"  \
    "  --threads N        parser threads (default: one per core)\n"                          \
    "  --no-snapshot      neither read nor write the snapshot\n"                             \
    "  --cache-dir DIR    where snapshots live (default $XDG_CACHE_HOME/demographer or\n"    \
    "                     ~/.cache/demographer)\n"                                           \
    "  --file TABLE=PATH  read TABLE from PATH instead of its usual file name; tables:\n"    \
    "                     labels, test, phones, events, app_events, app_labels,\n"           \
    "                     label_categories, split\n"

struct dg_load_opts;
struct dg_dataset;
/* Takes one of the data options into o: returns 1 when ch was one of them,
 * 0 when it was not, and CLI_EXIT_USAGE (after saying why) for a bad value. */
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

/* Prints "demographer CMD: <message>" and the --help hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole number in [min, max] given to option opt, or says why not. */
/* Splits a comma list into its non-empty words, in place: their count, or
 * -1 when there are more than max. */
int cli_split_list(char *s, const char **out, int max);

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
                  uint64_t *out);
/* The model options of train and run (--families, --grid, --folds, --seed),
 * parsed by cli_model_option into a cli_model_opts. */
/* 1100 on: apart from the connection options (cli_sources.h, 1000 on), which
 * run --db takes too. */
enum { CLI_O_FAMILIES = 1100, CLI_O_GRID, CLI_O_FOLDS, CLI_O_SEED, CLI_O_ABLATION };
#define CLI_MODEL_LONGOPTS                                                                   \
    {"families", required_argument, NULL, CLI_O_FAMILIES},                                   \
        {"grid", required_argument, NULL, CLI_O_GRID},                                       \
        {"folds", required_argument, NULL, CLI_O_FOLDS},                                     \
        {"seed", required_argument, NULL, CLI_O_SEED},                                       \
        {"ablation", no_argument, NULL, CLI_O_ABLATION}

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
 * 0 when it was not, and CLI_EXIT_USAGE (after saying why) for a bad value. */
int cli_model_option(const char *cmd, int ch, char *arg, cli_model_opts *m);

/* The cleaning options of the commands that work on cleaned data. */
#define CLI_CLEAN_LONGOPTS                                                                   \
    {"rules", required_argument, NULL, 'r'}, {"no-clean", no_argument, NULL, 'C'}
#define CLI_CLEAN_SHORTOPTS "r:C"
#define CLI_CLEAN_HELP                                                                       \
    "  --rules FILE       cleaning rules to apply first (default: the brief's; see\n"        \
    "                     demographer clean --print-rules)\n"                                \
    "  --no-clean         use the tables as loaded\n"

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
