/* The Geo pane's state and actions, without curses: the sample of events
 * (drawn in the background), the map shown (kind, extent, projection) and
 * saving it as a PNG. model.c hands the geo-* actions and the Geo pane's
 * save here; pane_geo.c draws the state. Map state is kept apart from any
 * drawing, so that other layers (clusters) can join the pane later. */
#ifndef DEMOGRAPHER_UI_MODEL_GEO_H
#define DEMOGRAPHER_UI_MODEL_GEO_H

#include "demographer/geo.h"

#define GEO_DEFAULT_SAMPLE 100000u

typedef struct geo_state {
    dg_geo_sample all;        /* every event with observed coordinates */
    dg_geo_sample labelled;   /* events of labelled devices (gender and age maps) */
    int have_sample;
    int from_cleaned;         /* drawn from the cleaned data, not the loaded */
    unsigned gen;             /* the model's data_gen when drawn */
    uint32_t sample_n;        /* ...the events asked for and the seed (the workspace
                                 draws the same sample again) */
    uint64_t sample_seed;
    dg_map_kind kind;         /* the map shown */
    int panel;                /* ...and its panel on screen (the PNG has them all) */
    dg_projection projection;
    dg_extent extent;         /* shown */
    dg_extent home;           /* the sample's own (geo-reset) */
    char *basemap_path;       /* the basemap asset, or NULL: maps without coastlines */
    dg_basemap basemap;       /* loaded on first use */
    int basemap_state;        /* 0 not tried, 1 loaded, -1 failed (basemap_error says why) */
    char basemap_error[1024];
    struct geo_label *labels; /* the cities of the map last drawn on screen (geo_place_labels) */
    int nlabels;
} geo_state;

/* A city on the text map: its marker's cell, and where its name starts
 * (name_col: -1 when the name had no room and is left out). */
typedef struct geo_label {
    int city; /* in dg_cities */
    int col, row, name_col;
} geo_label;

/* Places the cities inside extent on a text map of cols x rows cells, each
 * cell 2 x 4 pixels of q (a projection onto 2 cols x 4 rows pixels): a
 * marker in the city's cell (a second city in a taken cell is left out),
 * then, in dg_cities' order, its name right of the marker, else left, where
 * the name covers no marker and no other name and a blank cell (or the
 * map's edge) follows it, so labels never run into each other or into a
 * marker. Fills out (cap at least dg_ncities) and returns the count;
 * grid[cols x rows] (caller's) gets per cell what it holds. */
enum { GEO_CELL_FREE, GEO_CELL_MARKER, GEO_CELL_NAME, GEO_CELL_BLANK };
int geo_place_labels(const dg_proj *q, const dg_extent *e, int cols, int rows, geo_label *out,
                     unsigned char *grid);

/* The sample of the map kind shown. */
const dg_geo_sample *geo_sample_shown(const geo_state *g);

/* Where the basemap asset is (the screen and replay find it like the CLI). */
void geo_set_basemap_path(geo_state *g, const char *path);
/* The basemap, loaded on first use; NULL when there is none. */
const dg_basemap *geo_basemap(geo_state *g);

void geo_free(geo_state *g);
/* Forgets the sample (new data loaded); keeps the basemap and the kind. */
void geo_forget(geo_state *g);

/* The sampling job's part: what it reads and what it makes. */
typedef struct geo_job {
    uint32_t n;
    uint64_t seed;
    const dg_dataset *src;
    int from_cleaned;
    unsigned gen;
    dg_geo_sample all, labelled;
    dg_extent home;
} geo_job;

/* Checks geo-sample's arguments ([N [SEED]]) into j; the data is the
 * caller's. */
int geo_job_args(geo_job *j, int argc, char **argv, dg_err *err);
/* Draws both samples and their extent (on any thread). */
int geo_job_run(geo_job *j, const dg_progress *p, dg_err *err);
/* Takes the job's samples into g (the job keeps nothing). */
void geo_job_finish(geo_state *g, geo_job *j);
void geo_job_free(geo_job *j);

/* The immediate geo-* actions (map, zoom, pan, reset, extent). */
int geo_action(geo_state *g, int id, int argc, char **argv, dg_err *err);

/* Saves the map shown as path (a PNG at the default size of its kind). */
int geo_save(geo_state *g, const char *path, int *width, int *height, dg_err *err);

#endif
