/* pimparse-state.c — upstream per-(S,G) Join state for one interface and the PIM
 * neighbors heard on it (RFC 7761 §4.3, §4.5.3 "Receiving (S,G) Join/Prune Messages").
 *
 * (S,G) entries live in segments addressed by a 32-bit index that never changes (see
 * sg_at), so growing the table neither copies entries nor invalidates the indexes held
 * by the hash slots and the heap.  An open-addressing hash table over every address bit
 * finds them (slots hold the 32-bit hash next to the index, so a probe touches an entry
 * only when the hashes match: a miss on a million-entry table costs one cache line), and
 * a binary min-heap of deadlines orders their timers (new timers wait in an unsorted list
 * of indexes, the tail, until the order is needed, see schedule).  Heap keys are lazy: a Join only ever moves
 * an entry's deadline later, so a refresh leaves the heap alone and the stale key is
 * corrected when it reaches the top; only a Prune-Pending (an earlier deadline) touches
 * the heap. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "pimparse-internal.h"

#define NIL UINT32_MAX
#define MAX_NEIGHBORS 4096
#define MAX_SECONDARY 16
#define DEFAULT_PROPAGATION_DELAY_MS 500 /* §4.11 */
#define DEFAULT_OVERRIDE_INTERVAL_MS 2500

/* 24 bytes.  An IPv4 key is held in the entry itself; an IPv6 key (32 bytes) lives in a
 * separate pool that the entry points to, so the common IPv4 table pays for neither.
 * The hash is not kept (the slot has it, and removal recomputes it); a free entry links
 * the free list through heap_pos, since it has no timer.  The Prune-Pending Timer, set
 * on few entries and briefly, lives in a map beside them (see "Prune-Pending"). */
struct sg {
    uint64_t expiry;   /* Expiry Timer; PIMPARSE_NEVER for holdtime 0xFFFF */
    uint64_t key;      /* IPv4: key4(); IPv6: index into the pool of struct key6 */
    uint32_t heap_pos; /* NIL when not in the heap; free: the next free index */
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

static inline uint32_t slot_idx(const struct slot *sl)
{
    return sl->ref - 1; /* NIL for an empty slot */
}

/* 12 bytes, not 16: the key is kept as two halves so that the array needs no padding. */
struct heap_item {
    uint32_t key_hi, key_lo; /* <= the entry's deadline */
    uint32_t idx;
};

static inline uint64_t hkey(const struct heap_item *it)
{
    return (uint64_t)it->key_hi << 32 | it->key_lo;
}

static inline void hkey_set(struct heap_item *it, uint64_t key)
{
    it->key_hi = (uint32_t)(key >> 32);
    it->key_lo = (uint32_t)key;
}

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
    /* heap[0, heap_len) is the binary heap of timers; tail[0, tail_len) holds the indexes
     * of newly scheduled entries not yet sifted in (see schedule), tail_min a lower bound
     * of their deadlines. */
    struct heap_item *heap;
    uint32_t heap_len, heap_cap;
    uint32_t *tail;
    uint32_t tail_len, tail_cap;
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

/* The number of entries segment k holds. */
static size_t seg_entries(unsigned k)
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

static void st_log(const pimparse_state *st, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void st_log(const pimparse_state *st, int level, const char *fmt, ...)
{
    if (!st->set.log)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st->set.log(st->set.user, level, buf);
}

void pimparse_settings_default(pimparse_settings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->propagation_delay_ms = DEFAULT_PROPAGATION_DELAY_MS;
    s->override_interval_ms = DEFAULT_OVERRIDE_INTERVAL_MS;
}

int pimparse_state_new(const pimparse_settings *settings, pimparse_state **out)
{
    if (!out)
        return PIMPARSE_ERR_INVALID;
    *out = NULL;
    pimparse_settings s;
    pimparse_settings_default(&s);
    if (settings) {
        if (settings->size == 0 || settings->size > sizeof s)
            return PIMPARSE_ERR_INVALID;
        memcpy(&s, settings, settings->size);
        s.size = sizeof s;
    }
    pimparse_state *st = pp_calloc(1, sizeof *st);
    if (!st)
        return PIMPARSE_ERR_NOMEM;
    st->set = s;
    st->free_head = NIL;
    st->key6_free = NIL;
    st->tail_min = PIMPARSE_NEVER;
    st->nslots = 64;
    st->slots = pp_malloc_table(st->nslots * sizeof *st->slots);
    if (!st->slots) {
        pp_free(st);
        return PIMPARSE_ERR_NOMEM;
    }
    *out = st;
    return 0;
}

void pimparse_state_free(pimparse_state *st)
{
    if (!st)
        return;
    for (unsigned k = 0; k < st->n_segs; k++)
        pp_free_table(st->seg[k], seg_entries(k) * sizeof(struct sg));
    pp_free_table(st->slots, (size_t)st->nslots * sizeof *st->slots);
    pp_free_table(st->heap, (size_t)st->heap_cap * sizeof *st->heap);
    pp_free_table(st->tail, (size_t)st->tail_cap * sizeof *st->tail);
    pp_free_table(st->key6, (size_t)st->key6_cap * sizeof *st->key6);
    pp_free(st->pend);
    pp_free(st->nbrs);
    pp_free(st->locals);
    pp_free(st);
}

void pimparse_state_set_policy(pimparse_state *st, uint32_t policy)
{
    if (st)
        st->set.policy = policy;
}

static int is_local(const pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_locals; i++)
        if (pimparse_addr_equal(&st->locals[i], a))
            return 1;
    return 0;
}

int pimparse_state_add_local_address(pimparse_state *st, const pimparse_addr *a)
{
    if (!st || !a || (a->family != PIMPARSE_AF_IPV4 && a->family != PIMPARSE_AF_IPV6))
        return PIMPARSE_ERR_INVALID;
    if (is_local(st, a))
        return 0;
    if (st->n_locals == st->cap_locals) {
        size_t nc = st->cap_locals ? st->cap_locals * 2 : 4;
        pimparse_addr *n = pp_realloc(st->locals, nc * sizeof *n);
        if (!n)
            return PIMPARSE_ERR_NOMEM;
        st->locals = n;
        st->cap_locals = nc;
    }
    pimparse_addr c;
    memset(&c, 0, sizeof c);
    c.family = a->family;
    memcpy(c.bytes, a->bytes, a->family == PIMPARSE_AF_IPV4 ? 4 : 16);
    st->locals[st->n_locals++] = c;
    return 0;
}

/* ---- hashing ---------------------------------------------------------------------- */

static inline uint32_t hash_key(uint64_t seed, uint8_t family, const uint8_t *s,
                                const uint8_t *g)
{
    return pp_hash_sg(seed, family, s, g);
}

/* ---- keys ------------------------------------------------------------------------- */

static uint64_t key4(const uint8_t *s, const uint8_t *g)
{
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, g, 4);
    return (uint64_t)a << 32 | b;
}

