/* demographer synth: writes a generated data set. */
#include "demographer/synth.h"

#include "cli.h"
#include "cli_progress.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},   {"devices", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},  {"shape", required_argument, NULL, 'S'},
        {"truth", required_argument, NULL, 't'}, {"threads", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},       {"help", no_argument, NULL, 'h'},
        {"world", required_argument, NULL, 'w'}, {"list-worlds", no_argument, NULL, 'L'},
        {NULL, 0, NULL, 0}};
    dg_synth_opts o = {.devices = DG_SYNTH_DEFAULT_DEVICES, .seed = 1, .shape = DG_SHAPE_KAGGLE};
    int quiet = 0, list = 0, ch;
    uint64_t v;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:n:s:S:t:j:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out_dir = optarg; break;
        case 'n':
            if (cli_parse_u64("synth", "--devices", optarg, 100, 50000000, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.devices = v;
            break;
        case 's':
            if (cli_parse_u64("synth", "--seed", optarg, 0, UINT64_MAX, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.seed = v;
            break;
        case 'S':
            if (strcmp(optarg, "kaggle") == 0)
                o.shape = DG_SHAPE_KAGGLE;
            else if (strcmp(optarg, "upgrad") == 0)
                o.shape = DG_SHAPE_UPGRAD;
            else
                return cli_usage_error("synth", "--shape is kaggle or upgrad, not '%s'", optarg);
            break;
        case 't': o.truth_path = optarg; break;
        case 'j':
            if (cli_parse_u64("synth", "--threads", optarg, 1, 64, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.threads = (int)v;
            break;
        case 'q': quiet = 1; break;
        case 'w': {
            int i = 0;
            while (dg_synth_world_name(i) && strcmp(dg_synth_world_name(i), optarg) != 0)
                i++;
            if (!dg_synth_world_name(i)) {
                char names[256] = "";
                for (int k = 0; dg_synth_world_name(k); k++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             k ? ", " : "", dg_synth_world_name(k));
                return cli_usage_error("synth", "--world is one of %s, not '%s'", names, optarg);
            }
            o.world = dg_synth_world_name(i);
            break;
        }
        case 'L': list = 1; break;
        case 'h': fputs(cli_synth.usage, stdout); return 0;
        default: return cli_usage_error("synth", "%s", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (list) {
        for (int i = 0; dg_synth_world_name(i); i++)
            puts(dg_synth_world_name(i));
        return 0;
    }
    if (!o.out_dir)
        return cli_usage_error("synth", "%s", "--out DIR is required");
    /* The folder is written whole or not at all; --truth not inside it. */
    if (o.truth_path && cli_output_apart("synth", "--truth", o.truth_path, o.out_dir, NULL, NULL, 0))
        return 1;
    dg_outdir od;
    if (cli_outdir_begin("synth", &od, o.out_dir))
        return 1;
    const char *out_dir = o.out_dir;
    o.out_dir = od.partial;
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    dg_synth_report rep;
    dg_err err;
    int rc = dg_synth(&o, &pr, &rep, &err);
    cli_progress_done(&cp);
    o.out_dir = out_dir;
    if (rc != DG_OK) {
        fprintf(stderr, "demographer synth: %s\n", err.msg);
        dg_outdir_abort(&od);
        return 1;
    }
    if (cli_outdir_end("synth", &od, 0) != 0)
        return 1;
    if (!quiet)
        printf("wrote a %s-shaped data set to %s in %.1f s (seed %" PRIu64 "):\n"
               "  %" PRIu64 " labelled devices, %" PRIu64 " unlabelled, %" PRIu64
               " phone rows\n"
               "  %" PRIu64 " events, %" PRIu64 " app events, %" PRIu64 " app labels, %" PRIu64
               " label categories\n",
               dg_shape_name(o.shape), o.out_dir, rep.seconds, o.seed, rep.labelled,
               rep.unlabelled, rep.phone_rows, rep.events, rep.app_events, rep.app_labels,
               rep.label_categories);
    return 0;
}

const cli_command cli_synth = {
    "synth", run, "write a realistic generated data set (Kaggle or Upgrad shape)",
    "Usage: demographer synth --out DIR [--world NAME] [--devices N] [--seed S]\n"
     "                         [--shape kaggle|upgrad] [--truth FILE] [--threads N] [--quiet]\n"
     "       demographer synth --list-worlds\n"
     "\n"
     "Writes every file of the chosen shape of the TalkingData data, generated with the\n"
     "published statistics of the real data and a documented dependence of phones, apps,\n"
     "activity and places on gender and age. The same seed gives the same bytes.\n"
     "\n"
     "  --out DIR        folder to write (created when missing), whole or not at all: an\n"
     "                   earlier DIR (empty, or written by demographer) is replaced\n"
     "  --world NAME     how the features depend on gender and age (doc/worlds.md):\n"
     "                   personas (default): a few latent kinds of user, lognormal counts,\n"
     "                   home city; groups: independent effects per 12-group, near-Poisson\n"
     "                   counts, strong hour signal, travel pattern, weak phone signal;\n"
     "                   smooth: smooth in exact age with sex x age terms, negative\n"
     "                   binomial counts, strong phone and home-city signal\n"
     "  --list-worlds    print the worlds' names, one per line, and exit\n"
     "  --devices N      distinct devices with a phone row (default 20000; the full data\n"
     "                   set has 186716: about 3.25 M events and 32 M app events)\n"
     "  --seed S         random seed (default 1)\n"
     "  --shape SHAPE    kaggle (default): gender_age_train.csv, gender_age_test.csv,\n"
     "                   phone_brand_device_model.csv, events.csv, app_events.csv,\n"
     "                   app_labels.csv, label_categories.csv, train_test_split.csv;\n"
     "                   upgrad: train.csv, brand_device.csv, events.csv, app_events.csv,\n"
     "                   app_labels_new.txt, label_categories.csv, train_test_split.csv\n"
     "  --truth FILE     also write each device's true generating probabilities\n"
     "  --threads N      worker threads (default: one per core; output does not depend on it)\n"
     "  --quiet          no progress and no summary\n",
};
