/* jf-alloc.h — the one allocator every libjoinfile allocation goes through, so the unit
 * tests can fail the Nth allocation of any operation and check it is handled
 * (the nghttp2 model, STYLE.md). */
#ifndef JF_ALLOC_H
#define JF_ALLOC_H

#include <stddef.h>

void *jf_malloc(size_t size);
void *jf_calloc(size_t n, size_t size);
/* Like realloc, but n * size is checked for overflow. */
void *jf_reallocarray(void *p, size_t n, size_t size);
void jf_free(void *p);
char *jf_strdup(const char *s);

/* Test hooks (process-wide, used only by the unit tests).  After
 * jf_alloc_fail_after(n), the allocation numbered n (0 = the next one) and every later
 * one fail until jf_alloc_fail_after(-1) disables injection.  jf_alloc_count() is the
 * number of allocations made since the last jf_alloc_fail_after() call. */
void jf_alloc_fail_after(long n);
long jf_alloc_count(void);

#endif