static int key_equal(const pimparse_state *st, const struct sg *e, uint8_t family,
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
static void key_bytes(const pimparse_state *st, const struct sg *e, uint8_t s[16], uint8_t g[16])
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

static int key6_new(pimparse_state *st, const uint8_t *s, const uint8_t *g, uint32_t *out)
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

static void key6_release(pimparse_state *st, uint32_t i)
{
    memcpy(st->key6[i].s, &st->key6_free, sizeof st->key6_free);
    st->key6_free = i;
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

static uint32_t find(const pimparse_state *st, uint8_t family, const uint8_t *s, const uint8_t *g,
                     uint32_t h)
{
    return slot_idx(&st->slots[find_slot(st, family, s, g, h)]); /* NIL when empty */
}

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

static int grow_slots(pimparse_state *st)
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

/* ---- Prune-Pending ---------------------------------------------------------------- */

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

static uint64_t pend_get(const pimparse_state *st, uint32_t idx)
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
static int pend_add(pimparse_state *st, uint32_t idx, uint64_t pp)
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

static void pend_del(pimparse_state *st, uint32_t idx)
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

/* ---- timers: a heap and a tail ----------------------------------------------------- */

/* An entry's heap_pos: NIL (no timer), its position in the heap, or TAIL_POS | its
 * position in the tail (at most 2^30 timers, see reserve). */
#define TAIL_POS 0x80000000u

/* The earlier of entry idx's Expiry and Prune-Pending Timers. */
static uint64_t deadline(const pimparse_state *st, const struct sg *e, uint32_t idx)
{
    if (!e->pending)
        return e->expiry;
    uint64_t pp = pend_get(st, idx);
    return e->expiry < pp ? e->expiry : pp;
}

static void heap_set(pimparse_state *st, uint32_t pos, struct heap_item it)
{
    st->heap[pos] = it;
    sg_at(st, it.idx)->heap_pos = pos;
}

static void sift_up(pimparse_state *st, uint32_t pos)
{
    struct heap_item it = st->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (hkey(&st->heap[parent]) <= hkey(&it))
            break;
        heap_set(st, pos, st->heap[parent]);
        pos = parent;
    }
    heap_set(st, pos, it);
}

static void sift_down(pimparse_state *st, uint32_t pos)
{
    struct heap_item it = st->heap[pos];
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= st->heap_len)
            break;
        if (c + 1 < st->heap_len && hkey(&st->heap[c + 1]) < hkey(&st->heap[c]))
            c++;
        if (hkey(&st->heap[c]) >= hkey(&it))
            break;
        heap_set(st, pos, st->heap[c]);
        pos = c;
    }
    heap_set(st, pos, it);
}

/* Takes entry idx's timer out of the heap or the tail. */
static void timer_remove(pimparse_state *st, uint32_t idx)
{
    struct sg *e = sg_at(st, idx);
    uint32_t pos = e->heap_pos;
    e->heap_pos = NIL;
    if (pos & TAIL_POS) {
        /* The (unordered) tail's last item fills the hole. */
        pos &= ~TAIL_POS;
        uint32_t last = --st->tail_len;
        if (pos != last) {
            uint32_t moved = st->tail[last];
            st->tail[pos] = moved;
            sg_at(st, moved)->heap_pos = TAIL_POS | pos;
        }
        if (!st->tail_len)
            st->tail_min = PIMPARSE_NEVER;
        return;
    }
    st->heap_len--;
    if (pos != st->heap_len) {
        uint64_t old = hkey(&st->heap[pos]);
        heap_set(st, pos, st->heap[st->heap_len]);
        if (hkey(&st->heap[pos]) < old)
            sift_up(st, pos);
        else
            sift_down(st, pos);
    }
}

/* Moves the tail into the heap, keyed by the entries' deadlines now.  It cannot fail:
 * schedule() keeps the heap's capacity at least heap_len + tail_len.  A tail longer than
 * the heap is merged by rebuilding the heap bottom-up (linear), a shorter one by sifting
 * each item up. */
