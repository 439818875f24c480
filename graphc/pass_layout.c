/* graphc/pass_layout.c -- PLACEHOLDER: the layout pass, being written; it changes
 * nothing yet (the pass manager reports 0 rewrites). */
#include "pass.h"

int gc_pass_layout(gc_pass_ctx *ctx)
{
    (void)ctx;
    return 0;
}
