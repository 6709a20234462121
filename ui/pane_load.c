/* The Load pane: the chosen data directory and the files found there, then,
 * once loaded, a row per table and the statistics of the table under the
 * cursor's columns; Enter opens a table as a sheet (sheet.c). */
#include "app.h"

#include "text.h"

#include <curses.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Writes cells left to right: each (text, width, right-aligned) with one
 * space between. */
static void draw_stats(app *a, int y, int end, int width)
{
    const model *m = &a->m;
    int t = m->load_cur;
    if (!m->ds.present[t]) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: no file for this table", dg_tables[t].name);
        app_put_plain(y, 0, width, msg, A_NORMAL);
        return;
    }
    const dg_table *tb = &m->ds.tables[t];
    const dg_tablestats *st = &m->stats[t];
    /* The last column takes what is left: min .. max, or the top values. */
    int rest = width - 2 - (16 + 7 + 10 + 9 + 4);
    app_cell head[] = {{"column", 16, 0}, {"type", 7, 0}, {"distinct", 10, 1},
                   {"missing", 9, 1}, {"min .. max  |  top values", rest, 0}};
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(y++, 1, width - 2, head, 5);
    attrset(A_NORMAL);
    for (int c = 0; c < tb->ncols && y < end; c++) {
        const dg_colstats *cs = &st->cols[c];
        const dg_column *col = &tb->cols[c];
        char d[32], mi[32], what[1024] = "", b1[64], b2[64];
        text_count(cs->distinct, d, sizeof d);
        text_count(cs->missing, mi, sizeof mi);
        if (cs->has_range) {
            snprintf(what, sizeof what, "%s .. ", dg_cell_text(tb, col, cs->min_row, b1, sizeof b1));
            size_t o = strlen(what);
            snprintf(what + o, sizeof what - o, "%s",
                     dg_cell_text(tb, col, cs->max_row, b2, sizeof b2));
        } else {
            size_t o = 0;
            for (int k = 0; k < cs->ntop && o + 100 < sizeof what; k++) {
                const char *v = dg_cell_text(tb, col, cs->top_row[k], b1, sizeof b1);
                char cnt[32];
                text_count(cs->top_count[k], cnt, sizeof cnt);
                o += (size_t)snprintf(what + o, sizeof what - o, "%s%.40s (%s)", k ? ", " : "",
                                      v[0] ? v : "(empty)", cnt);
            }
        }
        app_cell row[] = {{col->name, 16, 0}, {dg_coltype_name(col->type), 7, 0}, {d, 10, 1},
                      {mi, 9, 1}, {what, rest, 0}};
        app_put_row(y++, 1, width - 2, row, 5);
    }
}

static void draw_tables(app *a, int top, int height, int width)
{
    model *m = &a->m;
    const dg_dataset *ds = m->loaded ? &m->ds : &m->found;
    char line[2048];
    int y = top;
    /* The key is looked up, not expanded from "{load}": the line holds a path. */
    snprintf(line, sizeof line, "Data: %s%s%s  (%s shape%s%s%s)",
             m->loaded && m->from_db ? model_engine_name(m->from_db) : "",
             m->loaded && m->from_db ? " " : "", m->loaded ? m->ds.dir : m->dir,
             dg_shape_name(ds->shape),
             m->loaded ? ds->from_snapshot ? ", loaded from the snapshot" : ", loaded"
                       : ", not loaded: ",
             m->loaded ? "" : actions[ACT_LOAD].key, m->loaded ? "" : " loads");
    app_put_plain(y++, 0, width, line, A_BOLD);
    int fw = width - 2 - (17 + 11 + 5 + 10 + 4);
    app_cell head[] = {{"table", 17, 0}, {"rows", 11, 1}, {"cols", 5, 1}, {"size", 10, 1},
                   {"file", fw, 0}};
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(y++, 1, width - 2, head, 5);
    attrset(A_NORMAL);
    for (int t = 0; t < DG_T_COUNT && y < top + height; t++) {
        char rows[32] = "-", cols[16] = "", size[32] = "", file[1024];
        if (ds->present[t]) {
            const char *slash = strrchr(ds->sources[t].path, '/');
            snprintf(file, sizeof file, "%s", slash ? slash + 1 : ds->sources[t].path);
            dg_format_bytes((double)ds->sources[t].size, size, sizeof size);
            snprintf(cols, sizeof cols, "%d", dg_tables[t].ncols);
            if (m->loaded)
                text_count(ds->tables[t].nrows, rows, sizeof rows);
            else
                snprintf(rows, sizeof rows, "found");
        } else if (m->have_pushed && (t == DG_T_EVENTS || t == DG_T_APP_EVENTS)) {
            snprintf(file, sizeof file, "(aggregated on the server, not fetched)");
        } else {
            snprintf(file, sizeof file, "(no %s)", dg_tables[t].files[0]);
        }
        app_cell row[] = {{dg_tables[t].name, 17, 0}, {rows, 11, 1}, {cols, 5, 1}, {size, 10, 1},
                      {file, fw, 0}};
        int cur = t == m->load_cur;
        if (cur)
            attrset(app_attr(a, COLOR_CURSOR, A_REVERSE));
        else if (!ds->present[t])
            attrset(A_DIM);
        app_put_row(y++, 1, width - 2, row, 5);
        attrset(A_NORMAL);
    }
    y++;
    if (m->loaded && y < top + height)
        draw_stats(a, y, top + height, width);
    else if (y < top + height)
        app_put_text(y, width,
                     "{load} loads these tables (in the background: {cancel-job} cancels).",
                     A_NORMAL);
}

/* A database source before its load: the connection's fields and where the
 * password will come from (its characters never show). */
