/* Helpers shared by the test programs: temporary folders and files, the real
 * data folder, and running the demographer binary. */
#ifndef DEMOGRAPHER_TESTUTIL_H
#define DEMOGRAPHER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A new empty folder under $TMPDIR (or /tmp); the caller frees the string. */
char *tu_tmpdir(void);
/* Removes a folder and everything in it. */
void tu_rmrf(const char *path);
/* Writes len bytes into dir/name and returns the path (freed by the caller). */
char *tu_write(const char *dir, const char *name, const void *data, size_t len);
/* Same, for a NUL-terminated string. */
char *tu_write_str(const char *dir, const char *name, const char *text);
/* The whole file, NUL-terminated (len may be NULL), or NULL when it cannot
 * be opened; the caller frees it. */
char *tu_read(const char *path, size_t *len);
/* The folder of real data pieces, or NULL (with a skip message printed) when
 * absent: tests that need it call skip() then. */
const char *tu_real_dir(void);
/* The path of a file in the real data folder (freed by the caller), or NULL
 * (with the skip message of tu_real_dir) when the folder is absent. */
char *tu_real_path(const char *name);
/* Runs a shell command, returns its exit status and (when out is not NULL)
 * its stdout and stderr together, NUL-terminated, freed by the caller. */
int tu_run(const char *cmd, char **out);
/* Loads the data set in dir into ds (initialised here) and cleans it with
 * the rules of rules_text (one rule a line, as a rules file), their effects
 * in fx (one per rule); any failure fails the test. */
struct dg_dataset;
struct dg_rule_effect;
void tu_load_cleaned(struct dg_dataset *ds, const char *dir, const char *rules_text,
                     struct dg_rule_effect *fx);
/* The demographer binary under test. */
const char *tu_bin(void);
/* Whether the test server that the environment variable `var` names is
 * missing (var unset or empty): says so, naming `starter` (what starts it),
 * and returns 1, so that a clone without servers skips those tests. Under
 * scripts/test.sh, which starts the servers and sets DG_TEST_SERVERS=1, a
 * missing one is a failure: the program exits 1 instead of skipping. */
int tu_server_missing(const char *var, const char *starter);

#endif
