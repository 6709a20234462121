/* Maps of event locations: a seeded sample of events with observed
 * coordinates joined to the devices' labels, map extents and projections, a
 * density grid (what the workbench's terminal preview draws), the basemap
 * asset, and the maps drawn with cairo as PNG images. No curses here.
 *
 * The state a map needs (the sample, the kind, the extent) is kept apart from
 * the drawing so that other layers (clusters) can be added to a map later. */
#ifndef DEMOGRAPHER_GEO_H
#define DEMOGRAPHER_GEO_H

#include "demographer/dataset.h"

/* ---- the sample ---------------------------------------------------------- */

enum { DG_GEO_FEMALE = 0, DG_GEO_MALE = 1 };
/* The maps' age groups: 0-24, 25-32, 33 and over. */
enum { DG_GEO_AGE_0_24 = 0, DG_GEO_AGE_25_32 = 1, DG_GEO_AGE_33_UP = 2, DG_GEO_AGE_GROUPS = 3 };

typedef struct dg_geo_sample {
    uint32_t n;          /* events drawn */
    float *lon, *lat;    /* degrees */
    int8_t *gender;      /* DG_GEO_MALE, DG_GEO_FEMALE, or -1 (no label, or neither M nor F) */
    int8_t *age_group;   /* DG_GEO_AGE_*, or -1 (no label) */
    uint64_t eligible;   /* events the sample was drawn from */
    uint64_t skipped;    /* events left out: missing or imputed coordinates */
    int labelled_only;   /* drawn only from events of labelled devices */
    uint64_t seed;
} dg_geo_sample;

/* Draws up to n events (all of them when fewer are eligible) uniformly
 * without replacement, the same ones for the same data, n and seed. Eligible:
 * events whose coordinates are numbers and were observed (cleaning's
 * "location" column, when present, says missing or imputed otherwise); with
 * labelled_only, also only events of devices in the labels table. Events
 * keep their file order in the sample. Needs the events table (and the
 * labels table for labelled_only). */
int dg_geo_sample_events(const dg_dataset *ds, uint32_t n, uint64_t seed, int labelled_only,
                         dg_geo_sample *s, const dg_progress *progress, dg_err *err);
void dg_geo_sample_free(dg_geo_sample *s);

/* ---- maps: what is shown ------------------------------------------------- */

typedef enum dg_map_kind {
    DG_MAP_ALL,    /* one panel: every sampled event */
    DG_MAP_GENDER, /* two panels: male, female */
    DG_MAP_AGE,    /* three panels: 0-24, 25-32, 33+ */
    DG_MAP_KINDS
} dg_map_kind;

const char *dg_map_kind_name(dg_map_kind k); /* "all", "gender", "age" */
/* Parses "all", "gender" or "age"; -1 for anything else. */
int dg_map_kind_parse(const char *s);
int dg_map_panels(dg_map_kind k);
const char *dg_map_panel_name(dg_map_kind k, int panel); /* "Male", "25-32"... */
/* The panel event i of the sample belongs to, or -1 (not shown on that map). */
int dg_map_panel_of(const dg_geo_sample *s, dg_map_kind k, uint32_t i);

/* ---- extents and projections --------------------------------------------- */

typedef struct dg_extent {
    double lon0, lon1, lat0, lat1; /* west, east, south, north; degrees */
} dg_extent;

/* Parses "LON0,LON1,LAT0,LAT1" (west < east, south < north, inside
 * [-180, 180] x [-85, 85]); says what was wrong otherwise. */
int dg_extent_parse(const char *s, dg_extent *e, dg_err *err);
/* The extent of the sample's points (from the 0.1st to the 99.9th percentile
 * of each coordinate, so a handful of stray points do not shrink the map),
 * framed with a margin of 5% on each side and at least 1 degree wide and
 * high. Fails on an empty sample. */
int dg_extent_of_sample(const dg_geo_sample *s, dg_extent *e, dg_err *err);
/* Zooms by factor (> 1: in) about the centre, keeping the extent inside
 * [-180, 180] x [-85, 85]. */
void dg_extent_zoom(dg_extent *e, double factor);
/* Moves the extent by fractions of its width (east positive) and height
 * (north positive), keeping it inside [-180, 180] x [-85, 85]. */
void dg_extent_pan(dg_extent *e, double dx, double dy);

