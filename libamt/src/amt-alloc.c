/* amt-alloc.c — every allocation of libamt goes through here (STYLE.md: one allocator,
 * so allocation-failure injection can fail any one call). */
#include <stdlib.h>

#include "amt-internal.h"

void *amt_mem_malloc(const amt_mem *m, size_t size)
{
    return m && m->malloc ? m->malloc(size, m->user) : malloc(size);
}

void *amt_mem_realloc(const amt_mem *m, void *p, size_t size)
{
    return m && m->realloc ? m->realloc(p, size, m->user) : realloc(p, size);
}

void amt_mem_free(const amt_mem *m, void *p)
{
    if (!p)
        return;
    if (m && m->free)
        m->free(p, m->user);
    else
        free(p);
}
