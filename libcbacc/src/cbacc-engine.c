/* cbacc-engine.c — cbacc_admit() plus the state it needs between evaluations: the
 * previous decision and the hold-down table (spec/cbacc-dorms.md §7 "Operational rules").
 * The state is an open-addressing hash table keyed by (S,G), rebuilt by each evaluation
 * from the joined flows plus the flows that left while still in a hold-down. */
#include <stdlib.h>
#include <string.h>

#include "cbacc-internal.h"

struct flow_state {
    cbacc_sg sg;
    bool used;
    bool admitted;
    uint64_t hold_until;
};

struct cbacc_engine {
    struct cbacc_admit_params params;
    uint64_t unknown_flow_bps;
    struct flow_state *st; /* cap slots, a power of two, at most half full */
    size_t cap, count;
    uint64_t expiry;       /* earliest hold_until in st */
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
    e->expiry = CBACC_NEVER;
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

static size_t slot_of(const cbacc_sg *sg, size_t cap)
{
    return (size_t)cbacc_hash_addr(sg->group, sg->family, cbacc_hash_addr(sg->source, sg->family, 0)) & (cap - 1);
}

/* The slot holding sg, or the empty slot where it would go. */
static struct flow_state *probe(struct flow_state *st, size_t cap, const cbacc_sg *sg)
{
    for (size_t i = slot_of(sg, cap);; i = (i + 1) & (cap - 1))
        if (!st[i].used || cbacc_sg_compare(&st[i].sg, sg) == 0)
            return &st[i];
}

int cbacc_engine_evaluate(cbacc_engine *e, const struct cbacc_engine_flow *flows, size_t n,
                          uint64_t now, struct cbacc_decision *decisions)
{
    if (!e || (n && (!flows || !decisions)))
        return CBACC_ERR_INVALID;
    size_t cap = 16;
    while (cap < 2 * (n + e->count))
        cap *= 2;
    struct cbacc_flow *in = cbacc_calloc(n, sizeof *in);
    struct flow_state *next = cbacc_calloc(cap, sizeof *next);
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
        const struct flow_state *s = e->st ? probe(e->st, e->cap, &flows[i].sg) : NULL;
        if (s && s->used) {
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
    size_t count = 0;
    uint64_t expiry = CBACC_NEVER;
    for (size_t i = 0; i < n; i++) {
        struct flow_state *s = probe(next, cap, &flows[i].sg);
        if (s->used)
            continue; /* the caller passed an (S,G) twice; the first decision stands */
        *s = (struct flow_state){flows[i].sg, true, decisions[i].verdict == CBACC_ADMITTED, decisions[i].hold_until};
        count++;
        if (s->hold_until && s->hold_until < expiry)
            expiry = s->hold_until;
        if (decisions[i].verdict == CBACC_BLOCKED && !flows[i].has_metadata
            && e->unknown_flow_bps == CBACC_NEVER)
            decisions[i].reason = R_NO_METADATA;
    }
    /* Hold state survives leave and re-join until it expires (§7); a flow that left is
     * no longer an incumbent. */
    for (size_t i = 0; i < e->cap; i++) {
        const struct flow_state *o = &e->st[i];
        if (!o->used || o->hold_until <= now)
            continue;
        struct flow_state *s = probe(next, cap, &o->sg);
        if (s->used)
            continue;
        *s = (struct flow_state){o->sg, true, false, o->hold_until};
        count++;
        if (s->hold_until < expiry)
            expiry = s->hold_until;
    }
    cbacc_free(in);
    cbacc_free(e->st);
    e->st = next;
    e->cap = cap;
    e->count = count;
    e->expiry = expiry;
    return rc;
}

int cbacc_engine_set_incumbents(cbacc_engine *e, const cbacc_sg *sgs, size_t n)
{
    if (!e || (n && !sgs))
        return CBACC_ERR_INVALID;
    size_t cap = 16;
    while (cap < 2 * (n + e->count))
        cap *= 2;
    struct flow_state *next = cbacc_calloc(cap, sizeof *next);
    if (!next)
        return CBACC_ERR_NOMEM;
    size_t count = 0;
    for (size_t i = 0; i < e->cap; i++) {
        if (!e->st[i].used)
            continue;
        *probe(next, cap, &e->st[i].sg) = e->st[i];
        count++;
    }
    for (size_t i = 0; i < n; i++) {
        struct flow_state *s = probe(next, cap, &sgs[i]);
        if (s->used)
            continue;
        *s = (struct flow_state){sgs[i], true, true, 0};
        count++;
    }
    cbacc_free(e->st);
    e->st = next;
    e->cap = cap;
    e->count = count;
    return 0;
}

uint64_t cbacc_engine_get_expiry(const cbacc_engine *e)
{
    return e->expiry;
}
