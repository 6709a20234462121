/* The command line's shared pieces: the command table entry every
 * subcommand defines, and the option and message helpers they all use. */
#ifndef DEMOGRAPHER_CLI_H
#define DEMOGRAPHER_CLI_H

#include "demographer/common.h"

#include <stdio.h>

#define CLI_EXIT_USAGE 2

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *summary;               /* one line for demographer --help */
    const char *usage;                 /* the command's --help text */
} cli_command;

extern const cli_command cli_synth, cli_load, cli_mysql_import, cli_load_db, cli_fetch;

/* Prints "demographer CMD: <message>" and the --help hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a whole number in [min, max] given to option opt, or says why not. */
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
                  uint64_t *out);
/* 1.5 KiB, 3.2 GiB... */
void cli_human_bytes(double v, char *out, size_t cap);

#endif
