/* demographer: the command line. Each subcommand (src/cli/cmd_*.c) parses
 * its options, calls the core library and prints what it returned; the
 * library itself never prints. With no command, the workbench (ui/). */
#include "app.h"
#include "cli.h"

#include "demographer/plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const cli_command *const commands[] = {
    &cli_run,      &cli_synth,    &cli_load,     &cli_load_db,  &cli_fetch,
    &cli_mysql_import, &cli_db_import, &cli_clean, &cli_eda, &cli_maps, &cli_cluster,
    &cli_features, &cli_train,    &cli_evaluate, &cli_predict,  &cli_export_sql, &cli_campaigns,
    &cli_serve,    &cli_health,   &cli_replay,   NULL};

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
            "       demographer [--out DIR] [--log FILE] [--no-snapshot] [--cache-dir DIR] "
            "[DATA_DIR]\n"
            "\n"
            "Predicts the gender and age of mobile users from the TalkingData / Upgrad telecom\n"
            "data: loads, views and cleans it, computes the exploratory tables and the\n"
            "features, maps its events, clusters their locations, trains and compares\n"
            "models, maps users to campaigns and serves the predictions over HTTP.\n"
            "\n"
            "Commands:\n");
    for (const cli_command *const *c = commands; *c; c++)
        fprintf(f, "  %-13s %s\n", (*c)->name, (*c)->summary);
    fprintf(f,
            "\n"
            "'demographer COMMAND --help' describes a command. With no command (or a data\n"
            "directory), demographer opens the ncurses workbench on a terminal; its keys are\n"
            "in 'man demographer' and behind ? in the workbench.\n");
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return app_main(argc, argv, cli_asset);
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
    if (c) {
        cli_tty_guard();
        return c->run(argc - 1, argv + 1);
    }
    /* Not a command: the workbench's options or its DATA_DIR. */
    struct stat st;
    if (argv[1][0] == '-' || stat(argv[1], &st) == 0)
        return app_main(argc, argv, cli_asset);
    fprintf(stderr, "demographer: unknown command '%s' (nor a data directory)\n\n", argv[1]);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}

/* XGBoost's OpenMP threads spin-wait between parallel regions unless
 * OMP_WAIT_POLICY=PASSIVE; on a busy machine (two cores shared by several
 * jobs) the spinning made training about 20x slower. libgomp reads the
 * variable once, when the library loads (before main), so setting it here
 * is too late for this process: set it and re-execute ourselves once. The
 * user's own setting, whatever it is, is left alone. DG_NO_REEXEC stops a
 * loop should /proc/self/exe not be this program. */
static void passive_openmp(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("DG_NO_REEXEC"))
        return;
    /* Under valgrind the kernel's /proc/self/exe is valgrind's tool, and a
     * re-executed child would run outside it: stay as we are. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload"))
        return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1)
        return; /* no /proc: active waiting, slower when busy, still right */
    self[n] = '\0';
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0 || setenv("DG_NO_REEXEC", "1", 1) != 0)
        return;
    execv(self, argv);
    /* The exec failed: go on as we are, without the setting's effect. */
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("DG_NO_REEXEC");
}

int main(int argc, char **argv)
{
    passive_openmp(argv);
    int rc = run(argc, argv);
    dg_plot_release();
    return rc;
}
