/* pimparse-internal.h — helpers shared by the library's sources and its unit tests.
 * Not installed. */
#ifndef PIMPARSE_INTERNAL_H
#define PIMPARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pimparse/pimparse.h"

#define PIMPARSE_HIDDEN __attribute__((visibility("hidden")))
/* For the few steps every replayed frame takes, where a call's cost shows (measured with
 * the bench-pimparse benchmark, cachegrind's instruction counts). */
#define PP_INLINE static inline __attribute__((always_inline))

static inline uint16_t pp_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t pp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pp_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pp_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* IANA address family numbers used by PIM Encoded addresses (RFC 7761 §4.9.1). */
#define PP_IANA_AF_IPV4 1
#define PP_IANA_AF_IPV6 2

/* Every allocation of the library goes through these, so unit tests can fail the Nth. */
PIMPARSE_HIDDEN void *pp_malloc(size_t size);
PIMPARSE_HIDDEN void *pp_calloc(size_t n, size_t size);
PIMPARSE_HIDDEN void *pp_realloc(void *p, size_t size);
PIMPARSE_HIDDEN void pp_free(void *p);
/* For the (S,G) tables (pimparse-alloc.c): zero-filled; large ones are mapped huge-page
 * aligned and hinted.  pp_realloc_table grows a table of old_size bytes to size, keeping
 * at least its first `keep` bytes (a large table moves without copying) and, when zero is
 * set, zero-filling the rest; on failure the old block is unchanged.  Free with
 * pp_free_table and the table's current size. */
PIMPARSE_HIDDEN void *pp_malloc_table(size_t size);
PIMPARSE_HIDDEN void *pp_realloc_table(void *p, size_t old_size, size_t keep, size_t size,
                                       int zero);
PIMPARSE_HIDDEN void pp_free_table(void *p, size_t size);
/* Test hook: the n-th allocation from now (1-based) and every later one fail; 0 turns
 * failure injection off.  Returns the number of allocations made since the last call. */
PIMPARSE_HIDDEN unsigned long pp_alloc_fail_at(unsigned long n);

/* Sum of 16-bit big-endian words (odd tail padded with zero), unfolded.  Inline, as
 * every frame is checked twice (IPv4 header, PIM message). */
static inline uint32_t pp_sum16(const uint8_t *data, size_t len, uint32_t sum)
{
    /* RFC 1071 §2(B): the one's complement sum does not depend on byte order, so the
     * words are summed as the host loads them, 8 bytes at a time with the end-around
     * carry added back (§2(C)), and the folded 16-bit result is put into network order
     * at the end. */
    uint64_t acc = 0, acc2 = 0;
    size_t i = 0;
    for (; i + 16 <= len; i += 16) { /* two independent carry chains */
        uint64_t v, w;
        memcpy(&v, data + i, 8);
        memcpy(&w, data + i + 8, 8);
        acc += v;
        acc += acc < v;
        acc2 += w;
        acc2 += acc2 < w;
    }
    if (i + 8 <= len) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        acc2 += v;
        acc2 += acc2 < v;
        i += 8;
    }
    acc += acc2;
    acc += acc < acc2;
    acc = (acc & 0xffffffffu) + (acc >> 32); /* < 2^33 */
    if (i + 4 <= len) {
        uint32_t v;
        memcpy(&v, data + i, 4);
        acc += v;
        i += 4;
    }
    if (i + 2 <= len) {
        uint16_t v;
        memcpy(&v, data + i, 2);
        acc += v;
        i += 2;
    }
    if (i < len) {
        /* The odd last byte is the high byte of a word padded with zero. */
        const uint8_t pad[2] = {data[i], 0};
        uint16_t v;
        memcpy(&v, pad, 2);
        acc += v;
    }
    /* Below 2^34: three folds bring it under 2^16. */
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    uint16_t folded = (uint16_t)acc;
    uint8_t fb[2];
    memcpy(fb, &folded, 2);
    uint64_t be = (uint64_t)sum + ((unsigned)fb[0] << 8 | fb[1]);
    return (uint32_t)((be & 0xffffffffu) + (be >> 32));
}

/* pimparse_checksum(), inline. */
static inline uint16_t pp_checksum(const uint8_t *data, size_t len, uint32_t initial)
{
    uint32_t s = pp_sum16(data, len, initial);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)~s;
}
/* Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1) for next header 103. */
PIMPARSE_HIDDEN uint32_t pp_pseudo6_sum(const uint8_t *src, const uint8_t *dst, uint32_t len);

/* Whether an address (family PIMPARSE_AF_*, bytes b; an IPv4 address is b[0..4)) is a
 * multicast / link-local-scope group / SSM-range group / unicast address.  They take the
 * bytes so that Join/Prune entries are checked where they lie in the message. */
static inline int pp_is_multicast(uint8_t family, const uint8_t *b)
{
    if (family == PIMPARSE_AF_IPV4)
        return (b[0] & 0xf0) == 0xe0;
    if (family == PIMPARSE_AF_IPV6)
        return b[0] == 0xff;
    return 0;
}

static inline int pp_is_link_local_group(uint8_t family, const uint8_t *b)
{
    /* 224.0.0.0/24 is never forwarded (RFC 5771 §4); IPv6 scopes 0 (reserved),
     * 1 (interface-local) and 2 (link-local) never leave the link (RFC 4291 §2.7). */
    if (family == PIMPARSE_AF_IPV4)
        return b[0] == 224 && b[1] == 0 && b[2] == 0;
    if (family == PIMPARSE_AF_IPV6)
        return b[0] == 0xff && (b[1] & 0x0f) <= 2;
    return 0;
}

