/* demographer predict: a model directory's predictions for the devices of a
 * data set (predictions.csv), and optionally the campaigns they fall into. */
#include "demographer/campaign.h"
#include "demographer/prediction.h"
#include "demographer/train.h"

#include "cli.h"
#include "cli_progress.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_MODELS = 256,
    O_OUT,
    O_KAGGLE,
    O_DEVICES,
    O_CAMPAIGN_RULES,
    O_CAMPAIGNS_OUT,
    O_SUPER,
    O_QUIET,
    O_HELP
};

enum { DEV_TEST, DEV_LABELLED, DEV_ALL };
static const char *const device_sets[] = {"test", "labelled", "all"};

static int fail(const dg_err *err)
{
    fprintf(stderr, "demographer predict: %s\n", err->msg);
    return 1;
}

/* The feature rows of the model directory's kept test devices. */
static int test_rows(const dg_model_dir *d, const dg_features *f, uint32_t **out, uint32_t *n,
                     dg_err *err)
{
    dg_i64map rows;
    dg_i64map_init(&rows);
    for (uint32_t r = 0; r < f->ndevices; r++)
        dg_i64map_put(&rows, f->device_id[r]);
    uint32_t *v = dg_xmalloc((d->ntest + 1) * sizeof *v);
    size_t missing = 0;
    int64_t first = 0;
    for (size_t i = 0; i < d->ntest; i++) {
        v[i] = dg_i64map_get(&rows, d->test_device[i]);
        if (v[i] == UINT32_MAX && missing++ == 0)
            first = d->test_device[i];
    }
    dg_i64map_free(&rows);
    if (missing) {
        free(v);
        return dg_fail(err, "%s/test_devices.csv: %zu of its %zu test devices (the first: %" PRId64
                            ") are not devices of this data set (predict on the data set the "
                            "models were trained on, or use --devices labelled or all)",
                       d->path, missing, d->ntest, first);
    }
    *out = v;
    *n = (uint32_t)d->ntest;
    return DG_OK;
}

static int cmp_truth(const void *a, const void *b)
{
    int64_t x = ((const dg_truth *)a)->device_id, y = ((const dg_truth *)b)->device_id;
    return (x > y) - (x < y);
}

/* The campaigns' files: deciles fitted on the test devices' predictions,
 * reach over the predicted devices with the test devices' labels as truth. */
static int write_campaigns(const char *dir, const dg_campaign_rules *rules,
                           const dg_model_dir *d, const dg_labelled *l,
                           const dg_prediction *pred, size_t n, const dg_prediction *test,
                           size_t ntest, int quiet, dg_err *err)
{
    double *pf = dg_xmalloc((ntest + 1) * sizeof *pf);
    size_t nf = 0;
    for (size_t i = 0; i < ntest; i++)
        if (isfinite(test[i].p_female))
            pf[nf++] = test[i].p_female;
    dg_deciles dec;
    int rc = nf >= 10 ? dg_deciles_fit(&dec, pf, nf, err)
                      : dg_fail(err, "%s: the gender models give P(female) for %zu of the %zu "
                                     "test devices; the campaigns' deciles need at least 10",
                                d->path, nf, ntest);
    free(pf);
    if (rc != DG_OK)
        return rc;
    /* Truth: the labelled devices of the directory's test split. */
    dg_i64map is_test;
    dg_i64map_init(&is_test);
    for (size_t i = 0; i < d->ntest; i++)
        dg_i64map_put(&is_test, d->test_device[i]);
    dg_truth *truth = dg_xmalloc(((size_t)l->n + 1) * sizeof *truth);
    size_t ntruth = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (dg_i64map_get(&is_test, l->device_id[i]) != UINT32_MAX)
            truth[ntruth++] = (dg_truth){l->device_id[i], l->female[i], l->age[i]};
    dg_i64map_free(&is_test);
    qsort(truth, ntruth, sizeof *truth, cmp_truth);
    dg_targeting *tg = dg_xcalloc(n + 1, sizeof *tg);
    for (size_t i = 0; i < n; i++)
        dg_campaigns_assign(rules, &dec, &pred[i], &tg[i]);
    dg_reach *reach = dg_xcalloc(1, sizeof *reach);
    dg_reach_compute(rules, pred, tg, n, truth, ntruth, reach);
    dg_outdir od;
    rc = dg_outdir_begin(&od, dir, err);
    if (rc == DG_OK) {
        rc = dg_campaigns_save(od.partial, rules, &dec, pred, tg, n, reach, err);
        if (rc == DG_OK)
            rc = dg_outdir_commit(&od, err);
        else
            dg_outdir_abort(&od);
    }
    if (rc == DG_OK && !quiet) {
        printf("campaigns: P(female) deciles over %zu test devices; ", nf);
        for (int c = 0; c < rules->n; c++)
            printf("%scampaign %d: %" PRIu64 " devices", c ? ", " : "", rules->v[c].id,
                   reach->row[c].devices);
        printf("\n");
        if (reach->labelled)
            for (int c = 0; c < rules->n; c++)
                if (!isnan(reach->row[c].precision))
                    printf("  campaign %d: expected precision %.1f%% over %" PRIu64
                           " labelled test devices (base rate %.1f%%)\n",
                           rules->v[c].id, 100 * reach->row[c].precision,
                           reach->row[c].labelled, 100 * reach->row[c].base_rate);
        printf("written to %s: device_campaigns.csv, reach.csv, reach.png, %sthresholds.txt, "
               "campaigns.rules\n", dir, reach->labelled ? "precision.png, " : "");
    }
    free(reach);
    free(tg);
    free(truth);
    return rc;
}

