/* tests/fuzz_parser.c -- libFuzzer entry point for the graphc lexer and
 * parser: any bytes must give a tree or errors, never a crash, a hang or a
 * leak. Not built by default; after `make build/gen/parser.c build/gen/lexer.c`:
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *     -Igraphc -Ibuild/gen tests/fuzz_parser.c build/gen/parser.c build/gen/lexer.c \
 *     graphc/parse.c graphc/ast.c graphc/diag.c graphc/arena.c -lm -o build/fuzz_parser
 *   build/fuzz_parser -max_len=4096 corpus_dir/      (seed it with .g files) */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (!sink)
        return 0;
    gc_arena *a = gc_arena_new();
    if (!a)
        return 0;
    gc_diag d;
    gc_diag_init(&d, a, sink);
    /* NUL bytes (which gc_source_load rejects) are kept: the scanner must
     * cope with them too. */
    int id = gc_source_add(&d, "fuzz.g", (const char *)data, (int)size);
    if (id >= 0) {
        ast_file *f = gc_parse(&d, id);
        if (!f && d.n_errors == 0)
            abort(); /* the contract: a tree, or errors */
        ast_file_print(sink, f);
    }
    gc_arena_free(a);
    return 0;
}
