/* cbacc-internal.h — helpers shared by the library's sources (not installed). */
#ifndef CBACC_INTERNAL_H
#define CBACC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cbacc/cbacc.h"

#if defined(__GNUC__)
#define CBACC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CBACC_PRINTF(a, b)
#endif

/* Every allocation goes through these (STYLE.md: one allocator, so tests can fail the
 * Nth allocation and check that each failure is handled). */
void *cbacc_malloc(size_t size);
void *cbacc_calloc(size_t n, size_t size);
void *cbacc_realloc(void *p, size_t size);
char *cbacc_strdup(const char *s);
void cbacc_free(void *p);

/* Test hook: the Nth allocation from now (1 = the next one) fails, and every one after it
 * while `sticky` is set; 0 disables.  Returns the number of allocations since the last
 * call (to size a loop over N). */
unsigned long cbacc_alloc_fail_at(unsigned long n, int sticky);

/* Formats into errbuf (may be NULL). */
void cbacc_set_err(char *errbuf, size_t errlen, const char *fmt, ...) CBACC_PRINTF(3, 4);

/* Saturating addition of rates. */
static inline uint64_t cbacc_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* MurmurHash3's finaliser: every input bit reaches the low bits used as a table index. */
static inline uint64_t cbacc_fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static inline uint64_t cbacc_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Hash of an address (16 bytes) and a family. */
static inline uint64_t cbacc_hash_addr(const uint8_t *a, uint8_t family, uint64_t seed)
{
    return cbacc_fmix64(cbacc_load64(a) ^ cbacc_fmix64(cbacc_load64(a + 8) ^ family ^ seed));
}

/* Parses a decimal uint of at most max from a complete string (no sign, no spaces).
 * Returns 0, CBACC_ERR_SCHEMA (not digits) or CBACC_ERR_RANGE. */
int cbacc_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Address text helpers (inet_pton / inet_ntop by family 4/6). */
int cbacc_addr_parse(const char *text, uint8_t *family, uint8_t addr[16]);
const char *cbacc_addr_format(uint8_t family, const uint8_t addr[16], char *buf, size_t size);

#endif
