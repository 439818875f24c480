/* graphc/pass_simplify.c -- PLACEHOLDER: the simplify pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_simplify(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
