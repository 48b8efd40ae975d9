/* cbacc-admit.c — the admission function, spec/cbacc-dorms.md §7 step by step. */
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
    uint32_t idx;
    uint32_t pos; /* position in the block order (step 5) */
};

static int sg_desc(const cbacc_sg *a, const cbacc_sg *b)
{
    /* §7 4d: descending; family 6 sorts above 4, then source, then group. */
    return -cbacc_sg_compare(a, b);
}

/* §7 step 4: the block order (first element = blocked first). */
static int cmp_block_order(const void *pa, const void *pb)
{
    const struct order_key *a = pa, *b = pb;
    if (a->offload != b->offload)
        return a->offload < b->offload ? -1 : 1; /* 4a: least offload first */
    if (a->bw != b->bw)
        return a->bw > b->bw ? -1 : 1; /* 4b: bigger flows first */
    if (a->f->admitted_last != b->f->admitted_last)
        return a->f->admitted_last ? 1 : -1; /* 4c: newcomers before incumbents */
    return sg_desc(&a->f->sg, &b->f->sg); /* 4d */
}

static int source_cmp(const cbacc_sg *a, const cbacc_sg *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    return memcmp(a->source, b->source, 16);
}

/* Step 5 grouping: by source, then by position in the block order. */
static int cmp_source_pos(const void *pa, const void *pb)
{
    const struct order_key *const *a = pa, *const *b = pb;
    int c = source_cmp(&(*a)->f->sg, &(*b)->f->sg);
    if (c)
        return c;
    return (*a)->pos < (*b)->pos ? -1 : (*a)->pos > (*b)->pos;
}

/* Step 5 refill: priority ascending, stable (ties keep their block-order position). */
static int cmp_prio_stable(const void *pa, const void *pb)
{
    const struct order_key *const *a = pa, *const *b = pb;
    if ((*a)->f->priority != (*b)->f->priority)
        return (*a)->f->priority < (*b)->f->priority ? -1 : 1;
    return (*a)->pos < (*b)->pos ? -1 : (*a)->pos > (*b)->pos;
}

struct blocked_entry {
    const struct cbacc_flow *f;
    uint32_t bpos; /* index in the blocked list */
};

/* Step 7 sibling test: by source, then priority descending. */
static int cmp_source_prio_desc(const void *pa, const void *pb)
{
    const struct blocked_entry *a = pa, *b = pb;
    int c = source_cmp(&a->f->sg, &b->f->sg);
    if (c)
        return c;
    if (a->f->priority != b->f->priority)
        return a->f->priority > b->f->priority ? -1 : 1;
    return a->bpos < b->bpos ? -1 : a->bpos > b->bpos;
}

