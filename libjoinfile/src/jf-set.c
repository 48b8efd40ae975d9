/* jf-set.c — the entry set: canonical order, hash index, diff. */
#include <netinet/in.h>
#include <sys/socket.h>

#include "jf-internal.h"

/* Canonical order (spec/joinfile.md §3.2): family (AF_INET < AF_INET6), then source,
 * then group, each as an unsigned big-endian number.  Comparing 8-byte big-endian words
 * is the same as memcmp over the 16 bytes, and several times faster in the sort. */
static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline int cmp_entry(const joinfile_entry *a, const joinfile_entry *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    uint64_t x = load_be64(a->source), y = load_be64(b->source);
    if (x != y)
        return x < y ? -1 : 1;
    x = load_be64(a->source + 8), y = load_be64(b->source + 8);
    if (x != y)
        return x < y ? -1 : 1;
    x = load_be64(a->group), y = load_be64(b->group);
    if (x != y)
        return x < y ? -1 : 1;
    x = load_be64(a->group + 8), y = load_be64(b->group + 8);
    if (x != y)
        return x < y ? -1 : 1;
    return 0;
}

int jf_entry_cmp(const joinfile_entry *a, const joinfile_entry *b)
{
    return cmp_entry(a, b);
}

static inline void swap_entry(joinfile_entry *a, joinfile_entry *b)
{
    joinfile_entry t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(joinfile_entry *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        joinfile_entry v = e[i];
        size_t j = i;
        while (j > 0 && cmp_entry(&v, &e[j - 1]) < 0) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = v;
    }
}

static void sift_down(joinfile_entry *e, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp_entry(&e[child], &e[child + 1]) < 0)
            child++;
        if (cmp_entry(&e[root], &e[child]) >= 0)
            return;
        swap_entry(&e[root], &e[child]);
        root = child;
    }
}

static void heap_sort(joinfile_entry *e, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(e, i, n);
    for (size_t i = n; i-- > 1;) {
        swap_entry(&e[0], &e[i]);
        sift_down(e, 0, i);
    }
}

/* Introsort: quicksort with a median-of-three pivot, insertion sort for short ranges and
 * heapsort past a depth limit, so a hostile input order cannot make it quadratic.  Written
 * out rather than qsort() because the inlined comparison is most of the parse benchmark. */
static void intro_sort(joinfile_entry *e, size_t n, unsigned depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(e, n);
            return;
        }
        size_t mid = n / 2;
        if (cmp_entry(&e[mid], &e[0]) < 0)
            swap_entry(&e[mid], &e[0]);
        if (cmp_entry(&e[n - 1], &e[0]) < 0)
            swap_entry(&e[n - 1], &e[0]);
        if (cmp_entry(&e[n - 1], &e[mid]) < 0)
            swap_entry(&e[n - 1], &e[mid]);
        joinfile_entry pivot = e[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (cmp_entry(&e[i], &pivot) < 0)
                i++;
            while (cmp_entry(&pivot, &e[j]) < 0)
                j--;
            if (i >= j)
                break;
            swap_entry(&e[i], &e[j]);
            i++;
            j--;
        }
        /* Recurse into the smaller part, loop on the larger: O(log n) stack. */
        size_t left = j + 1;
        if (left < n - left) {
            intro_sort(e, left, depth);
            e += left;
            n -= left;
        } else {
            intro_sort(e + left, n - left, depth);
            n = left;
        }
    }
    insertion_sort(e, n);
}

static void intro_sort_all(joinfile_entry *e, size_t n)
{
    unsigned depth = 0;
    for (size_t m = n; m; m >>= 1)
        depth += 2;
    intro_sort(e, n, depth);
}

/* Below this many entries the comparison sort is as fast and needs no memory. */
#define RADIX_MIN 4096

struct radix_item {
    uint64_t key;
    uint64_t index;
};

