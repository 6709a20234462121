/* Copies a chart's cell grid (chart_cells.c) to the curses screen. */
#include "chart_view.h"
#include "text.h"

#include <curses.h>
#include <stdio.h>

void chart_view_init_colors(void)
{
    /* The Okabe-Ito palette in the xterm-256 cube, else the nearest of the
     * eight; black is the terminal's own foreground. */
    static const short c256[8] = {25, 214, 36, 166, 74, 175, 227, -1};
    static const short c8[8] = {COLOR_BLUE, COLOR_YELLOW, COLOR_GREEN, COLOR_RED,
                                COLOR_CYAN, COLOR_MAGENTA, COLOR_YELLOW, -1};
    for (int i = 0; i < 8; i++)
        init_pair((short)(COLOR_CHART0 + i), COLORS >= 256 ? c256[i] : c8[i], -1);
}

static int utf8(uint32_t c, char *b)
{
    if (c < 0x80) {
        b[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        b[0] = (char)(0xC0 | c >> 6);
        b[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        b[0] = (char)(0xE0 | c >> 12);
        b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    b[0] = (char)(0xF0 | c >> 18);
    b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    b[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

void chart_view_draw(app *a, const dg_chart *c, const char *heading, int top, int height,
                     int width)
{
    chart_view_draw_at(a, c, heading, top, height, 0, width);
}

void chart_view_draw_at(app *a, const dg_chart *c, const char *heading, int top, int height,
                        int x0, int width)
{
    int y = top;
    if (heading) {
        /* A heading too wide wraps to a second line rather than lose its
         * end (the keys it names); a third would cost the chart too much. */
        char lines[2][256];
        int n = text_wrap(heading, width - 2, 1, lines, 2);
        app_put_plain(y++, x0, width, n == 2 && height > 4 ? lines[0] : heading, A_BOLD);
        height--;
        if (n == 2 && height > 3) {
            app_put_plain(y++, x0 + 1, width - 1, text_after_line(heading, lines[0]), A_BOLD);
            height--;
        }
    }
    dg_cell_grid g;
    dg_err err;
    if (dg_chart_cells(c, width - 2, height, &g, &err) != DG_OK) {
        app_put_plain(y, x0, width, err.msg, A_NORMAL);
        return;
    }
    for (int r = 0; r < g.rows; r++) {
        move(y + r, x0 + 1);
        for (int x = 0; x < g.cols; x++) {
            const dg_cell *cell = &g.cells[(size_t)r * g.cols + x];
            if (cell->ch == 0)
                continue;
            int attr = A_NORMAL;
            if (cell->style & DG_CELL_BOLD)
                attr |= A_BOLD;
            if (cell->style & DG_CELL_DIM)
                attr |= A_DIM;
            if (cell->style & DG_CELL_REVERSE)
                attr |= A_REVERSE;
            if (a->color && cell->colour >= 0)
                attr |= COLOR_PAIR(COLOR_CHART0 + cell->colour);
            attrset(attr);
            char b[5];
            int n = utf8(cell->ch, b);
            b[n] = 0;
            addstr(b);
        }
    }
    attrset(A_NORMAL);
    dg_cell_grid_free(&g);
}
