/* The workbench's actions, generated from actions.def: ids, and per id the
 * long name, keys, context, arguments and help line. Curses-free, so the
 * replay command and the man page generator use it too. */
#ifndef DEMOGRAPHER_UI_ACTIONS_H
#define DEMOGRAPHER_UI_ACTIONS_H

typedef enum action_id {
#define ACTION(id, name, key, key2, ctx, args, help) ACT_##id,
#include "actions.def"
#undef ACTION
    ACT_COUNT
} action_id;

typedef struct action_info {
    const char *name, *key, *key2, *ctx, *args, *help;
} action_info;

extern const action_info actions[ACT_COUNT];

/* The contexts, in the order the help and the man page list them, and the
 * title of each one's section there. */
#define ACTION_NCTX 11
extern const char *const action_contexts[ACTION_NCTX];
extern const char *const action_context_titles[ACTION_NCTX];

/* The action with this long name, or -1. */
int action_by_name(const char *name);
/* The action bound to key (as actions.def names keys) in exactly this
 * context, or -1. Callers try the specific context, then "global". */
int action_for_key(const char *ctx, const char *key);

#endif