static inline int pp_is_ssm(uint8_t family, const uint8_t *b)
{
    /* RFC 4607 §1: 232/8 and FF3x::/32. */
    if (family == PIMPARSE_AF_IPV4)
        return b[0] == 232;
    if (family == PIMPARSE_AF_IPV6)
        return b[0] == 0xff && (b[1] & 0xf0) == 0x30 && b[2] == 0 && b[3] == 0;
    return 0;
}

static inline int pp_is_unicast(uint8_t family, const uint8_t *b)
{
    /* Not multicast, not unspecified, and for IPv4 not the limited broadcast. */
    if (family == PIMPARSE_AF_IPV4) {
        uint32_t v = pp_get32(b);
        return (b[0] & 0xf0) != 0xe0 && v != 0 && v != UINT32_MAX;
    }
    if (family == PIMPARSE_AF_IPV6) {
        uint8_t any = 0;
        for (int i = 0; i < 16; i++)
            any |= b[i];
        return b[0] != 0xff && any != 0;
    }
    return 0;
}

static inline int pp_addr_is_multicast(const pimparse_addr *a)
{
    return pp_is_multicast(a->family, a->bytes);
}

static inline int pp_addr_is_link_local_group(const pimparse_addr *a)
{
    return pp_is_link_local_group(a->family, a->bytes);
}

static inline int pp_addr_is_ssm(const pimparse_addr *a)
{
    return pp_is_ssm(a->family, a->bytes);
}

static inline int pp_addr_is_unicast(const pimparse_addr *a)
{
    return pp_is_unicast(a->family, a->bytes);
}

/* Reads an Encoded-Unicast address at p (avail bytes available).  Returns its encoded
 * length (6 or 18) or a negative PIMPARSE_ERR_*. */
PIMPARSE_HIDDEN int pp_read_encoded_unicast(const uint8_t *p, size_t avail, pimparse_addr *out);

/* ---- the (S,G) hash (pimparse-state.c's table; the Join/Prune walk hashes ahead) ---- */

static inline uint64_t pp_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t pp_fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static inline uint64_t pp_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Mixes every address bit: SSM groups share 232/8 and sources share prefixes, so a hash
 * over a few bytes would collapse into a few chains.  IPv4 keys have zeros in bytes 4-15
 * (every caller clears them), so only their first four bytes are read: the key was just
 * written as 4 bytes beside a cleared tail, and 8-byte loads across those stores would
 * stall on store forwarding. */
static inline uint32_t pp_hash_sg(uint64_t seed, uint8_t family, const uint8_t *s,
                                  const uint8_t *g)
{
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = seed ^ ((uint64_t)family * k);
    if (family == PIMPARSE_AF_IPV4) {
        h = (h ^ pp_load32(s)) * k;
        h = (h ^ (h >> 29) ^ pp_load32(g)) * k;
        return (uint32_t)pp_fmix64(h);
    }
    h = (h ^ pp_load64(s)) * k;
    h = (h ^ (h >> 29) ^ pp_load64(s + 8)) * k;
    h = (h ^ (h >> 29) ^ pp_load64(g)) * k;
    h = (h ^ (h >> 29) ^ pp_load64(g + 8)) * k;
    return (uint32_t)pp_fmix64(h);
}

/* pimparse_jp_decode(), also storing in hash[0..*n) the pp_hash_sg() of the message's
 * first entries without W or R (at most max of them; *n = 0 on failure). */
PIMPARSE_HIDDEN int pp_jp_decode(const pimparse_packet *pkt, pimparse_jp *jp, uint64_t seed,
                                 uint32_t *hash, unsigned max, unsigned *n);

/* Batched frame input for the replay driver (pimparse-state.c, "batched input"). */
#define PP_AHEAD_MAX 4
#define PP_AHEAD_NO_JP 1 /* pp_ahead.jp_rc: the frame is not a decoded Join/Prune */
struct pp_ahead {
    int jp_rc;      /* pimparse_jp_decode() result, or PP_AHEAD_NO_JP */
    pimparse_jp jp; /* when jp_rc is 0: the validated message, iterator at its start */
    unsigned n;
    uint32_t hash[PP_AHEAD_MAX]; /* hashes of the message's first n (S,G) entries */
};
/* Decodes a frame as pimparse_state_process_frame() would, Join/Prune included, and
 * prefetches the hash slots of its first (S,G)s.  Returns the frame decode result for
 * pp_state_process_decoded(). */
PIMPARSE_HIDDEN int pp_state_decode_ahead(pimparse_state *st, int linktype,
                                          const uint8_t *frame, size_t len,
                                          pimparse_packet *pkt, struct pp_ahead *ah);
/* Prefetches the entries those slots point to (call a few frames before processing). */
PIMPARSE_HIDDEN void pp_state_prefetch_entries(const pimparse_state *st,
                                               const struct pp_ahead *ah);
/* Whether the tables have grown past the caches, so that decoding ahead pays. */
PIMPARSE_HIDDEN int pp_state_prefetch_pays(const pimparse_state *st);
/* pimparse_state_process_frame() for a frame decoded by pp_state_decode_ahead(). */
PIMPARSE_HIDDEN int pp_state_process_decoded(pimparse_state *st, int decode_rc,
                                             const pimparse_packet *pkt,
                                             const struct pp_ahead *ah, size_t len,
                                             uint64_t now);

/* Test hooks: the hash of an (S,G) (as the table computes it) and the slot count. */
PIMPARSE_HIDDEN uint32_t pp_state_hash(const pimparse_state *st, const pimparse_addr *source,
                                       const pimparse_addr *group);
PIMPARSE_HIDDEN uint32_t pp_state_slots(const pimparse_state *st);
/* Test hook: how many entries the allocated segments hold. */
PIMPARSE_HIDDEN uint32_t pp_state_entry_capacity(const pimparse_state *st);

#endif
