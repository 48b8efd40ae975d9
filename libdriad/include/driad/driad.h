/* driad.h — DNS Reverse IP AMT Discovery (RFC 8777): find the AMT relays for a multicast
 * source address.
 *
 * Two layers:
 *
 *  - A sans-I/O core: reverse names (§2.1, §3.4), the AMTRELAY RDATA decoder (§4.2), DNS
 *    query building and answer parsing with CNAME/DNAME walking (§3.4), candidate
 *    ordering with an injected RNG and hold-down (§3.1.2, §3.3.4.1).  No sockets, no
 *    clock, no hidden randomness.
 *  - An async driver (driad_resolver) that owns the UDP/TCP sockets and exposes one fd,
 *    process(now) and get_expiry() for the caller's event loop, plus a TTL cache and a
 *    blocking convenience call built on it (driad_lookup_sync).
 *
 * Conventions: 0 = success; negative DRIAD_ERR_* codes (from -201 down) or -errno from
 * the driver; times are uint64_t nanoseconds of CLOCK_MONOTONIC; addresses are
 * struct driad_ip values of either family.  Data handed to a callback is borrowed for the
 * duration of the call.  Libraries never print: log lines go to the settings callback. */
#ifndef DRIAD_DRIAD_H
#define DRIAD_DRIAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DRIAD_EXPORT __attribute__((visibility("default")))
#else
#define DRIAD_EXPORT
#endif

#define DRIAD_NS_PER_MS UINT64_C(1000000)
#define DRIAD_NS_PER_S UINT64_C(1000000000)
#define DRIAD_MS(x) ((uint64_t)(x) * DRIAD_NS_PER_MS)
#define DRIAD_S(x) ((uint64_t)(x) * DRIAD_NS_PER_S)
/* "No deadline", as returned by driad_resolver_get_expiry(). */
#define DRIAD_NEVER UINT64_MAX

/* Error codes (negative).  driad_strerror() names each. */
enum driad_error {
    DRIAD_ERR_INVALID_ARGUMENT = -201,
    DRIAD_ERR_NOMEM = -202,
    DRIAD_ERR_BUFFER_TOO_SMALL = -203,
    /* AMTRELAY RDATA (RFC 8777 §4.2) */
    DRIAD_ERR_RDATA_SHORT = -210,        /* fewer than 2 octets */
    DRIAD_ERR_RDATA_LENGTH = -211,       /* length does not fit the relay type */
    DRIAD_ERR_NAME_LABEL = -212,         /* bad label length or label runs past RDATA */
    DRIAD_ERR_NAME_COMPRESSED = -213,    /* compression pointer (RFC 3597 §4 forbids it) */
    DRIAD_ERR_NAME_UNTERMINATED = -214,  /* no root label at the end of RDATA */
    DRIAD_ERR_NAME_TRAILING = -215,      /* octets after the root label */
    DRIAD_ERR_NAME_TOO_LONG = -216,      /* name longer than 255 octets */
    /* DNS messages */
    DRIAD_ERR_PACKET = -220,             /* not a parseable DNS message */
    DRIAD_ERR_NOT_RESPONSE = -221,       /* QR bit clear or opcode not QUERY */
    DRIAD_ERR_ID_MISMATCH = -222,        /* answer ID differs from the query ID */
    DRIAD_ERR_QUESTION_MISMATCH = -223,  /* answer question differs from the query */
    DRIAD_ERR_TRUNCATED = -224,          /* TC set: retry over TCP */
    DRIAD_ERR_SERVFAIL = -225,
    DRIAD_ERR_REFUSED = -226,
    DRIAD_ERR_RCODE = -227,              /* any other non-NOERROR/NXDOMAIN rcode */
    DRIAD_ERR_CHAIN_TOO_LONG = -228,     /* more than DRIAD_MAX_CHAIN CNAME/DNAME hops */
    DRIAD_ERR_CHAIN_LOOP = -229,         /* a CNAME/DNAME chain revisits a name */
    /* driver */
    DRIAD_ERR_TIMEOUT = -240,            /* no usable answer before the lookup deadline */
    DRIAD_ERR_NO_SERVER = -241,          /* no resolver configured or usable */
    DRIAD_ERR_CANCELLED = -242,          /* driad_resolver_free() with the lookup pending */
    DRIAD_ERR_TCP = -243,                /* TCP connection to the server failed */
    DRIAD_ERR_CONFIG = -244,             /* resolv.conf unreadable or without servers */
};

