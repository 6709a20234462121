/* demographer campaigns: maps per-device predictions to the ad campaigns of a
 * rule file and reports each campaign's reach (and, given the truth of the
 * test split, its expected precision). */
#include "demographer/campaign.h"
#include "demographer/prediction.h"

#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int fail(const dg_err *err)
{
    fprintf(stderr, "demographer campaigns: %s\n", err->msg);
    return 1;
}

static void print_pct(double v)
{
    if (isnan(v))
        printf(" %10s", "-");
    else
        printf(" %9.1f%%", 100 * v);
}

/* Numbers first, the campaign's name last (names are long). */
static void print_reach(const dg_campaign_rules *r, const dg_reach *reach)
{
    printf("%-4s %9s %10s", "id", "devices", "share");
    if (reach->labelled)
        printf(" %10s %10s %10s", "labelled", "precision", "base rate");
    printf("  %-24s %s\n", "targets", "campaign");
    for (int c = 0; c <= r->n; c++) {
        const dg_reach_row *row = &reach->row[c];
        char cond[128];
        if (c == r->n) {
            printf("%-4s %9llu", "-", (unsigned long long)reach->untargeted);
            print_pct(reach->devices ? (double)reach->untargeted / (double)reach->devices : NAN);
            if (reach->labelled)
                printf(" %10s %10s %10s", "", "", "");
            printf("  %-24s %s\n", "", "(no campaign)");
            break;
        }
        dg_campaign_condition_text(&r->v[c], cond, sizeof cond);
        printf("%-4d %9llu", r->v[c].id, (unsigned long long)row->devices);
        print_pct(row->share);
        if (reach->labelled) {
            printf(" %10llu", (unsigned long long)row->labelled);
            print_pct(row->precision);
            print_pct(row->base_rate);
        }
        printf("  %-24s %s\n", cond, r->v[c].name);
    }
    if (reach->labelled) {
        printf("\nby scenario (1: devices with events, 2: without)\n");
        printf("%-4s %12s %12s %12s  %12s %12s %12s\n", "id", "devices s1", "labelled s1",
               "precision s1", "devices s2", "labelled s2", "precision s2");
        for (int c = 0; c < r->n; c++) {
            const dg_reach_row *row = &reach->row[c];
            printf("%-4d", r->v[c].id);
            for (int sc = 0; sc < 2; sc++) {
                printf("%s %12llu %12llu ", sc ? " " : "",
                       (unsigned long long)row->scenario_devices[sc],
                       (unsigned long long)row->scenario_labelled[sc]);
                if (isnan(row->scenario_precision[sc]))
                    printf("%12s", "-");
                else
                    printf("%11.1f%%", 100 * row->scenario_precision[sc]);
            }
            printf("\n");
        }
    }
    if (reach->labelled)
        printf("precision: the share of targeted labelled devices that truly meet the condition\n"
               "(%llu labelled of %llu devices); base rate: the share of all labelled devices\n"
               "that do (what untargeted sending would reach).\n",
               (unsigned long long)reach->labelled, (unsigned long long)reach->devices);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"predictions", required_argument, NULL, 'p'},
        {"rules", required_argument, NULL, 'r'},
        {"thresholds", required_argument, NULL, 't'},
        {"reference", required_argument, NULL, 'R'},
        {"truth", required_argument, NULL, 'T'},
        {"out", required_argument, NULL, 'o'},
        {"print-rules", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *pred_path = NULL, *rules_path = NULL, *thr_path = NULL, *ref_path = NULL,
               *truth_path = NULL, *out = NULL;
    int quiet = 0, print_rules = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "p:r:t:R:T:o:Pqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': pred_path = optarg; break;
        case 'r': rules_path = optarg; break;
        case 't': thr_path = optarg; break;
        case 'R': ref_path = optarg; break;
        case 'T': truth_path = optarg; break;
        case 'o': out = optarg; break;
        case 'P': print_rules = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(cli_campaigns.usage, stdout); return 0;
        default: return cli_usage_error("campaigns", "%s", "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error("campaigns", "unexpected argument '%s'", argv[optind]);
    dg_err err;
    dg_campaign_rules *rules = dg_xcalloc(1, sizeof *rules);
    int rc = 0;
    if (rules_path) {
        if (dg_campaign_rules_load(rules, rules_path, &err) != DG_OK) {
            free(rules);
            return fail(&err);
        }
    } else {
        dg_campaign_rules_default(rules);
    }
    if (print_rules) {
        char *text = dg_campaign_rules_format(rules);
        fputs(text, stdout);
        free(text);
        free(rules);
        return 0;
    }
    if (!pred_path || !out) {
        free(rules);
        return cli_usage_error("campaigns", "%s", !pred_path ? "--predictions FILE is required"
                                                             : "--out DIR is required");
    }
    if (thr_path && ref_path) {
        free(rules);
        return cli_usage_error("campaigns", "%s",
                               "--thresholds and --reference exclude each other (the thresholds "
                               "come from one or the other)");
    }

    const char *inputs[] = {pred_path, rules_path, thr_path, ref_path, truth_path};
    dg_outdir od = {0};
    if (cli_output_apart("campaigns", "--out", out, NULL, NULL, inputs, 5) ||
        cli_outdir_begin("campaigns", &od, out)) {
        free(rules);
        return 1;
    }
    dg_prediction *pred = NULL, *ref = NULL;
    dg_targeting *tg = NULL;
    dg_truth *truth = NULL;
    size_t n = 0, nref = 0, ntruth = 0;
    dg_deciles dec;
    if (dg_predictions_read(pred_path, &pred, &n, &err) != DG_OK ||
        dg_campaigns_check_unique(pred, n, pred_path, &err) != DG_OK) {
        rc = fail(&err);
        goto done;
    }
    if (thr_path) {
        if (dg_deciles_load(&dec, thr_path, &err) != DG_OK) {
            rc = fail(&err);
            goto done;
        }
    } else if (ref_path) {
        if (dg_predictions_read(ref_path, &ref, &nref, &err) != DG_OK ||
            dg_deciles_fit_predictions(&dec, ref, nref, ref_path, &err) != DG_OK) {
            rc = fail(&err);
            goto done;
        }
    } else if (dg_deciles_fit_predictions(&dec, pred, n, pred_path, &err) != DG_OK) {
        rc = fail(&err);
        goto done;
    }
    if (truth_path && dg_truth_read(truth_path, &truth, &ntruth, &err) != DG_OK) {
        rc = fail(&err);
        goto done;
    }

    tg = dg_xcalloc(n ? n : 1, sizeof *tg);
    for (size_t i = 0; i < n; i++)
        dg_campaigns_assign(rules, &dec, &pred[i], &tg[i]);
    dg_reach reach;
    dg_reach_compute(rules, pred, tg, n, truth, ntruth, &reach);
    if (truth && reach.labelled == 0) {
        dg_fail(&err, "%s: expected labels for some of the %zu predicted devices, found none "
                "(is it the labels of the same split?)", truth_path, n);
        rc = fail(&err);
        goto done;
    }

    if (dg_campaigns_save(od.partial, rules, &dec, pred, tg, n, &reach, &err) != DG_OK) {
        rc = fail(&err);
        goto done;
    }
    if ((rc = cli_outdir_end("campaigns", &od, 0)) != 0)
        goto done;
    if (rc == 0 && !quiet) {
        printf("%zu devices; P(female) deciles over %s (%llu predictions)\n", n,
               thr_path ? thr_path : ref_path ? ref_path : pred_path,
               (unsigned long long)dec.reference);
        /* An edge is inf when no reference value ranks that high (ties). */
        if (rules->female_deciles)
            printf("female: deciles %d-10, P(female) >= %.4g\n", 11 - rules->female_deciles,
                   dec.edge[9 - rules->female_deciles]);
        if (rules->male_deciles)
            printf("male: deciles 1-%d, P(female) < %.4g\n", rules->male_deciles,
                   dec.edge[rules->male_deciles - 1]);
        printf("age: %s\n\n", rules->age_rule == DG_AGE_RULE_GROUP6
                                  ? "the most probable band of the group6 probabilities"
                                  : "the predicted age in 0-24, 25-32 (over 24 up to 32) or "
                                    "33+ (over 32)");
        print_reach(rules, &reach);
        printf("\nwritten to %s: device_campaigns.csv, reach.csv, reach.png, %sthresholds.txt, "
               "campaigns.rules\n", out, reach.labelled ? "precision.png, " : "");
    }
done:
    cli_outdir_end("campaigns", &od, 1); /* after a failure: nothing left */
    free(pred);
    free(ref);
    free(tg);
    free(truth);
    free(rules);
    return rc;
}

const cli_command cli_campaigns = {
    "campaigns", run, "map predictions to ad campaigns; reach and expected precision",
    "Usage: demographer campaigns --predictions FILE --out DIR [--rules FILE]\n"
    "                             [--thresholds FILE | --reference FILE] [--truth LABELS]\n"
    "                             [--quiet]\n"
    "       demographer campaigns [--rules FILE] --print-rules\n"
    "\n"
    "Targets each device of a predictions file (predictions.csv: device_id, scenario,\n"
    "p_female, age and the group probabilities) with the campaigns of a rule file.\n"
    "Gender: P(female) is ranked into deciles over a reference population; the top 3\n"
    "deciles are targeted as female, the bottom 3 as male, the middle 4 by no gender\n"
    "campaign. Rank r of the n reference values is in decile floor(10r/n)+1; a block\n"
    "of equal values takes the decile of its middle rank. Decile edge K is the\n"
    "smallest reference P(female) in a decile above K; any device is in decile 1 +\n"
    "the number of edges its P(female) is at or above. Age: the predicted age in\n"
    "[0,24], (24,32] or over 32 (or, with 'age-rule group6' in the rules, the most\n"
    "probable age band).\n"
    "Prints the reach of each campaign and writes into DIR: device_campaigns.csv (per\n"
    "device: decile, gender class, age bucket, campaign ids, a 0/1 column per\n"
    "campaign), reach.csv and its chart reach.png (the share of all devices reached),\n"
    "with --truth precision.png (precision against the base rate), thresholds.txt\n"
    "(the decile edges, for --thresholds) and campaigns.rules (the rules used).\n"
    "\n"
    "  --predictions FILE  the devices to target (a predictions.csv)\n"
    "  --out DIR           where the files go (written whole or not at all: an earlier\n"
    "                      DIR is replaced; never over an input)\n"
    "  --rules FILE        campaign rules (default: the brief's six campaigns; see\n"
    "                      --print-rules and " DG_ASSET_DIR "/campaigns.rules)\n"
    "  --thresholds FILE   decile edges saved by an earlier run (thresholds.txt)\n"
    "  --reference FILE    a predictions.csv (e.g. the test split's) to rank P(female)\n"
    "                      over; default: the --predictions file itself\n"
    "  --truth LABELS      the test split's labels (device_id,gender,age[,group];\n"
    "                      gender M or F), or the mapping file train_test_split.csv\n"
    "                      (its test rows), for the expected precision of each\n"
    "                      campaign: the share of targeted labelled devices that\n"
    "                      truly meet its condition\n"
    "  --print-rules       print the rules (the default or --rules) and stop\n"
    "  --quiet             no table\n",
};
