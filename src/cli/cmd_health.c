/* demographer health: asks a running server's /health, for container health
 * checks (the image then needs no curl binary). */
#include "cli.h"

#include <curl/curl.h>
#include <string.h>

typedef struct body {
    char text[512];
    size_t len;
} body;

static size_t keep(char *data, size_t size, size_t n, void *ctx)
{
    body *b = ctx;
    size_t take = size * n;
    if (take > sizeof b->text - 1 - b->len)
        take = sizeof b->text - 1 - b->len;
    memcpy(b->text + b->len, data, take);
    b->len += take;
    b->text[b->len] = '\0';
    return size * n;
}

static const cli_option options[] = {
    CLI_VALUE('t', 't', "timeout", "S", "give up after S seconds (default 5)"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    uint64_t timeout_s = 5;
    int ch;
    cli_parser p;
    cli_parse_start(&p, &cli_health, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        switch (ch) {
        case 't':
            if (cli_parse_u64("health", "--timeout", optarg, 1, 600, &timeout_s) != DG_OK)
                return DG_EXIT_USAGE;
            break;
        default: return cli_option_unhandled("health", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (argc - optind > 1)
        return cli_usage_error("health", "unexpected argument '%s'", argv[optind + 1]);
    const char *url = optind < argc ? argv[optind] : "http://127.0.0.1:8080/health";
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return cli_usage_error("health", "expected an http:// or https:// URL, got '%s'", url);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    body b = {.len = 0};
    b.text[0] = '\0';
    char why[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* A health check asks the server itself, never through a proxy. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    if (rc != CURLE_OK) {
        fprintf(stderr, "demographer health: %s: %s\n", url, why[0] ? why : curl_easy_strerror(rc));
        return 1;
    }
    if (status != 200 || !strstr(b.text, "\"status\":\"ok\"")) {
        fprintf(stderr, "demographer health: %s: expected 200 with \"status\":\"ok\", found %ld "
                "%.200s\n", url, status, b.text);
        return 1;
    }
    printf("%s\n", b.text);
    return 0;
}

const cli_command cli_health = {
    "health", run, "check that a running server answers /health",
    "Usage: demographer health [--timeout S] [URL]\n"
    "\n"
    "Asks URL (default http://127.0.0.1:8080/health) and exits 0 when it answers 200\n"
    "with \"status\":\"ok\" (printing the answer), 1 otherwise (saying why). The Docker\n"
    "image's HEALTHCHECK runs it.\n"
    "\n",
    options,
};
