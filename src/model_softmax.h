/* The softmax family's objective, exposed for its gradient test. */
#ifndef DEMOGRAPHER_MODEL_SOFTMAX_H
#define DEMOGRAPHER_MODEL_SOFTMAX_H

#include "demographer/model.h"

extern const dg_model_family dg_family_softmax;

/* The L2-regularised multinomial log loss at w ((x->ncols + 1) * nclasses
 * doubles: a row of nclasses weights per column, then the intercepts, which
 * are not regularised), with its gradient in grad, computed on `threads`
 * threads. The loss is the weighted mean over the rows. */
double dg_softmax_objective(const dg_trainset *t, double l2, const double *w, double *grad,
                            int threads);
/* The same loss for a fit of rank `rank` (softmax's `rank` parameter): theta
 * is W (x->ncols x rank), then A (rank x nclasses), then the nclasses
 * intercepts; the weights are W A, and the L2 penalty is on W and A. */
double dg_softmax_rank_objective(const dg_trainset *t, double l2, int rank, const double *theta,
                                 double *grad, int threads);

/* Whether liblbfgs's return code leaves a usable point: a stop at the
 * optimum, or one of the stops that keep the best point found so far
 * (liblbfgs reverts a failed line search), near the optimum the optimum to
 * within rounding; and the words for a failure. */
int dg_lbfgs_usable(int ret);
const char *dg_lbfgs_error(int ret);

#endif
