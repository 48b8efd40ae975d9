/* pimparse-table.h — the (S,G) table behind pimparse-state.c: entries, their hash
 * index, their timers.  Private to the library.
 *
 * (S,G) entries live in segments addressed by a 32-bit index that never changes (see
 * sg_at), so growing the table neither copies entries nor invalidates the indexes held
 * by the hash slots and the timers.  An open-addressing hash table over every address
 * bit finds them (slots hold the 32-bit hash next to the index, so a probe touches an
 * entry only when the hashes match: a miss on a million-entry table costs one cache
 * line; pimparse-table.c), and a binary min-heap of deadlines orders their timers (new
 * timers wait unsorted in the tail, marked in their entries or listed, until the order
 * is needed, see schedule; pimparse-timers.c).  Heap keys are lazy: a Join only ever moves an entry's
 * deadline later, so a refresh leaves the heap alone and the stale key is corrected when
 * it reaches the top; only a Prune-Pending (an earlier deadline) touches the heap.
 *
 * The steps every Join takes (find_slot, insert, schedule) are inline here; growth and
 * removal are functions in pimparse-table.c and pimparse-timers.c. */
#ifndef PIMPARSE_TABLE_H
#define PIMPARSE_TABLE_H

#include <string.h>

#include "pimparse-internal.h"

#define NIL UINT32_MAX
#define MAX_SECONDARY 16

/* 24 bytes.  An IPv4 key is held in the entry itself; an IPv6 key (32 bytes) lives in a
 * separate pool that the entry points to, so the common IPv4 table pays for neither.
 * The hash is not kept (the slot has it, and removal recomputes it); a free entry links
 * the free list through heap_pos, since it has no timer.  The Prune-Pending Timer, set
 * on few entries and briefly, lives in a map beside them (pimparse-table.c). */
struct sg {
    uint64_t expiry;   /* Expiry Timer; PIMPARSE_NEVER for holdtime 0xFFFF */
    uint64_t key;      /* IPv4: key4(); IPv6: index into the pool of struct key6 */
    uint32_t heap_pos; /* where its timer is (TAIL_POS) or NIL; free: the next free index */
    uint8_t family;    /* 0 = free */
    uint8_t pending;   /* Prune-Pending: the map holds its timer */
};

/* A Prune-Pending Timer: the entry's index + 1 (0 = empty slot) and its deadline. */
struct pend {
    uint32_t ref;
    uint64_t pp;
};

struct key6 {
    uint8_t s[16];
    uint8_t g[16];
};

struct slot {
    uint32_t hash;
    uint32_t ref; /* the entry's index + 1; 0 = empty, so a fresh (zero) table is empty */
};

/* 12 bytes, not 16: the key is kept as two halves so that the array needs no padding. */
struct heap_item {
    uint32_t key_hi, key_lo; /* <= the entry's deadline */
    uint32_t idx;
};

struct nbr {
    pimparse_neighbor info;
    pimparse_addr secondary[MAX_SECONDARY];
};

/* Entries live in segments that double in size (1024, 1024, 2048, 4096 ... entries), so
 * an index never moves and growing never copies: segment k >= 1 holds indexes
 * [2^(9+k), 2^(10+k)), segment 0 holds [0, 1024). */
#define SEG0_SHIFT 10
#define MAX_SEGS 22 /* up to 2^31 entries */

struct pimparse_state {
    pimparse_settings set;
    struct sg *seg[MAX_SEGS];
    unsigned n_segs;
    uint32_t sg_cap, sg_used, free_head, count;
    struct slot *slots;
    uint32_t nslots; /* power of two, at least twice the count (linear probing) */
    /* heap[0, heap_len) is the binary heap of timers.  Newly scheduled timers not yet
     * sifted in (see schedule) form the tail: entries created since the last merge (index
     * >= fresh_lo) are marked TAIL_FRESH in place, fresh_count of them; others (reused
     * indexes) are listed in tail[0, tail_len).  tail_min is a lower bound of the tail's
     * deadlines.  heap_cap >= heap_len + tail_len + fresh_count always. */
    struct heap_item *heap;
    uint32_t heap_len, heap_cap;
    uint32_t *tail;
    uint32_t tail_len, tail_cap;
    uint32_t fresh_lo, fresh_count;
    uint64_t tail_min;
    struct key6 *key6;
    uint32_t key6_cap, key6_used, key6_free;
    struct pend *pend; /* open addressing, pend_cap (a power of two or 0) slots */
    uint32_t pend_cap, pend_count;
    struct nbr *nbrs;
    size_t n_nbrs, cap_nbrs;
    pimparse_addr *locals;
    size_t n_locals, cap_locals;
    pimparse_stats stats;
};

/* An entry's heap_pos: NIL (no timer), its position in the heap, TAIL_POS | its position
 * in the tail list (at most 2^30 timers, see reserve), or TAIL_FRESH (in the tail, not
 * listed: the entry is newer than the last merge). */
#define TAIL_POS 0x80000000u
#define TAIL_FRESH 0xfffffffeu

