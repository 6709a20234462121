/* demographer replay: runs a workbench session log without a screen. */
#include "model.h"

#include "cli.h"

#include <getopt.h>
#include <string.h>

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"no-snapshot", no_argument, NULL, 'N'},
                                             {"cache-dir", required_argument, NULL, 'c'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"all-sessions", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *out = ".", *cache = NULL;
    int snapshot = 1, quiet = 0, all = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:Nc:qah", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'N': snapshot = 0; break;
        case 'c': cache = optarg; break;
        case 'q': quiet = 1; break;
        case 'a': all = 1; break;
        case 'h': fputs(cli_replay.usage, stdout); return 0;
        default: return cli_usage_error("replay", "%s", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("replay", "%s", "expects exactly one LOG");
    model m;
    model_init(&m, out);
    model_use_assets(&m, cli_asset);
    m.use_snapshot = snapshot;
    if (cache)
        m.cache_dir = dg_xstrdup(cache);
    dg_err err;
    model_replay_info info;
    int rc = model_replay_sessions(&m, argv[optind], all, &info, &err);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer replay: %s\n", err.msg);
    } else if (!quiet) {
        /* Say what ran: a log whose last session did nothing replays nothing,
         * and that must not look like success at work. */
        printf("replayed %d action%s of %d session%s (%s, lines %d-%d of %s) into %s\n",
               info.actions, info.actions == 1 ? "" : "s", info.sessions,
               info.sessions == 1 ? "" : "s", info.when[0] ? info.when : "no session mark",
               info.first_line, info.last_line, argv[optind], out);
        if (m.saved[0])
            printf("last saved: %s\n", m.saved);
    }
    model_free(&m);
    return rc == DG_OK ? 0 : 1;
}

const cli_command cli_replay = {
    "replay", run, "re-run a workbench session log without a screen",
    "Usage: demographer replay LOG [--out DIR] [--no-snapshot] [--cache-dir DIR] [--quiet]\n"
    "                              [--all-sessions]\n"
    "\n"
    "Runs the actions of a workbench session log (one action per line, '#' lines are\n"
    "comments) in order, without a screen: it chooses the directory, loads, opens\n"
    "tables, sorts, searches, counts and saves PNGs as the session did. Stops at the\n"
    "first action that fails, naming its line. Every session appends to the log,\n"
    "after a '# demographer VERSION session, DATE' line: replay runs the last\n"
    "session's actions, and those of the session before when the last one continues\n"
    "it (the workbench reopened on the same --out restores its workspace and says so\n"
    "in the log). It says how many actions of which sessions it ran.\n"
    "\n"
    "  --all-sessions     run every session's actions, the first one first\n"
    "  --out DIR          where saved PNGs go (default: the current directory)\n"
    "  --no-snapshot      neither read nor write load snapshots\n"
    "  --cache-dir DIR    where snapshots live\n"
    "  --quiet            do not print the last file saved\n",
};
