/* The Geo pane's DBSCAN tuning section, without curses: the eps and minPts
 * being tuned, the last run's result (clusters, shares, top clusters), the
 * k-distance curve for k = minPts, and a sweep of eps x minPts around the
 * current pair. Runs and sweeps are jobs (model.c hands them to a worker
 * thread); the state changes only when a job succeeds, so a cancel leaves the
 * shown result as it was. The clustered events (the collapsed locations) are
 * kept between runs of the same data. */
#ifndef DEMOGRAPHER_UI_MODEL_DBSCAN_H
#define DEMOGRAPHER_UI_MODEL_DBSCAN_H

#include "demographer/cluster.h"

/* What the Geo pane shows: the map, or one of the DBSCAN views. */
typedef enum geo_view {
    GEO_VIEW_MAP,
    GEO_VIEW_CLUSTERS,
    GEO_VIEW_KDIST,
    GEO_VIEW_SWEEP,
    GEO_VIEWS
} geo_view;

extern const char *const geo_view_names[GEO_VIEWS]; /* "map", "clusters", "kdist", "sweep" */

/* The ladders the [ ] { } keys step along. */
#define DBSCAN_EPS_STEPS 9
#define DBSCAN_MIN_STEPS 10
extern const double dbscan_eps_ladder[DBSCAN_EPS_STEPS];
extern const double dbscan_min_ladder[DBSCAN_MIN_STEPS];

#define DBSCAN_DEFAULT_EPS_KM 1.2
#define DBSCAN_DEFAULT_MIN_PTS 10
/* The sweep grid: up to 3 eps (the one below, the current, the one above on
 * the ladder) x 3 minPts, eps-major. */
#define DBSCAN_SWEEP_MAX 9

typedef struct dbscan_state {
    geo_view view;
    double eps_km, min_pts;            /* the pair a run uses */
    /* The clustered events of data generation input_gen. */
    dg_cluster_input input;
    int have_input;
    unsigned input_gen;
    /* The last run. */
    int have_run;
    double run_eps_km, run_min_pts;
    int run_from_cleaned;
    unsigned run_gen;
    dg_dbscan_report report;
    dg_cluster_summary *summary;       /* report.clusters of them */
    int32_t *top;                      /* cluster ids by events, most first */
    int cluster_cur;                   /* the cursor in top (the list scrolls) */
    /* The k-distance curve, k = kdist.k. */
    int have_kdist;
    unsigned kdist_gen;
    dg_kdist kdist;
    /* The last sweep, and the row under the cursor. */
    dg_dbscan_sweep_row rows[DBSCAN_SWEEP_MAX];
    int nrows, sweep_cur;
    unsigned sweep_gen;
} dbscan_state;

void dbscan_init(dbscan_state *d);
void dbscan_free(dbscan_state *d);
/* Forgets every result (new data loaded); keeps the pair and the view. */
void dbscan_forget(dbscan_state *d);

/* The immediate actions: geo-view, dbscan-view, dbscan-eps-down/up,
 * dbscan-min-pts-down/up, dbscan-set, dbscan-adopt. */
int dbscan_action(dbscan_state *d, int id, int argc, char **argv, char *msg, size_t msgcap,
                  dg_err *err);
/* The view the v key goes to from the current one. */
geo_view dbscan_next_view(const dbscan_state *d);

/* A run or sweep job: what it reads and what it makes. */
typedef struct dbscan_job {
    int sweep;
    double eps_km, min_pts;
    const dg_dataset *src;
    int from_cleaned;
    unsigned gen;
    const dg_cluster_input *cached;    /* the model's input when still of gen, else NULL */
    dg_cluster_input own;              /* ...else built here */
    int have_own;
    int want_kdist;                    /* the model has no curve for (min_pts, gen) */
    /* run */
    int32_t *label;
    dg_dbscan_report report;
    dg_cluster_summary *summary;
    int32_t *top;
    dg_kdist kdist;
    int have_kdist;
    /* sweep */
    double eps_list[3], min_list[3];
    int neps, nmin;
    dg_dbscan_sweep_row rows[DBSCAN_SWEEP_MAX];
} dbscan_job;

/* Sets up j from the state and the data it reads (no arguments taken). */
void dbscan_job_init(dbscan_job *j, const dbscan_state *d, int sweep, const dg_dataset *src,
                     int from_cleaned, unsigned gen);
/* The job's work, on any thread. */
int dbscan_job_run(dbscan_job *j, const dg_progress *p, dg_err *err);
/* Takes the job's results into d and says what it found. */
void dbscan_job_finish(dbscan_state *d, dbscan_job *j, char *msg, size_t msgcap);
void dbscan_job_free(dbscan_job *j);

/* Saves the k-distance chart as path (dg_kdist_chart_save). */
int dbscan_save_kdist(const dbscan_state *d, const char *path, dg_err *err);

#endif
