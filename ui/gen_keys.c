/* Builds the man page from its template: the line "@KEYS@" becomes the KEYS
 * section, generated from actions.def, so the manual's keys are the keys the
 * workbench binds. Run at build time: gen_keys TEMPLATE OUTPUT. */
#include <stdio.h>
#include <string.h>

typedef struct action {
    const char *name, *key, *key2, *ctx, *args, *help;
} action;

static const action acts[] = {
#define ACTION(id, name, key, key2, ctx, args, help) {name, key, key2, ctx, args, help},
#include "actions.def"
#undef ACTION
};

static void keys_section(FILE *o)
{
    static const char *ctxs[] = {"global", "load",   "clean",     "eda",   "geo", "dbscan",
                                 "models", "campaigns", "sheet", "help", "prompt"};
    static const char *titles[] = {"Everywhere", "Load pane", "Clean pane", "EDA pane", "Geo pane",
                                   "Geo pane, DBSCAN views", "Models pane", "Campaigns pane",
                                   "Table and frequency sheets",
                                   "Help overlay", "Prompts"};
    fputs(".Sh KEYS\n"
          "Every key runs an action of one table, which also gives the help overlay\n"
          ".Pq Cm \\&? ,\n"
          "the completion of the\n"
          ".Cm \\&:\n"
          "prompt, the session log's words and this section.\n"
          "A key of a pane or sheet is looked up before a global one.\n",
          o);
    for (size_t c = 0; c < sizeof ctxs / sizeof *ctxs; c++) {
        fprintf(o, ".Ss %s\n.Bl -tag -width Backspace\n", titles[c]);
        for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
            const action *a = &acts[i];
            if (strcmp(a->ctx, ctxs[c]) != 0)
                continue;
            fprintf(o, ".It Cm \\&%s", a->key);
            if (a->key2[0])
                fprintf(o, " , Cm \\&%s", a->key2);
            fprintf(o, "\n.Ic %s", a->name);
            if (a->args[0] == '[') {
                char arg[64];
                snprintf(arg, sizeof arg, "%.*s", (int)strlen(a->args) - 2, a->args + 1);
                fprintf(o, " Op Ar %s", arg);
            } else if (a->args[0]) {
                fprintf(o, " Ar %s", a->args);
            }
            fprintf(o, "\n.br\n%c%s.\n", a->help[0] >= 'a' && a->help[0] <= 'z' ? a->help[0] - 32
                                                                                : a->help[0],
                    a->help + 1);
        }
        fputs(".El\n", o);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_keys TEMPLATE OUTPUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "w");
    if (!in || !out) {
        perror(in ? argv[2] : argv[1]);
        return 1;
    }
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, in)) {
        if (strcmp(line, "@KEYS@\n") == 0) {
            keys_section(out);
            found = 1;
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    if (fclose(out) != 0 || !found) {
        fprintf(stderr, "gen_keys: %s\n", found ? "write failed" : "no @KEYS@ line in template");
        return 1;
    }
    return 0;
}
