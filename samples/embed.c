/* samples/embed.c -- using the runtime from C: load a graph binary, create a
 * session with 2 threads, feed a batch, fetch an output, run it repeatedly.
 * Build: make (-> build/embed_example); run: build/embed_example MODEL.gb
 * (the model must have one f32 input whose only symbolic dim is the batch). */
#include <stdio.h>
#include <stdlib.h>

#include "graphrt.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gb\n", argv[0]);
        return 2;
    }
    char err[1024];
    rt_model *m = NULL;
    if (rt_model_load_file(argv[1], &m, err, sizeof err) != RT_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    rt_value_info in, out;
    rt_model_input(m, 0, &in);
    rt_model_output(m, 0, &out);

    /* a batch of 4: every symbolic dim of the input becomes 4 */
    rt_tensor x = { .dtype = in.dtype, .rank = in.rank };
    int64_t n = 1;
    for (int i = 0; i < in.rank; i++) {
        x.dims[i] = in.sym_names[i] ? 4 * in.sym_coef[i] : in.dims[i];
        n *= x.dims[i];
    }
    float *data = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        data[i] = (float)(i % 7) / 7.0f;
    x.data = data;

    rt_session_options opts = rt_session_options_default();
    opts.n_threads = 2;
    rt_session *s = NULL;
    if (rt_session_create(m, &opts, &s, err, sizeof err) != RT_OK) {
        fprintf(stderr, "session: %s\n", err);
        return 1;
    }
    const char *feed_names[] = { in.name };
    const char *fetch_names[] = { out.name };
    rt_tensor y;
    for (int run = 0; run < 3; run++) /* runs after the first allocate nothing */
        if (rt_session_run(s, 1, feed_names, &x, 1, fetch_names, &y) != RT_OK) {
            fprintf(stderr, "run: %s\n", rt_session_last_error(s));
            return 1;
        }
    printf("%s -> %s: %s[", in.name, out.name, rt_dtype_name(y.dtype));
    for (int i = 0; i < y.rank; i++)
        printf("%s%lld", i ? ", " : "", (long long)y.dims[i]);
    printf("], first value %g\n", y.dtype == RT_F32 ? ((float *)y.data)[0] : 0.0);
    rt_session_free(s);
    rt_model_free(m);
    free(data);
    return 0;
}
