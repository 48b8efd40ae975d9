/* pimparse-alloc.c — the library's one allocator, with failure injection for tests
 * (hacking.md: every allocation failure path is exercised). */
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* Tables of a million (S,G)s span tens of megabytes touched at random: with 4 KiB pages
 * every first touch is a page fault and most lookups miss the TLB (a costly two-level
 * walk under virtualization).  Large tables are therefore allocated 2 MiB-aligned and
 * offered to transparent huge pages before anything touches them; growing one allocates
 * the larger block and copies, since realloc would keep the old pages small.  Where THP
 * is off or unsupported the hint is refused and nothing else changes. */
#define LARGE_TABLE ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

void *pp_malloc_table(size_t size)
{
    if (should_fail())
        return NULL;
    if (size < LARGE_TABLE)
        return malloc(size);
    size_t rounded = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void *pp_realloc_table(void *p, size_t old_size, size_t size)
{
    if (size < LARGE_TABLE)
        return pp_realloc(p, size);
    void *n = pp_malloc_table(size);
    if (!n)
        return NULL;
    if (p)
        memcpy(n, p, old_size < size ? old_size : size);
    free(p);
    return n;
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
