/* Field and time parsers: text to int64, double and seconds since the epoch,
 * and back for times. The CSV reader, the MySQL and ClickHouse row readers,
 * the predictions and accuracy files and the pushdown all read their fields
 * with these, so a value means the same whichever source it came from. */
#include "demographer/parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids in the Upgrad tables were rounded to 15 significant digits, and some
 * exports print them in exponent form (-7.54829159030175e+18): both are
 * accepted as long as the value is a whole number. A value past the int64
 * range is an error, never clamped: two ids clamped to INT64_MAX would be
 * one device. */
static int parse_i64_exponent(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    __int128 mant = 0;
    int ndigits = 0, frac = 0, seen_dot = 0, any = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            any = 1;
            if (mant == 0 && c == '0' && !seen_dot)
                continue;
            if (ndigits >= 30)
                return DG_PARSE_RANGE;
            mant = mant * 10 + (c - '0');
            if (mant != 0)
                ndigits++;
            if (seen_dot)
                frac++;
        } else if (c == '.' && !seen_dot) {
            seen_dot = 1;
        } else {
            break;
        }
    }
    if (!any)
        return DG_PARSE_SYNTAX;
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        if (i == len)
            return DG_PARSE_SYNTAX;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > 100)
                return DG_PARSE_RANGE;
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return DG_PARSE_SYNTAX;
    long shift = exp - frac;
    while (shift < 0) {
        if (mant % 10 != 0)
            return DG_PARSE_SYNTAX; /* not a whole number */
        mant /= 10;
        shift++;
    }
    for (; shift > 0; shift--) {
        mant *= 10;
        if (mant > ((__int128)1 << 100))
            return DG_PARSE_RANGE;
    }
    __int128 v = neg ? -mant : mant;
    if (v > INT64_MAX || v < INT64_MIN)
        return DG_PARSE_RANGE;
    *out = (int64_t)v;
    return 0;
}

int dg_parse_i64(const char *s, size_t len, int64_t *out)
{
    if (len == 0)
        return DG_PARSE_EMPTY;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (len == 1)
            return DG_PARSE_SYNTAX;
    }
    uint64_t v = 0;
    size_t start = i;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            break;
        if (i - start >= 18) {
            /* 19 digits or more: check for overflow. */
            if (v > (UINT64_MAX - d) / 10)
                goto overflow;
        }
        v = v * 10 + d;
    }
    if (i != len) {
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
            return parse_i64_exponent(s, len, out);
        return DG_PARSE_SYNTAX;
    }
    if (i == start)
        return DG_PARSE_SYNTAX;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            goto overflow;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            goto overflow;
        *out = (int64_t)v;
    }
    return 0;
overflow:
    return DG_PARSE_RANGE;
}

const double dg_pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int dg_parse_f64(const char *s, size_t len, double *out)
{
    if (len == 0)
        return DG_PARSE_EMPTY;
    /* Fast path for plain decimals (the data's coordinates): an integer
     * mantissa of at most 15 digits divided by an exact power of ten is
     * correctly rounded. */
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    uint64_t mant = 0;
    int ndigits = 0, frac = 0, dot = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            mant = mant * 10 + (uint64_t)(c - '0');
            ndigits++;
            frac += dot;
        } else if (c == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (i == len && ndigits > 0 && ndigits <= 15) {
        double v = (double)mant / dg_pow10_exact[frac];
        *out = neg ? -v : v;
        return 0;
    }
    /* Anything else (exponents, long mantissas) goes through strtod on a
     * bounded copy; words such as nan or inf are not numbers here. */
    char buf[64];
    if (len >= sizeof buf)
        return DG_PARSE_SYNTAX;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t k = 0; k < len; k++) {
        char c = buf[k];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
              c == 'E'))
            return DG_PARSE_SYNTAX;
    }
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len)
        return DG_PARSE_SYNTAX;
    if (errno == ERANGE || !isfinite(v))
        return DG_PARSE_RANGE;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int dg_parse_time(const char *s, size_t len, int64_t *out)
{
    if (len == 0)
        return DG_PARSE_EMPTY;
    /* YYYY-MM-DD HH:MM:SS, or with a T; MySQL's DATETIME text form is the same. */
    if (len != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
        s[13] != ':' || s[16] != ':')
        return DG_PARSE_SYNTAX;
    unsigned y, mo, d, h, mi, se;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return DG_PARSE_SYNTAX;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return DG_PARSE_RANGE;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return DG_PARSE_RANGE;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void dg_format_time(int64_t t, char out[20])
{
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    /* civil_from_days */
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = (unsigned)(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y0 = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = y0 + (m <= 2);
    /* Written digit by digit: fixed width, and no truncation warnings. */
    unsigned yy = y < 0 ? 0 : (y > 9999 ? 9999 : (unsigned)y);
    unsigned hh = (unsigned)(secs / 3600), mm = (unsigned)(secs / 60 % 60), ss = (unsigned)(secs % 60);
    const unsigned parts[6] = {yy, m, d, hh, mm, ss};
    const int widths[6] = {4, 2, 2, 2, 2, 2};
    const char seps[6] = {'-', '-', ' ', ':', ':', '\0'};
    int o = 0;
    for (int i = 0; i < 6; i++) {
        for (int k = widths[i] - 1; k >= 0; k--) {
            unsigned v = parts[i];
            for (int j = 0; j < k; j++)
                v /= 10;
            out[o++] = (char)('0' + v % 10);
        }
        out[o++] = seps[i];
    }
}

const char *dg_parse_expected(dg_coltype type, int code)
{
    switch (type) {
    case DG_COL_I64:
    case DG_COL_KEY:
        return code == DG_PARSE_RANGE ? "a signed 64-bit integer (out of range)"
                                      : "a signed 64-bit integer";
    case DG_COL_I32:
        return code == DG_PARSE_RANGE ? "an integer in [-2147483648, 2147483647]" : "an integer";
    case DG_COL_I8:
        return code == DG_PARSE_RANGE ? "an integer in [-128, 127]" : "an integer";
    case DG_COL_F32:
        return code == DG_PARSE_RANGE ? "a finite number in float range" : "a number";
    case DG_COL_TIME:
        return code == DG_PARSE_RANGE ? "a valid date and time (YYYY-MM-DD HH:MM:SS)"
                                      : "a timestamp YYYY-MM-DD HH:MM:SS";
    case DG_COL_STR:
        return "a string";
    default:
        return "a value";
    }
}
