/* runtime/tfevents.h -- internals of the TensorBoard event writer
 * (runtime/tfevents.c) that tests need: the CRC-32C of the record framing and
 * the variants that take the wall time instead of reading the clock, so a test
 * can compare exact bytes. Not installed; the public API is in graphrt.h. */
#ifndef RT_TFEVENTS_H
#define RT_TFEVENTS_H

#include "graphrt.h"

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, reflected 0x82F63B78, init and xorout 0xFFFFFFFF) of
 * n bytes; crc32c("123456789") == 0xE3069283. Not zlib's crc32. */
uint32_t rt_crc32c(const void *data, size_t n);
/* TFRecord's masking: ((crc >> 15) | (crc << 17)) + 0xA282EAD8. */
uint32_t rt_crc32c_mask(uint32_t crc);

/* rt_events_open with the wall time given (seconds since the epoch, finite
 * and >= 0): it names the file and stamps the file_version record. */
rt_status rt_events_open_at(const char *logdir, double wall_time, rt_events **out,
                            char *err, size_t err_len);
/* rt_events_scalar with the wall time given (finite). */
rt_status rt_events_scalar_at(rt_events *w, const char *tag, int64_t step, float value,
                              double wall_time);

#endif