/* Large inputs: IPv4 entries are sorted by an LSD radix sort on the exact 64-bit key
 * source:group (IPv4 sorts before IPv6, and the other 12 bytes of each address are zero),
 * IPv6 entries by the comparison sort.  Returns -1, having changed nothing, when the
 * working memory cannot be allocated. */
static int radix_sort(joinfile_entry *e, size_t n)
{
    struct radix_item *a = jf_reallocarray(NULL, n, sizeof *a);
    struct radix_item *b = jf_reallocarray(NULL, n, sizeof *b);
    joinfile_entry *out = jf_reallocarray(NULL, n, sizeof *out);
    if (!a || !b || !out) {
        jf_free(a);
        jf_free(b);
        jf_free(out);
        return -1;
    }
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < n; i++)
        n4 += e[i].family == AF_INET;
    size_t hist[8][256]; /* 16 KiB of stack: the library keeps no global state */
    memset(hist, 0, sizeof hist);
    for (size_t i = 0, j = 0; i < n; i++) {
        if (e[i].family != AF_INET) {
            out[n4 + n6++] = e[i];
            continue;
        }
        uint64_t k = (uint64_t)load_be64(e[i].source) | (load_be64(e[i].group) >> 32);
        a[j].key = k;
        a[j].index = i;
        j++;
        for (int d = 0; d < 8; d++)
            hist[d][(k >> (8 * d)) & 0xff]++;
    }
    for (int d = 0; d < 8 && n4; d++) {
        /* A digit shared by every key (the group's 232, a common prefix) needs no pass. */
        if (hist[d][(a[0].key >> (8 * d)) & 0xff] == n4)
            continue;
        size_t pos[256], sum = 0;
        for (int v = 0; v < 256; v++) {
            pos[v] = sum;
            sum += hist[d][v];
        }
        for (size_t i = 0; i < n4; i++)
            b[pos[(a[i].key >> (8 * d)) & 0xff]++] = a[i];
        struct radix_item *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n4; i++)
        out[i] = e[a[i].index];
    intro_sort_all(out + n4, n6);
    memcpy(e, out, n * sizeof *e);
    jf_free(a);
    jf_free(b);
    jf_free(out);
    return 0;
}

void jf_sort(joinfile_entry *e, size_t n)
{
    /* Already sorted input (a canonical file) is the common case: check first. */
    size_t i = 1;
    while (i < n && cmp_entry(&e[i - 1], &e[i]) <= 0)
        i++;
    if (i >= n)
        return;
    if (n >= RADIX_MIN && radix_sort(e, n) == 0)
        return;
    intro_sort_all(e, n);
}

size_t jf_sort_unique(joinfile_entry *e, size_t n)
{
    if (n == 0)
        return 0;
    jf_sort(e, n);
    size_t w = 0;
    for (size_t r = 1; r < n; r++) {
        if (cmp_entry(&e[w], &e[r]) == 0) {
            /* issue 2: duplicates keep the larger population */
            if (e[r].population > e[w].population)
                e[w].population = e[r].population;
        } else {
            e[++w] = e[r];
        }
    }
    return w + 1;
}

