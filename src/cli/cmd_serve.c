/* demographer serve: the prediction HTTP API, until SIGTERM, SIGINT or SIGHUP. */
#include "demographer/campaign.h"
#include "demographer/clean.h"
#include "demographer/serve.h"

#include "cli.h"
#include "cli_progress.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { O_MODELS = 256, O_DATA, O_CAMPAIGN_RULES, O_THRESHOLDS, O_SUPER, O_CLEAN_RULES, O_NO_CLEAN,
       O_QUIET };

/* What --models mode loads before serving. */
typedef struct model_opts {
    const char *models, *data, *campaign_rules, *thresholds, *super, *clean_rules;
    int no_clean, quiet;
    dg_load_opts lo;
} model_opts;

/* Loads and cleans the data set, then opens the model-directory predictor
 * (which predicts every kept test device); the data set is freed after. */
static int open_models(const model_opts *mo, dg_models_predictor **out, dg_predictor *pred,
                       dg_supercats *sc)
{
    dg_err err;
    dg_campaign_rules crules;
    dg_rules rules;
    dg_rules_init(&rules);
    int rc = 0;
    if (mo->campaign_rules) {
        if (dg_campaign_rules_load(&crules, mo->campaign_rules, &err) != DG_OK)
            rc = 1;
    } else {
        dg_campaign_rules_default(&crules);
    }
    if (rc == 0 && dg_supercats_load(sc, mo->super ? mo->super
                                                   : cli_asset("supercategories.txt"),
                                     &err) != DG_OK)
        rc = 1;
    if (rc == 0 && !mo->no_clean) {
        if (mo->clean_rules)
            rc = dg_rules_load(&rules, mo->clean_rules, &err) != DG_OK;
        else
            dg_rules_default(&rules);
    }
    if (rc) {
        fprintf(stderr, "demographer serve: %s\n", err.msg);
        dg_rules_free(&rules);
        return 1;
    }
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_load_opts lo = mo->lo;
    rc = cli_load_cleaned("serve", mo->data, &lo, mo->quiet, mo->clean_rules, mo->no_clean, &ds);
    if (rc == 0) {
        cli_progress cp;
        dg_progress pr = cli_progress_start(&cp, mo->quiet);
        dg_models_predictor_opts o = {
            .model_dir = mo->models,
            .ds = &ds,
            .clean_rules = mo->no_clean ? NULL : &rules,
            .supercats = sc,
            .cluster_eps_km = DG_CLUSTER_EPS_KM_DEFAULT,
            .cluster_min_pts = DG_CLUSTER_MIN_PTS_DEFAULT,
            .campaign_rules = &crules,
            .thresholds = mo->thresholds,
            .progress = &pr,
        };
        rc = dg_models_predictor_open(out, &o, pred, &err) != DG_OK;
        cli_progress_done(&cp);
        if (rc)
            fprintf(stderr, "demographer serve: %s\n", err.msg);
    }
    dg_dataset_free(&ds);
    dg_rules_free(&rules);
    return rc;
}

