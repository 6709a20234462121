/* The blend family (model_blend.c): what train.c builds a blend with and the
 * tests check it by. */
#ifndef DEMOGRAPHER_MODEL_BLEND_H
#define DEMOGRAPHER_MODEL_BLEND_H

#include "demographer/model.h"

extern const dg_model_family dg_family_blend;

/* A base's column for a blend design column it does not read. */
#define DG_BLEND_NONE UINT32_MAX

/* One base of a blend: a fitted model of another family, the columns of its
 * own design, and per column of the blend's design the base's column
 * (DG_BLEND_NONE: not read), ascending where defined; map NULL: the base
 * reads the blend's design as it is (ncols equal). */
typedef struct dg_blend_base {
    const dg_model_family *family;
    const void *model;
    uint32_t ncols;
    const uint32_t *map;
} dg_blend_base;

/* The combiner's input from nbases bases' predictions (pred[b]: n rows of
 * nout, the task's outputs): per base, for a binary task the logit of its
 * P(1), else the log of each class's probability, each clipped to
 * [DG_BLEND_CLIP, 1 - DG_BLEND_CLIP] first. z is a new n x (nbases * nout)
 * matrix. */
#define DG_BLEND_CLIP 1e-6
void dg_blend_inputs(const double *const *pred, int nbases, uint32_t n, dg_task task, int nout,
                     dg_csr *z);

/* Cross-validates the combiner (at each of params[0..ncombos), in
 * the order order[] (NULL: as given), on z with labels y and the folds
 * fold[] (0..nfolds-1)): oof holds ncombos blocks of z->nrows * nout
 * out-of-fold predictions, one per combination. Each fold fits the
 * combinations along that order, each from its own fit of the one before
 * (never from another fold's, fit on its held-out rows: the solver stops
 * at a tolerance, and a start's trace of those rows made the held-out
 * score optimistic). With first (ncombos slots), fold 0's fits are left there for
 * the caller to free. threads: per fit. */
int dg_blend_cross_validate(const dg_csr *z, const double *y, dg_task task, int nclasses,
                            const uint8_t *fold, int nfolds, const dg_params *params,
                            const int *order, int ncombos, uint64_t seed, int threads,
                            double *oof, void **first, dg_err *err);
/* The combiner fit on every row of z, starting from warm (a combiner on
 * z's columns, or NULL). */
int dg_blend_fit_combiner(const dg_csr *z, const double *y, dg_task task, int nclasses,
                          const dg_params *params, uint64_t seed, int threads, const void *warm,
                          void **combiner, dg_err *err);

/* A combiner's outputs for the rows of z (dg_task_nout per row), and its
 * end. */
int dg_blend_combiner_predict(const void *combiner, const dg_csr *z, double *out, dg_err *err);
void dg_blend_combiner_free(void *combiner);

/* The blend model of nbases bases (their maps copied, their models borrowed:
 * the caller frees them after the blend) and a combiner
 * (dg_blend_fit_combiner's, now the blend's), reading a design of ncols columns. A loaded blend owns
 * its bases. */
void *dg_blend_make(const dg_blend_base *bases, int nbases, void *combiner, dg_task task,
                    int nclasses, uint32_t ncols);

#endif
