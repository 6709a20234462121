/* The exit statuses of the demographer program, in one place: the command
 * line returns them, the man page's EXIT STATUS lists them, and the library's
 * one exit (out of memory, common.c) uses DG_EXIT_SOFTWARE. The values follow
 * the shell's and sysexits.h's conventions. */
#ifndef DEMOGRAPHER_EXIT_STATUS_H
#define DEMOGRAPHER_EXIT_STATUS_H

enum dg_exit_status {
    DG_EXIT_OK = 0,           /* the work was done */
    DG_EXIT_FAILURE = 1,      /* the work failed; the message said why */
    DG_EXIT_USAGE = 2,        /* a usage error: bad option, value or operand; no terminal */
    DG_EXIT_SOFTWARE = 70,    /* out of memory, or an option without a handler (a bug) */
    DG_EXIT_INTERRUPTED = 130 /* run stopped by Ctrl-C or SIGTERM (128 + SIGINT) */
};

#endif
