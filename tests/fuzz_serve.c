/* libFuzzer target for the prediction API's request handling: any bytes as
 * a POST /v1/predict body (parsed, validated, freed), as a request path
 * (routed, device id parsed) and as an answer (numbers, campaign names and a
 * model version that may be anything). Each must fail cleanly or succeed;
 * the sanitizers catch the rest. */
#define _GNU_SOURCE
#include "demographer/serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dg_err err;
    dg_device_input in;
    if (dg_device_input_parse((const char *)data, size, &in, &err) == DG_OK) {
        /* What parsed is within every limit the server promises. */
        if (in.nevents > DG_SERVE_MAX_EVENTS || strlen(in.brand) > DG_SERVE_MAX_TEXT ||
            strlen(in.model) > DG_SERVE_MAX_TEXT)
            abort();
        for (size_t i = 0; i < in.nevents; i++)
            if (in.events[i].napps > DG_SERVE_MAX_APPS ||
                in.events[i].timestamp < DG_SERVE_MIN_TIME ||
                in.events[i].timestamp > DG_SERVE_MAX_TIME ||
                (in.events[i].has_location &&
                 (in.events[i].lat < -90 || in.events[i].lat > 90 ||
                  in.events[i].lon < -180 || in.events[i].lon > 180)))
                abort();
        dg_device_input_free(&in);
    }

    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    int64_t id;
    int id_ok = 0;
    dg_serve_route(path, &id, &id_ok, &err);
    if (dg_parse_device_id(path, &id, &err) == DG_OK) {
        /* An id that parsed is what strtoll reads from the whole text. */
        char *end;
        errno = 0;
        long long v = strtoll(path, &end, 10);
        if (errno || *end || v != id)
            abort();
    }

    dg_answer a;
    memset(&a, 0, sizeof a);
    memcpy(&a, data, size < sizeof a ? size : sizeof a);
    if (a.ncampaigns < 0 || a.ncampaigns > DG_SERVE_MAX_CAMPAIGNS)
        a.ncampaigns = 0;
    size_t len;
    char *text = dg_answer_json(&a, size & 1, path, &len);
    if (text && strlen(text) != len)
        abort();
    free(text);
    free(path);
    return 0;
}
