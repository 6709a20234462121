/* The table listing printed by the commands that load a data set (load,
 * load-db): rows, distinct ids, memory, time and source per table, skipped
 * rows, and how the Upgrad device ids were reconciled. */
#ifndef DEMOGRAPHER_CLI_REPORT_H
#define DEMOGRAPHER_CLI_REPORT_H

#include "demographer/dataset.h"

void cli_print_tables(const dg_dataset *ds);

#endif
