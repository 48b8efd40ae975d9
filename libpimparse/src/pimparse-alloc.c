/* pimparse-alloc.c — the library's one allocator, with failure injection for tests
 * (hacking.md: every allocation failure path is exercised). */
#include <stdlib.h>

#include "pimparse-internal.h"

/* Tests run single-threaded; a production process never sets fail_at. */
static unsigned long alloc_count;
static unsigned long fail_at;

static int should_fail(void)
{
    alloc_count++;
    return fail_at != 0 && alloc_count >= fail_at;
}

void *pp_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size);
}

void *pp_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n, size);
}

void *pp_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : realloc(p, size);
}

void pp_free(void *p)
{
    free(p);
}

unsigned long pp_alloc_fail_at(unsigned long n)
{
    unsigned long made = alloc_count;
    alloc_count = 0;
    fail_at = n;
    return made;
}
