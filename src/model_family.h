/* What the model families (model_*.c) share and nothing else uses: checking a
 * training set and parameters against a family, the lock around libraries
 * that draw from the C library's rand(), and the binary model files (a magic
 * line, then native-endian fields, read back with bounds checks). */
#ifndef DEMOGRAPHER_MODEL_FAMILY_H
#define DEMOGRAPHER_MODEL_FAMILY_H

#include "demographer/model.h"
#include "demographer/textbuf.h"

#include <stdint.h>

/* The families, one per file, listed in dg_model_families (model.c). */
extern const dg_model_family dg_family_brand_model_prior;
extern const dg_model_family dg_family_softmax;
extern const dg_model_family dg_family_phone_softmax;
extern const dg_model_family dg_family_persona_softmax;
extern const dg_model_family dg_family_liblinear_lr_l2;
extern const dg_model_family dg_family_liblinear_lr_l1;
extern const dg_model_family dg_family_liblinear_svr;
extern const dg_model_family dg_family_xgboost;
extern const dg_model_family dg_family_libsvm_svc;
extern const dg_model_family dg_family_libsvm_svr;

/* Fails unless the family fits t->task, the matrix has rows and columns, the
 * labels suit the task (class indexes in 0..nclasses-1, finite regression
 * values), the weights are finite and not negative with a positive sum, and
 * every parameter is one of the family's names. */
int dg_family_check(const dg_model_family *f, const dg_trainset *t, const dg_params *p,
                    dg_err *err);
/* Fails when a stored value of x is NaN or infinite (for the families whose
 * arithmetic has no notion of missing). */
int dg_family_finite_values(const dg_model_family *f, const dg_csr *x, dg_err *err);
/* Fails when t carries weights other than 1 (for libraries without sample
 * weights). */
int dg_family_no_weights(const dg_model_family *f, const dg_trainset *t, dg_err *err);
/* The parameter `name` (dflt when unset) when it lies in [lo, hi], else fails
 * naming the family, the parameter, the range and the value. `integer`
 * requires a whole number. */
int dg_family_param(const dg_model_family *f, const dg_params *p, const char *name, double dflt,
                    double lo, double hi, int integer, double *out, dg_err *err);
/* Into out: the parameters of p that `inner` names, for a family that
 * passes them on to the family it wraps (softmax inside persona-softmax,
 * phone-softmax and the blend's combiner). */
void dg_family_params_of(const dg_model_family *inner, const dg_params *p, dg_params *out);
/* Fails unless x has the columns the model was fit on. */
int dg_family_check_cols(const char *family, const dg_csr *x, uint32_t ncols, dg_err *err);

/* LIBLINEAR and LIBSVM shuffle with rand(): the families hold this lock,
 * srand() with the training seed, and train, so a fit repeats exactly even
 * with other fits running in other threads. */
void dg_family_rand_lock(uint64_t seed);
void dg_family_rand_unlock(void);

/* The (weighted) count of each class of a classification set; counts holds
 * t->nclasses doubles. */
void dg_family_class_counts(const dg_trainset *t, double *counts);

/* Model files. */
/* PATH + ext ("PATH.softmax"): where a family that wraps another keeps the
 * inner model's own file (the caller frees it). */
char *dg_family_inner_path(const char *path, const char *ext);
void dg_family_put(dg_textbuf *b, const void *p, size_t n);
void dg_family_put_u32(dg_textbuf *b, uint32_t v);
void dg_family_put_f64(dg_textbuf *b, double v);

typedef struct dg_family_reader {
    char *data;
    size_t len, at;
    const char *path;
} dg_family_reader;

/* Reads the file and checks it starts with `magic` (a line such as
 * "demographer liblinear 1\n"). */
int dg_family_open(dg_family_reader *r, const char *path, const char *magic, dg_err *err);
int dg_family_get(dg_family_reader *r, void *p, size_t n, const char *what, dg_err *err);
int dg_family_get_u32(dg_family_reader *r, uint32_t *v, uint32_t max, const char *what,
                      dg_err *err);
int dg_family_get_f64(dg_family_reader *r, double *v, const char *what, dg_err *err);
/* n doubles into a new array (*out, the caller frees it); fails without
 * allocating when the file holds fewer. */
int dg_family_get_f64s(dg_family_reader *r, size_t n, double **out, const char *what,
                       dg_err *err);
/* Fails when bytes remain after the model. */
int dg_family_end(dg_family_reader *r, dg_err *err);
void dg_family_close(dg_family_reader *r);

#endif
