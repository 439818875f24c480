/* graphc/pass_fuse_gemm.c -- PLACEHOLDER: the fuse_gemm pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_fuse_gemm(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