static void merge_tail(pimparse_state *st)
{
    if (!st->tail_len)
        return;
    int rebuild = st->tail_len > st->heap_len;
    for (uint32_t i = 0; i < st->tail_len; i++) {
        uint32_t idx = st->tail[i];
        uint64_t d = deadline(st, sg_at(st, idx), idx);
        uint32_t pos = st->heap_len++;
        heap_set(st, pos, (struct heap_item){(uint32_t)(d >> 32), (uint32_t)d, idx});
        if (!rebuild)
            sift_up(st, pos);
    }
    if (rebuild)
        for (uint32_t pos = st->heap_len / 2; pos-- > 0;)
            sift_down(st, pos);
    st->tail_len = 0;
    st->tail_min = PIMPARSE_NEVER;
}

/* Whether a timer may be due at now (keys never exceed the true deadlines). */
static int timers_due(const pimparse_state *st, uint64_t now)
{
    return (st->heap_len && hkey(&st->heap[0]) <= now) || (st->tail_len && st->tail_min <= now);
}

/* A table of *cap items of `size` bytes, `used` of them in use, grown (doubling) to hold
 * at least `need`, at most 2^30; NULL when it cannot grow (the table is unchanged). */
static void *reserve(void *table, uint32_t *cap, size_t size, uint32_t used, uint32_t need)
{
    if (need <= *cap)
        return table;
    if (*cap >= (UINT32_C(1) << 30))
        return NULL;
    uint32_t nc = *cap ? *cap * 2 : 64;
    void *t = pp_realloc_table(table, (size_t)*cap * size, (size_t)used * size,
                               (size_t)nc * size, 0);
    if (t)
        *cap = nc;
    return t;
}

/* Room for one more timer in the tail and, reserved, in the heap. */
static __attribute__((noinline)) int grow_timers(pimparse_state *st)
{
    struct heap_item *heap = reserve(st->heap, &st->heap_cap, sizeof *heap, st->heap_len,
                                     st->heap_len + st->tail_len + 1);
    if (!heap)
        return PIMPARSE_ERR_NOMEM;
    st->heap = heap;
    uint32_t *tail = reserve(st->tail, &st->tail_cap, sizeof *tail, st->tail_len,
                             st->tail_len + 1);
    if (!tail)
        return PIMPARSE_ERR_NOMEM;
    st->tail = tail;
    return 0;
}

/* Puts or moves an entry's timer after its timers changed.  Later deadlines are left lazy
 * (see the file comment).  A new timer goes to the tail, unsorted and without a key (4
 * bytes): nothing needs the order until a timer may be due or the next deadline is asked
 * for, and a replay that only adds entries never pays for sifting nor for the heap's
 * 12-byte items: the heap's room is reserved here (mapped, not yet touched) so that
 * merge_tail() cannot fail. */
PP_INLINE int schedule(pimparse_state *st, struct sg *e, uint32_t idx)
{
    uint64_t d = deadline(st, e, idx);
    if (e->heap_pos != NIL) {
        if (e->heap_pos & TAIL_POS) {
            if (d < st->tail_min)
                st->tail_min = d;
        } else if (d < hkey(&st->heap[e->heap_pos])) {
            hkey_set(&st->heap[e->heap_pos], d);
            sift_up(st, e->heap_pos);
        }
        return 0;
    }
    if (d == PIMPARSE_NEVER)
        return 0;
    if ((st->heap_len + st->tail_len == st->heap_cap || st->tail_len == st->tail_cap) &&
        grow_timers(st) < 0)
        return PIMPARSE_ERR_NOMEM;
    st->tail[st->tail_len] = idx;
    e->heap_pos = TAIL_POS | st->tail_len++;
    if (d < st->tail_min)
        st->tail_min = d;
    return 0;
}

/* Corrects stale keys at the top until the top key is a true deadline. */
static void fix_top(pimparse_state *st)
{
    while (st->heap_len) {
        struct heap_item *top = &st->heap[0];
        uint64_t d = deadline(st, sg_at(st, top->idx), top->idx);
        if (d == hkey(top))
            return;
        if (d == PIMPARSE_NEVER) {
            timer_remove(st, top->idx);
            continue;
        }
        hkey_set(top, d);
        sift_down(st, 0);
    }
}

/* ---- entries ---------------------------------------------------------------------- */

/* Adds a key known to be absent; slot is the empty slot find_slot() returned for it
 * (found again when the table grows first). */
/* Adds the next entry segment (the table's entries are all in use). */
static __attribute__((noinline)) int add_segment(pimparse_state *st)
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

