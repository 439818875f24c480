/* runtime/cli/cli.h -- what the graphrun command's files share: messages,
 * option parsing, the clock, directories. Not part of the runtime library
 * (runtime/cli/ is linked into build/graphrun only). */
#ifndef GRAPHRUN_CLI_H
#define GRAPHRUN_CLI_H

#include <stdio.h>

#define MAX_ARGS 256

/* "graphrun: <message>\n" on stderr; returns 1 (the exit status). */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic clock in milliseconds. */
double now_ms(void);
/* mkdir -p; 0 or -1 with errno */
int mkdir_p(const char *path);
/* Parses an integer option value in [lo, hi]; 0, or 1 after a message. */
int parse_int(const char *s, const char *opt, long lo, long hi, long *out);
/* Parses a finite number; 0, or 1 after a message. */
int parse_double(const char *s, const char *opt, double *out);

/* graphrun train (runtime/cli/train.c): argv[0] is "train". */
int graphrun_train(int argc, char **argv);

#endif
