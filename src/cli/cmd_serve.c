/* demographer serve: the prediction HTTP API, until SIGTERM or SIGINT. */
#include "demographer/serve.h"

#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
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
    uint64_t v, drain_s = 10;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "p:b:P:j:t:m:B:a:Ad:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': predictions = optarg; break;
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
    if (!predictions)
        return cli_usage_error("serve", "%s",
                               "--predictions FILE is required (serving from a model "
                               "directory is not in this version)");

    dg_err err;
    dg_predictor pred;
    dg_table_predictor *table;
    if (dg_table_predictor_open(&table, predictions, &pred, &err) != DG_OK) {
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
            return 1;
        }
    }
    /* The server's threads inherit this mask, so SIGTERM and SIGINT reach
     * sigwait below and nothing else; a closed client socket must not kill
     * the process. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

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
               dg_table_predictor_count(table), predictions, pred.model_version);
        fflush(stdout);
        int sig = 0;
        sigwait(&stop, &sig);
        const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
        unsigned left = dg_server_stop(srv, (double)drain_s);
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
    return rc;
}

const cli_command cli_serve = {
    "serve", run, "serve predictions over HTTP (JSON API, OpenAPI description)",
    "Usage: demographer serve --predictions FILE [--bind ADDR] [--port N] [--threads N]\n"
    "                         [--timeout S] [--max-connections N] [--max-body BYTES]\n"
    "                         [--access-log FILE | --no-access-log] [--drain S]\n"
    "\n"
    "Serves the predictions of FILE (a predictions.csv: device_id, scenario, p_female,\n"
    "age and the group probabilities) over HTTP/1.1 with keep-alive:\n"
    "  GET  /health                    status and model version\n"
    "  GET  /v1/devices/{device_id}    the prediction of a device (404 when unknown)\n"
    "  POST /v1/predict                a described device: answers 503, since a\n"
    "                                  predictions file holds no model\n"
    "  GET  /openapi.json              the OpenAPI 3 description\n"
    "  GET  /                          a page to try a device id\n"
    "Errors answer {\"error\": ..., \"detail\": ...} with their HTTP status. SIGTERM or\n"
    "SIGINT stops accepting connections, lets the requests under way finish, and exits 0.\n"
    "\n"
    "  --predictions FILE  the predictions to serve (required)\n"
    "  --bind ADDR         IPv4 or IPv6 address to listen on (default 127.0.0.1; 0.0.0.0\n"
    "                      for every interface, as in a container)\n"
    "  --port N            TCP port (default 8080; 0 picks a free one, printed at start)\n"
    "  --threads N         server threads (default: one per core)\n"
    "  --timeout S         close a connection idle or stalled for S seconds, slow\n"
    "                      clients included (default 10)\n"
    "  --max-connections N open connections at most (default 1000); more wait to be\n"
    "                      accepted until one closes\n"
    "  --max-body BYTES    request body limit (default 1048576); larger bodies get 413\n"
    "  --access-log FILE   append one line per request (time, method, path, status,\n"
    "                      bytes, microseconds; no client address) to FILE; '-' is\n"
    "                      standard error (the default)\n"
    "  --no-access-log     no access log\n"
    "  --drain S           on SIGTERM, wait at most S seconds for requests under way\n"
    "                      (default 10)\n",
};