/* Runtime version string ("0.1.0"). */
DRIAD_EXPORT const char *driad_version(void);
/* Static text for a DRIAD_ERR_* code or -errno; never NULL. */
DRIAD_EXPORT const char *driad_strerror(int err);

/* Log callback (STYLE.md): syslog level (LOG_ERR .. LOG_DEBUG) and one line without a
 * trailing newline. */
typedef void (*driad_log_fn)(void *user, int level, const char *msg);
/* Random source: a uniformly distributed 32-bit value. */
typedef uint32_t (*driad_random_fn)(void *user);

/* ---------------------------------------------------------------- addresses, names */

/* An IPv4 or IPv6 address: family is AF_INET (addr[0..3] used) or AF_INET6. */
struct driad_ip {
    int family;
    uint8_t addr[16];
};

/* Text length big enough for any address driad_ip_format() writes (INET6_ADDRSTRLEN). */
#define DRIAD_IP_TEXT_MAX 46
/* Wire-format domain name limit (RFC 1035 §2.3.4) and the text buffer that holds any
 * name driad_name_format() writes (every octet may become a 4-character \DDD escape). */
#define DRIAD_NAME_WIRE_MAX 255
#define DRIAD_NAME_TEXT_MAX 1024
/* CNAME/DNAME hops allowed for one lookup, summed over every answer (spec §3 step 4). */
#define DRIAD_MAX_CHAIN 8

/* Parses IPv4 dotted-quad or IPv6 text.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
 * normalised to IPv4 (its DRIAD name is the in-addr.arpa one).  0 or
 * DRIAD_ERR_INVALID_ARGUMENT. */
DRIAD_EXPORT int driad_ip_parse(const char *text, struct driad_ip *out);
/* Canonical text (RFC 5952 for IPv6).  0, DRIAD_ERR_INVALID_ARGUMENT or
 * DRIAD_ERR_BUFFER_TOO_SMALL. */
DRIAD_EXPORT int driad_ip_format(const struct driad_ip *ip, char *buf, size_t size);
/* true when both are the same family and address. */
DRIAD_EXPORT bool driad_ip_equal(const struct driad_ip *a, const struct driad_ip *b);

/* The absolute reverse-mapping name of a source (RFC 8777 §2.1): in-addr.arpa with the
 * octets reversed (RFC 1035 §3.5) or ip6.arpa with 32 nibbles reversed (RFC 3596 §2.5).
 * Writes the text form with the trailing dot.  Returns its length (without the NUL) or
 * DRIAD_ERR_INVALID_ARGUMENT / DRIAD_ERR_BUFFER_TOO_SMALL (73 octets suffice). */
DRIAD_EXPORT int driad_reverse_name(const struct driad_ip *source, char *buf, size_t size);
/* Same, in wire format (at most DRIAD_NAME_WIRE_MAX octets); returns the length. */
DRIAD_EXPORT int driad_reverse_name_wire(const struct driad_ip *source, uint8_t *buf,
                                         size_t size);

/* Formats an uncompressed wire-format name as absolute presentation text ("a.example.")
 * with RFC 4343 §2.1 escapes (\. \\ and \DDD for non-printable octets); the root name is
 * ".".  The name must end with the root label.  Returns the text length or
 * DRIAD_ERR_NAME_* / DRIAD_ERR_BUFFER_TOO_SMALL. */
DRIAD_EXPORT int driad_name_format(const uint8_t *wire, size_t len, char *buf, size_t size);
/* Parses presentation text (absolute or not: a missing trailing dot is implied) into wire
 * format.  Returns the wire length or DRIAD_ERR_INVALID_ARGUMENT / DRIAD_ERR_NAME_*. */
