/* cbacc-engine.c — cbacc_admit() plus the state it needs between evaluations: the
 * previous decision and the hold-down table (spec/cbacc-dorms.md §7 "Operational rules"). */
#include <stdlib.h>
#include <string.h>

#include "cbacc-internal.h"

struct flow_state {
    cbacc_sg sg;
    bool admitted;
    uint64_t hold_until;
};

struct cbacc_engine {
    struct cbacc_admit_params params;
    uint64_t unknown_flow_bps;
    struct flow_state *st; /* sorted by (S,G) */
    size_t nst;
};

static const char R_NO_METADATA[] = "no metadata";

int cbacc_engine_new(cbacc_engine **out, const struct cbacc_admit_params *params,
                     uint64_t unknown_flow_bps)
{
    if (!out || !params || (params->hold_down_desync_ns && !params->random))
        return CBACC_ERR_INVALID;
    cbacc_engine *e = cbacc_calloc(1, sizeof *e);
    if (!e)
        return CBACC_ERR_NOMEM;
    e->params = *params;
    e->unknown_flow_bps = unknown_flow_bps;
    *out = e;
    return 0;
}

void cbacc_engine_free(cbacc_engine *e)
{
    if (!e)
        return;
    cbacc_free(e->st);
    cbacc_free(e);
}

void cbacc_engine_set_limit(cbacc_engine *e, uint64_t limit_bps)
{
    e->params.limit_bps = limit_bps;
}

static int cmp_state(const void *a, const void *b)
{
    return cbacc_sg_compare(&((const struct flow_state *)a)->sg, &((const struct flow_state *)b)->sg);
}

static const struct flow_state *find_state(const cbacc_engine *e, const cbacc_sg *sg)
{
    struct flow_state key;
    key.sg = *sg;
    return bsearch(&key, e->st, e->nst, sizeof *e->st, cmp_state);
}

int cbacc_engine_evaluate(cbacc_engine *e, const struct cbacc_engine_flow *flows, size_t n,
                          uint64_t now, struct cbacc_decision *decisions)
{
    if (!e || (n && (!flows || !decisions)))
        return CBACC_ERR_INVALID;
    struct cbacc_flow *in = cbacc_calloc(n, sizeof *in);
    struct flow_state *next = cbacc_calloc(n + e->nst, sizeof *next);
    if (!in || !next) {
        cbacc_free(in);
        cbacc_free(next);
        return CBACC_ERR_NOMEM;
    }
    /* Without a configured rate, a flow without metadata must never be admitted: a rate
     * above the limit guarantees that (such a flow alone exceeds it, so it is always in
     * the block set and never re-admitted), without saturating the sums. */
    uint64_t unknown = e->unknown_flow_bps;
    if (unknown == CBACC_NEVER)
        unknown = e->params.limit_bps == UINT64_MAX ? UINT64_MAX : e->params.limit_bps + 1;
    for (size_t i = 0; i < n; i++) {
        in[i].sg = flows[i].sg;
        in[i].population = flows[i].population ? flows[i].population : 1;
        in[i].bps = flows[i].has_metadata ? flows[i].bps : unknown;
        in[i].priority = flows[i].has_metadata ? flows[i].priority : CBACC_DEFAULT_PRIORITY;
        const struct flow_state *s = find_state(e, &flows[i].sg);
        if (s) {
            in[i].admitted_last = s->admitted;
            in[i].hold_until = s->hold_until > now ? s->hold_until : 0;
        }
    }
    int rc = cbacc_admit(&e->params, in, n, now, decisions, NULL);
    if (rc < 0) {
        cbacc_free(in);
        cbacc_free(next);
        return rc;
    }
    size_t nn = 0;
    for (size_t i = 0; i < n; i++) {
        next[nn].sg = flows[i].sg;
        next[nn].admitted = decisions[i].verdict == CBACC_ADMITTED;
        next[nn].hold_until = decisions[i].hold_until;
        nn++;
        if (decisions[i].verdict == CBACC_BLOCKED && !flows[i].has_metadata
            && e->unknown_flow_bps == CBACC_NEVER)
            decisions[i].reason = R_NO_METADATA;
    }
    /* Hold state survives leave and re-join until it expires (§7); a flow that left is
     * no longer an incumbent. */
    qsort(next, nn, sizeof *next, cmp_state);
    size_t joined = nn;
    for (size_t i = 0; i < e->nst; i++) {
        if (e->st[i].hold_until <= now)
            continue;
        struct flow_state key = e->st[i];
        if (bsearch(&key, next, joined, sizeof *next, cmp_state))
            continue;
        key.admitted = false;
        next[nn++] = key;
    }
    if (nn > joined)
        qsort(next, nn, sizeof *next, cmp_state);
    cbacc_free(in);
    cbacc_free(e->st);
    e->st = next;
    e->nst = nn;
    return rc;
}

uint64_t cbacc_engine_get_expiry(const cbacc_engine *e)
{
    uint64_t t = CBACC_NEVER;
    for (size_t i = 0; i < e->nst; i++)
        if (e->st[i].hold_until && e->st[i].hold_until < t)
            t = e->st[i].hold_until;
    return t;
}
