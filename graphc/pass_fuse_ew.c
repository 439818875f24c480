/* graphc/pass_fuse_ew.c -- PLACEHOLDER: the fuse_ew pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_fuse_ew(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