PP_INLINE int insert(pimparse_state *st, uint8_t family, const uint8_t *s, const uint8_t *g,
                     uint32_t h, uint32_t slot, uint32_t *out)
{
    if ((uint64_t)(st->count + 1) * 2 > st->nslots) {
        int r = grow_slots(st);
        if (r < 0)
            return r;
        slot = find_slot(st, family, s, g, h);
    }
    uint64_t key;
    if (family == PIMPARSE_AF_IPV4) {
        key = key4(s, g);
    } else {
        uint32_t k;
        int r = key6_new(st, s, g, &k);
        if (r < 0)
            return r;
        key = k;
    }
    uint32_t idx;
    if (st->free_head != NIL) {
        idx = st->free_head;
        st->free_head = sg_at(st, idx)->heap_pos;
    } else {
        if (st->sg_used == st->sg_cap && add_segment(st) < 0) {
            if (family != PIMPARSE_AF_IPV4)
                key6_release(st, (uint32_t)key);
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

static void remove_entry(pimparse_state *st, uint32_t idx)
{
    struct sg *e = sg_at(st, idx);
    uint8_t s[16], g[16];
    key_bytes(st, e, s, g);
    uint32_t slot = find_slot(st, e->family, s, g, hash_key(st->set.hash_seed, e->family, s, g));
    if (slot_idx(&st->slots[slot]) == idx)
        slot_delete(st, slot);
    if (e->heap_pos != NIL)
        timer_remove(st, idx);
    if (e->pending) {
        pend_del(st, idx);
        e->pending = 0;
    }
    if (e->family != PIMPARSE_AF_IPV4)
        key6_release(st, (uint32_t)e->key);
    e->family = 0;
    e->heap_pos = st->free_head;
    st->free_head = idx;
    st->count--;
}

static void entry_addrs(const pimparse_state *st, const struct sg *e, pimparse_addr *s,
                        pimparse_addr *g)
{
    s->family = g->family = e->family;
    key_bytes(st, e, s->bytes, g->bytes);
}

static void handle_expiry(pimparse_state *st, uint64_t now);

static void emit(const pimparse_state *st, const pimparse_event *ev)
{
    if (st->set.event)
        st->set.event(st->set.user, ev);
}

static void emit_sg_addrs(const pimparse_state *st, int type, uint64_t now,
                          const pimparse_addr *s, const pimparse_addr *g,
                          const pimparse_addr *from, uint16_t holdtime)
{
    if (!st->set.event)
        return;
    pimparse_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.time = now;
    ev.source = *s;
    ev.group = *g;
    if (from)
        ev.neighbor = *from;
    ev.holdtime = holdtime;
    emit(st, &ev);
}

PP_INLINE void emit_sg(const pimparse_state *st, int type, uint64_t now, const struct sg *e,
                    const pimparse_addr *from, uint16_t holdtime)
{
    if (!st->set.event)
        return;
    /* Built in place: copying addresses just written piecewise would stall on store
     * forwarding. */
    pimparse_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.time = now;
    if (e->family == PIMPARSE_AF_IPV4) {
        /* The rest of both addresses is already zero. */
        uint32_t a = (uint32_t)(e->key >> 32), b = (uint32_t)e->key;
        ev.source.family = ev.group.family = PIMPARSE_AF_IPV4;
        memcpy(ev.source.bytes, &a, 4);
        memcpy(ev.group.bytes, &b, 4);
    } else {
        entry_addrs(st, e, &ev.source, &ev.group);
    }
    if (from)
        ev.neighbor = *from;
    ev.holdtime = holdtime;
    emit(st, &ev);
}

/* ---- neighbors -------------------------------------------------------------------- */

static struct nbr *find_nbr(pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_nbrs; i++)
        if (pimparse_addr_equal(&st->nbrs[i].info.address, a))
            return &st->nbrs[i];
    return NULL;
}

static int is_neighbor(const pimparse_state *st, const pimparse_addr *a)
{
    for (size_t i = 0; i < st->n_nbrs; i++) {
        const struct nbr *n = &st->nbrs[i];
        if (pimparse_addr_equal(&n->info.address, a))
            return 1;
        for (unsigned j = 0; j < n->info.num_secondary; j++)
            if (pimparse_addr_equal(&n->secondary[j], a))
                return 1;
    }
    return 0;
}

static void emit_nbr(const pimparse_state *st, int type, uint64_t now, const pimparse_neighbor *n)
{
    if (!st->set.event)
        return;
    pimparse_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.time = now;
    ev.neighbor = n->address;
    ev.holdtime = n->holdtime;
    ev.generation_id = n->generation_id;
    emit(st, &ev);
}

static void drop_nbr(pimparse_state *st, struct nbr *n, uint64_t now)
{
    pimparse_neighbor info = n->info;
    size_t i = (size_t)(n - st->nbrs);
    st->nbrs[i] = st->nbrs[--st->n_nbrs];
    char a[64];
    st_log(st, LOG_INFO, "neighbor %s down", pimparse_addr_format(&info.address, a, sizeof a));
    /* §4.3.2 leaves downstream (S,G) state alone on neighbor loss: it lives until ET. */
    emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_DOWN, now, &info);
}

static int process_hello(pimparse_state *st, const pimparse_packet *pkt, uint64_t now)
{
    pimparse_hello h;
    int r = pimparse_hello_decode(pkt, &h);
    if (r < 0)
        return r;
    st->stats.hellos++;
    if (is_local(st, &pkt->ip_src))
        return 0;
    struct nbr *n = find_nbr(st, &pkt->ip_src);
    char a[64];
    pimparse_addr_format(&pkt->ip_src, a, sizeof a);
    /* §4.3.1: holdtime 0 = the neighbor is going down; remove it at once. */
    if (h.holdtime == 0) {
        if (n)
            drop_nbr(st, n, now);
        return 0;
    }
    int fresh = 0;
    if (!n) {
        if (st->n_nbrs >= MAX_NEIGHBORS) {
            st->stats.neighbors_refused++;
            return 0;
        }
        if (st->n_nbrs == st->cap_nbrs) {
            size_t nc = st->cap_nbrs ? st->cap_nbrs * 2 : 4;
            struct nbr *nn = pp_realloc(st->nbrs, nc * sizeof *nn);
            if (!nn)
                return PIMPARSE_ERR_NOMEM;
            st->nbrs = nn;
            st->cap_nbrs = nc;
        }
        n = &st->nbrs[st->n_nbrs++];
        memset(n, 0, sizeof *n);
        n->info.address = pkt->ip_src;
        fresh = 1;
    } else if ((h.present & PIMPARSE_HELLO_HAS_GENERATION_ID) &&
               h.generation_id != n->info.generation_id) {
        /* §4.3.1: a new Generation ID means the neighbor restarted. */
        pimparse_neighbor old = n->info;
        st_log(st, LOG_INFO, "neighbor %s restarted (generation ID %08x -> %08x)", a,
               old.generation_id, h.generation_id);
        emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_DOWN, now, &old);
        fresh = 1;
    }
    n->info.holdtime = h.holdtime;
    n->info.generation_id = h.generation_id;
    n->info.dr_priority = h.dr_priority;
    n->info.has_lan_prune_delay = (h.present & PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY) != 0;
    n->info.propagation_delay_ms = h.propagation_delay_ms;
    n->info.override_interval_ms = h.override_interval_ms;
    n->info.num_secondary = 0;
    for (unsigned i = 0; i < h.num_addresses && i < MAX_SECONDARY; i++)
        if (pimparse_hello_address(&h, i, &n->secondary[i]) == 0)
            n->info.num_secondary++;
    n->info.expiry = h.holdtime == 0xffff ? PIMPARSE_NEVER : now + PIMPARSE_S(h.holdtime);
    if (fresh) {
        st_log(st, LOG_INFO, "neighbor %s up (holdtime %u, generation ID %08x, DR priority %u)",
               a, h.holdtime, h.generation_id, h.dr_priority);
        emit_nbr(st, PIMPARSE_EVENT_NEIGHBOR_UP, now, &n->info);
    }
    return 0;
}