typedef enum dg_projection {
    DG_PROJ_EQUIRECT, /* equirectangular, true scale at the extent's middle latitude */
    DG_PROJ_MERCATOR
} dg_projection;

/* Maps an extent onto a pixel box, preserving the projection's aspect: the
 * extent is centred in the box, which may leave bands on two sides. y grows
 * downwards (north is up). */
typedef struct dg_proj {
    dg_projection kind;
    dg_extent extent;
    double k;            /* equirectangular: cos(middle latitude) */
    double px0, py0;     /* pixel of the extent's west/north corner */
    double scale;        /* pixels per projected unit (radian) */
    double pw, ph;       /* pixel size of the extent */
} dg_proj;

void dg_proj_init(dg_proj *p, dg_projection kind, const dg_extent *e, double x, double y,
                  double w, double h);
void dg_proj_forward(const dg_proj *p, double lon, double lat, double *x, double *y);
void dg_proj_inverse(const dg_proj *p, double x, double y, double *lon, double *lat);

/* Counts the events of one panel of a map per cell of a cols x rows grid
 * laid over the projected extent (row 0 north, column 0 west): counts
 * holds cols*rows cells, row by row. Returns the events counted (those of
 * the panel inside the extent); *outside (may be NULL) gets the panel's
 * events outside it. */
uint32_t dg_geo_density(const dg_geo_sample *s, dg_map_kind k, int panel, dg_projection proj,
                        const dg_extent *e, int cols, int rows, uint32_t *counts,
                        uint32_t *outside);

/* ---- the basemap --------------------------------------------------------- */

enum { DG_BASEMAP_COAST = 0, DG_BASEMAP_BORDER = 1 };

typedef struct dg_basemap {
    dg_extent window;   /* the area the lines were clipped to */
    uint32_t nlines;
    uint32_t *start;    /* nlines + 1 offsets into lon/lat */
    uint8_t *kind;      /* DG_BASEMAP_COAST or DG_BASEMAP_BORDER, per line */
    float *lon, *lat;   /* all points, line after line */
} dg_basemap;

/* Reads the basemap asset (format in its header; built by
 * tools/make_basemap.js). Errors name the file, line and what was expected. */
int dg_basemap_load(const char *path, dg_basemap *b, dg_err *err);
void dg_basemap_free(dg_basemap *b);
/* Marks (sets to 1) the cells of a cols x rows grid laid over the projected
 * extent, as dg_geo_density lays it, that the basemap's lines cross: the
 * terminal preview's coastlines. Leaves the other cells as they were. */
void dg_basemap_raster(const dg_basemap *b, dg_projection proj, const dg_extent *e, int cols,
                       int rows, uint8_t *mask);

/* ---- drawing ------------------------------------------------------------- */

typedef struct dg_geo_map {
    dg_map_kind kind;
    dg_projection projection;
    dg_extent extent;            /* shared by every panel */
    int width, height;           /* pixels of the whole image; 0: a default for the kind */
    const dg_basemap *basemap;   /* NULL: no coastlines */
} dg_geo_map;

/* The default image size of a kind (about 900 x 650 pixels of map per panel). */
void dg_geo_map_default_size(dg_map_kind k, int *width, int *height);

/* Where panel k of a map of the given image size lies: its projection onto
 * the image's pixels (dg_geo_map_png draws each panel through this). */
void dg_geo_map_panel_proj(const dg_geo_map *m, int width, int height, int k, dg_proj *out);

/* Draws the map: per panel the basemap, a graticule with degree labels, the
 * panel's events as a density layer (cells of 3 x 3 pixels shaded by the
 * log of their count, one colour scale shared by the panels) and a caption
 * with its counts; a title with the sample's counts and a legend. */
int dg_geo_map_png(const dg_geo_sample *s, const dg_geo_map *m, unsigned char **png,
                   size_t *len, dg_err *err);
/* The same, written to path atomically. */
int dg_geo_map_save(const dg_geo_sample *s, const dg_geo_map *m, const char *path, dg_err *err);

/* A few large cities of the data's region (China), so that a reader finds
 * the places on a map: the pane and the PNGs label them. */
typedef struct dg_city {
    const char *name;
    double lon, lat;
} dg_city;
extern const dg_city dg_cities[];
extern const int dg_ncities;

#endif
