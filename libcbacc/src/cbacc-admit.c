/* cbacc-admit.c — the admission function, spec/cbacc-dorms.md §7 step by step.
 *
 * Cost: one sort for the block order (step 4); sources get dense ids from a hash table so
 * the per-sender passes (steps 5 and 7) are bucket passes plus sorts of each sender's own
 * flows only, skipped when a sender's flows share one priority (the common case). */
#include <stdlib.h>
#include <string.h>

#include "cbacc-internal.h"

/* Offload (population − 1) × bw does not fit 64 bits in general (2^32 × 2^42). */
__extension__ typedef unsigned __int128 cbacc_u128;

static const char R_FITS[] = "fits", R_WITHIN[] = "within limit", R_READMITTED[] = "re-admitted",
                  R_OVER[] = "over limit", R_HELD[] = "hold-down";

struct order_key {
    cbacc_u128 offload;
    uint64_t bw;
    const struct cbacc_flow *f;
    uint32_t idx; /* index into flows[] */
    uint32_t pos; /* position in the block order */
    uint32_t sid; /* dense source id */
};

/* §7 step 4: the block order (first element = blocked first). */
static int cmp_block_order(const void *pa, const void *pb)
{
    const struct order_key *a = *(const struct order_key *const *)pa;
    const struct order_key *b = *(const struct order_key *const *)pb;
    if (a->offload != b->offload)
        return a->offload < b->offload ? -1 : 1; /* 4a: least offload first */
    if (a->bw != b->bw)
        return a->bw > b->bw ? -1 : 1; /* 4b: bigger flows first */
    if (a->f->admitted_last != b->f->admitted_last)
        return a->f->admitted_last ? 1 : -1; /* 4c: newcomers before incumbents */
    return -cbacc_sg_compare(&a->f->sg, &b->f->sg); /* 4d: IPv6 above IPv4, S, then G */
}

