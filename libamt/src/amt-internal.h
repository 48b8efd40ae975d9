/* amt-internal.h — helpers shared by libamt's sources; never installed. */
#ifndef AMT_INTERNAL_H
#define AMT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "amt/amt.h"

static inline uint16_t amt_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t amt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void amt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void amt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline size_t amt_addr_len(int family)
{
    return family == AMT_IPV6 ? 16 : 4;
}

/* Partial one's-complement sum (RFC 1071) for checksums built from several pieces. */
uint32_t amt_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t amt_csum_fold(uint32_t sum);
/* ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and the message. */
uint16_t amt_csum_icmp6(const uint8_t *src16, const uint8_t *dst16, const uint8_t *msg,
                        size_t len);

/* Allocation through the settings' amt_mem (or libc): the one place every allocation
 * goes, so the tests can fail the Nth one. */
void *amt_mem_malloc(const amt_mem *m, size_t size);
void *amt_mem_realloc(const amt_mem *m, void *p, size_t size);
void amt_mem_free(const amt_mem *m, void *p);

#endif
