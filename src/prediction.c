/* predictions.csv, written and read exactly (see prediction.h). */
#include "demographer/prediction.h"

#include "demographer/parse.h"
#include "demographer/textbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void header(dg_textbuf *b)
{
    dg_textbuf_puts(b, "device_id,scenario,p_female,age");
    for (int i = 0; i < 6; i++) {
        dg_textbuf_putc(b, ',');
        dg_textbuf_puts(b, dg_group6_names[i]);
    }
    for (int i = 0; i < 12; i++) {
        dg_textbuf_putc(b, ',');
        dg_textbuf_puts(b, dg_group12_names[i]);
    }
    dg_textbuf_putc(b, '\n');
}

int dg_predictions_write(const dg_prediction *p, size_t n, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    header(&b);
    for (size_t r = 0; r < n; r++) {
        dg_textbuf_i64(&b, p[r].device_id);
        dg_textbuf_printf(&b, ",%d,", p[r].scenario);
        dg_textbuf_exact(&b, p[r].p_female);
        dg_textbuf_putc(&b, ',');
        dg_textbuf_exact(&b, p[r].age);
        for (int i = 0; i < 6; i++) {
            dg_textbuf_putc(&b, ',');
            dg_textbuf_exact(&b, p[r].group6[i]);
        }
        for (int i = 0; i < 12; i++) {
            dg_textbuf_putc(&b, ',');
            dg_textbuf_exact(&b, p[r].group12[i]);
        }
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

int dg_kaggle_submission_write(const dg_prediction *p, size_t n, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id");
    for (int i = 0; i < 12; i++) {
        dg_textbuf_putc(&b, ',');
        dg_textbuf_puts(&b, dg_group12_names[i]);
    }
    dg_textbuf_putc(&b, '\n');
    for (size_t r = 0; r < n; r++) {
        double sum = 0;
        for (int i = 0; i < 12; i++)
            sum += p[r].group12[i];
        /* NaN fails this test too: a model directory without a group12 model
         * for the device's scenario cannot make a submission. */
        if (!(sum > 0) || !isfinite(sum)) {
            dg_textbuf_free(&b);
            return dg_fail(err, "%s: device %" PRId64 " (scenario %d) has no 12-group "
                                "probabilities: the model directory needs a group12 model "
                                "for each scenario",
                           path, p[r].device_id, p[r].scenario);
        }
        dg_textbuf_i64(&b, p[r].device_id);
        for (int i = 0; i < 12; i++) {
            dg_textbuf_putc(&b, ',');
            dg_textbuf_exact(&b, p[r].group12[i] / sum);
        }
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

int dg_predictions_read(const char *path, dg_prediction **out, size_t *n, dg_err *err)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    if (dg_read_file(path, &text, &len, err) != DG_OK)
        return DG_ERR;
    dg_textbuf want = {0};
    header(&want);
    const char *line_end = memchr(text, '\n', len);
    size_t head_len = line_end ? (size_t)(line_end - text) + 1 : len;
    if (head_len != want.len || memcmp(text, want.p, want.len) != 0) {
        want.p[want.len - 1] = 0;
        dg_fail(err, "%s:1:1: expected the header '%s', found '%.*s'", path, want.p,
                (int)(line_end ? line_end - text : (long)len > 200 ? 200 : (int)len), text);
        dg_textbuf_free(&want);
        free(text);
        return DG_ERR;
    }
    dg_textbuf_free(&want);

    size_t rows = 0;
    for (size_t i = head_len; i < len; i++)
        rows += text[i] == '\n';
    if (len > head_len && text[len - 1] != '\n')
        rows++;
    dg_prediction *p = dg_xcalloc(rows ? rows : 1, sizeof *p);
    const char *s = text + head_len, *end = text + len;
    size_t r = 0;
    for (long line = 2; s < end; line++, r++) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *field = s;
        for (int c = 0; c < DG_PREDICTION_COLUMNS; c++) {
            const char *fe = field;
            while (fe < eol && *fe != ',' && *fe != '\r')
                fe++;
            int col = (int)(field - s) + 1;
            int rc;
            if (c == 0) {
                rc = dg_parse_i64(field, (size_t)(fe - field), &p[r].device_id);
                if (rc < 0)
                    goto bad_field;
            } else {
                double v = NAN;
                /* An empty probability or age is a value the model could not give. */
                rc = fe == field && c >= 2 ? 0 : dg_parse_f64(field, (size_t)(fe - field), &v);
                if (rc < 0)
                    goto bad_field;
                /* A written value is a probability in [0, 1] (an age: finite);
                 * NaN, infinities and 1.5 are refused, not passed on. */
                if (fe != field && c >= 2 && (!isfinite(v) || (c != 3 && (v < 0 || v > 1)))) {
                    dg_fail(err, "%s:%ld:%d: expected %s in column %s, found '%.*s'", path,
                            line, col, c == 3 ? "a finite age" : "a probability from 0 to 1",
                            c == 2   ? "p_female"
                            : c == 3 ? "age"
                            : c < 10 ? dg_group6_names[c - 4]
                                     : dg_group12_names[c - 10],
                            (int)(fe - field > 40 ? 40 : fe - field), field);
                    goto fail;
                }
                if (c == 1) {
                    if (v != 1 && v != 2) {
                        dg_fail(err, "%s:%ld:%d: expected scenario 1 or 2, found '%.*s'", path,
                                line, col, (int)(fe - field), field);
                        goto fail;
                    }
                    p[r].scenario = (int)v;
                } else if (c == 2)
                    p[r].p_female = v;
                else if (c == 3)
                    p[r].age = v;
                else if (c < 10)
                    p[r].group6[c - 4] = v;
                else
                    p[r].group12[c - 10] = v;
            }
            if (c + 1 < DG_PREDICTION_COLUMNS) {
                if (fe >= eol || *fe != ',') {
                    dg_fail(err, "%s:%ld:%d: expected %d fields, found %d", path, line,
                            (int)(fe - s) + 1, DG_PREDICTION_COLUMNS, c + 1);
                    goto fail;
                }
                field = fe + 1;
            } else {
                if (fe < eol && *fe == '\r' && fe + 1 == eol)
                    fe++;
                if (fe != eol) {
                    dg_fail(err, "%s:%ld:%d: expected the end of the line after %d fields, found '%.*s'",
                            path, line, (int)(fe - s) + 1, DG_PREDICTION_COLUMNS,
                            (int)(eol - fe > 20 ? 20 : eol - fe), fe);
                    goto fail;
                }
            }
            continue;
        bad_field:
            dg_fail(err, "%s:%ld:%d: expected %s in column %s, found '%.*s'", path, line, col,
                    dg_parse_expected(c == 0 ? DG_COL_I64 : DG_COL_F32, rc),
                    c == 0 ? "device_id" : c == 1 ? "scenario" : c == 2 ? "p_female" : c == 3 ? "age"
                           : c < 10 ? dg_group6_names[c - 4] : dg_group12_names[c - 10],
                    (int)(fe - field > 40 ? 40 : fe - field), field);
            goto fail;
        }
        s = eol + 1;
    }
    free(text);
    *out = p;
    *n = r;
    return DG_OK;
fail:
    free(text);
    free(p);
    return DG_ERR;
}