/* ---- pimparse-table.c ---------------------------------------------------------------- */

/* Growth is rare and kept out of the inline steps' way (even in the unity build). */
#define PP_RARE __attribute__((noinline, cold))

/* Doubles the slot table (it may move). */
PIMPARSE_HIDDEN PP_RARE int pp_grow_slots(pimparse_state *st);
/* A pool slot for an IPv6 key / its release. */
PIMPARSE_HIDDEN int pp_key6_new(pimparse_state *st, const uint8_t *s, const uint8_t *g,
                                uint32_t *out);
PIMPARSE_HIDDEN void pp_key6_release(pimparse_state *st, uint32_t i);
/* Adds the next entry segment (the table's entries are all in use). */
PIMPARSE_HIDDEN PP_RARE int pp_add_segment(pimparse_state *st);
/* Removes entry idx: its slot, its timers, its key; the index goes to the free list. */
PIMPARSE_HIDDEN void pp_remove_entry(pimparse_state *st, uint32_t idx);
/* Entry idx's Prune-Pending Timer (PIMPARSE_NEVER if none); adds one (idx has none);
 * removes it (if any). */
PIMPARSE_HIDDEN uint64_t pp_pend_get(const pimparse_state *st, uint32_t idx);
PIMPARSE_HIDDEN int pp_pend_add(pimparse_state *st, uint32_t idx, uint64_t pp);
PIMPARSE_HIDDEN void pp_pend_del(pimparse_state *st, uint32_t idx);

/* ---- pimparse-timers.c --------------------------------------------------------------- */

PIMPARSE_HIDDEN void pp_sift_up(pimparse_state *st, uint32_t pos);
/* Takes entry idx's timer out of the heap or the tail. */
PIMPARSE_HIDDEN void pp_timer_remove(pimparse_state *st, uint32_t idx);
/* Moves the tail into the heap (cannot fail). */
PIMPARSE_HIDDEN void pp_merge_tail(pimparse_state *st);
/* Room for one more timer, reserved in the heap and, when listed is set, in the tail
 * list. */
PIMPARSE_HIDDEN PP_RARE int pp_grow_timers(pimparse_state *st, int listed);
/* Corrects stale keys at the top until the top key is a true deadline. */
PIMPARSE_HIDDEN void pp_fix_top(pimparse_state *st);

/* ---- inline steps ---------------------------------------------------------------------- */

static inline uint32_t slot_idx(const struct slot *sl)
{
    return sl->ref - 1; /* NIL for an empty slot */
}

static inline uint64_t hkey(const struct heap_item *it)
{
    return (uint64_t)it->key_hi << 32 | it->key_lo;
}

static inline void hkey_set(struct heap_item *it, uint64_t key)
{
    it->key_hi = (uint32_t)(key >> 32);
    it->key_lo = (uint32_t)key;
}

/* The number of entries segment k holds. */
static inline size_t seg_entries(unsigned k)
{
    return (size_t)1 << (k == 0 ? SEG0_SHIFT : SEG0_SHIFT - 1 + k);
}

static inline struct sg *sg_at(const pimparse_state *st, uint32_t idx)
{
    /* lg = floor(log2(idx)) for idx >= 1024, 9 below: segment lg - 9 starts at 2^lg. */
    unsigned lg = 31u - (unsigned)__builtin_clz(idx | ((UINT32_C(1) << SEG0_SHIFT) - 1));
    uint32_t base = (UINT32_C(1) << lg) & ~((UINT32_C(1) << SEG0_SHIFT) - 1);
    return &st->seg[lg - (SEG0_SHIFT - 1)][idx - base];
}

static inline uint32_t hash_key(uint64_t seed, uint8_t family, const uint8_t *s,
                                const uint8_t *g)
{
    return pp_hash_sg(seed, family, s, g);
}

static inline uint64_t key4(const uint8_t *s, const uint8_t *g)
{
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, g, 4);
    return (uint64_t)a << 32 | b;
}

static inline int key_equal(const pimparse_state *st, const struct sg *e, uint8_t family,
                            const uint8_t *s, const uint8_t *g)
{
    if (e->family != family)
        return 0;
    if (family == PIMPARSE_AF_IPV4)
        return e->key == key4(s, g);
    const struct key6 *k = &st->key6[e->key];
    return memcmp(k->s, s, 16) == 0 && memcmp(k->g, g, 16) == 0;
}

/* The entry's key as 16-byte address arrays (IPv4: zero after the 4 bytes). */
static inline void key_bytes(const pimparse_state *st, const struct sg *e, uint8_t s[16],
                             uint8_t g[16])
{
    if (e->family == PIMPARSE_AF_IPV4) {
        uint32_t a = (uint32_t)(e->key >> 32), b = (uint32_t)e->key;
        memset(s, 0, 16);
        memset(g, 0, 16);
        memcpy(s, &a, 4);
        memcpy(g, &b, 4);
        return;
    }
    memcpy(s, st->key6[e->key].s, 16);
    memcpy(g, st->key6[e->key].g, 16);
}

