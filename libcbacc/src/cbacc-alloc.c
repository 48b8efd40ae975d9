/* cbacc-alloc.c — the one allocator of the library, with failure injection for tests. */
#include <stdlib.h>
#include <string.h>

#include "cbacc-internal.h"

/* Test-only state.  The library itself has no other global state; this is never set
 * outside the unit tests. */
static unsigned long fail_at;
static unsigned long count;
static int fail_sticky;

unsigned long cbacc_alloc_fail_at(unsigned long n, int sticky)
{
    unsigned long c = count;
    count = 0;
    fail_at = n;
    fail_sticky = sticky;
    return c;
}

static int should_fail(void)
{
    count++;
    if (fail_at == 0)
        return 0;
    if (count == fail_at)
        return 1;
    return fail_sticky && count > fail_at;
}

void *cbacc_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size ? size : 1);
}

void *cbacc_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *cbacc_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : realloc(p, size ? size : 1);
}

char *cbacc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cbacc_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void cbacc_free(void *p)
{
    free(p);
}
