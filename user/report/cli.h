/* SPDX-License-Identifier: MIT */
/* `bedtrace report`: its command line and the run from files to outputs. */
#ifndef BT_REPORT_CLI_H
#define BT_REPORT_CLI_H

/*
 * Runs `bedtrace report` with @argv[0] = "report" and the options and files after it. Returns
 * the exit status: 0, 1 (a file could not be read or written), 2 (bad usage).
 */
int report_main(int argc, char **argv);

#endif