int cbacc_admit(const struct cbacc_admit_params *p, const struct cbacc_flow *flows, size_t n,
                uint64_t now, struct cbacc_decision *d, uint64_t *next_wakeup)
{
    if (!p || (n && (!flows || !d)) || (p->hold_down_desync_ns && !p->random) || n > UINT32_MAX)
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

    struct order_key *keys = cbacc_calloc(ncand, sizeof *keys);
    struct order_key **byslot = cbacc_calloc(ncand, sizeof *byslot);
    struct order_key **grp = cbacc_calloc(ncand, sizeof *grp);
    struct blocked_entry *be = NULL;
    uint32_t *blocked = cbacc_calloc(ncand, sizeof *blocked);
    uint32_t *epos = NULL, *gstart = NULL, *head = NULL;
    unsigned char *removed = NULL;
    int rc = CBACC_ERR_NOMEM;
    if (!keys || !byslot || !grp || !blocked)
        goto out;

    /* Step 3/4. */
    uint64_t gap = total - p->limit_bps;
    const size_t ncand_total = ncand;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].verdict == CBACC_HELD)
            continue;
        uint32_t pop = flows[i].population ? flows[i].population : 1;
        keys[k].offload = (cbacc_u128)(pop - 1) * flows[i].bps;
        keys[k].bw = flows[i].bps;
        keys[k].f = &flows[i];
        keys[k].idx = (uint32_t)i;
        k++;
    }
    qsort(keys, ncand, sizeof *keys, cmp_block_order);
    for (size_t i = 0; i < ncand; i++) {
        keys[i].pos = (uint32_t)i;
        byslot[i] = &keys[i];
    }

    /* Step 5: per source, refill the positions its flows hold with its flows in priority
     * order ("MUST be ordered according to their priority field … precedence over the
     * fairness function", draft-ietf-mboned-cbacc §2.1.5). */
    memcpy(grp, byslot, ncand * sizeof *grp);
    qsort(grp, ncand, sizeof *grp, cmp_source_pos);
    for (size_t s = 0; s < ncand;) {
        size_t e = s + 1;
        while (e < ncand && source_cmp(&grp[e]->f->sg, &grp[s]->f->sg) == 0)
            e++;
        if (e - s > 1) {
            /* grp[s..e) lists the source's positions ascending; remember them, then sort
             * the flows by priority and put them back into those positions. */
            uint32_t *slots = blocked; /* scratch: step 6 has not started */
            for (size_t j = s; j < e; j++)
                slots[j - s] = grp[j]->pos;
            qsort(grp + s, e - s, sizeof *grp, cmp_prio_stable);
            for (size_t j = s; j < e; j++)
                byslot[slots[j - s]] = grp[j];
        }
        s = e;
    }

    /* Step 6: greedy block until the gap is covered. */
    size_t nb = 0;
    uint64_t b = 0;
    for (size_t i = 0; i < ncand && b < gap; i++) {
        blocked[nb++] = byslot[i]->idx;
        b = cbacc_sat_add(b, byslot[i]->bw);
    }

    /* Step 7: re-admit from the last-blocked backwards.  The sibling test ("no g still
     * blocked with g.S == f.S and prio(g) > prio(f)") uses, per source, the blocked flows
     * sorted by priority descending with a head that skips re-admitted ones: the highest
     * still-blocked priority of a source is the entry at its head. */
    be = cbacc_calloc(nb, sizeof *be);
    epos = cbacc_calloc(nb, sizeof *epos);
    removed = cbacc_calloc(nb, 1);
    gstart = cbacc_calloc(nb, sizeof *gstart);
    head = cbacc_calloc(nb, sizeof *head);
    if (!be || !epos || !removed || !gstart || !head)
        goto out;
    for (size_t i = 0; i < nb; i++) {
        be[i].f = &flows[blocked[i]];
        be[i].bpos = (uint32_t)i;
    }
    qsort(be, nb, sizeof *be, cmp_source_prio_desc);
    /* gstart[e]: first entry of e's source group; head[gstart]: that group's head. */
    for (size_t i = 0; i < nb; i++) {
        epos[be[i].bpos] = (uint32_t)i;
        if (i > 0 && source_cmp(&be[i].f->sg, &be[i - 1].f->sg) == 0)
            gstart[i] = gstart[i - 1];
        else
            gstart[i] = (uint32_t)i;
        head[i] = (uint32_t)i;
    }
    uint64_t adm = total - b;
    if (b > total) /* only with saturated sums */
        adm = 0;
    for (size_t i = nb; i-- > 0;) {
        const struct cbacc_flow *f = &flows[blocked[i]];
        if (f->bps > p->limit_bps || adm > p->limit_bps - f->bps)
            continue;
        uint32_t e = epos[i], g0 = gstart[e];
        uint32_t h = head[g0];
        while (h < nb && gstart[h] == g0 && removed[h])
            h++;
        head[g0] = h;
        if (h < nb && gstart[h] == g0 && be[h].f->priority > f->priority)
            continue;
        removed[e] = 1;
        adm += f->bps;
        d[blocked[i]].reason = R_READMITTED;
        blocked[i] = UINT32_MAX;
    }

    for (size_t i = 0; i < nb; i++) {
        if (blocked[i] == UINT32_MAX)
            continue;
        uint64_t jitter = p->hold_down_desync_ns ? p->random(p->random_user, p->hold_down_desync_ns) : 0;
        if (jitter > p->hold_down_desync_ns)
            jitter = p->hold_down_desync_ns;
        uint64_t until = cbacc_sat_add(cbacc_sat_add(now, p->hold_down_ns), jitter);
        d[blocked[i]] = (struct cbacc_decision){CBACC_BLOCKED, until, R_OVER};
        if (next_wakeup && until < *next_wakeup)
            *next_wakeup = until;
        ncand--;
    }
    for (size_t i = 0; i < ncand_total; i++)
        if (d[keys[i].idx].verdict == CBACC_ADMITTED && d[keys[i].idx].reason != R_READMITTED)
            d[keys[i].idx].reason = R_WITHIN;
    rc = (int)ncand;
out:
    cbacc_free(keys);
    cbacc_free(byslot);
    cbacc_free(grp);
    cbacc_free(blocked);
    cbacc_free(be);
    cbacc_free(epos);
    cbacc_free(removed);
    cbacc_free(gstart);
    cbacc_free(head);
    return rc;
}
