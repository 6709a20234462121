/* demographer fetch: downloads the brief's two public S3 objects into the
 * cache directory (revalidating or resuming what is already there). */
#include "demographer/source_http.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_sources.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int cli_fetch_s3(const char *cmd, const dg_sources_config *cfg, const dg_http_opts *base,
                 int quiet, char paths[2][4096])
{
    const char *urls[2] = {cfg->labels_url, cfg->categories_url};
    dg_http_opts o = *base;
    if (cfg->cache_dir[0])
        o.cache_dir = cfg->cache_dir;
    for (int i = 0; i < 2; i++) {
        cli_progress cp;
        dg_progress pr = cli_progress_start(&cp, quiet);
        o.progress = &pr;
        dg_http_result r;
        dg_err err;
        int rc = dg_http_fetch(urls[i], &o, &r, &err);
        cli_progress_done(&cp);
        if (rc != DG_OK) {
            fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
            return DG_ERR;
        }
        char size[32], rate[32];
        dg_format_bytes((double)r.size, size, sizeof size);
        dg_format_bytes(r.seconds > 0 ? (double)r.transferred / r.seconds : 0, rate, sizeof rate);
        if (!quiet)
            printf("%s: %s, %s (%" PRIu64 " bytes received, %s/s, %d attempt%s) -> %s\n", urls[i],
                   dg_fetch_outcome_name(r.outcome), size, r.transferred, rate, r.attempts,
                   r.attempts == 1 ? "" : "s", r.path);
        snprintf(paths[i], 4096, "%s", r.path);
    }
    return DG_OK;
}

static const cli_option options[] = {
    CLI_VALUE('r', 0, "retries", "N",
              "further attempts after a transient failure (default 4; 0: none)"),
    CLI_VALUE('C', 0, "connect-timeout", "S", "seconds to connect (default 15)"),
    CLI_VALUE('L', 0, "low-speed-time", "S",
              "give an attempt up after S seconds under 1 KiB/s (default 30)"),
    CLI_VALUE(CLI_OPT_CONFIG, 0, "config", "FILE",
              "sources configuration (default $XDG_CONFIG_HOME/demographer/sources.conf)"),
    CLI_FLAG('q', 'q', "quiet", "no progress, no report"),
    CLI_INCLUDE(cli_s3_options),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    cli_sources src = {0};
    dg_http_opts ho = {0};
    int quiet = 0, ch;
    uint64_t v;
    cli_parser p;
    cli_parse_start(&p, &cli_fetch, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if (cli_sources_opt(&src, ch, optarg))
            continue;
        switch (ch) {
        case 'r':
            if (cli_parse_u64("fetch", "--retries", optarg, 0, 20, &v) != DG_OK)
                return DG_EXIT_USAGE;
            ho.retries = v == 0 ? -1 : (int)v;
            break;
        case 'C':
            if (cli_parse_u64("fetch", "--connect-timeout", optarg, 1, 600, &v) != DG_OK)
                return DG_EXIT_USAGE;
            ho.connect_timeout = (long)v;
            break;
        case 'L':
            if (cli_parse_u64("fetch", "--low-speed-time", optarg, 1, 3600, &v) != DG_OK)
                return DG_EXIT_USAGE;
            ho.low_speed_time = (long)v;
            break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("fetch", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind != argc)
        return cli_usage_error("fetch", "%s", "takes no arguments besides options");
    dg_sources_config cfg;
    dg_sources_config_init(&cfg);
    int code;
    if (cli_sources_resolve("fetch", &src, 0, &cfg, &code) != DG_OK) {
        dg_sources_config_free(&cfg);
        return code;
    }
    char paths[2][4096];
    int rc = cli_fetch_s3("fetch", &cfg, &ho, quiet, paths);
    dg_sources_config_free(&cfg);
    return rc == DG_OK ? 0 : 1;
}

const cli_command cli_fetch = {
    "fetch", run, "download the brief's two S3 objects into the cache",
    "Usage: demographer fetch [--cache-dir DIR] [--url-labels URL] [--url-categories URL]\n"
    "                         [--config FILE] [--retries N] [--connect-timeout S]\n"
    "                         [--low-speed-time S] [--quiet]\n"
    "\n"
    "Downloads app_labels_new.txt and label_categories.csv into the cache directory. A\n"
    "download goes to NAME.part and is renamed into place only when complete; a cached\n"
    "file is revalidated (ETag / Last-Modified: 304 costs nothing) and a partial one\n"
    "resumed. Server errors (5xx), timeouts and broken connections are retried with\n"
    "exponential backoff; 403 and 404 are not. TLS certificates are always verified.\n"
    "The cache directory can then be loaded with `demographer load`, or used by\n"
    "`demographer load-db --s3`.\n"
    "\n",
    options,
};
