/* The workbench's actions, generated from actions.def: ids, and per id the
 * long name, keys, context, arguments and help line. Curses-free, so the
 * replay command and the man page generator use it too. */
#ifndef DEMOGRAPHER_UI_ACTIONS_H
#define DEMOGRAPHER_UI_ACTIONS_H

#include <stddef.h>

typedef enum action_id {
#define ACTION(id, name, key, key2, ctx, args, flags, help) ACT_##id,
#include "actions.def"
#undef ACTION
    ACT_COUNT
} action_id;

/* Per-action properties, the flags of actions.def (there LOG, DATA, MOVE). */
enum {
    ACTION_LOG = 1,  /* written to the session log, so replay runs it */
    ACTION_DATA = 2, /* works on the data: refused while a job is out */
    ACTION_MOVE = 4  /* moves a cursor */
};

typedef struct action_info {
    const char *name, *key, *key2, *ctx, *args;
    unsigned flags;
    const char *help;
} action_info;

extern const action_info actions[ACT_COUNT];

/* The contexts, in the order the help and the man page list them, and the
 * title of each one's section there. */
#define ACTION_NCTX 11
extern const char *const action_contexts[ACTION_NCTX];
extern const char *const action_context_titles[ACTION_NCTX];

static inline int action_has(int id, unsigned flag)
{
    return id >= 0 && id < ACT_COUNT && (actions[id].flags & flag);
}

/* Replaces each "{long-name}" in s (in place, within cap bytes) by the key
 * that action is bound to, so that messages name keys from this table, as
 * tig's get_view_key does, and a rebinding cannot leave them wrong. Text in
 * braces that names no action stays. */
void action_keys_expand(char *s, size_t cap);

/* The action with this long name, or -1. */
int action_by_name(const char *name);
/* The action bound to key (as actions.def names keys) in exactly this
 * context, or -1. Callers try the specific context, then "global". */
int action_for_key(const char *ctx, const char *key);

#endif