uint64_t pimparse_state_override_interval(const pimparse_state *st)
{
    /* §4.3.3: the effective values are the largest of ours and every neighbor's when all
     * neighbors advertise LAN Prune Delay; otherwise the defaults. */
    uint32_t prop = st->set.propagation_delay_ms, ovr = st->set.override_interval_ms;
    int all = st->n_nbrs > 0;
    for (size_t i = 0; i < st->n_nbrs; i++) {
        const pimparse_neighbor *n = &st->nbrs[i].info;
        if (!n->has_lan_prune_delay) {
            all = 0;
            break;
        }
        if (n->propagation_delay_ms > prop)
            prop = n->propagation_delay_ms;
        if (n->override_interval_ms > ovr)
            ovr = n->override_interval_ms;
    }
    if (!all) {
        prop = DEFAULT_PROPAGATION_DELAY_MS;
        ovr = DEFAULT_OVERRIDE_INTERVAL_MS;
    }
    return PIMPARSE_MS(prop + ovr);
}

/* ---- Join/Prune ------------------------------------------------------------------- */

static int group_ok(const pimparse_state *st, uint8_t family, const uint8_t *g)
{
    if (!pp_is_multicast(family, g) || pp_is_link_local_group(family, g))
        return 0;
    if ((st->set.policy & PIMPARSE_POLICY_SSM_ONLY) && !pp_is_ssm(family, g))
        return 0;
    return 1;
}

/* An (S,G) Join: s and g are the addresses' bytes (in the message), h their hash_key(). */
static int apply_join(pimparse_state *st, uint8_t fam, const uint8_t *s, const uint8_t *g,
                      uint32_t h, const pimparse_addr *from, uint16_t holdtime, uint64_t now)
{
    /* §4.5.3: Expiry Timer = max(ET, holdtime); 0xFFFF never times out (§4.9.5). */
    uint64_t et = holdtime == 0xffff ? PIMPARSE_NEVER : now + PIMPARSE_S(holdtime);
    uint32_t slot = find_slot(st, fam, s, g, h);
    uint32_t idx = slot_idx(&st->slots[slot]);
    if (idx == NIL) {
        /* A holdtime of 0 would expire at once: the net effect is no state. */
        if (holdtime == 0)
            return 0;
        int r = insert(st, fam, s, g, h, slot, &idx);
        if (r < 0)
            return r;
        struct sg *e = sg_at(st, idx);
        e->expiry = et;
        r = schedule(st, e, idx);
        if (r < 0) {
            remove_entry(st, idx);
            return r;
        }
        emit_sg(st, PIMPARSE_EVENT_JOIN, now, e, from, holdtime);
        return 0;
    }
    struct sg *e = sg_at(st, idx);
    if (et > e->expiry)
        e->expiry = et;
    /* §4.5.3: a Join in Prune-Pending state cancels the pending Prune (an override). */
    if (e->pending) {
        pend_del(st, idx);
        e->pending = 0;
        emit_sg(st, PIMPARSE_EVENT_PRUNE_OVERRIDE, now, e, from, holdtime);
    }
    return schedule(st, e, idx);
}

/* An (S,G) Prune, with the arguments of apply_join(). */
static int apply_prune(pimparse_state *st, uint8_t fam, const uint8_t *s, const uint8_t *g,
                       uint32_t h, const pimparse_addr *from, uint64_t now)
{
    uint32_t idx = find(st, fam, s, g, h);
    if (idx == NIL)
        return 0;
    struct sg *e = sg_at(st, idx);
    /* §4.5.3: Prune-Pending for J/P_Override_Interval when the interface has more than
     * one neighbor (someone may override), else straight to NoInfo. */
    if (st->n_nbrs > 1) {
        if (!e->pending) {
            uint64_t pp = now + pimparse_state_override_interval(st);
            int r = pend_add(st, idx, pp);
            if (r < 0)
                return r;
            e->pending = 1;
            r = schedule(st, e, idx);
            if (r < 0) {
                /* No timer for it (an entry joined with holdtime 0xFFFF has none yet):
                 * the Prune is not applied rather than left pending forever. */
                pend_del(st, idx);
                e->pending = 0;
                return r;
            }
            if (st->set.event) {
                pimparse_event ev;
                memset(&ev, 0, sizeof ev);
                ev.type = PIMPARSE_EVENT_PRUNE_PENDING;
                ev.time = now;
                entry_addrs(st, e, &ev.source, &ev.group);
                ev.neighbor = *from;
                ev.deadline = pp;
                emit(st, &ev);
            }
            return r;
        }
        return 0;
    }
    /* The addresses are taken before removal releases an IPv6 key. */
    pimparse_addr sa, ga;
    entry_addrs(st, e, &sa, &ga);
    remove_entry(st, idx);
    emit_sg_addrs(st, PIMPARSE_EVENT_PRUNE, now, &sa, &ga, from, 0);
    return 0;
}

