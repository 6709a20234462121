/* Cleaning as an ordered list of rules a user sees, edits, saves and
 * replays. Rules change the in-memory tables of a data set (never the source
 * files) and report what each one changed. */
#ifndef DEMOGRAPHER_CLEAN_H
#define DEMOGRAPHER_CLEAN_H

#include "demographer/dataset.h"

typedef enum dg_rule_kind {
    DG_RULE_ZERO_COORDS,           /* an event with a coordinate exactly 0 has no location */
    DG_RULE_UNIT_BOX_COORDS,       /* both coordinates within [-1, 1] (the (1,1) placeholder): none */
    DG_RULE_IMPUTE_MEDIAN,         /* a missing location <- the device's median valid location */
    DG_RULE_DEDUPE_PHONES,         /* one phone row per device (the first); conflicts reported */
    DG_RULE_LABELS_WITHOUT_PHONE,  /* labelled/test devices with no phone row are dropped */
    DG_RULE_UNKNOWN_DEVICE_EVENTS, /* events of devices with no phone row are dropped */
    DG_RULE_TIME_WINDOW,           /* events outside [from, to) are dropped */
    DG_RULE_EMPTY_CATEGORIES,      /* empty label category names get a name */
    DG_RULE_BAD_COORDS,            /* latitude outside [-90, 90] or longitude outside
                                      [-180, 180]: no location */
    DG_RULE_BAD_AGES,              /* labelled devices with an age outside [1, 120] are dropped */
    DG_RULE_NKINDS
} dg_rule_kind;

typedef struct dg_rule {
    dg_rule_kind kind;
    int enabled;
    int64_t from, to;  /* DG_RULE_TIME_WINDOW, seconds (see csv.h's dg_parse_time) */
    char name[48];     /* DG_RULE_EMPTY_CATEGORIES: the name given */
} dg_rule;

typedef struct dg_rules {
    dg_rule *v;
    int n, cap;
} dg_rules;

/* The rule's keyword in rule files, and one line saying what it does. */
const char *dg_rule_keyword(dg_rule_kind k);
const char *dg_rule_help(dg_rule_kind k);

void dg_rules_init(dg_rules *r);
void dg_rules_free(dg_rules *r);
/* The brief's rules, in the order they are best applied. */
void dg_rules_default(dg_rules *r);
void dg_rules_add(dg_rules *r, const dg_rule *rule);
/* At most this many rules in a file: each is a pass over the data, and
 * 100,000 of them ran for minutes. */
#define DG_RULES_MAX 100
/* Parses rule-file text; errors name `origin`, the line and the word (more
 * than DG_RULES_MAX rules too); a parameter given twice: the later wins (the
 * workbench's rule-set appends the new words to the rule's own).
 * dg_rules_load is strict: a parameter given twice is an error, and so is a
 * NUL byte, naming its line and column. */
int dg_rules_parse(dg_rules *r, const char *text, const char *origin, dg_err *err);
int dg_rules_load(dg_rules *r, const char *path, dg_err *err);
/* One line per rule, "off " before a disabled one; the caller frees it. */
char *dg_rules_format(const dg_rules *r);
int dg_rules_save(const dg_rules *r, const char *path, dg_err *err);

/* What one rule did. */
typedef struct dg_rule_effect {
    const char *table;        /* the table it works on */
    uint64_t rows_before, rows_after;
    uint64_t rows_changed;    /* rows changed or dropped */
    uint64_t devices;         /* distinct devices those rows belong to */
    char detail[256];         /* a sentence for people */
} dg_rule_effect;

/* Applies the enabled rules in order to the data set's tables, filling
 * effects[i] for rule i (disabled rules: all zero, detail "off"). Events gain
 * a "location" column: 0 observed, 1 imputed, 2 missing. */
int dg_clean(dg_dataset *ds, const dg_rules *rules, dg_rule_effect *effects,
             const dg_progress *progress, dg_err *err);

enum { DG_LOC_OBSERVED = 0, DG_LOC_IMPUTED = 1, DG_LOC_MISSING = 2 };

/* The ages bad-ages keeps: a person with a phone (the real data's run from 1 to 96). */
#define DG_AGE_MIN 1
#define DG_AGE_MAX 120

#endif
