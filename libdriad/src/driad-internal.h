/* driad-internal.h — helpers shared by libdriad's sources; never installed. */
#ifndef DRIAD_INTERNAL_H
#define DRIAD_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "driad/driad.h"

#if defined(__GNUC__)
#define DRIAD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DRIAD_PRINTF(a, b)
#endif

/* One allocator for the whole library so tests can fail the Nth allocation
 * (driad-alloc.c). */
void *driad_malloc(size_t n);
void *driad_calloc(size_t n, size_t size);
void *driad_realloc(void *p, size_t n);
void driad_free(void *p);
/* Test hook: the next `n` allocations succeed and every later one fails; -1 disables. */
void driad_alloc_fail_after(long n);

/* Formats and sends one log line; does nothing when fn is NULL. */
void driad_logf(driad_log_fn fn, void *user, int level, const char *fmt, ...) DRIAD_PRINTF(4, 5);

/* Wire-name helpers (uncompressed names that end with the root label). */
/* Case-insensitive equality (RFC 4343 §3: ASCII letters only). */
bool driad_wname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Validates a wire name occupying exactly len octets; returns 0 or DRIAD_ERR_NAME_*. */
int driad_wname_check(const uint8_t *n, size_t len);

/* Cache of lookup results (driad-cache.c): keyed by (source, family), bounded, LRU. */
typedef struct driad_cache driad_cache;
int driad_cache_new(size_t capacity, driad_cache **out);
void driad_cache_free(driad_cache *c);
/* Stores a deep copy of r, valid until r->expires. 0 or DRIAD_ERR_NOMEM. */
int driad_cache_put(driad_cache *c, const struct driad_result *r);
/* A cached result still valid at `now`, or NULL (expired entries are dropped). The
 * pointer stays valid until the next put/flush/free. */
const struct driad_result *driad_cache_get(driad_cache *c, const struct driad_ip *source,
                                           int family, uint64_t now);
void driad_cache_flush(driad_cache *c);
size_t driad_cache_size(const driad_cache *c);

/* Deep copy into freshly allocated storage (driad-result.c). */
struct driad_result *driad_result_clone(const struct driad_result *r);

#endif
