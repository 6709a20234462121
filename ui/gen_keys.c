/* Builds the man page from its template: the line "@KEYS@" becomes the KEYS
 * section, generated from actions.def, so the manual's keys are the keys the
 * workbench binds. Run at build time: gen_keys TEMPLATE OUTPUT. */
#include "actions.h"

#include <stdio.h>
#include <string.h>

static void keys_section(FILE *o)
{
    fputs(".Sh KEYS\n"
          "Every key runs an action of one table, which also gives the help overlay\n"
          ".Pq Cm \\&? ,\n"
          "the completion of the\n"
          ".Cm \\&:\n"
          "prompt, the session log's words and this section.\n"
          "A key of a pane or sheet is looked up before a global one.\n",
          o);
    for (int c = 0; c < ACTION_NCTX; c++) {
        fprintf(o, ".Ss %s\n.Bl -tag -width Backspace\n", action_context_titles[c]);
        for (int i = 0; i < ACT_COUNT; i++) {
            const action_info *a = &actions[i];
            if (strcmp(a->ctx, action_contexts[c]) != 0)
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