static void draw_db(app *a, int top, int height, int width)
{
    const model *m = &a->m;
    const dg_sources_config *d = &m->db;
    int ch = m->src == SRC_CH_PUSHDOWN;
    char lines[12][1200], v[300];
    int n = 0;
    snprintf(lines[n++], sizeof lines[0], "Source: %s%s  ({source}: next source)",
             model_engine_name(m->src),
             m->src == SRC_MYSQL_S3 ? " + S3 (app labels and label categories)"
             : m->src == SRC_MYSQL_PUSHDOWN
                 ? ", aggregated there (features --db: the events stay)"
             : ch ? ", aggregated there (the events stay)"
                  : "");
    action_keys_expand(lines[n - 1], sizeof lines[0]);
    snprintf(lines[n++], sizeof lines[0], "%s", "");
    const char *const *fields = model_fields(m->src);
    for (int i = 0; fields[i]; i++)
        snprintf(lines[n++], sizeof lines[0], "  %-10s %s", fields[i],
                 model_db_field(m, fields[i], v, sizeof v));
    const char *env = ch ? "CLICKHOUSE_PASSWORD" : "MYSQL_PWD";
    const char *pw = getenv(env);
    const char *file = ch ? d->ch_password_file : d->password_file;
    int in_conf = ch ? d->clickhouse.password != NULL : d->mysql.password != NULL;
    /* The line may end in the password_file's path: the key is looked up. */
    char none[64], from_env[64];
    snprintf(none, sizeof none, "none yet: %s types it", actions[ACT_DB_PASSWORD].key);
    snprintf(from_env, sizeof from_env, "from %s", env);
    snprintf(lines[n++], sizeof lines[0], "  %-10s %s%.1000s", "password",
             m->password ? "******** typed (in memory until the load)"
             : pw        ? from_env
             : file[0]   ? "from the password_file "
             : in_conf   ? "from sources.conf"
                         : none,
             !m->password && !pw && file[0] ? file : "");
    if (m->src == SRC_MYSQL_S3) {
        snprintf(lines[n++], sizeof lines[0], "  %-10s %s", "S3", d->labels_url);
        snprintf(lines[n++], sizeof lines[0], "  %-10s %s", "", d->categories_url);
    }
    snprintf(lines[n++], sizeof lines[0], "%s", "");
    snprintf(lines[n++], sizeof lines[0], "%s",
             "{db-set} edits the fields in turn, {db-password} types the password, {load} loads "
             "({cancel-job} cancels).");
    action_keys_expand(lines[n - 1], sizeof lines[0]);
    for (int i = 0; i < n && i < height; i++)
        app_put_plain(top + i, 0, width, lines[i], i == 0 ? A_BOLD : A_NORMAL);
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    sheet *s = model_sheet(m);
    if (s) {
        sheet_draw(a, s, top, height, width);
        return;
    }
    if (m->src != SRC_DIR && !(m->loaded && m->from_db)) {
        draw_db(a, top, height, width);
        return;
    }
    if (!m->have_found && !m->loaded) {
        /* A key column, then what the key does: the keys from the table. */
        static const struct {
            int id;
            const char *what;
        } keys[] = {
            {ACT_CHOOSE_DIR, "choose one ({prompt-complete} completes the path), or start as "
                             "demographer DATA_DIR"},
            {ACT_LOAD, "load its tables, with progress; {cancel-job} cancels"},
            {ACT_SOURCE, "or choose MySQL (or MySQL + S3, or aggregated on MySQL or "
                         "ClickHouse)"},
            {ACT_OPEN_TABLE, "open the table under the cursor as a sheet"},
            {ACT_HELP, "all keys"},
        };
        int n = (int)(sizeof keys / sizeof *keys);
        if (height - 1 > 0)
            app_put_plain(top + 1, 0, width, "No data directory chosen yet.", A_NORMAL);
        for (int i = 0; i < n && i + 2 < height - 1; i++) {
            char line[256];
            snprintf(line, sizeof line, "  %-6s %s", actions[keys[i].id].key, keys[i].what);
            app_put_text(top + 3 + i, width, line, A_NORMAL);
        }
        return;
    }
    draw_tables(a, top, height, width);
}

static int key(app *a, int id, pane_args *args)
{
    model *m = &a->m;
    sheet *s = model_sheet(m);
    if (s)
        return sheet_key(a, s, id, args);
    switch (id) {
    case ACT_CHOOSE_DIR: {
        char start[1024];
        snprintf(start, sizeof start, "%s%s", m->dir ? m->dir : "", m->dir ? "/" : "");
        app_prompt(a, PROMPT_DIR, "data directory: ", start, NULL);
        return 0;
    }
    case ACT_SOURCE:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", source_names[(m->src + 1) % SRC_COUNT]);
        return 1;
    case ACT_DB_SET:
    case ACT_DB_PASSWORD:
        if (m->src == SRC_DIR) {
            snprintf(m->msg, sizeof m->msg, "%s",
                     "{source} chooses a MySQL or ClickHouse source first");
            return 0;
        }
        if (id == ACT_DB_PASSWORD) {
            app_password_prompt(a);
        } else {
            char v[300], label[64];
            const char *first = model_fields(m->src)[0];
            snprintf(label, sizeof label, "%s %s: ", model_engine_name(m->src), first);
            app_prompt(a, PROMPT_FIELD, label, model_db_field(m, first, v, sizeof v), first);
        }
        return 0;
    case ACT_OPEN_TABLE:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", dg_tables[m->load_cur].name);
        return 1;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", DG_T_COUNT);
        return 1;
    default: return 1;
    }
}

const pane_ops pane_load_ops = {
    .draw = draw,
    .key = key,
};
