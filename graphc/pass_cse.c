/* graphc/pass_cse.c -- PLACEHOLDER: the cse pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_cse(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
