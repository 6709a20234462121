/* demographer: the command line. Each subcommand (src/cli/cmd_*.c) parses
 * its options, calls the core library and prints what it returned; the
 * library itself never prints. */
#include "cli.h"

#include <string.h>

static const cli_command *const commands[] = {&cli_synth,   &cli_load,  &cli_load_db,
                                               &cli_fetch,   &cli_mysql_import, NULL};

static const cli_command *find(const char *name)
{
    for (const cli_command *const *c = commands; *c; c++)
        if (strcmp((*c)->name, name) == 0)
            return *c;
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f,
            "Usage: demographer [--help] [--version] COMMAND [OPTIONS]\n"
            "\n"
            "Predicts the gender and age of mobile users from the TalkingData / Upgrad telecom\n"
            "data: loads it, and (in later versions) cleans, explores, clusters, models and\n"
            "serves it.\n"
            "\n"
            "Commands:\n");
    for (const cli_command *const *c = commands; *c; c++)
        fprintf(f, "  %-13s %s\n", (*c)->name, (*c)->summary);
    fprintf(f,
            "\n"
            "'demographer COMMAND --help' describes a command. With no command, demographer\n"
            "would open the ncurses workbench, which is not built yet.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "demographer: the ncurses workbench is not built yet; the headless commands "
                "are.\n\n");
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        const cli_command *c = argc > 2 ? find(argv[2]) : NULL;
        if (c)
            fputs(c->usage, stdout);
        else
            print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("demographer %s\n", DG_VERSION);
        return 0;
    }
    const cli_command *c = find(argv[1]);
    if (c)
        return c->run(argc - 1, argv + 1);
    fprintf(stderr, "demographer: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