/* ah, when not NULL, holds the message already decoded and the hashes of its first
 * (S,G) entries (pp_state_decode_ahead). */
static int process_jp(pimparse_state *st, const pimparse_packet *pkt, const struct pp_ahead *ah,
                      uint64_t now)
{
    pimparse_jp decoded;
    const pimparse_jp *jp = &decoded;
    int r;
    if (ah && ah->jp_rc != PP_AHEAD_NO_JP) {
        r = ah->jp_rc;
        jp = &ah->jp;
    } else {
        r = pimparse_jp_decode(pkt, &decoded);
    }
    if (r < 0)
        return r;
    st->stats.join_prunes++;
    if (!(st->set.policy & PIMPARSE_POLICY_ANY_UPSTREAM) && !is_local(st, &jp->upstream_neighbor)) {
        st->stats.foreign_upstream++;
        return 0;
    }
    if ((st->set.policy & PIMPARSE_POLICY_REQUIRE_NEIGHBOR) && !is_neighbor(st, &pkt->ip_src)) {
        st->stats.from_non_neighbor++;
        return 0;
    }
    /* Walked in place rather than through pimparse_jp_next(): pimparse_jp_decode() has
     * checked every count and every Encoded address's family, and addresses used where
     * they lie are neither copied nor reloaded just after being stored piecewise. */
    const uint8_t fam = jp->upstream_neighbor.family;
    const size_t elen = 4 + (size_t)jp->it_alen; /* Encoded-Group and Encoded-Source */
    const unsigned full = jp->it_alen * 8u;
    const uint8_t *p = jp->it_pos;
    unsigned nsg = 0; /* entries without W or R so far: the k-th has ah->hash[k], k < ah->n */
    int err = 0;
    for (unsigned gi = 0; gi < jp->num_groups; gi++) {
        const uint8_t *gh = p; /* family, encoding, flags, mask length, address */
        const uint8_t *g = gh + 4;
        unsigned nj = pp_get16(gh + elen), total = nj + pp_get16(gh + elen + 2);
        const uint8_t *src = gh + elen + 4;
        p = src + (size_t)total * elen;
        /* Bidir groups (RFC 5015) and non-host masks are not SSM channels. */
        int gok = gh[3] == full && !(gh[2] & PIMPARSE_GROUP_B) && group_ok(st, fam, g);
        for (unsigned i = 0; i < total; i++, src += elen) {
            /* §4.9.5.1: W and R select (S,G), (*,G) or (S,G,rpt); W without R is invalid. */
            unsigned wr = src[2] & (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R);
            if (wr == (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R) || wr == PIMPARSE_SOURCE_R) {
                uint8_t kind = wr == PIMPARSE_SOURCE_R ? PIMPARSE_ENTRY_SG_RPT
                                                       : PIMPARSE_ENTRY_STAR_G;
                if (kind == PIMPARSE_ENTRY_STAR_G)
                    st->stats.star_g++;
                else
                    st->stats.sg_rpt++;
                if (st->set.event) {
                    pimparse_event ev;
                    memset(&ev, 0, sizeof ev);
                    ev.type = PIMPARSE_EVENT_NOT_JOINED;
                    ev.time = now;
                    ev.source.family = ev.group.family = fam;
                    memcpy(ev.source.bytes, src + 4, jp->it_alen);
                    memcpy(ev.group.bytes, g, jp->it_alen);
                    ev.neighbor = pkt->ip_src;
                    ev.holdtime = jp->holdtime;
                    ev.kind = kind;
                    ev.is_join = i < nj;
                    emit(st, &ev);
                }
                continue;
            }
            unsigned k = wr == 0 ? nsg++ : UINT_MAX;
            if (!gok) {
                st->stats.rejected_group++;
                continue;
            }
            if (wr != 0 || src[3] != full || !pp_is_unicast(fam, src + 4)) {
                st->stats.rejected_source++;
                continue;
            }
            uint32_t h = ah && k < ah->n ? ah->hash[k]
                                         : hash_key(st->set.hash_seed, fam, src + 4, g);
            if (i < nj) {
                st->stats.sg_joins++;
                r = apply_join(st, fam, src + 4, g, h, &pkt->ip_src, jp->holdtime, now);
            } else {
                st->stats.sg_prunes++;
                r = apply_prune(st, fam, src + 4, g, h, &pkt->ip_src, now);
            }
            if (r < 0 && !err)
                err = r;
        }
    }
    if (err)
        st_log(st, LOG_ERR, "join/prune not fully applied: %s", pimparse_strerror(err));
    return err;
}

static void count_error(pimparse_state *st, int r)
{
    switch (r) {
    case PIMPARSE_ERR_NOT_IP:
    case PIMPARSE_ERR_NOT_PIM: st->stats.not_pim++; break;
    case PIMPARSE_ERR_LINKTYPE: st->stats.bad_link++; break;
    case PIMPARSE_ERR_TRUNCATED: st->stats.truncated++; break;
    case PIMPARSE_ERR_FRAGMENT: st->stats.fragments++; break;
    case PIMPARSE_ERR_IP_HEADER: st->stats.bad_ip++; break;
    case PIMPARSE_ERR_PIM_VERSION: st->stats.bad_version++; break;
    case PIMPARSE_ERR_CHECKSUM: st->stats.bad_checksum++; break;
    default: st->stats.malformed++; break;
    }
}

