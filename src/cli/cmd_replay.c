/* demographer replay: runs a workbench session log without a screen. */
#include "model.h"

#include "cli.h"

#include <string.h>

static const cli_option options[] = {
    CLI_FLAG('a', 'a', "all-sessions", "run every session's actions, the first one first"),
    CLI_VALUE('o', 'o', "out", "DIR", "where saved PNGs go (default: the current directory)"),
    CLI_FLAG('N', 'N', "no-snapshot", "neither read nor write load snapshots"),
    CLI_VALUE('c', 'c', "cache-dir", "DIR", "where snapshots live"),
    CLI_FLAG('q', 'q', "quiet", "do not print the last file saved"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    const char *out = ".", *cache = NULL;
    int snapshot = 1, quiet = 0, all = 0, ch;
    cli_parser p;
    cli_parse_start(&p, &cli_replay, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'N': snapshot = 0; break;
        case 'c': cache = optarg; break;
        case 'q': quiet = 1; break;
        case 'a': all = 1; break;
        default: return cli_option_unhandled("replay", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
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
    "\n",
    options,
};
