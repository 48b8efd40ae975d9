/* jf-alloc.c — allocation with failure injection for the tests. */
#include "jf-alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide on purpose: only the unit tests change it, from one thread.  The library
 * proper holds no other global state. */
static long fail_at = -1;
static long counter;

void jf_alloc_fail_after(long n)
{
    fail_at = n;
    counter = 0;
}

long jf_alloc_count(void)
{
    return counter;
}

static int injected_failure(void)
{
    long n = counter++;
    return fail_at >= 0 && n >= fail_at;
}

void *jf_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return malloc(size ? size : 1);
}

void *jf_calloc(size_t n, size_t size)
{
    if (injected_failure())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *jf_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (injected_failure())
        return NULL;
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}

void jf_free(void *p)
{
    free(p);
}

char *jf_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = jf_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