static int dispatch(pimparse_state *st, const pimparse_packet *pkt, const struct pp_ahead *ah,
                    uint64_t now)
{
    int r;
    if (pkt->pim_type == PIMPARSE_TYPE_JOIN_PRUNE) {
        r = process_jp(st, pkt, ah, now);
    } else if (pkt->pim_type == PIMPARSE_TYPE_HELLO) {
        r = process_hello(st, pkt, now);
    } else {
        st->stats.other_types++;
        return 0;
    }
    if (r < 0 && r != PIMPARSE_ERR_NOMEM) {
        count_error(st, r);
        char a[64];
        st_log(st, LOG_DEBUG, "PIM type %u from %s dropped: %s", pkt->pim_type,
               pimparse_addr_format(&pkt->ip_src, a, sizeof a), pimparse_strerror(r));
    }
    return r;
}

static int process_decoded(pimparse_state *st, int decode_rc, const pimparse_packet *pkt,
                           const struct pp_ahead *ah, size_t len, uint64_t now)
{
    st->stats.frames++;
    /* Most frames find nothing due: the test is inline, the work is not. */
    if (timers_due(st, now) || st->n_nbrs)
        handle_expiry(st, now);
    if (decode_rc < 0) {
        count_error(st, decode_rc);
        if (decode_rc != PIMPARSE_ERR_NOT_PIM && decode_rc != PIMPARSE_ERR_NOT_IP)
            st_log(st, LOG_DEBUG, "frame of %zu bytes dropped: %s", len,
                   pimparse_strerror(decode_rc));
        return decode_rc;
    }
    return dispatch(st, pkt, ah, now);
}

int pimparse_state_process_frame(pimparse_state *st, int linktype, const uint8_t *frame,
                                 size_t len, uint64_t now)
{
    if (!st || !frame)
        return PIMPARSE_ERR_INVALID;
    /* Decoding is pure: doing it before the due timers run changes nothing. */
    pimparse_packet pkt;
    int r = pimparse_frame_decode(linktype, frame, len, &pkt);
    return process_decoded(st, r, &pkt, NULL, len, now);
}

/* ---- batched input ---------------------------------------------------------------- */

/* A million distinct (S,G)s make every lookup a cache (and TLB) miss on the slot array
 * and, for a refresh, another on the entry.  The replay driver decodes a batch of frames
 * ahead, and these two stages fetch those lines while earlier frames are processed: the
 * misses overlap instead of stalling one after the other.  Both stages only read and
 * prefetch; a table that grows in between makes a prefetch useless, never wrong. */
int pp_state_decode_ahead(pimparse_state *st, int linktype, const uint8_t *frame, size_t len,
                          pimparse_packet *pkt, struct pp_ahead *ah)
{
    ah->n = 0;
    ah->jp_rc = PP_AHEAD_NO_JP;
    int r = pimparse_frame_decode(linktype, frame, len, pkt);
    if (r < 0 || pkt->pim_type != PIMPARSE_TYPE_JOIN_PRUNE)
        return r;
    /* The message is validated here, once (process_jp() takes the result), and the
     * validating walk hashes the first entries without W or R: the k-th of them is the
     * k-th (S,G) entry process_jp() meets, which reuses the hash. */
    ah->jp_rc = pp_jp_decode(pkt, &ah->jp, st->set.hash_seed, ah->hash, PP_AHEAD_MAX, &ah->n);
    if (ah->jp_rc < 0)
        return r;
    uint32_t mask = st->nslots - 1;
    for (unsigned i = 0; i < ah->n; i++)
        __builtin_prefetch(&st->slots[ah->hash[i] & mask]);
    return r;
}

void pp_state_prefetch_entries(const pimparse_state *st, const struct pp_ahead *ah)
{
    uint32_t mask = st->nslots - 1;
    for (unsigned i = 0; i < ah->n; i++) {
        const struct slot *sl = &st->slots[ah->hash[i] & mask];
        if (sl->ref && sl->hash == ah->hash[i]) {
            /* Entries in the small first segments are only 16-byte aligned and may
             * straddle two cache lines. */
            const struct sg *e = sg_at(st, slot_idx(sl));
            __builtin_prefetch(e);
            __builtin_prefetch((const uint8_t *)e + sizeof *e - 1);
        }
    }
}

int pp_state_prefetch_pays(const pimparse_state *st)
{
    /* 2^16 slots (512 KiB) go with about as many bytes of entries: below that the tables
     * stay in the caches and look-ahead would only add work.  The table never shrinks,
     * so once this holds it holds for the rest of the replay. */
    return st->nslots >= (UINT32_C(1) << 16);
}

int pp_state_process_decoded(pimparse_state *st, int decode_rc, const pimparse_packet *pkt,
                             const struct pp_ahead *ah, size_t len, uint64_t now)
{
    return process_decoded(st, decode_rc, pkt, ah, len, now);
}

int pimparse_state_process_packet(pimparse_state *st, const pimparse_packet *pkt, uint64_t now)
{
    if (!st || !pkt || !pkt->pim)
        return PIMPARSE_ERR_INVALID;
    st->stats.frames++;
    handle_expiry(st, now);
    return dispatch(st, pkt, NULL, now);
}