static inline void entry_addrs(const pimparse_state *st, const struct sg *e, pimparse_addr *s,
                               pimparse_addr *g)
{
    s->family = g->family = e->family;
    key_bytes(st, e, s->bytes, g->bytes);
}

/* Returns the slot holding the key, or the empty slot where it would go. */
static inline uint32_t find_slot(const pimparse_state *st, uint8_t family, const uint8_t *s,
                                 const uint8_t *g, uint32_t h)
{
    uint32_t mask = st->nslots - 1;
    /* Ends: insert() keeps the table at most half full, so every probe meets an empty
     * slot. */
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const struct slot *sl = &st->slots[i];
        if (!sl->ref)
            return i;
        if (sl->hash == h && key_equal(st, sg_at(st, slot_idx(sl)), family, s, g))
            return i;
    }
}

static inline uint32_t find(const pimparse_state *st, uint8_t family, const uint8_t *s,
                            const uint8_t *g, uint32_t h)
{
    return slot_idx(&st->slots[find_slot(st, family, s, g, h)]); /* NIL when empty */
}

/* The earlier of entry idx's Expiry and Prune-Pending Timers. */
static inline uint64_t deadline(const pimparse_state *st, const struct sg *e, uint32_t idx)
{
    if (!e->pending)
        return e->expiry;
    uint64_t pp = pp_pend_get(st, idx);
    return e->expiry < pp ? e->expiry : pp;
}

/* Whether a timer may be due at now (keys never exceed the true deadlines). */
static inline int timers_due(const pimparse_state *st, uint64_t now)
{
    return (st->heap_len && hkey(&st->heap[0]) <= now) ||
           ((st->tail_len || st->fresh_count) && st->tail_min <= now);
}

/* Puts or moves an entry's timer after its timers changed.  Later deadlines are left lazy
 * (see the file comment).  A new timer goes to the tail, unsorted and without a key:
 * nothing needs the order until a timer may be due or the next deadline is asked for,
 * and a replay that only adds entries never pays for sifting nor for the heap's 12-byte
 * items.  An entry created since the last merge is only marked (the merge finds it by
 * its index); a reused one is listed (4 bytes).  The heap's room is reserved here
 * (mapped, not yet touched) so that pp_merge_tail() cannot fail. */
PP_INLINE int schedule(pimparse_state *st, struct sg *e, uint32_t idx)
{
    uint64_t d = deadline(st, e, idx);
    if (e->heap_pos != NIL) {
        if (e->heap_pos & TAIL_POS) { /* listed, or TAIL_FRESH */
            if (d < st->tail_min)
                st->tail_min = d;
        } else if (d < hkey(&st->heap[e->heap_pos])) {
            hkey_set(&st->heap[e->heap_pos], d);
            pp_sift_up(st, e->heap_pos);
        }
        return 0;
    }
    if (d == PIMPARSE_NEVER)
        return 0;
    int fresh = idx >= st->fresh_lo;
    if ((st->heap_len + st->tail_len + st->fresh_count == st->heap_cap ||
         (!fresh && st->tail_len == st->tail_cap)) &&
        pp_grow_timers(st, !fresh) < 0)
        return PIMPARSE_ERR_NOMEM;
    if (fresh) {
        e->heap_pos = TAIL_FRESH;
        st->fresh_count++;
    } else {
        st->tail[st->tail_len] = idx;
        e->heap_pos = TAIL_POS | st->tail_len++;
    }
    if (d < st->tail_min)
        st->tail_min = d;
    return 0;
}

/* Adds a key known to be absent; slot is the empty slot find_slot() returned for it
 * (found again when the table grows first). */
PP_INLINE int insert(pimparse_state *st, uint8_t family, const uint8_t *s, const uint8_t *g,
                     uint32_t h, uint32_t slot, uint32_t *out)
{
    if ((uint64_t)(st->count + 1) * 2 > st->nslots) {
        int r = pp_grow_slots(st);
        if (r < 0)
            return r;
        slot = find_slot(st, family, s, g, h);
    }
    uint64_t key;
    if (family == PIMPARSE_AF_IPV4) {
        key = key4(s, g);
    } else {
        uint32_t k;
        int r = pp_key6_new(st, s, g, &k);
        if (r < 0)
            return r;
        key = k;
    }
    uint32_t idx;
    if (st->free_head != NIL) {
        idx = st->free_head;
        st->free_head = sg_at(st, idx)->heap_pos;
    } else {
        if (st->sg_used == st->sg_cap && pp_add_segment(st) < 0) {
            if (family != PIMPARSE_AF_IPV4)
                pp_key6_release(st, (uint32_t)key);
            return PIMPARSE_ERR_NOMEM;
        }
        idx = st->sg_used++;
    }
    struct sg *e = sg_at(st, idx);
    e->key = key;
    e->family = family;
    e->expiry = PIMPARSE_NEVER;
    e->pending = 0;
    e->heap_pos = NIL;
    st->slots[slot] = (struct slot){h, idx + 1};
    st->count++;
    *out = idx;
    return 0;
}

#endif
