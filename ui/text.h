/* UTF-8 text measured by display width (a CJK character takes two terminal
 * cells), so that columns of brand names like 红米note line up. Needs an
 * LC_CTYPE with UTF-8 (the workbench sets it from the environment, falling
 * back to C.UTF-8). Curses-free. */
#ifndef DEMOGRAPHER_UI_TEXT_H
#define DEMOGRAPHER_UI_TEXT_H

#include <stddef.h>

/* Display width of s (unprintable characters and bad bytes count as one
 * cell each, drawn as '?'). */
int text_width(const char *s);

/* Writes into out exactly `width` cells of s: cut with "…" when wider,
 * padded with spaces (on the left when right_align) when narrower; control
 * characters and bad bytes become '?'. Returns out. */
char *text_fit(const char *s, int width, int right_align, char *out, size_t cap);

/* s cut into lines of at most width cells, at blanks where it can, the
 * lines after the first indented by indent blanks. Returns the count (at
 * least 1, at most max). */
int text_wrap(const char *s, int width, int indent, char (*lines)[256], int max);
/* The rest of s after first, its first line as text_wrap made it (the
 * blanks between skipped): what a last line shows when the lines run out. */
const char *text_after_line(const char *s, const char *first);

/* 1234567 -> "1,234,567". */
char *text_count(unsigned long long v, char *out, size_t cap);

/* Braille cells: the bit of dot (x, y) of a character, x in 0..1, y in
 * 0..3, and a cell's character for a set of bits (UTF-8, NUL-ended). */
unsigned text_braille_bit(int x, int y);
void text_braille_utf8(unsigned bits, char out[4]);

#endif