int pimparse_state_add_provisional(pimparse_state *st, const pimparse_addr *source,
                                   const pimparse_addr *group, uint64_t expiry)
{
    if (!st || !source || !group || source->family != group->family ||
        (source->family != PIMPARSE_AF_IPV4 && source->family != PIMPARSE_AF_IPV6))
        return PIMPARSE_ERR_INVALID;
    if (!group_ok(st, group->family, group->bytes) || !pp_addr_is_unicast(source))
        return PIMPARSE_ERR_INVALID;
    pimparse_addr s = *source, g = *group;
    if (s.family == PIMPARSE_AF_IPV4) {
        memset(s.bytes + 4, 0, 12);
        memset(g.bytes + 4, 0, 12);
    }
    uint32_t h = hash_key(st->set.hash_seed, s.family, s.bytes, g.bytes);
    uint32_t slot = find_slot(st, s.family, s.bytes, g.bytes, h);
    if (st->slots[slot].ref)
        return 0;
    uint32_t idx;
    int r = insert(st, s.family, s.bytes, g.bytes, h, slot, &idx);
    if (r < 0)
        return r;
    sg_at(st, idx)->expiry = expiry;
    r = schedule(st, sg_at(st, idx), idx);
    if (r < 0) {
        remove_entry(st, idx);
        return r;
    }
    return 1;
}

uint64_t pimparse_state_get_expiry(pimparse_state *st)
{
    if (!st)
        return PIMPARSE_NEVER;
    merge_tail(st);
    fix_top(st);
    uint64_t t = st->heap_len ? hkey(&st->heap[0]) : PIMPARSE_NEVER;
    for (size_t i = 0; i < st->n_nbrs; i++)
        if (st->nbrs[i].info.expiry < t)
            t = st->nbrs[i].info.expiry;
    return t;
}

void pimparse_state_handle_expiry(pimparse_state *st, uint64_t now)
{
    if (st)
        handle_expiry(st, now);
}

static void handle_expiry(pimparse_state *st, uint64_t now)
{
    for (;;) {
        /* Keys never exceed the true deadlines, so a top key (and tail minimum) after now
         * means nothing is due: the common case costs two comparisons, stale keys are
         * fixed and the tail merged only here. */
        if (!timers_due(st, now))
            break;
        merge_tail(st);
        fix_top(st);
        if (!st->heap_len || hkey(&st->heap[0]) > now)
            break;
        uint32_t idx = st->heap[0].idx;
        const struct sg *e = sg_at(st, idx);
        uint64_t pp = e->pending ? pend_get(st, idx) : PIMPARSE_NEVER;
        /* The event carries the timer's own deadline, not the (possibly later) time of
         * this call: replays report when the state really ended. */
        uint64_t d = e->expiry < pp ? e->expiry : pp;
        pimparse_addr s, g;
        entry_addrs(st, e, &s, &g);
        remove_entry(st, idx);
        if (pp <= now)
            emit_sg_addrs(st, PIMPARSE_EVENT_PRUNE, d, &s, &g, NULL, 0);
        else
            emit_sg_addrs(st, PIMPARSE_EVENT_EXPIRE, d, &s, &g, NULL, 0);
    }
    for (size_t i = 0; i < st->n_nbrs;) {
        if (st->nbrs[i].info.expiry <= now)
            drop_nbr(st, &st->nbrs[i], now); /* moves the last neighbor into slot i */
        else
            i++;
    }
}

size_t pimparse_state_count(const pimparse_state *st)
{
    return st ? st->count : 0;
}

size_t pimparse_state_neighbor_count(const pimparse_state *st)
{
    return st ? st->n_nbrs : 0;
}

int pimparse_state_neighbor(const pimparse_state *st, size_t index, pimparse_neighbor *out)
{
    if (!st || !out || index >= st->n_nbrs)
        return PIMPARSE_ERR_INVALID;
    *out = st->nbrs[index].info;
    return 0;
}

int pimparse_state_lookup(const pimparse_state *st, const pimparse_addr *source,
                          const pimparse_addr *group, uint64_t *expiry, bool *prune_pending)
{
    if (!st || !source || !group || source->family != group->family)
        return 0;
    pimparse_addr s = *source, g = *group;
    if (s.family == PIMPARSE_AF_IPV4) {
        memset(s.bytes + 4, 0, 12);
        memset(g.bytes + 4, 0, 12);
    }
    uint32_t h = hash_key(st->set.hash_seed, s.family, s.bytes, g.bytes);
    uint32_t idx = find(st, s.family, s.bytes, g.bytes, h);
    if (idx == NIL)
        return 0;
    if (expiry)
        *expiry = sg_at(st, idx)->expiry;
    if (prune_pending)
        *prune_pending = sg_at(st, idx)->pending;
    return 1;
}

size_t pimparse_state_foreach(const pimparse_state *st,
                              int (*cb)(void *user, const pimparse_addr *source,
                                        const pimparse_addr *group),
                              void *user)
{
    if (!st || !cb)
        return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < st->sg_used; i++) {
        const struct sg *e = sg_at(st, i);
        if (!e->family)
            continue;
        pimparse_addr s, g;
        entry_addrs(st, e, &s, &g);
        n++;
        if (cb(user, &s, &g))
            break;
    }
    return n;
}

uint32_t pp_state_hash(const pimparse_state *st, const pimparse_addr *source,
                       const pimparse_addr *group)
{
    return hash_key(st->set.hash_seed, source->family, source->bytes, group->bytes);
}

uint32_t pp_state_slots(const pimparse_state *st)
{
    return st->nslots;
}

void pimparse_state_get_stats(const pimparse_state *st, pimparse_stats *out)
{
    if (st && out)
        *out = st->stats;
}