DRIAD_EXPORT int driad_name_parse(const char *text, uint8_t *wire, size_t size);

/* ---------------------------------------------------------------- AMTRELAY RDATA */

#define DRIAD_TYPE_A 1
#define DRIAD_TYPE_CNAME 5
#define DRIAD_TYPE_SOA 6
#define DRIAD_TYPE_AAAA 28
#define DRIAD_TYPE_DNAME 39
#define DRIAD_TYPE_AMTRELAY 260

/* Relay types (RFC 8777 §4.2.3; 4-127 unassigned, IANA registry per Errata 6688). */
enum driad_relay_type {
    DRIAD_RELAY_NONE = 0, /* "no AMT relay for this source" */
    DRIAD_RELAY_IPV4 = 1,
    DRIAD_RELAY_IPV6 = 2,
    DRIAD_RELAY_NAME = 3,
};

/* One decoded AMTRELAY record. */
struct driad_record {
    uint8_t precedence;      /* lower is tried first (§4.2.1) */
    bool discovery_optional; /* D bit (§4.2.2) */
    uint8_t type;            /* 0..127; 4..127 are kept but never used (§4.2.3) */
    struct driad_ip ip;      /* types 1 and 2 */
    uint8_t name_len;        /* type 3: wire name, always ending in the root label */
    uint8_t name[DRIAD_NAME_WIRE_MAX];
    uint32_t ttl;            /* TTL of the RR (0 when decoded from bare RDATA) */
};

/* Accept a type-3 relay name that runs to the end of RDATA without its root label, as
 * long as every label fits exactly (deployed in the wild: spec/driad.md §1.5, W10).
 * Without this flag such a record is rejected with DRIAD_ERR_NAME_UNTERMINATED: RFC 8777
 * §4.2.3 and RFC 1035 §3.3 require the root label, and BIND rejects the reply. */
#define DRIAD_FLAG_LENIENT_NAMES 0x1u

/* Decodes AMTRELAY RDATA (RFC 8777 §4.2).  Returns 0 or the reason the record is
 * malformed (DRIAD_ERR_RDATA_*, DRIAD_ERR_NAME_*); *out is undefined on error. */
DRIAD_EXPORT int driad_rdata_decode(const uint8_t *rdata, size_t len, unsigned flags,
                                    struct driad_record *out);
/* Presentation form (§4.3.1): "10 0 1 203.0.113.15", "0 0 0 .", "128 1 3 a.example.".
 * Returns the text length, DRIAD_ERR_BUFFER_TOO_SMALL, or DRIAD_ERR_INVALID_ARGUMENT for
 * unassigned relay types (they have no presentation form besides RFC 3597's). */
DRIAD_EXPORT int driad_record_format(const struct driad_record *rec, char *buf, size_t size);

/* ---------------------------------------------------------------- DNS messages */

/* Builds a query (QUERY, one question, class IN, EDNS0 with edns_udp_size when non-zero)
 * with ldns.  qname is a wire name.  Returns the message length or a negative code. */
DRIAD_EXPORT int driad_query_build(const uint8_t *qname, size_t qname_len, uint16_t qtype,
                                   uint16_t id, bool recursion_desired,
                                   uint16_t edns_udp_size, uint8_t *buf, size_t size);

enum driad_answer_kind {
    DRIAD_ANSWER_DATA,     /* RRs of the asked type at `target` are in records/addrs */
    DRIAD_ANSWER_NXDOMAIN, /* `target` does not exist */
    DRIAD_ANSWER_NODATA,   /* `target` exists without RRs of the asked type */
    DRIAD_ANSWER_CHAIN,    /* the chain leaves what the server answered: query `target` */
};

/* Result of driad_answer_parse().  The caller provides the arrays and their capacity;
 * records that do not fit are counted in n_dropped. */
