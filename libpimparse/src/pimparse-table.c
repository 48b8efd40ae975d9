/* pimparse-table.c — the (S,G) table's storage: the pool of IPv6 keys, the hash slots
 * (growth in place, deletion), the Prune-Pending map, entry segments and removal.  The
 * layout and the inline steps are in pimparse-table.h. */
#include "pimparse-table.h"

/* ---- IPv6 keys ------------------------------------------------------------------------ */

int pp_key6_new(pimparse_state *st, const uint8_t *s, const uint8_t *g, uint32_t *out)
{
    uint32_t i;
    if (st->key6_free != NIL) {
        i = st->key6_free;
        memcpy(&st->key6_free, st->key6[i].s, sizeof st->key6_free);
    } else {
        if (st->key6_used == st->key6_cap) {
            if (st->key6_cap >= NIL / 2)
                return PIMPARSE_ERR_NOMEM;
            uint32_t nc = st->key6_cap ? st->key6_cap * 2 : 64;
            struct key6 *n = pp_realloc_table(st->key6, (size_t)st->key6_cap * sizeof *n,
                                              (size_t)st->key6_used * sizeof *n,
                                              (size_t)nc * sizeof *n, 0);
            if (!n)
                return PIMPARSE_ERR_NOMEM;
            st->key6 = n;
            st->key6_cap = nc;
        }
        i = st->key6_used++;
    }
    memcpy(st->key6[i].s, s, 16);
    memcpy(st->key6[i].g, g, 16);
    *out = i;
    return 0;
}

void pp_key6_release(pimparse_state *st, uint32_t i)
{
    memcpy(st->key6[i].s, &st->key6_free, sizeof st->key6_free);
    st->key6_free = i;
}

/* ---- hash slots ----------------------------------------------------------------------- */

/* Doubles the slot table where it lies (pp_realloc_table moves a large table's pages,
 * it never copies them), rehashing in place: only the new half is fresh memory, and the
 * pass reads the table in order and writes near the same two positions (p and p + n).
 *
 * Linear probing makes in-place safe when every entry is moved in table order from the
 * start of its cluster: an entry at p has its home h <= p, its new home is h or h + n,
 * and the probe from there crosses only entries already moved (or slot p, now empty)
 * - never an entry that will move later and leave a hole in the probe path.  The cluster
 * at slot 0 may have wrapped round from the end (its homes are near n), so its entries
 * are set aside first and inserted last, when nothing is left to move. */
#define WRAP_STACK 64

static void slot_place(struct slot *t, uint32_t mask, struct slot sl)
{
    uint32_t j = sl.hash & mask;
    while (t[j].ref) /* bounded: the doubled table is at most a quarter full */
        j = (j + 1) & mask;
    t[j] = sl;
}

int pp_grow_slots(pimparse_state *st)
{
    uint32_t n = st->nslots;
    if (n >= (UINT32_C(1) << 31))
        return PIMPARSE_ERR_NOMEM;
    uint32_t e = 0;
    while (st->slots[e].ref) /* ends: the table is at most half full */
        e++;
    struct slot stack[WRAP_STACK], *wrapped = stack;
    if (e > WRAP_STACK) {
        wrapped = pp_malloc((size_t)e * sizeof *wrapped);
        if (!wrapped)
            return PIMPARSE_ERR_NOMEM;
    }
    struct slot *t = pp_realloc_table(st->slots, (size_t)n * sizeof *t, (size_t)n * sizeof *t,
                                      (size_t)2 * n * sizeof *t, 1);
    if (!t) {
        if (wrapped != stack)
            pp_free(wrapped);
        return PIMPARSE_ERR_NOMEM;
    }
    uint32_t mask = 2 * n - 1;
    for (uint32_t i = 0; i < e; i++) {
        wrapped[i] = t[i];
        t[i].ref = 0;
    }
    /* Eight slots at a time: the table is half full at random, so a branch per slot
     * would go the wrong way half the time.  An entry moved from slot q lands at or
     * before q (or in the new half), never on a later slot of the group. */
    for (uint32_t p = e; p < n; p += 8) {
        uint32_t end = n - p < 8 ? n : p + 8, bits = 0;
        for (uint32_t q = p; q < end; q++)
            bits |= (uint32_t)(t[q].ref != 0) << (q - p);
        for (; bits; bits &= bits - 1) {
            uint32_t q = p + (uint32_t)__builtin_ctz(bits);
            struct slot sl = t[q];
            t[q].ref = 0;
            slot_place(t, mask, sl);
        }
    }
    for (uint32_t i = 0; i < e; i++)
        slot_place(t, mask, wrapped[i]);
    if (wrapped != stack)
        pp_free(wrapped);
    st->slots = t;
    st->nslots = 2 * n;
    return 0;
}

/* Linear-probing deletion by backward shift (no tombstones, probes stay short): after
 * emptying slot i, the item at slot j of the same run stays where it is when its home
 * lies cyclically in (i, j]; otherwise it moves into i, and j is the new hole. */
