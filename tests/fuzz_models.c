/* libFuzzer target for the model directory's readers, one reader per run,
 * chosen by DG_FUZZ_READER:
 *   design       design.txt (dg_design_load)
 *   thresholds   thresholds.txt (dg_deciles_parse)
 *   meta         a model folder's meta.txt, through dg_model_dir_open (the
 *                folder sealed again each time, so the checksums pass)
 *   checksums    models/checksums.txt, through dg_model_dir_open
 *   FAMILY       that family's model file (prior, softmax, xgboost, ...,
 *                blend): the bytes after a 2-byte length go to its inner
 *                files (FILE.prior, .softmax, .group12, .combiner)
 * Each reader must fail cleanly or succeed; the sanitizers catch the rest.
 * The files live in a folder of this process under $TMPDIR (or /tmp). */
#include "demographer/campaign.h"
#include "demographer/common.h"
#include "demographer/design.h"
#include "demographer/model.h"
#include "demographer/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir, *models, *folder;
static const char *reader;
static const dg_model_family *family;

static void put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(data, 1, n, f) != n)
        abort();
    fclose(f);
}

static void setup(void)
{
    reader = getenv("DG_FUZZ_READER");
    if (!reader)
        reader = "design";
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/dg-fuzz-models-%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    dir = dg_xstrdup(buf);
    models = dg_path_join(dir, "models");
    folder = dg_path_join(models, "s1-gender");
    dg_err err;
    if (dg_mkdirs(folder, &err) != DG_OK)
        abort();
    if (strcmp(reader, "design") && strcmp(reader, "thresholds") && strcmp(reader, "meta") &&
        strcmp(reader, "checksums") && !(family = dg_model_family_find(reader))) {
        fprintf(stderr, "DG_FUZZ_READER=%s: not a reader\n", reader);
        abort();
    }
    /* meta and checksums: a folder holding one model's three files */
    static const char meta[] = "format demographer-model 1\ntarget gender\nscenario 1\n"
                               "family prior\nlayout 0000000000000000\ndata 0000000000000000\n"
                               "ncols 0\n";
    char *p = dg_path_join(folder, "meta.txt");
    put(p, meta, sizeof meta - 1);
    free(p);
    p = dg_path_join(folder, "design.txt");
    put(p, "demographer-design 2\n", 21);
    free(p);
    p = dg_path_join(folder, "model");
    put(p, "x", 1);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir)
        setup();
    dg_err err;
    if (strcmp(reader, "thresholds") == 0) {
        char *text = dg_xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        dg_deciles d;
        dg_deciles_parse(&d, text, "fuzz", &err);
        free(text);
        return 0;
    }
    if (strcmp(reader, "design") == 0) {
        char *p = dg_path_join(dir, "design.txt");
        put(p, data, size);
        dg_design_spec s;
        dg_design_spec_init(&s);
        if (dg_design_load(&s, p, &err) == DG_OK)
            (void)dg_design_ncols(&s);
        dg_design_spec_free(&s);
        free(p);
        return 0;
    }
    if (strcmp(reader, "meta") == 0 || strcmp(reader, "checksums") == 0) {
        int meta = reader[0] == 'm';
        char *p = meta ? dg_path_join(folder, "meta.txt")
                       : dg_path_join(models, DG_MODEL_DIR_CHECKSUMS);
        put(p, data, size);
        if (meta && dg_model_dir_seal(models, 0, &err) != DG_OK)
            abort();
        dg_model_dir d;
        if (dg_model_dir_open(&d, dir, &err) == DG_OK)
            dg_model_dir_close(&d);
        free(p);
        return 0;
    }
    /* a family's model file, and its inner files */
    size_t first = size;
    if (size >= 2) {
        first = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (first > size)
            first = size;
    }
    char *p = dg_path_join(dir, "model");
    put(p, data, first);
    static const char *const inner[] = {".prior", ".softmax", ".group12", ".combiner"};
    for (size_t i = 0; i < sizeof inner / sizeof *inner; i++) {
        char ip[4200];
        snprintf(ip, sizeof ip, "%s%s", p, inner[i]);
        put(ip, data + first, size - first);
    }
    void *model = NULL;
    if (family->load(p, &model, &err) == DG_OK)
        family->free(model);
    free(p);
    return 0;
}
