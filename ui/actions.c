#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const action_info actions[ACT_COUNT] = {
#define LOG ACTION_LOG
#define DATA ACTION_DATA
#define MOVE ACTION_MOVE
#define ACTION(id, name, key, key2, ctx, args, flags, help) {name, key, key2, ctx, args, flags, help},
#include "actions.def"
#undef ACTION
#undef LOG
#undef DATA
#undef MOVE
};

const char *const action_contexts[ACTION_NCTX] = {
    "global", "load", "clean", "eda", "geo", "dbscan", "models", "campaigns", "sheet", "help",
    "prompt"};
const char *const action_context_titles[ACTION_NCTX] = {
    "Everywhere",     "Load pane",   "Clean pane",     "EDA pane",
    "Geo pane",       "Geo pane, DBSCAN views",        "Models pane",
    "Campaigns pane", "Table and frequency sheets",    "Help and detail overlay",
    "Prompts"};

int action_by_name(const char *name)
{
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(actions[i].name, name) == 0)
            return i;
    return -1;
}

int action_for_key(const char *ctx, const char *key)
{
    if (!key[0])
        return -1;
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(actions[i].ctx, ctx) == 0 &&
            (strcmp(actions[i].key, key) == 0 || strcmp(actions[i].key2, key) == 0))
            return i;
    return -1;
}

void action_keys_expand(char *s, size_t cap)
{
    if (!strchr(s, '{'))
        return;
    char *out = malloc(cap);
    if (!out)
        return;
    size_t o = 0;
    const char *p = s;
    while (*p && o + 1 < cap) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (close && close - p < 64) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
            int id = action_by_name(name);
            if (id >= 0) {
                int n = snprintf(out + o, cap - o, "%s", actions[id].key);
                o += n > 0 ? (size_t)n : 0;
                if (o >= cap)
                    o = cap - 1;
                p = close + 1;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    memcpy(s, out, o + 1);
    free(out);
}
