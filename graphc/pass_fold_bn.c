/* graphc/pass_fold_bn.c -- PLACEHOLDER: the fold_bn pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_fold_bn(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