/* The competition's submission: the devices of gender_age_test.csv in the
 * file's order, predicted as any other device (scenario 1 with events,
 * scenario 2 without). */
static int write_kaggle(const char *path, const dg_dataset *ds, const dg_model_dir *d,
                        const dg_features *f, int quiet, dg_err *err)
{
    if (!ds->present[DG_T_TEST])
        return dg_fail(err, "%s: --kaggle-submission needs the competition's test devices "
                            "(gender_age_test.csv), and the data set has none",
                       ds->dir);
    const dg_table *t = dg_dataset_table(ds, DG_T_TEST);
    const dg_column *id = dg_table_column((dg_table *)t, "device_id");
    if (!id)
        return dg_fail(err, "%s: gender_age_test.csv has no device_id column", ds->dir);
    dg_i64map at;
    dg_i64map_init(&at);
    for (uint32_t r = 0; r < f->ndevices; r++)
        dg_i64map_put(&at, f->device_id[r]);
    size_t n = t->nrows;
    uint32_t *rows = dg_xmalloc((n + 1) * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        int64_t dev = dg_col_id(id, i);
        rows[i] = dg_i64map_get(&at, dev);
        if (rows[i] == UINT32_MAX) {
            dg_i64map_free(&at);
            free(rows);
            return dg_fail(err, "%s: gender_age_test.csv, data row %zu: device %" PRId64
                                " has no phone row, so it has no features to predict from",
                           ds->dir, i + 1, dev);
        }
    }
    dg_i64map_free(&at);
    dg_prediction *pred = dg_xcalloc(n + 1, sizeof *pred);
    int rc = dg_model_dir_predict(d, f, rows, (uint32_t)n, pred, err);
    if (rc == DG_OK)
        rc = dg_kaggle_submission_write(pred, n, path, err);
    if (rc == DG_OK && !quiet)
        printf("the Kaggle submission for the %zu devices of gender_age_test.csv: %s\n", n,
               path);
    free(pred);
    free(rows);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_DATA_LONGOPTS,
        CLI_CLEAN_LONGOPTS,
        {"models", required_argument, NULL, O_MODELS},
        {"out", required_argument, NULL, O_OUT},
        {"kaggle-submission", required_argument, NULL, O_KAGGLE},
        {"devices", required_argument, NULL, O_DEVICES},
        {"campaign-rules", required_argument, NULL, O_CAMPAIGN_RULES},
        {"campaigns-out", required_argument, NULL, O_CAMPAIGNS_OUT},
        {"super", required_argument, NULL, O_SUPER},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    dg_load_opts lo = {.use_snapshot = 1};
    const char *models = NULL, *out = NULL, *kaggle = NULL, *rules_path = NULL, *super_path = NULL,
               *camp_rules_path = NULL, *camp_out = NULL;
    int quiet = 0, no_clean = 0, which = DEV_TEST, ch, taken;
    optind = 1;
    while ((ch = getopt_long(argc, argv, CLI_DATA_SHORTOPTS CLI_CLEAN_SHORTOPTS, longopts,
                             NULL)) != -1) {
        if ((taken = cli_data_option("predict", ch, optarg, &lo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'r': rules_path = optarg; break;
        case 'C': no_clean = 1; break;
        case O_MODELS: models = optarg; break;
        case O_OUT: out = optarg; break;
        case O_KAGGLE: kaggle = optarg; break;
        case O_DEVICES:
            which = -1;
            for (int i = 0; i < 3; i++)
                if (strcmp(optarg, device_sets[i]) == 0)
                    which = i;
            if (which < 0)
                return cli_usage_error("predict", "--devices: expected test, labelled or all, "
                                                  "found '%s'", optarg);
            break;
        case O_CAMPAIGN_RULES: camp_rules_path = optarg; break;
        case O_CAMPAIGNS_OUT: camp_out = optarg; break;
        case O_SUPER: super_path = optarg; break;
        case O_QUIET: quiet = 1; break;
        case O_HELP: fputs(cli_predict.usage, stdout); return 0;
        default: return cli_usage_error("predict", "%s", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("predict", "%s", "expects exactly one DATA_DIR");
    if (!models)
        return cli_usage_error("predict", "%s", "--models DIR is required");
    if (!out && !kaggle)
        return cli_usage_error("predict", "%s",
                               "--out FILE or --kaggle-submission FILE is required");
    if (!out && camp_out)
        return cli_usage_error("predict", "%s", "--campaigns-out DIR needs --out FILE");
    if (camp_rules_path && !camp_out)
        return cli_usage_error("predict", "%s",
                               "--campaign-rules needs --campaigns-out DIR (where the "
                               "campaigns' files go)");
    /* Nothing over an input; the predictions file not inside the campaigns'
     * folder (replaced whole). */
    const char *inputs[] = {models, rules_path, super_path, camp_rules_path};
    if ((out && cli_output_apart("predict", "--out", out, argv[optind], &lo, inputs, 4)) ||
        (kaggle && cli_output_apart("predict", "--kaggle-submission", kaggle, argv[optind], &lo,
                                    inputs, 4)) ||
        (camp_out &&
         (cli_output_apart("predict", "--campaigns-out", camp_out, argv[optind], &lo, inputs, 4) ||
          cli_output_apart("predict", "--out", out, camp_out, NULL, NULL, 0))) ||
        /* Two outputs at one path: the second would replace the first and
         * both be reported written. */
        (out && kaggle &&
         cli_output_apart("predict", "--kaggle-submission", kaggle, out, NULL, NULL, 0)))
        return 1;
    dg_err err;
    dg_campaign_rules *crules = dg_xcalloc(1, sizeof *crules);
    if (camp_rules_path) {
        if (dg_campaign_rules_load(crules, camp_rules_path, &err) != DG_OK) {
            free(crules);
            return fail(&err);
        }
    } else {
        dg_campaign_rules_default(crules);
    }
    dg_model_dir d;
    if (dg_model_dir_open(&d, models, &err) != DG_OK) {
        free(crules);
        return fail(&err);
    }
    dg_supercats sc;
    dg_dataset ds;
    dg_features f;
    double t0 = dg_now();
    int rc = cli_model_features("predict", argv[optind], &lo, quiet, rules_path, no_clean,
                                super_path, 1, &d, &sc, &ds, &f);
    dg_labelled l;
    memset(&l, 0, sizeof l);
    uint32_t *rows = NULL, *trows = NULL, n = 0, ntest = 0;
    dg_prediction *pred = NULL, *tpred = NULL;
    if (rc == 0) {
        int ok = 1;
        /* The labels give the labelled set and the campaigns' truth; the
         * split share does not matter here (the directory lists its test
         * devices). */
        if (ok && (which == DEV_LABELLED || camp_out) && ds.present[DG_T_LABELS])
            ok = dg_labelled_build(&ds, &f, 0.2, 1, &l, &err) == DG_OK;
        if (ok && which == DEV_LABELLED && !ds.present[DG_T_LABELS]) {
            dg_fail(&err, "%s: --devices labelled needs the labels table, and the data set "
                          "has none", argv[optind]);
            ok = 0;
        }
        if (ok && kaggle)
            ok = write_kaggle(kaggle, &ds, &d, &f, quiet, &err) == DG_OK;
        if (ok && out && (which == DEV_TEST || camp_out))
            ok = test_rows(&d, &f, &trows, &ntest, &err) == DG_OK;
        if (ok && out) {
            if (which == DEV_TEST) {
                rows = trows;
                n = ntest;
            } else if (which == DEV_LABELLED) {
                n = l.n;
                rows = dg_xmalloc(((size_t)n + 1) * sizeof *rows);
                memcpy(rows, l.row, (size_t)n * sizeof *rows);
            } else {
                n = f.ndevices;
                rows = dg_xmalloc(((size_t)n + 1) * sizeof *rows);
                for (uint32_t i = 0; i < n; i++)
                    rows[i] = i;
            }
            pred = dg_xcalloc((size_t)n + 1, sizeof *pred);
            ok = dg_model_dir_predict(&d, &f, rows, n, pred, &err) == DG_OK &&
                 dg_predictions_write(pred, n, out, &err) == DG_OK;
        }
        if (ok && camp_out) {
            if (rows == trows) {
                tpred = pred;
            } else {
                tpred = dg_xcalloc((size_t)ntest + 1, sizeof *tpred);
                ok = dg_model_dir_predict(&d, &f, trows, ntest, tpred, &err) == DG_OK;
            }
        }
        if (ok && !quiet) {
            uint32_t s1 = 0;
            for (uint32_t i = 0; i < n; i++)
                s1 += pred[i].scenario == 1;
            printf("%u %s devices predicted (%u scenario 1 with events, %u scenario 2 "
                   "without) by %s; written to %s in %.1f s\n",
                   n, device_sets[which], s1, n - s1, d.path, out, dg_now() - t0);
        }
        if (ok && camp_out)
            ok = write_campaigns(camp_out, crules, &d, &l, pred, n, tpred, ntest, quiet,
                                 &err) == DG_OK;
        if (!ok)
            rc = fail(&err);
    }
    if (tpred != pred)
        free(tpred);
    free(pred);
    if (trows != rows)
        free(trows);
    free(rows);
    dg_labelled_free(&l);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    dg_model_dir_close(&d);
    free(crules);
    return rc;
}

const cli_command cli_predict = {
    "predict", run, "predict gender, age and groups with a model directory",
    "Usage: demographer predict DATA_DIR --models DIR [--out FILE]\n"
    "                           [--kaggle-submission FILE]\n"
    "                           [--devices test|labelled|all] [--campaigns-out DIR]\n"
    "                           [--campaign-rules FILE] [--super FILE]\n"
    "                           [--rules FILE | --no-clean] [data options] [--quiet]\n"
    "\n"
    "Loads and cleans DATA_DIR, builds its features (with the cluster columns) as\n"
    "train does, refuses a model directory trained on another feature layout, and\n"
    "writes the models' predictions to FILE (predictions.csv: device_id, scenario,\n"
    "p_female, age, the 6 and the 12 group probabilities; an empty field where no model\n"
    "gives the value). A device with events is predicted by the scenario 1 models, one\n"
    "without by the scenario 2 (phone) models.\n"
    "\n"
    "  --models DIR          the model directory (a train --out directory or its models/)\n"
    "  --out FILE            the predictions file (written atomically)\n"
    "  --kaggle-submission FILE\n"
    "                        also (or instead) the competition's submission file for\n"
    "                        the devices of gender_age_test.csv, in its order:\n"
    "                        sample_submission.csv's header, the 12 group\n"
    "                        probabilities per device, summing to 1\n"
    "  --devices SET         test: the test devices the model directory lists\n"
    "                        (test_devices.csv; the default); labelled: every labelled\n"
    "                        device; all: every device of the data set\n"
    "  --campaigns-out DIR   also target the predicted devices with the campaigns:\n"
    "                        P(female) deciles fitted on the test devices' predictions,\n"
    "                        expected precision from the test devices' labels; writes\n"
    "                        device_campaigns.csv, reach.csv, reach.png, precision.png,\n"
    "                        thresholds.txt and campaigns.rules into DIR (see\n"
    "                        demographer campaigns),\n"
    "                        whole or not at all (an earlier DIR is replaced)\n"
    "  --campaign-rules FILE campaign rules (default: the brief's six campaigns)\n"
    "  --super FILE          super-category rules (default: supercategories.txt of the\n"
    "                        assets; must be those the models were trained with)\n"
    CLI_CLEAN_HELP
    CLI_DATA_HELP
    "  --quiet               no progress, no summary\n",
};