struct driad_answer {
    enum driad_answer_kind kind;
    uint8_t target_len;
    uint8_t target[DRIAD_NAME_WIRE_MAX]; /* end of the CNAME/DNAME chain (wire) */
    unsigned hops;                       /* CNAME/DNAME steps taken inside this answer */
    uint32_t ttl;      /* DATA/CHAIN: min TTL over the chain and data; NXDOMAIN/NODATA:
                        * RFC 2308 §5 negative TTL (min of SOA TTL and MINIMUM), 0 when
                        * the answer carries no SOA */
    bool authoritative;
    /* AMTRELAY answers: every well-formed record (malformed ones are logged and counted,
     * never stop the others: spec §1.5). */
    struct driad_record *records;
    size_t records_cap, n_records;
    size_t n_malformed;
    int first_malformed; /* reason of the first malformed record, 0 if none */
    /* A / AAAA answers */
    struct driad_ip *addrs;
    size_t addrs_cap, n_addrs;
    size_t n_dropped;
};

/* Parses an answer to a query built with (id, qname, qtype) and walks its CNAME/DNAME
 * chain (RFC 8777 §3.4) starting at qname; hop_budget limits the steps (the rest of
 * DRIAD_MAX_CHAIN).  Checks, because ldns does not: the ID, QR/opcode, the question
 * (name case-insensitively, type, class IN) and the rcode.  `answer` must have its arrays
 * set (records for AMTRELAY, addrs for A/AAAA; capacity 0 is allowed).
 * Returns 0 or DRIAD_ERR_PACKET, _NOT_RESPONSE, _ID_MISMATCH, _QUESTION_MISMATCH,
 * _TRUNCATED, _SERVFAIL, _REFUSED, _RCODE, _CHAIN_TOO_LONG, _CHAIN_LOOP, or
 * _NAME_TOO_LONG (a DNAME substitution longer than 255 octets, RFC 6672 §2.2).
 * log may be NULL; malformed records are logged at LOG_WARNING with the owner name. */
DRIAD_EXPORT int driad_answer_parse(const uint8_t *wire, size_t len, uint16_t id,
                                    const uint8_t *qname, size_t qname_len, uint16_t qtype,
                                    unsigned hop_budget, unsigned flags,
                                    struct driad_answer *answer, driad_log_fn log,
                                    void *log_user);

/* ---------------------------------------------------------------- candidates */

/* Address families a caller accepts for relays. */
enum driad_family { DRIAD_FAMILY_ANY = 0, DRIAD_FAMILY_V4 = 4, DRIAD_FAMILY_V6 = 6 };

/* One relay address to try. */
struct driad_candidate {
    struct driad_ip address;
    uint8_t precedence;
    bool discovery_optional;
    uint8_t type;          /* 1, 2 or 3 */
    bool held_down;        /* under hold-down: sorted after every usable candidate */
    size_t record;         /* index of the AMTRELAY record it comes from */
};

/* Hold-down table (RFC 8777 §3.3.4.1: a relay that failed is not used again for 3-10
 * minutes).  Opaque; bounded by its capacity (the oldest entry is replaced when full). */
typedef struct driad_holddown driad_holddown;
DRIAD_EXPORT int driad_holddown_new(size_t capacity, driad_holddown **out);
DRIAD_EXPORT void driad_holddown_free(driad_holddown *hd);
/* Holds `relay` down until the absolute time `until`.  0 or DRIAD_ERR_INVALID_ARGUMENT. */
DRIAD_EXPORT int driad_holddown_add(driad_holddown *hd, const struct driad_ip *relay,
                                    uint64_t until);
DRIAD_EXPORT void driad_holddown_clear(driad_holddown *hd, const struct driad_ip *relay);
/* true while relay is held down at time now. */
DRIAD_EXPORT bool driad_holddown_active(const driad_holddown *hd, const struct driad_ip *relay,
                                        uint64_t now);

struct driad_order_opts {
    driad_random_fn random; /* required: tie-break among equal precedence (§3.1.2) */
    void *random_user;
    bool interleave;         /* alternate IPv6/IPv4 inside a precedence (RFC 8305 §4) */
    const driad_holddown *holddown; /* may be NULL */
    uint64_t now;
};

