/* graphc/pass_memplan.c -- PLACEHOLDER: the memplan pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_memplan(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