int jf_entry_check(const joinfile_entry *e, bool require_ssm)
{
    const uint8_t *s = e->source, *g = e->group;
    if (e->family == AF_INET) {
        static const uint8_t zero12[12];
        if (memcmp(s + 4, zero12, 12) || memcmp(g + 4, zero12, 12))
            return JOINFILE_BAD_SOURCE_ADDRESS;
        if ((s[0] & 0xf0) == 0xe0 || (s[0] == 255 && s[1] == 255 && s[2] == 255 && s[3] == 255))
            return JOINFILE_BAD_SOURCE_NOT_UNICAST;
        if (!s[0] && !s[1] && !s[2] && !s[3])
            return JOINFILE_BAD_SOURCE_UNSPECIFIED;
        if ((g[0] & 0xf0) != 0xe0)
            return JOINFILE_BAD_GROUP_NOT_MULTICAST;
        if (g[0] == 224 && g[1] == 0 && g[2] == 0) /* 224.0.0.0/24, RFC 5771 */
            return JOINFILE_BAD_GROUP_LINK_LOCAL;
        if (require_ssm && g[0] != 232) /* RFC 4607 §1 */
            return JOINFILE_BAD_GROUP_NOT_SSM;
    } else if (e->family == AF_INET6) {
        static const uint8_t zero16[16];
        if (s[0] == 0xff)
            return JOINFILE_BAD_SOURCE_NOT_UNICAST;
        if (!memcmp(s, zero16, 16))
            return JOINFILE_BAD_SOURCE_UNSPECIFIED;
        if (g[0] != 0xff)
            return JOINFILE_BAD_GROUP_NOT_MULTICAST;
        /* RFC 4291 §2.7 scope nibble: 0 reserved, 1 interface-local, 2 link-local. */
        if ((g[1] & 0x0f) <= 2)
            return JOINFILE_BAD_GROUP_LINK_LOCAL;
        if (require_ssm && ((g[1] & 0xf0) != 0x30 || g[2] || g[3])) /* ff3x::/32, RFC 4607 */
            return JOINFILE_BAD_GROUP_NOT_SSM;
    } else {
        return JOINFILE_BAD_FAMILY_MISMATCH;
    }
    if (e->population == 0)
        return JOINFILE_BAD_POPULATION;
    return 0;
}

/* ---- hash index ---- */

static inline uint64_t hash_entry(const joinfile_entry *e)
{
    uint64_t h = (uint64_t)e->family * UINT64_C(0x9e3779b97f4a7c15);
    const uint8_t *parts[4] = {e->source, e->source + 8, e->group, e->group + 8};
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        memcpy(&v, parts[i], sizeof v);
        h ^= v;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    return h;
}