/* Sorts candidates in place into RFC 8777 §3.1.2 order: precedence ascending; equal
 * precedence in pseudorandom order from opts->random; then, when interleave is set,
 * IPv6 and IPv4 alternate inside each precedence starting with IPv6; finally candidates
 * under hold-down move after all others (keeping their relative order) with held_down set.
 * Returns 0, DRIAD_ERR_INVALID_ARGUMENT or DRIAD_ERR_NOMEM. */
DRIAD_EXPORT int driad_candidates_order(struct driad_candidate *c, size_t n,
                                        const struct driad_order_opts *opts);

/* ---------------------------------------------------------------- results */

enum driad_status {
    DRIAD_FOUND = 0,         /* at least one usable candidate */
    DRIAD_NO_RECORD = 1,     /* NXDOMAIN / NODATA at the end of the chain */
    DRIAD_NO_RELAY = 2,      /* type 0 at the best precedence: use no relay */
    DRIAD_ONLY_UNUSABLE = 3, /* records exist but none gives an address */
    DRIAD_DNS_ERROR = 4,     /* SERVFAIL, REFUSED, timeout, malformed reply, chain */
};
DRIAD_EXPORT const char *driad_status_name(enum driad_status s);

/* Outcome of one lookup. */
struct driad_result {
    struct driad_ip source;
    int family;              /* enum driad_family the lookup was made with */
    enum driad_status status;
    int error;               /* DRIAD_DNS_ERROR: the reason; otherwise 0 */
    /* Every well-formed AMTRELAY record (unknown types included), sorted by precedence,
     * in answer order within a precedence.  candidates[i].record indexes this array. */
    const struct driad_record *records;
    size_t n_records;
    size_t n_malformed;      /* malformed records seen (logged, ignored) */
    /* Candidates in preference order (driad_candidates_order()). */
    const struct driad_candidate *candidates;
    size_t n_candidates;
    uint64_t expires;        /* cache deadline (CLOCK_MONOTONIC ns); 0 = not cached */
    bool from_cache;
};

/* Deep copy of a result (the callback's result is borrowed).  0 or DRIAD_ERR_NOMEM. */
DRIAD_EXPORT int driad_result_dup(const struct driad_result *r, struct driad_result **out);
DRIAD_EXPORT void driad_result_free(struct driad_result *r);

/* ---------------------------------------------------------------- resolver (driver) */

/* A resolver address.  port 0 means 53. */
struct driad_server {
    struct driad_ip ip;
    uint16_t port;
};

/* Parses "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353".  A port in
 * the text overrides default_port.  0 or DRIAD_ERR_INVALID_ARGUMENT. */
DRIAD_EXPORT int driad_server_parse(const char *text, uint16_t default_port,
                                    struct driad_server *out);

/* Settings.  Initialise with driad_settings_init() and change what you need; struct_size
 * lets later versions append fields. */
struct driad_settings {
    size_t struct_size;
    /* Servers; when n_servers is 0 the nameserver lines of resolv_conf are used
     * (port: default_port). */
    const struct driad_server *servers;
    size_t n_servers;
    const char *resolv_conf;   /* default "/etc/resolv.conf" */
    uint16_t default_port;     /* default 53 */
    bool recursion_desired;    /* default true: RD set, for a recursive resolver */
    uint16_t edns_udp_size;    /* default 1232; 0 = no EDNS (512-octet answers) */
    /* Retransmission, RFC 8777 §3.5: the n-th retry waits a random time in
     * [retrans_initial, min(retrans_initial * 2^n, retrans_max)]. */
    uint64_t retrans_initial;  /* default 1 s */
    uint64_t retrans_max;      /* default 8 s */
    unsigned attempts;         /* sends per query over all servers, default 4 */
    uint64_t lookup_timeout;   /* whole lookup, default 10 s */
    /* Query rate limit, RFC 8777 §3.2.2: at most rate_queries per rate_interval
     * (default 10 per 100 ms).  rate_queries 0 disables the limit (only for local
     * servers you run yourself, e.g. benchmarks). */
    unsigned rate_queries;
    uint64_t rate_interval;
    unsigned max_in_flight;    /* queries outstanding at once, default 100 */
    /* TTL cache of results; 0 entries disables it. */
    size_t cache_entries;      /* default 1024 */
    uint32_t max_ttl;          /* cap on positive TTLs, default 86400 s */
    uint32_t max_negative_ttl; /* cap on RFC 2308 negative TTLs, default 900 s */
    size_t holddown_entries;   /* default 256 */
    unsigned flags;            /* DRIAD_FLAG_* */
    bool interleave;           /* default true: Happy-Eyeballs address interleaving */
    driad_random_fn random;    /* NULL: getrandom(2).  Query IDs and tie-breaks. */
    void *random_user;
    driad_log_fn log;          /* may be NULL */
    void *log_user;
};

