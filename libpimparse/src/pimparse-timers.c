/* pimparse-timers.c — the (S,G) timers: a binary min-heap of lazy deadlines and the
 * tail of new timers not yet sifted in (pimparse-table.h, "schedule" and the state's
 * fields). */
#include "pimparse-table.h"

static void heap_set(pimparse_state *st, uint32_t pos, struct heap_item it)
{
    st->heap[pos] = it;
    sg_at(st, it.idx)->heap_pos = pos;
}

void pp_sift_up(pimparse_state *st, uint32_t pos)
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
void pp_timer_remove(pimparse_state *st, uint32_t idx)
{
    struct sg *e = sg_at(st, idx);
    uint32_t pos = e->heap_pos;
    e->heap_pos = NIL;
    if (pos == TAIL_FRESH) {
        st->fresh_count--;
        if (!st->tail_len && !st->fresh_count)
            st->tail_min = PIMPARSE_NEVER;
        return;
    }
    if (pos & TAIL_POS) {
        /* The (unordered) tail's last item fills the hole. */
        pos &= ~TAIL_POS;
        uint32_t last = --st->tail_len;
        if (pos != last) {
            uint32_t moved = st->tail[last];
            st->tail[pos] = moved;
            sg_at(st, moved)->heap_pos = TAIL_POS | pos;
        }
        if (!st->tail_len && !st->fresh_count)
            st->tail_min = PIMPARSE_NEVER;
        return;
    }
    st->heap_len--;
    if (pos != st->heap_len) {
        uint64_t old = hkey(&st->heap[pos]);
        heap_set(st, pos, st->heap[st->heap_len]);
        if (hkey(&st->heap[pos]) < old)
            pp_sift_up(st, pos);
        else
            sift_down(st, pos);
    }
}

/* Appends entry idx to the heap array, keyed by its deadline now; sifted up unless the
 * heap is to be rebuilt. */
static void merge_one(pimparse_state *st, uint32_t idx, int rebuild)
{
    uint64_t d = deadline(st, sg_at(st, idx), idx);
    uint32_t pos = st->heap_len++;
    heap_set(st, pos, (struct heap_item){(uint32_t)(d >> 32), (uint32_t)d, idx});
    if (!rebuild)
        pp_sift_up(st, pos);
}

/* Moves the tail into the heap, keyed by the entries' deadlines now: the listed entries,
 * then the marked ones, found by scanning the entries created since the last merge in
 * index order.  It cannot fail: schedule() keeps the heap's capacity at least heap_len +
 * tail_len + fresh_count.  A tail longer than the heap is merged by rebuilding the heap
 * bottom-up (linear), a shorter one by sifting each item up. */
void pp_merge_tail(pimparse_state *st)
{
    if (st->tail_len || st->fresh_count) {
        int rebuild = st->tail_len + st->fresh_count > st->heap_len;
        for (uint32_t i = 0; i < st->tail_len; i++)
            merge_one(st, st->tail[i], rebuild);
        for (uint32_t idx = st->fresh_lo; st->fresh_count && idx < st->sg_used; idx++) {
            if (sg_at(st, idx)->heap_pos == TAIL_FRESH) {
                merge_one(st, idx, rebuild);
                st->fresh_count--;
            }
        }
        if (rebuild)
            for (uint32_t pos = st->heap_len / 2; pos-- > 0;)
                sift_down(st, pos);
        st->tail_len = 0;
        st->tail_min = PIMPARSE_NEVER;
    }
    st->fresh_lo = st->sg_used;
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

int pp_grow_timers(pimparse_state *st, int listed)
{
    struct heap_item *heap = reserve(st->heap, &st->heap_cap, sizeof *heap, st->heap_len,
                                     st->heap_len + st->tail_len + st->fresh_count + 1);
    if (!heap)
        return PIMPARSE_ERR_NOMEM;
    st->heap = heap;
    if (!listed)
        return 0;
    uint32_t *tail = reserve(st->tail, &st->tail_cap, sizeof *tail, st->tail_len,
                             st->tail_len + 1);
    if (!tail)
        return PIMPARSE_ERR_NOMEM;
    st->tail = tail;
    return 0;
}

/* Corrects stale keys at the top until the top key is a true deadline. */
void pp_fix_top(pimparse_state *st)
{
    while (st->heap_len) {
        struct heap_item *top = &st->heap[0];
        uint64_t d = deadline(st, sg_at(st, top->idx), top->idx);
        if (d == hkey(top))
            return;
        if (d == PIMPARSE_NEVER) {
            pp_timer_remove(st, top->idx);
            continue;
        }
        hkey_set(top, d);
        sift_down(st, 0);
    }
}