static inline bool same_key(const joinfile_entry *a, const joinfile_entry *b)
{
    return a->family == b->family && !memcmp(a->source, b->source, 16) &&
           !memcmp(a->group, b->group, 16);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find_slot(const joinfile_set *set, const joinfile_entry *key)
{
    size_t mask = set->nslots - 1;
    size_t i = (size_t)hash_entry(key) & mask;
    while (set->slots[i].population && !same_key(&set->slots[i], key))
        i = (i + 1) & mask;
    return i;
}

/* Rebuilds the table with room for `want` entries at a load factor <= 1/2. */
static int rehash(joinfile_set *set, size_t want)
{
    size_t n = 16;
    while (n < want * 2)
        n *= 2;
    joinfile_entry *slots = jf_calloc(n, sizeof *slots);
    if (!slots)
        return JOINFILE_ERR_NOMEM;
    joinfile_entry *old = set->slots;
    size_t old_n = set->nslots;
    set->slots = slots;
    set->nslots = n;
    if (set->hash_valid) {
        for (size_t i = 0; i < old_n; i++)
            if (old[i].population)
                set->slots[find_slot(set, &old[i])] = old[i];
    } else {
        for (size_t i = 0; i < set->count; i++)
            set->slots[find_slot(set, &set->sorted[i])] = set->sorted[i];
    }
    jf_free(old);
    set->hash_valid = true;
    return 0;
}

static int ensure_hash(joinfile_set *set, size_t extra)
{
    if (set->hash_valid && (set->count + extra) * 2 <= set->nslots)
        return 0;
    return rehash(set, set->count + extra);
}

int jf_set_ensure_sorted(joinfile_set *set)
{
    if (set->sorted_valid)
        return 0;
    if (set->sorted_cap < set->count) {
        joinfile_entry *e = jf_reallocarray(set->sorted, set->count, sizeof *e);
        if (!e)
            return JOINFILE_ERR_NOMEM;
        set->sorted = e;
        set->sorted_cap = set->count;
    }
    size_t w = 0;
    for (size_t i = 0; i < set->nslots; i++)
        if (set->slots[i].population)
            set->sorted[w++] = set->slots[i];
    jf_sort(set->sorted, w);
    set->sorted_valid = true;
    return 0;
}

static const joinfile_entry *bsearch_sorted(const joinfile_set *set, const joinfile_entry *key)
{
    size_t lo = 0, hi = set->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_entry(&set->sorted[mid], key);
        if (c == 0)
            return &set->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void jf_set_adopt_sorted(joinfile_set *set, joinfile_entry *e, size_t n, size_t cap)
{
    jf_free(set->sorted);
    jf_free(set->slots);
    set->sorted = e;
    set->sorted_cap = cap;
    set->count = n;
    set->sorted_valid = true;
    set->slots = NULL;
    set->nslots = 0;
    set->hash_valid = false;
}

/* ---- public API ---- */

JOINFILE_EXPORT int joinfile_set_new(joinfile_set **out)
{
    if (!out)
        return JOINFILE_ERR_INVALID;
    joinfile_set *set = jf_calloc(1, sizeof *set);
    if (!set)
        return JOINFILE_ERR_NOMEM;
    set->sorted_valid = true;
    *out = set;
    return 0;
}

JOINFILE_EXPORT void joinfile_set_free(joinfile_set *set)
{
    if (!set)
        return;
    jf_free(set->sorted);
    jf_free(set->slots);
    jf_free(set);
}

JOINFILE_EXPORT size_t joinfile_set_count(const joinfile_set *set)
{
    return set ? set->count : 0;
}

JOINFILE_EXPORT void joinfile_set_clear(joinfile_set *set)
{
    if (!set)
        return;
    set->count = 0;
    set->sorted_valid = true;
    if (set->slots)
        memset(set->slots, 0, set->nslots * sizeof *set->slots);
    set->hash_valid = set->slots != NULL;
}

JOINFILE_EXPORT int joinfile_set_new_from(const joinfile_entry *entries, size_t n,
                                          joinfile_set **out)
{
    if (!out)
        return JOINFILE_ERR_INVALID;
    *out = NULL;
    if (n && !entries)
        return JOINFILE_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (jf_entry_check(&entries[i], false))
            return JOINFILE_ERR_INVALID;
    joinfile_set *set;
    int rc = joinfile_set_new(&set);
    if (rc)
        return rc;
    if (n) {
        /* Sorted (radix sort for large arrays) and deduplicated as a parsed file is: the
         * hash index is built only if a lookup or an add ever needs it. */
        joinfile_entry *e = jf_reallocarray(NULL, n, sizeof *e);
        if (!e) {
            joinfile_set_free(set);
            return JOINFILE_ERR_NOMEM;
        }
        memcpy(e, entries, n * sizeof *e);
        jf_set_adopt_sorted(set, e, jf_sort_unique(e, n), n);
    }
    *out = set;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_copy(joinfile_set *set, joinfile_set **out)
{
    if (!set || !out)
        return JOINFILE_ERR_INVALID;
    int rc = jf_set_ensure_sorted(set);
    if (rc)
        return rc;
    joinfile_set *c;
    if ((rc = joinfile_set_new(&c)))
        return rc;
    if (set->count) {
        joinfile_entry *e = jf_reallocarray(NULL, set->count, sizeof *e);
        if (!e) {
            joinfile_set_free(c);
            return JOINFILE_ERR_NOMEM;
        }
        memcpy(e, set->sorted, set->count * sizeof *e);
        jf_set_adopt_sorted(c, e, set->count, set->count);
    }
    *out = c;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_add(joinfile_set *set, const joinfile_entry *e, int *what)
{
    if (!set || !e || jf_entry_check(e, false))
        return JOINFILE_ERR_INVALID;
    int rc = ensure_hash(set, 1);
    if (rc)
        return rc;
    size_t i = find_slot(set, e);
    joinfile_entry *slot = &set->slots[i];
    if (slot->population) {
        int w = JOINFILE_SET_UNCHANGED;
        if (slot->population != e->population) {
            slot->population = e->population;
            w = JOINFILE_SET_UPDATED;
            if (set->sorted_valid) {
                joinfile_entry *s = (joinfile_entry *)bsearch_sorted(set, e);
                if (s)
                    s->population = e->population;
            }
        }
        if (what)
            *what = w;
        return 0;
    }
    *slot = *e;
    /* An entry that sorts after every other keeps the sorted array valid (producers that
     * add in order, and copies of canonical files, never pay for a re-sort). */
    if (set->sorted_valid && (set->count == 0 || cmp_entry(&set->sorted[set->count - 1], e) < 0)) {
        if (set->sorted_cap <= set->count) {
            size_t cap = set->sorted_cap ? set->sorted_cap * 2 : 16;
            joinfile_entry *ne = jf_reallocarray(set->sorted, cap, sizeof *ne);
            if (!ne) {
                set->sorted_valid = false;
                goto out;
            }
            set->sorted = ne;
            set->sorted_cap = cap;
        }
        set->sorted[set->count] = *e;
    } else {
        set->sorted_valid = false;
    }
out:
    set->count++;
    if (what)
        *what = JOINFILE_SET_INSERTED;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_remove(joinfile_set *set, const joinfile_entry *key)
{
    if (!set || !key)
        return JOINFILE_ERR_INVALID;
    if (set->sorted_valid && !bsearch_sorted(set, key))
        return JOINFILE_ERR_NOT_FOUND;
    int rc = ensure_hash(set, 0);
    if (rc)
        return rc;
    size_t mask = set->nslots - 1;
    size_t i = find_slot(set, key);
    if (!set->slots[i].population)
        return JOINFILE_ERR_NOT_FOUND;
    /* Backward-shift deletion keeps linear probing correct without tombstones. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!set->slots[j].population)
            break;
        size_t home = (size_t)hash_entry(&set->slots[j]) & mask;
        /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            set->slots[i] = set->slots[j];
            i = j;
        }
    }
    memset(&set->slots[i], 0, sizeof set->slots[i]);
    set->count--;
    set->sorted_valid = set->count == 0;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_lookup(const joinfile_set *set, const joinfile_entry *key,
                                        uint32_t *population)
{
    if (!set || !key)
        return JOINFILE_ERR_INVALID;
    const joinfile_entry *found = NULL;
    if (set->sorted_valid) {
        found = bsearch_sorted(set, key);
    } else {
        const joinfile_entry *s = &set->slots[find_slot(set, key)];
        found = s->population ? s : NULL;
    }
    if (!found)
        return JOINFILE_ERR_NOT_FOUND;
    if (population)
        *population = found->population;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_entries(joinfile_set *set, const joinfile_entry **entries,
                                         size_t *count)
{
    if (!set || !entries || !count)
        return JOINFILE_ERR_INVALID;
    int rc = jf_set_ensure_sorted(set);
    if (rc)
        return rc;
    *entries = set->sorted;
    *count = set->count;
    return 0;
}

JOINFILE_EXPORT int joinfile_set_diff(joinfile_set *old_set, joinfile_set *new_set,
                                      joinfile_diff_fn fn, void *user)
{
    if (!fn)
        return JOINFILE_ERR_INVALID;
    int rc;
    if (old_set && (rc = jf_set_ensure_sorted(old_set)))
        return rc;
    if (new_set && (rc = jf_set_ensure_sorted(new_set)))
        return rc;
    const joinfile_entry *a = old_set ? old_set->sorted : NULL;
    const joinfile_entry *b = new_set ? new_set->sorted : NULL;
    size_t na = old_set ? old_set->count : 0, nb = new_set ? new_set->count : 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1 : cmp_entry(&a[i], &b[j]);
        if (c < 0) {
            rc = fn(user, JOINFILE_REMOVED, &a[i++], NULL);
        } else if (c > 0) {
            rc = fn(user, JOINFILE_ADDED, NULL, &b[j++]);
        } else {
            rc = a[i].population != b[j].population ? fn(user, JOINFILE_CHANGED, &a[i], &b[j]) : 0;
            i++;
            j++;
        }
        if (rc)
            return rc;
    }
    return 0;
}
