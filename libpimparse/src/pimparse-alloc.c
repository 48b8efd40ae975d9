/* pimparse-alloc.c — the library's one allocator, with failure injection for tests
 * (hacking.md: every allocation failure path is exercised). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
 * walk under virtualization).  Large tables are therefore mapped 2 MiB-aligned and
 * offered to transparent huge pages before anything touches them (where THP is off the
 * hint is refused and nothing else changes).  They come from mmap, so they are zero
 * without a memset, and growing one moves its pages into a larger aligned mapping
 * (mremap) instead of copying them: a grown table costs only its new half.  "Large"
 * starts at one huge page (a million (S,G)s fault 1,600 times instead of 2,900). */
#define LARGE_TABLE ((size_t)2 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

static size_t huge_round(size_t size)
{
    return (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* An aligned, unused range of `size` bytes (a multiple of HUGE_PAGE), or NULL. */
static void *map_aligned(size_t size, int prot)
{
    uint8_t *m = mmap(NULL, size + HUGE_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t start = (uintptr_t)m, a = (start + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (a > start)
        munmap(m, a - start);
    if (start + HUGE_PAGE > a)
        munmap((void *)(a + size), start + HUGE_PAGE - a);
    return (void *)a;
}

static void hint_huge(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

void *pp_malloc_table(size_t size)
{
    if (should_fail())
        return NULL;
    if (size < LARGE_TABLE)
        return calloc(1, size);
    size_t rounded = huge_round(size);
    void *p = map_aligned(rounded, PROT_READ | PROT_WRITE);
    if (p)
        hint_huge(p, rounded);
    return p;
}

void *pp_realloc_table(void *p, size_t old_size, size_t keep, size_t size, int zero)
{
    if (!p)
        return pp_malloc_table(size);
    if (size <= old_size)
        return p;
    if (size < LARGE_TABLE) {
        /* realloc moves a block past malloc's mmap threshold with mremap too: the new part
         * is touched only when the caller wants it zeroed. */
        uint8_t *n = pp_realloc(p, size);
        if (n && zero)
            memset(n + old_size, 0, size - old_size);
        return n;
    }
    if (old_size < LARGE_TABLE) {
        /* Only the bytes in use are copied: the rest of a reserved table has never been
         * touched, and copying it would fault in pages for nothing. */
        uint8_t *n = pp_malloc_table(size);
        if (n) {
            memcpy(n, p, keep);
            free(p);
        }
        return n;
    }
    if (should_fail())
        return NULL;
    /* Reserve an aligned range and move the old pages to its start: the kernel moves page
     * table entries (whole huge pages when both ends are aligned), and the range beyond
     * the old size becomes fresh zero pages. */
    size_t old_rounded = huge_round(old_size), rounded = huge_round(size);
    void *dst = map_aligned(rounded, PROT_NONE);
    if (!dst)
        return NULL;
    void *n = mremap(p, old_rounded, rounded, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    if (n == MAP_FAILED) {
        munmap(dst, rounded);
        return NULL;
    }
    hint_huge(n, rounded);
    return n;
}

void pp_free_table(void *p, size_t size)
{
    if (!p)
        return;
    if (size < LARGE_TABLE)
        free(p);
    else
        munmap(p, huge_round(size));
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