static int run(int argc, char **argv)
{
    /* The data options but --threads, which here is the server's. */
    static const struct option longopts[] = {
        {"lenient", no_argument, NULL, 'l'},
        {"no-snapshot", no_argument, NULL, 'N'},
        {"cache-dir", required_argument, NULL, 'c'},
        {"file", required_argument, NULL, 'f'},
        {"models", required_argument, NULL, O_MODELS},
        {"data", required_argument, NULL, O_DATA},
        {"campaign-rules", required_argument, NULL, O_CAMPAIGN_RULES},
        {"thresholds", required_argument, NULL, O_THRESHOLDS},
        {"super", required_argument, NULL, O_SUPER},
        {"rules", required_argument, NULL, O_CLEAN_RULES},
        {"no-clean", no_argument, NULL, O_NO_CLEAN},
        {"quiet", no_argument, NULL, O_QUIET},
        {"predictions", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"port", required_argument, NULL, 'P'},
        {"threads", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"max-connections", required_argument, NULL, 'm'},
        {"max-body", required_argument, NULL, 'B'},
        {"access-log", required_argument, NULL, 'a'},
        {"no-access-log", no_argument, NULL, 'A'},
        {"drain", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    dg_serve_opts o;
    dg_serve_opts_init(&o);
    o.port = 8080;
    const char *predictions = NULL, *access_log = "-";
    model_opts mo = {.lo = {.use_snapshot = 1}};
    uint64_t v, drain_s = 10;
    int ch, taken;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "p:b:P:j:t:m:B:a:Ad:hlNc:f:", longopts, NULL)) != -1) {
        if (ch != 'j' && (taken = cli_data_option("serve", ch, optarg, &mo.lo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'p': predictions = optarg; break;
        case O_MODELS: mo.models = optarg; break;
        case O_DATA: mo.data = optarg; break;
        case O_CAMPAIGN_RULES: mo.campaign_rules = optarg; break;
        case O_THRESHOLDS: mo.thresholds = optarg; break;
        case O_SUPER: mo.super = optarg; break;
        case O_CLEAN_RULES: mo.clean_rules = optarg; break;
        case O_NO_CLEAN: mo.no_clean = 1; break;
        case O_QUIET: mo.quiet = 1; break;
        case 'b': o.bind = optarg; break;
        case 'P':
            if (cli_parse_u64("serve", "--port", optarg, 0, 65535, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.port = (unsigned)v;
            break;
        case 'j':
            if (cli_parse_u64("serve", "--threads", optarg, 1, 256, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.threads = (unsigned)v;
            break;
        case 't':
            if (cli_parse_u64("serve", "--timeout", optarg, 1, 3600, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.timeout_s = (unsigned)v;
            break;
        case 'm':
            if (cli_parse_u64("serve", "--max-connections", optarg, 1, 100000, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.max_connections = (unsigned)v;
            break;
        case 'B':
            if (cli_parse_u64("serve", "--max-body", optarg, 256, 256u << 20, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.max_body = (size_t)v;
            break;
        case 'a': access_log = optarg; break;
        case 'A': access_log = NULL; break;
        case 'd':
            if (cli_parse_u64("serve", "--drain", optarg, 0, 3600, &drain_s) != DG_OK)
                return CLI_EXIT_USAGE;
            break;
        case 'h': fputs(cli_serve.usage, stdout); return 0;
        default: return cli_usage_error("serve", "%s", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (predictions && mo.models)
        return cli_usage_error("serve", "%s",
                               "--predictions and --models exclude each other (serve a "
                               "predictions file or a model directory)");
    if (!predictions && !mo.models)
        return cli_usage_error("serve", "%s",
                               "--predictions FILE is required, or --models DIR with --data "
                               "DATA_DIR");
    if (mo.models && !mo.data)
        return cli_usage_error("serve", "%s",
                               "--models DIR needs --data DATA_DIR (the data set the models "
                               "were trained on: its test devices are served)");
    if (!mo.models && (mo.data || mo.campaign_rules || mo.thresholds || mo.super ||
                       mo.clean_rules || mo.no_clean))
        return cli_usage_error("serve", "%s",
                               "--data, --campaign-rules, --thresholds, --super, --rules and "
                               "--no-clean go with --models DIR");

    /* The access log is appended to: never to one of the inputs. */
    const char *inputs[] = {predictions, mo.models, mo.campaign_rules, mo.thresholds, mo.super,
                            mo.clean_rules};
    if (access_log && strcmp(access_log, "-") != 0 &&
        cli_output_apart("serve", "--access-log", access_log, mo.data, &mo.lo, inputs, 6))
        return 1;
    dg_err err;
    dg_predictor pred;
    dg_table_predictor *table = NULL;
    dg_models_predictor *mp = NULL;
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    if (mo.models) {
        if (open_models(&mo, &mp, &pred, &sc) != 0) {
            dg_supercats_free(&sc);
            return 1;
        }
    } else if (dg_table_predictor_open(&table, predictions, &pred, &err) != DG_OK) {
        fprintf(stderr, "demographer serve: %s\n", err.msg);
        return 1;
    }
    if (access_log && strcmp(access_log, "-") == 0) {
        o.access_log_fd = STDERR_FILENO;
    } else if (access_log) {
        o.access_log_fd = open(access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (o.access_log_fd < 0) {
            fprintf(stderr, "demographer serve: cannot open access log %s: %s\n", access_log,
                    strerror(errno));
            dg_table_predictor_free(table);
            dg_models_predictor_free(mp);
            dg_supercats_free(&sc);
            return 1;
        }
    }
    /* The server's threads inherit this mask, so SIGTERM, SIGINT and SIGHUP
     * reach sigwait below and nothing else; a closed client socket must not
     * kill the process. SIGHUP (the terminal closed, or a service manager's
     * reload) drains like SIGTERM rather than cutting the requests under way:
     * the access log is opened once, so a rotated log is picked up by a
     * restart, and reopening it on SIGHUP is not offered. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* A connection costs about two descriptors (the server keeps accepting
     * while evicted ones close): the soft open-file limit, often
     * 1024, is raised to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    dg_server *srv;
    int rc = 0;
    if (dg_server_start(&srv, &pred, &o, &err) != DG_OK) {
        fprintf(stderr, "demographer serve: %s\n", err.msg);
        rc = 1;
    } else {
        printf("demographer serve: listening on http://%s%s%s:%u/ (%zu devices from %s, "
               "model version %s)\n",
               strchr(o.bind ? o.bind : "", ':') ? "[" : "", o.bind ? o.bind : "127.0.0.1",
               strchr(o.bind ? o.bind : "", ':') ? "]" : "", dg_server_port(srv),
               table ? dg_table_predictor_count(table) : dg_models_predictor_count(mp),
               table ? predictions : mo.models, pred.model_version);
        unsigned want = o.max_connections ? o.max_connections : 1000;
        if (dg_server_max_connections(srv) < want && getrlimit(RLIMIT_NOFILE, &rl) == 0)
            fprintf(stderr, "demographer serve: at most %u connections, not %u: the open-file "
                    "limit is %llu (ulimit -n; about 2 descriptors a connection)\n",
                    dg_server_max_connections(srv), want, (unsigned long long)rl.rlim_cur);
        if (mp)
            printf("demographer serve: the test devices of %s predicted from %s; POST "
                   "/v1/predict served; campaign deciles from %s\n",
                   mo.models, mo.data, dg_models_predictor_deciles_origin(mp));
        fflush(stdout);
        int sig = 0;
        sigwait(&stop, &sig);
        const char *name = sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT";
        unsigned long dropped = dg_server_log_dropped(srv);
        unsigned left = dg_server_stop(srv, (double)drain_s);
        if (dropped)
            fprintf(stderr, "demographer serve: %lu access-log lines could not be written "
                    "(a full disk?) and were dropped whole\n", dropped);
        if (left)
            fprintf(stderr, "demographer serve: %s: stopped; %u requests were still under way "
                    "after %d s and were cut\n", name, left, (int)drain_s);
        else
            printf("demographer serve: %s: stopped accepting, finished the requests under way, "
                   "exiting\n", name);
    }
    if (o.access_log_fd >= 0 && o.access_log_fd != STDERR_FILENO)
        close(o.access_log_fd);
    dg_table_predictor_free(table);
    dg_models_predictor_free(mp);
    dg_supercats_free(&sc);
    return rc;
}

const cli_command cli_serve = {
    "serve", run, "serve predictions over HTTP (JSON API, OpenAPI description)",
    "Usage: demographer serve --models DIR --data DATA_DIR [model options] [server options]\n"
    "       demographer serve --predictions FILE [server options]\n"
    "server options: [--bind ADDR] [--port N] [--threads N] [--timeout S]\n"
    "                [--max-connections N] [--max-body BYTES]\n"
    "                [--access-log FILE | --no-access-log] [--drain S]\n"
    "\n"
    "Serves predictions over HTTP/1.1 with keep-alive:\n"
    "  GET  /health                    status and model version\n"
    "  GET  /v1/devices/{device_id}    the prediction of a known device (404 otherwise)\n"
    "  POST /v1/predict                the prediction of a device described in the body\n"
    "                                  (brand, model, events with their apps)\n"
    "  GET  /openapi.json              the OpenAPI 3 description\n"
    "  GET  /                          a page to try a device id\n"
    "Errors answer {\"error\": ..., \"detail\": ...} with their HTTP status. The request\n"
    "head is read strictly (RFC 9112): ambiguous framing (Transfer-Encoding with\n"
    "Content-Length, two Content-Lengths, one that is not digits), an HTTP/1.1 request\n"
    "without one Host, a folded line, a bare LF, a control byte (NUL...) in a value or\n"
    "a malformed chunked body gets 400 and the connection is closed; a\n"
    "Transfer-Encoding other than chunked gets 501, a version other than 1.x 505, a\n"
    "POST body with a Content-Encoding (gzip...) 415.\n"
    "SIGTERM, SIGINT or SIGHUP stops accepting connections, lets the requests under way\n"
    "finish, and exits 0.\n"
    "\n"
    "With --models DIR (a train --out directory or its models/) and --data DATA_DIR (the\n"
    "data set it was trained on), it loads and cleans the data, builds the features as\n"
    "train does (a model directory of another feature layout is refused), and predicts\n"
    "the test devices DIR lists (test_devices.csv): those are the known devices, each by\n"
    "the scenario 1 models when it has events, else the scenario 2 ones. POST\n"
    "/v1/predict turns the description into a one-device data set with the data set's\n"
    "app labels, cleans it by the same rules and predicts it with the same models; its\n"
    "cluster columns are unknown (a device's events cannot be clustered alone), which\n"
    "the models treat as missing. Every answer carries the campaigns the device falls\n"
    "into: P(female) deciles from --thresholds, else DIR's thresholds.txt when there is\n"
    "one, else fitted on the test devices' predictions. The model version is the\n"
    "demographer version and data checksum of DIR's meta.txt.\n"
    "  --models DIR          the model directory\n"
    "  --data DATA_DIR       its data set\n"
    "  --campaign-rules FILE campaign rules (default: the brief's six campaigns)\n"
    "  --thresholds FILE     decile edges (a thresholds.txt of campaigns or predict)\n"
    "  --super FILE          super-category rules (default: the assets' supercategories.txt)\n"
    "  --rules FILE          cleaning rules (default: the brief's); --no-clean: none\n"
    "  --lenient, --no-snapshot, --cache-dir DIR, --file TABLE=PATH: as for load\n"
    "  --quiet               no load summary or progress\n"
    "\n"
    "With --predictions FILE (a predictions.csv: device_id, scenario, p_female, age and\n"
    "the group probabilities, as predict writes) it answers GET /v1/devices/{device_id}\n"
    "from the file; POST /v1/predict answers 503 (no model) and answers carry no\n"
    "campaigns.\n"
    "\n"
    "  --predictions FILE  the predictions to serve\n"
    "  --bind ADDR         IPv4 or IPv6 address to listen on (default 127.0.0.1; 0.0.0.0\n"
    "                      for every interface, as in a container)\n"
    "  --port N            TCP port (default 8080; 0 picks a free one, printed at start)\n"
    "  --threads N         server threads (default: one per core)\n"
    "  --timeout S         close a connection silent for S seconds, or whose request\n"
    "                      (line, headers and body) has not arrived whole S seconds\n"
    "                      after the server began waiting for it, however slowly it\n"
    "                      trickles in (default 10)\n"
    "  --max-connections N open connections at most (default 1000); one more closes\n"
    "                      the connection that has waited longest for its request (an\n"
    "                      idle keep-alive or a slow client), never one being answered\n"
    "  --max-body BYTES    request body limit (default 1048576); larger bodies get 413\n"
    "  --access-log FILE   append one line per request (time, method, path, status,\n"
    "                      bytes, microseconds; no client address) to FILE; '-' is\n"
    "                      standard error (the default). A line is written whole or\n"
    "                      not at all; lines that cannot be written (a full disk) are\n"
    "                      counted in /health's access_log_dropped and at exit\n"
    "  --no-access-log     no access log\n"
    "  --drain S           on SIGTERM, SIGINT or SIGHUP, wait at most S seconds for requests under way\n"
    "                      (default 10)\n",
};
