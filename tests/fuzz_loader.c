/* tests/fuzz_loader.c -- libFuzzer entry point for the graph-binary loader:
 * any bytes give a model (then run once on zero feeds) or a clean error.
 * Not built by default. From the repository root, after `make build/gen/graph.pb-c.h`:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fopenmp=libgomp -D_POSIX_C_SOURCE=200809L \
 *     -I. -Iops -Iruntime -Ibuild/gen tests/fuzz_loader.c build/gen/graph.pb-c.c \
 *     $(find runtime ops -name '*.c' ! -path '*/cli/*') -lprotobuf-c -ldnnl -lm -o build/fuzz_loader
 *   ASAN_OPTIONS=allocator_may_return_null=1 build/fuzz_loader -max_len=4096 corpus/
 * (seed corpus: .gb files; the option turns an arena too big for memory into
 * RT_ERR_NOMEM instead of an ASan report) */
#include "graphrt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static float zeros[1 << 14];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rt_model *m = NULL;
    char err[512];
    if (rt_model_load_buffer(data, size, &m, err, sizeof err) != RT_OK) {
        if (m || !err[0])
            abort(); /* an error must come with a message and no model */
        return 0;
    }
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    rt_session *s = NULL;
    if (rt_session_create(m, &o, &s, err, sizeof err) == RT_OK) {
        const char *fn[8], *on[8];
        rt_tensor feeds[8], fetches[8];
        int nf = 0, no = 0;
        for (int i = 0; i < rt_model_n_inputs(m) && nf < 8; i++) {
            rt_value_info info;
            rt_model_input(m, i, &info);
            rt_tensor *t = &feeds[nf];
            memset(t, 0, sizeof *t);
            t->dtype = info.dtype;
            t->rank = info.rank;
            int64_t n = 1;
            for (int d = 0; d < info.rank; d++) {
                t->dims[d] = info.dims[d] < 0 ? info.sym_coef[d] : info.dims[d];
                if (t->dims[d] > 4096 || (t->dims[d] && n > 4096 / t->dims[d]))
                    n = -1;
                else if (n >= 0)
                    n *= t->dims[d];
            }
            if (n < 0)
                continue;
            t->data = zeros;
            fn[nf++] = info.name;
        }
        for (int i = 0; i < rt_model_n_outputs(m) && no < 8; i++) {
            rt_value_info info;
            rt_model_output(m, i, &info);
            on[no++] = info.name;
        }
        if (rt_session_run(s, nf, fn, feeds, no, on, fetches) != RT_OK && !rt_session_last_error(s)[0])
            abort();
        rt_session_free(s);
    }
    (void)rt_model_flops(m, 3);
    rt_model_free(m);
    return 0;
}
