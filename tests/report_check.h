/* Reading report.md and report.html back, for the tests that check the three
 * renderings of a report agree: their tables cell by cell, their text with
 * the markup taken out, and the HTML's references (none may leave the file). */
#ifndef DEMOGRAPHER_TESTS_REPORT_CHECK_H
#define DEMOGRAPHER_TESTS_REPORT_CHECK_H

#include <stddef.h>

/* Every table row of the text, header rows included (Markdown's |---| lines
 * left out), in order, as its cells' text joined by '\t': Markdown's "\|"
 * read as '|' and "**x**" as x; HTML's tags taken out and its entities
 * decoded. *n gets the count; rc_free_rows frees them. */
char **rc_md_rows(const char *md, size_t *n);
char **rc_html_rows(const char *html, size_t *n);
void rc_free_rows(char **rows, size_t n);
/* The index of the row equal to `row`, or -1. */
long rc_find_row(char *const *rows, size_t n, const char *row);
/* The HTML's text: the <style> and every tag taken out, entities decoded
 * (freed by the caller). */
char *rc_html_text(const char *html);
/* How many references in the HTML would fetch something from outside the
 * file: in a tag, a src, href, srcset, action, poster or data attribute with
 * a scheme other than data: (http:, https:, file:, ...) or starting with //,
 * an http-equiv, and any script, link, iframe, object, embed or base tag; in
 * a <style> or a style attribute, an @import or a url( not followed by
 * data:. Text between tags does not count (the page shows data as text).
 * why gets the first. */
int rc_html_external_refs(const char *html, char *why, size_t cap);

#endif