/* Step 5 refill: priority ascending, stable (ties keep their block-order position). */
static int cmp_prio_stable(const void *pa, const void *pb)
{
    const struct order_key *a = *(const struct order_key *const *)pa;
    const struct order_key *b = *(const struct order_key *const *)pb;
    if (a->f->priority != b->f->priority)
        return a->f->priority < b->f->priority ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Step 7: a source's blocked flows by priority descending (then blocked order). */
static int cmp_prio_desc(const void *pa, const void *pb)
{
    const struct order_key *a = *(const struct order_key *const *)pa;
    const struct order_key *b = *(const struct order_key *const *)pb;
    if (a->f->priority != b->f->priority)
        return a->f->priority > b->f->priority ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Gives every distinct source a dense id in keys[].sid; returns the number of sources or
 * CBACC_ERR_NOMEM. */
static long source_ids(struct order_key *keys, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slot = cbacc_calloc(cap, sizeof *slot); /* key index + 1; 0 = empty */
    if (!slot)
        return CBACC_ERR_NOMEM;
    uint32_t nsrc = 0;
    for (size_t k = 0; k < n; k++) {
        const cbacc_sg *sg = &keys[k].f->sg;
        uint64_t h = cbacc_hash_addr(sg->source, sg->family, 0);
        size_t i = (size_t)h & (cap - 1);
        for (;; i = (i + 1) & (cap - 1)) {
            if (!slot[i]) {
                slot[i] = (uint32_t)k + 1;
                keys[k].sid = nsrc++;
                break;
            }
            const cbacc_sg *o = &keys[slot[i] - 1].f->sg;
            if (o->family == sg->family && memcmp(o->source, sg->source, 16) == 0) {
                keys[k].sid = keys[slot[i] - 1].sid;
                break;
            }
        }
    }
    cbacc_free(slot);
    return nsrc;
}

/* Groups list[0..n) by source id, keeping list order inside a group: out[] receives the
 * grouped list, start[s] .. start[s + 1] the range of source s.  start has nsrc + 1
 * entries. */
static void bucket_by_source(struct order_key *const *list, size_t n, struct order_key **out, uint32_t *start,
                             uint32_t nsrc)
{
    memset(start, 0, (nsrc + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[list[i]->sid + 1]++;
    for (uint32_t s = 0; s < nsrc; s++)
        start[s + 1] += start[s];
    /* start[s] doubles as the fill cursor, then is restored. */
    for (size_t i = 0; i < n; i++)
        out[start[list[i]->sid]++] = list[i];
    for (uint32_t s = nsrc; s > 0; s--)
        start[s] = start[s - 1];
    start[0] = 0;
}

static int same_priority(struct order_key *const *g, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (g[i]->f->priority != g[0]->f->priority)
            return 0;
    return 1;
}

int cbacc_admit(const struct cbacc_admit_params *p, const struct cbacc_flow *flows, size_t n,
                uint64_t now, struct cbacc_decision *d, uint64_t *next_wakeup)
{
    if (!p || (n && (!flows || !d)) || (p->hold_down_desync_ns && !p->random) || n >= UINT32_MAX)
        return CBACC_ERR_INVALID;
    if (next_wakeup)
        *next_wakeup = CBACC_NEVER;

    /* Step 1: held flows stay out, their deadline is not extended. */
    size_t ncand = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (now < flows[i].hold_until) {
            d[i] = (struct cbacc_decision){CBACC_HELD, flows[i].hold_until, R_HELD};
            if (next_wakeup && flows[i].hold_until < *next_wakeup)
                *next_wakeup = flows[i].hold_until;
        } else {
            d[i] = (struct cbacc_decision){CBACC_ADMITTED, 0, R_FITS};
            total = cbacc_sat_add(total, flows[i].bps);
            ncand++;
        }
    }
    /* Step 2: inclusive — reaching the limit exactly is allowed. */
    if (total <= p->limit_bps)
        return (int)ncand;

    int rc = CBACC_ERR_NOMEM;
    struct order_key *keys = cbacc_calloc(ncand, sizeof *keys);
    struct order_key **order = cbacc_calloc(ncand, sizeof *order);
    struct order_key **grp = cbacc_calloc(ncand, sizeof *grp);
    uint32_t *start = NULL, *head = NULL, *slots = NULL;
    unsigned char *removed = NULL;
    if (!keys || !order || !grp)
        goto out;

    /* Step 3/4. */
    const uint64_t gap = total - p->limit_bps;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].verdict == CBACC_HELD)
            continue;
        uint32_t pop = flows[i].population ? flows[i].population : 1;
        keys[k].offload = (cbacc_u128)(pop - 1) * flows[i].bps;
        keys[k].bw = flows[i].bps;
        keys[k].f = &flows[i];
        keys[k].idx = (uint32_t)i;
        order[k] = &keys[k];
        k++;
    }
    qsort(order, ncand, sizeof *order, cmp_block_order);
    for (size_t i = 0; i < ncand; i++)
        order[i]->pos = (uint32_t)i;

    /* Step 5: per source, refill the positions its flows hold with its flows in priority
     * order ("MUST be ordered according to their priority field … precedence over the
     * fairness function", draft-ietf-mboned-cbacc §2.1.5). */
    long ns = source_ids(keys, ncand);
    if (ns < 0)
        goto out;
    uint32_t nsrc = (uint32_t)ns;
    start = cbacc_calloc((size_t)nsrc + 1, sizeof *start);
    slots = cbacc_calloc(ncand, sizeof *slots);
    if (!start || !slots)
        goto out;
    bucket_by_source(order, ncand, grp, start, nsrc);
    for (uint32_t s = 0; s < nsrc; s++) {
        struct order_key **g = grp + start[s];
        size_t gn = start[s + 1] - start[s];
        if (gn < 2 || same_priority(g, gn))
            continue;
        /* g lists the source's flows by ascending position: those are its slots. */
        for (size_t j = 0; j < gn; j++)
            slots[j] = g[j]->pos;
        qsort(g, gn, sizeof *g, cmp_prio_stable);
        for (size_t j = 0; j < gn; j++)
            order[slots[j]] = g[j];
    }
    for (size_t i = 0; i < ncand; i++)
        order[i]->pos = (uint32_t)i;

    /* Step 6: greedy block until the gap is covered. */
    size_t nb = 0;
    uint64_t b = 0;
    while (nb < ncand && b < gap)
        b = cbacc_sat_add(b, order[nb++]->bw);
    /* order[0..nb) is now the blocked list, in blocking order. */

    /* Step 7: re-admit from the last-blocked backwards when the flow fits and no flow
     * still blocked from its source has a higher priority.  Per source, its blocked flows
     * sorted by priority descending with a head that skips re-admitted ones: the highest
     * still-blocked priority is at the head. */
    head = cbacc_calloc((size_t)nsrc + 1, sizeof *head);
    removed = cbacc_calloc(nb ? nb : 1, 1);
    if (!head || !removed)
        goto out;
    bucket_by_source(order, nb, grp, start, nsrc);
    for (uint32_t s = 0; s < nsrc; s++) {
        size_t gn = start[s + 1] - start[s];
        head[s] = start[s];
        if (gn > 1 && !same_priority(grp + start[s], gn))
            qsort(grp + start[s], gn, sizeof *grp, cmp_prio_desc);
    }
    /* removed[] is indexed by blocked position (pos < nb for blocked flows). */
    uint64_t adm = b > total ? 0 : total - b; /* b > total only with saturated sums */
    for (size_t i = nb; i-- > 0;) {
        const struct order_key *key = order[i];
        if (key->bw > p->limit_bps || adm > p->limit_bps - key->bw)
            continue;
        uint32_t s = key->sid, h = head[s];
        while (h < start[s + 1] && removed[grp[h]->pos])
            h++;
        head[s] = h;
        if (h < start[s + 1] && grp[h]->f->priority > key->f->priority)
            continue;
        removed[i] = 1;
        adm += key->bw;
        d[key->idx].reason = R_READMITTED;
    }

    size_t nblocked = 0;
    for (size_t i = 0; i < nb; i++) {
        if (removed[i])
            continue;
        uint64_t jitter = p->hold_down_desync_ns ? p->random(p->random_user, p->hold_down_desync_ns) : 0;
        if (jitter > p->hold_down_desync_ns)
            jitter = p->hold_down_desync_ns;
        uint64_t until = cbacc_sat_add(cbacc_sat_add(now, p->hold_down_ns), jitter);
        d[order[i]->idx] = (struct cbacc_decision){CBACC_BLOCKED, until, R_OVER};
        if (next_wakeup && until < *next_wakeup)
            *next_wakeup = until;
        nblocked++;
    }
    for (size_t i = nb; i < ncand; i++)
        d[order[i]->idx].reason = R_WITHIN;
    rc = (int)(ncand - nblocked);
out:
    cbacc_free(keys);
    cbacc_free(order);
    cbacc_free(grp);
    cbacc_free(start);
    cbacc_free(head);
    cbacc_free(slots);
    cbacc_free(removed);
    return rc;
}