DRIAD_EXPORT void driad_settings_init(struct driad_settings *s);

typedef struct driad_resolver driad_resolver;

/* Called once per lookup with its result (borrowed for the call).  The callback may
 * start new lookups; it must not free the resolver. */
typedef void (*driad_result_fn)(void *user, const struct driad_result *result);

/* Creates a resolver: reads resolv.conf when no servers are given, opens its sockets.
 * The settings are copied.  0, DRIAD_ERR_NOMEM, DRIAD_ERR_CONFIG, DRIAD_ERR_NO_SERVER,
 * DRIAD_ERR_INVALID_ARGUMENT or -errno. */
DRIAD_EXPORT int driad_resolver_new(const struct driad_settings *s, driad_resolver **out);
/* Cancels pending lookups (their callbacks run with DRIAD_ERR_CANCELLED) and frees.
 * NULL is allowed. */
DRIAD_EXPORT void driad_resolver_free(driad_resolver *r);

/* Starts a lookup of the relays for `source`, relay addresses restricted to `family`.
 * The result is delivered by cb from a later driad_resolver_process() call (also for
 * cache hits), never from inside this function.  `now` is the current CLOCK_MONOTONIC
 * time.  0, DRIAD_ERR_INVALID_ARGUMENT or DRIAD_ERR_NOMEM. */
DRIAD_EXPORT int driad_resolver_lookup(driad_resolver *r, uint64_t now,
                                       const struct driad_ip *source, enum driad_family family,
                                       driad_result_fn cb, void *user);

/* The fd to watch for input (an epoll fd covering every socket). */
DRIAD_EXPORT int driad_resolver_get_fd(const driad_resolver *r);
/* Reads answers, retransmits, sends queued queries within the rate limit, delivers
 * results.  Call when the fd is readable or the expiry has passed.  0 or -errno when the
 * sockets fail. */
DRIAD_EXPORT int driad_resolver_process(driad_resolver *r, uint64_t now);
/* Absolute time process() must next be called at; DRIAD_NEVER when idle. */
DRIAD_EXPORT uint64_t driad_resolver_get_expiry(const driad_resolver *r);
/* Lookups started and not yet delivered. */
DRIAD_EXPORT size_t driad_resolver_pending(const driad_resolver *r);

/* Per-relay hold-down (RFC 8777 §3.3.4.1, 3-10 minutes after a relay failed): until
 * `until`, the relay is sorted after every other candidate in the results of this
 * resolver, cached ones included.  0 or DRIAD_ERR_INVALID_ARGUMENT. */
DRIAD_EXPORT int driad_resolver_holddown(driad_resolver *r, const struct driad_ip *relay,
                                         uint64_t until);
DRIAD_EXPORT void driad_resolver_holddown_clear(driad_resolver *r, const struct driad_ip *relay);
/* Drops every cached result. */
DRIAD_EXPORT void driad_resolver_cache_flush(driad_resolver *r);

/* Blocking convenience call: one lookup on a private resolver built from `s` (NULL:
 * defaults), waiting with poll(2) on the same driver.  On 0, *out holds the result
 * (free with driad_result_free()); DNS failures are a result with status DRIAD_DNS_ERROR.
 * Returns a negative code only when the resolver cannot be set up. */
DRIAD_EXPORT int driad_lookup_sync(const struct driad_settings *s, const struct driad_ip *source,
                                   enum driad_family family, struct driad_result **out);

#ifdef __cplusplus
}
#endif

#endif
