/* graphc/pass_fold.c -- PLACEHOLDER: the fold pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_fold(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