static inline int stays(uint32_t i, uint32_t j, uint32_t home)
{
    return i <= j ? (i < home && home <= j) : (i < home || home <= j);
}

static void slot_delete(pimparse_state *st, uint32_t i)
{
    uint32_t mask = st->nslots - 1;
    uint32_t j = i;
    for (uint32_t n = 0; n < st->nslots; n++) {
        j = (j + 1) & mask;
        if (!st->slots[j].ref)
            break;
        if (stays(i, j, st->slots[j].hash & mask))
            continue;
        st->slots[i] = st->slots[j];
        i = j;
    }
    st->slots[i].ref = 0;
}

/* ---- Prune-Pending -------------------------------------------------------------------- */

static uint32_t pend_home(uint32_t idx, uint32_t mask)
{
    uint32_t h = idx * UINT32_C(0x9e3779b1);
    return (h ^ h >> 16) & mask;
}

/* The map slot of entry idx's Prune-Pending Timer, or NIL. */
static uint32_t pend_find(const pimparse_state *st, uint32_t idx)
{
    uint32_t mask = st->pend_cap - 1;
    for (uint32_t i = pend_home(idx, mask), n = 0; n < st->pend_cap; i = (i + 1) & mask, n++) {
        if (!st->pend[i].ref)
            return NIL;
        if (st->pend[i].ref == idx + 1)
            return i;
    }
    return NIL;
}

uint64_t pp_pend_get(const pimparse_state *st, uint32_t idx)
{
    uint32_t i = pend_find(st, idx);
    return i == NIL ? PIMPARSE_NEVER : st->pend[i].pp;
}

static void pend_place(struct pend *t, uint32_t mask, struct pend p)
{
    uint32_t i = pend_home(p.ref - 1, mask);
    while (t[i].ref) /* bounded: the map is at most half full */
        i = (i + 1) & mask;
    t[i] = p;
}

/* Adds entry idx's timer (idx has none). */
int pp_pend_add(pimparse_state *st, uint32_t idx, uint64_t pp)
{
    if ((st->pend_count + 1) * 2 > st->pend_cap) {
        if (st->pend_cap >= (UINT32_C(1) << 31))
            return PIMPARSE_ERR_NOMEM;
        uint32_t nc = st->pend_cap ? st->pend_cap * 2 : 16;
        struct pend *t = pp_calloc(nc, sizeof *t);
        if (!t)
            return PIMPARSE_ERR_NOMEM;
        for (uint32_t i = 0; i < st->pend_cap; i++)
            if (st->pend[i].ref)
                pend_place(t, nc - 1, st->pend[i]);
        pp_free(st->pend);
        st->pend = t;
        st->pend_cap = nc;
    }
    pend_place(st->pend, st->pend_cap - 1, (struct pend){idx + 1, pp});
    st->pend_count++;
    return 0;
}

void pp_pend_del(pimparse_state *st, uint32_t idx)
{
    uint32_t i = pend_find(st, idx);
    if (i == NIL)
        return;
    uint32_t mask = st->pend_cap - 1, j = i;
    for (uint32_t n = 0; n < st->pend_cap; n++) {
        j = (j + 1) & mask;
        if (!st->pend[j].ref)
            break;
        if (stays(i, j, pend_home(st->pend[j].ref - 1, mask)))
            continue;
        st->pend[i] = st->pend[j];
        i = j;
    }
    st->pend[i].ref = 0;
    st->pend_count--;
}

/* ---- entries -------------------------------------------------------------------------- */

/* Adds the next entry segment (the table's entries are all in use). */
int pp_add_segment(pimparse_state *st)
{
    if (st->n_segs == MAX_SEGS)
        return PIMPARSE_ERR_NOMEM;
    uint32_t size = (uint32_t)seg_entries(st->n_segs);
    struct sg *n = pp_malloc_table((size_t)size * sizeof *n);
    if (!n)
        return PIMPARSE_ERR_NOMEM;
    st->seg[st->n_segs++] = n;
    st->sg_cap += size;
    return 0;
}

void pp_remove_entry(pimparse_state *st, uint32_t idx)
{
    struct sg *e = sg_at(st, idx);
    uint8_t s[16], g[16];
    key_bytes(st, e, s, g);
    uint32_t slot = find_slot(st, e->family, s, g, hash_key(st->set.hash_seed, e->family, s, g));
    if (slot_idx(&st->slots[slot]) == idx)
        slot_delete(st, slot);
    if (e->heap_pos != NIL)
        pp_timer_remove(st, idx);
    if (e->pending) {
        pp_pend_del(st, idx);
        e->pending = 0;
    }
    if (e->family != PIMPARSE_AF_IPV4)
        pp_key6_release(st, (uint32_t)e->key);
    e->family = 0;
    e->heap_pos = st->free_head;
    st->free_head = idx;
    st->count--;
}
