/* driad-result.c — owned copies of lookup results. */
#include <string.h>

#include "driad-internal.h"

struct driad_result *driad_result_clone(const struct driad_result *r)
{
    /* one block: the struct, then the records, then the candidates */
    size_t rec_off = sizeof(struct driad_result);
    rec_off = (rec_off + 15) & ~(size_t)15;
    size_t cand_off = rec_off + r->n_records * sizeof(struct driad_record);
    cand_off = (cand_off + 15) & ~(size_t)15;
    size_t total = cand_off + r->n_candidates * sizeof(struct driad_candidate);
    uint8_t *block = driad_malloc(total);
    if (!block)
        return NULL;
    struct driad_result *c = (struct driad_result *)(void *)block;
    *c = *r;
    struct driad_record *recs = (struct driad_record *)(void *)(block + rec_off);
    struct driad_candidate *cands = (struct driad_candidate *)(void *)(block + cand_off);
    if (r->n_records)
        memcpy(recs, r->records, r->n_records * sizeof *recs);
    if (r->n_candidates)
        memcpy(cands, r->candidates, r->n_candidates * sizeof *cands);
    c->records = r->n_records ? recs : NULL;
    c->candidates = r->n_candidates ? cands : NULL;
    return c;
}

int driad_result_dup(const struct driad_result *r, struct driad_result **out)
{
    if (!r || !out)
        return DRIAD_ERR_INVALID_ARGUMENT;
    *out = driad_result_clone(r);
    return *out ? 0 : DRIAD_ERR_NOMEM;
}

void driad_result_free(struct driad_result *r)
{
    driad_free(r);
}
