/* libFuzzer target for the CSV reader: any bytes, read as a file with every
 * column type, strict and lenient, one thread and several. The reader must
 * fail cleanly or succeed; sanitizers catch the rest. */
#define _GNU_SOURCE
#include "demographer/csv.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static const dg_colspec COLS[] = {
    {"a", NULL, DG_COL_I64}, {"b", "bb", DG_COL_STR}, {"c", NULL, DG_COL_F32},
    {"d", NULL, DG_COL_TIME}, {"e", NULL, DG_COL_KEY}, {"f", NULL, DG_COL_I8},
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
    for (int mode = 0; mode < 4; mode++) {
        dg_table t;
        dg_table_init(&t, "fuzz");
        dg_csv_opts o = {.lenient = mode & 1, .threads = mode & 2 ? 3 : 1, .max_field = 4096};
        dg_csv_report rep;
        dg_err err;
        /* The first byte picks how many columns are asked for. */
        int ncols = size ? 1 + data[0] % 6 : 6;
        dg_csv_read(path, COLS, ncols, &o, &t, &rep, &err);
        dg_table_free(&t);
    }
    close(fd);
    return 0;
}
