/* libFuzzer target for the CSV reader: any bytes, read as a file with every
 * column type, strict or lenient, with or without row lines. The reader must
 * fail cleanly or succeed; on success every string it kept is valid UTF-8
 * and the rows' lines rise. Sanitizers catch the rest. One read per input
 * (the first byte picks the options): inputs are far below the size at which
 * the reader splits work over threads, so reading each four ways only
 * quartered the executions. */
#define _GNU_SOURCE
#include "demographer/csv.h"
#include "demographer/textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const dg_colspec COLS[] = {
    {"a", NULL, DG_COL_I64, NULL}, {"b", "bb", DG_COL_STR, NULL}, {"c", NULL, DG_COL_F32, NULL},
    {"d", NULL, DG_COL_TIME, NULL}, {"e", NULL, DG_COL_KEY, NULL}, {"f", NULL, DG_COL_I8, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.csv", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    unsigned pick = size ? data[0] : 0;
    int ncols = 1 + (int)(pick % 6);
    uint64_t *lines = NULL;
    dg_table t;
    dg_table_init(&t, "fuzz");
    dg_csv_opts o = {.lenient = (pick / 6) & 1, .threads = (pick / 12) & 1 ? 3 : 1,
                     .max_field = 4096, .row_lines = (pick / 24) & 1 ? &lines : NULL};
    dg_csv_report rep;
    dg_err err;
    if (dg_csv_read(path, COLS, ncols, &o, &t, &rep, &err) == DG_OK) {
        for (uint32_t i = 0; i < t.strings.n; i++) {
            const char *s = dg_strpool_get(&t.strings, i);
            size_t n = dg_strpool_len(&t.strings, i);
            if (dg_utf8_check(s, n) != n)
                abort(); /* invalid UTF-8 kept */
        }
        for (uint64_t i = 0; lines && i < t.nrows; i++)
            if (lines[i] < 2 || (i && lines[i] <= lines[i - 1]))
                abort(); /* a row's line out of order */
    }
    free(lines);
    dg_table_free(&t);
    close(fd);
    return 0;
}
