/* tests/cuda/ew_math_device.cu -- `make cuda-check`: compiles the shared
 * elementwise math of ops/ew_math.h for the GPU (sm_90, H100/H200), one
 * kernel per f32 and f64 function, with register spills and every warning
 * an error. There is no CUDA backend yet; this keeps the header's promise
 * (the very formulas the CPU tests check can be compiled as __host__
 * __device__) true until there is. Nothing here runs: the build machines
 * have no GPU. */
#include "ew_math.h"

#define EW_DEVICE_UNARY(name)                                                          \
    __global__ void k_##name##_f32(const float *x, float *y, long n)                  \
    {                                                                                  \
        long i = (long)blockIdx.x * blockDim.x + threadIdx.x;                          \
        if (i < n)                                                                     \
            y[i] = ew_##name##_f32(x[i]);                                              \
    }                                                                                  \
    __global__ void k_##name##_f64(const double *x, double *y, long n)                \
    {                                                                                  \
        long i = (long)blockIdx.x * blockDim.x + threadIdx.x;                          \
        if (i < n)                                                                     \
            y[i] = ew_##name##_f64(x[i]);                                              \
    }

EW_DEVICE_UNARY(exp)
EW_DEVICE_UNARY(log)
EW_DEVICE_UNARY(sqrt)
EW_DEVICE_UNARY(rsqrt)
EW_DEVICE_UNARY(tanh)
EW_DEVICE_UNARY(sigmoid)
EW_DEVICE_UNARY(erf)
EW_DEVICE_UNARY(gelu_erf)
EW_DEVICE_UNARY(gelu_tanh)
EW_DEVICE_UNARY(relu)
EW_DEVICE_UNARY(abs)
EW_DEVICE_UNARY(neg)

/* the fused chain of samples/ew_chain.g, as a fused GPU kernel would run it */
__global__ void k_ew_chain_f32(const float *x, float *y, long n)
{
    long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = ew_add_f32(ew_mul_f32(ew_gelu_erf_f32(ew_add_f32(ew_mul_f32(v, 1.5f), 0.25f)), ew_sigmoid_f32(v)),
                          ew_tanh_f32(ew_mul_f32(v, 0.5f)));
    }
}
