/* driad-alloc.c — the library's one allocator, with a failure-injection hook for tests. */
#include <stdlib.h>

#include "driad-internal.h"

/* Not thread-safe by design: only unit tests set it, before any other call. */
static long fail_after = -1;

static int should_fail(void)
{
    if (fail_after < 0)
        return 0;
    if (fail_after == 0)
        return 1;
    fail_after--;
    return 0;
}

void driad_alloc_fail_after(long n)
{
    fail_after = n;
}

void *driad_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *driad_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *driad_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void driad_free(void *p)
{
    free(p);
}
