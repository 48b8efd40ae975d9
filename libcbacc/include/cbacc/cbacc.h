/* cbacc.h — CBACC bandwidth admission with DORMS metadata (draft-ietf-mboned-cbacc,
 * draft-ietf-mboned-dorms).
 *
 * Three parts, usable separately:
 *
 *  - Admission (pure): cbacc_admit() decides which joined (S,G)s fit a bandwidth limit,
 *    exactly as the project's specification (spec/cbacc-dorms.md §7) describes.
 *    cbacc_engine wraps it with the state that must survive between evaluations (the
 *    previous decision and the hold-down table).
 *  - Decoders (pure): DORMS/CBACC JSON bodies, RESTCONF error bodies, YANG library
 *    modules-state, host-meta (XRD XML and JSON), rate strings.
 *  - Fetcher (driver): finds the DORMS server of each source (DNS SRV or a static
 *    override), fetches and refreshes each flow's metadata over HTTPS with libcurl's
 *    multi interface, and plugs into the caller's event loop through
 *    cbacc_fetcher_get_fd() / cbacc_fetcher_process(now) / cbacc_fetcher_get_expiry().
 *
 * Units: every rate is bit/s in a uint64_t.  Every time is uint64_t nanoseconds of
 * CLOCK_MONOTONIC supplied by the caller.  Errors are negative CBACC_ERR_* codes (from
 * -201 down) or -errno from the driver; cbacc_strerror() names them.
 *
 * Memory: the library copies what it keeps; pointers handed to callbacks are valid for
 * the duration of the call only. */
#ifndef CBACC_CBACC_H
#define CBACC_CBACC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CBACC_EXPORT __attribute__((visibility("default")))
#else
#define CBACC_EXPORT
#endif

#define CBACC_VERSION "0.1.0"

#define CBACC_NS_PER_MS UINT64_C(1000000)
#define CBACC_NS_PER_S UINT64_C(1000000000)
/* "No deadline" for every expiry and wake-up value. */
#define CBACC_NEVER UINT64_MAX

/* Default priority of a flow without a priority leaf (ietf-cbacc: default 256). */
#define CBACC_DEFAULT_PRIORITY 256
/* Hold-down defaults (draft-ietf-mboned-cbacc §2.1.6: no less than 2.5 min, desync ≥ 30 s). */
#define CBACC_DEFAULT_HOLD_DOWN_NS (UINT64_C(150) * CBACC_NS_PER_S)
#define CBACC_DEFAULT_HOLD_DESYNC_NS (UINT64_C(30) * CBACC_NS_PER_S)

enum cbacc_error {
    CBACC_ERR_NOMEM = -201,        /* an allocation failed */
    CBACC_ERR_INVALID = -202,      /* invalid argument */
    CBACC_ERR_SYNTAX = -203,       /* body is not well-formed JSON / XML */
    CBACC_ERR_SCHEMA = -204,       /* well-formed, but not the expected shape or a bad value */
    CBACC_ERR_NO_RATE = -205,      /* CBACC container without max-speed / max-bits-per-second */
    CBACC_ERR_RANGE = -206,        /* number out of range */
    CBACC_ERR_RESTCONF = -207,     /* an ietf-restconf:errors body */
    CBACC_ERR_NOT_FOUND = -208,    /* HTTP 404 / no data for the (S,G) */
    CBACC_ERR_NO_SERVER = -209,    /* no SRV record / NXDOMAIN / SRV target "." */
    CBACC_ERR_DNS = -210,          /* DNS timeout, SERVFAIL, malformed answer */
    CBACC_ERR_TRANSPORT = -211,    /* TCP/TLS failure, timeout, HTTP 5xx */
    CBACC_ERR_HTTP = -212,         /* other unexpected HTTP status */
    CBACC_ERR_TOO_LARGE = -213,    /* body larger than the cap (64 KiB) */
    CBACC_ERR_NO_RESTCONF = -214,  /* host-meta without a restconf link */
};

/* Name of an error code (CBACC_ERR_* or -errno).  Never NULL. */
CBACC_EXPORT const char *cbacc_strerror(int err);
/* Library version string, e.g. "0.1.0". */
CBACC_EXPORT const char *cbacc_version(void);

/* Log callback (STYLE.md): one complete line without newline, syslog level. */
typedef void (*cbacc_log_fn)(void *user, int syslog_level, const char *msg);
/* Uniform random integer in [0, bound] (inclusive).  Used for hold-down desynchronisation,
 * no-cache refresh jitter, retry jitter and RFC 2782 weighted ordering; tests inject a
 * deterministic one. */
typedef uint64_t (*cbacc_random_fn)(void *user, uint64_t bound);

/* ---- (S,G) --------------------------------------------------------------------------- */

/* One channel.  family is 4 or 6; addresses are in network byte order, an IPv4 address in
 * the first 4 bytes (rest zero). */
typedef struct cbacc_sg {
    uint8_t family;
    uint8_t source[16];
    uint8_t group[16];
} cbacc_sg;

/* Parses "S,G" (whitespace around the fields allowed).  Source and group must be the same
 * family.  Returns 0 or CBACC_ERR_INVALID. */
CBACC_EXPORT int cbacc_sg_parse(const char *text, cbacc_sg *out);
/* Formats canonical "S,G" (RFC 5952 for IPv6) into buf (at least 96 bytes).  Returns buf. */
CBACC_EXPORT char *cbacc_sg_format(const cbacc_sg *sg, char *buf, size_t size);
/* Orders by family (IPv4 first), then source, then group as unsigned big-endian numbers. */
CBACC_EXPORT int cbacc_sg_compare(const cbacc_sg *a, const cbacc_sg *b);

/* ---- Rates ----------------------------------------------------------------------------- */

/* Parses a rate in bit/s: a decimal number (optionally with a fraction) and an optional
 * suffix: k, M, G (×1000, ×1000², ×1000³) or Ki, Mi, Gi (×1024, ×1024², ×1024³).  A bare
 * number is bit/s.  (The old Python cbacc's `--bandwidth 50` multiplied by 2^20 and compared
 * with bit/s: it meant 50 Mibit/s, which is "50Mi" here.)  The result is rounded down to
 * a whole bit/s and must not overflow.  Returns 0 or CBACC_ERR_INVALID / CBACC_ERR_RANGE. */
CBACC_EXPORT int cbacc_rate_parse(const char *text, uint64_t *out_bps);
/* Formats a rate for people ("1.5 Mbit/s", "2000 bit/s") into buf.  Returns buf. */
CBACC_EXPORT char *cbacc_rate_format(uint64_t bps, char *buf, size_t size);

/* ---- Admission (pure) -------------------------------------------------------------------- */

enum cbacc_verdict {
    CBACC_ADMITTED = 0,
    CBACC_BLOCKED = 1, /* blocked in this evaluation; hold_until set */
    CBACC_HELD = 2,    /* still in a hold-down from an earlier evaluation */
};

/* One joined flow as input to cbacc_admit(). */
struct cbacc_flow {
    cbacc_sg sg;
    uint32_t population;  /* receivers behind it, ≥ 1 (0 is treated as 1) */
    uint64_t bps;         /* metadata rate, or the rate assumed without metadata */
    uint16_t priority;    /* ietf-cbacc priority (higher = more preferred to keep) */
    bool admitted_last;   /* admitted by the previous evaluation (an incumbent) */
    uint64_t hold_until;  /* end of its hold-down; 0 = none */
};

/* Result for one flow (same index as the input). */
struct cbacc_decision {
    enum cbacc_verdict verdict;
    uint64_t hold_until; /* new hold-down end (BLOCKED: set now; HELD: unchanged; else 0) */
    const char *reason;  /* static text: "fits", "over limit", "hold-down", ... */
};

struct cbacc_admit_params {
    uint64_t limit_bps;
    uint64_t hold_down_ns;        /* hold_down_min */
    uint64_t hold_down_desync_ns; /* hold_down_desync: U[0, this] added to each hold */
    cbacc_random_fn random;       /* may be NULL only when hold_down_desync_ns is 0 */
    void *random_user;
};

/* Decides the flows (spec/cbacc-dorms.md §7): held flows stay out, the rest is admitted
 * when it fits (≤ limit), otherwise flows are blocked in offload order with the tie-breaks
 * and the within-sender priority re-slot, then a re-admit pass undoes over-blocking, and
 * blocked flows get a hold-down.  flows[] must not contain the same (S,G) twice.
 * decisions[] has n entries.  *next_wakeup (may be NULL) receives the earliest hold_until
 * among held and blocked flows, or CBACC_NEVER.  Deterministic given the random callback;
 * reads no clock.  Returns the number of admitted flows (≥ 0), or CBACC_ERR_NOMEM /
 * CBACC_ERR_INVALID. */
CBACC_EXPORT int cbacc_admit(const struct cbacc_admit_params *params,
                             const struct cbacc_flow *flows, size_t n, uint64_t now,
                             struct cbacc_decision *decisions, uint64_t *next_wakeup);

/* ---- Admission engine: cbacc_admit() plus its state ------------------------------------ */

/* Keeps admitted_last and the hold-down table keyed by (S,G).  Hold state survives a leave
 * and re-join until it expires; expired entries are purged on each evaluation. */
typedef struct cbacc_engine cbacc_engine;

/* One joined flow as input to cbacc_engine_evaluate(). */
struct cbacc_engine_flow {
    cbacc_sg sg;
    uint32_t population;
    bool has_metadata;  /* false ⇒ the engine's unknown_flow_bps and priority 256 are used */
    uint64_t bps;
    uint16_t priority;
};

/* Returns 0, CBACC_ERR_NOMEM or CBACC_ERR_INVALID (params NULL).  The params are copied.
 * unknown_flow_bps: rate assumed for flows without metadata; CBACC_NEVER means "block such
 * flows" (they are then never admitted and carry a hold-down like any blocked flow). */
CBACC_EXPORT int cbacc_engine_new(cbacc_engine **out, const struct cbacc_admit_params *params,
                                  uint64_t unknown_flow_bps);
CBACC_EXPORT void cbacc_engine_free(cbacc_engine *e);
/* Changes the limit for the next evaluation. */
CBACC_EXPORT void cbacc_engine_set_limit(cbacc_engine *e, uint64_t limit_bps);
/* Evaluates the joined set at `now`; decisions[] has n entries (same order as flows).
 * Updates admitted_last and the hold table.  Returns the number admitted or an error (the
 * state is unchanged on error). */
CBACC_EXPORT int cbacc_engine_evaluate(cbacc_engine *e, const struct cbacc_engine_flow *flows,
                                       size_t n, uint64_t now, struct cbacc_decision *decisions);
/* Marks these (S,G)s as admitted by a previous evaluation, so they are incumbents at the
 * next one (tie-break 4c).  For a restart: the previous output joinfile is the previous
 * decision (spec/joinfile.md §3.2: a restarting producer seeds its state from its file).
 * Flows already known to the engine keep their state.  Returns 0 or CBACC_ERR_NOMEM. */
CBACC_EXPORT int cbacc_engine_set_incumbents(cbacc_engine *e, const cbacc_sg *sgs, size_t n);
/* Earliest hold-down end still in the table (a reason to re-evaluate), or CBACC_NEVER. */
CBACC_EXPORT uint64_t cbacc_engine_get_expiry(const cbacc_engine *e);

/* ---- Decoders (pure) --------------------------------------------------------------------- */

enum cbacc_rate_leaf {
    CBACC_LEAF_MAX_SPEED = 1,           /* ietf-cbacc@2021-07-08: kbit/s, ×1000 */
    CBACC_LEAF_MAX_BITS_PER_SECOND = 2, /* 2019/2021-01 models: used as bit/s (spec §6: the
                                         * YANG text says kbit/s, the only live data says
                                         * bit/s; we follow the data) */
    CBACC_LEAF_STREAM_SUM = 3,          /* max-bits-per-second summed over udp-streams */
};

/* CBACC metadata of one (S,G). */
struct cbacc_metadata {
    uint64_t bps;
    uint16_t priority;            /* default 256 */
    uint16_t max_packet_size;     /* default 1400 */
    uint32_t data_rate_window_ms; /* default 2000 */
    enum cbacc_rate_leaf leaf;
};

/* A RESTCONF error (RFC 8040 §7.1) taken from an ietf-restconf:errors body. */
struct cbacc_restconf_error {
    char error_type[32];
    char error_tag[64];
    char error_message[160];
};

/* Decodes a DORMS/CBACC JSON body of len bytes (RFC 7951; uint leaves as numbers or as
 * decimal strings).  Accepted shapes: an ietf-cbacc:cbacc container (GET …/ietf-cbacc:cbacc),
 * an ietf-dorms:group list entry (GET …/group=G), or a whole ietf-dorms:dorms /
 * ietf-dorms:metadata datastore, in which case `sg` (else may be NULL) selects the entry.
 * Returns 0 and fills *out; CBACC_ERR_RESTCONF for an error body (filled into *rerr when
 * not NULL); CBACC_ERR_SYNTAX, CBACC_ERR_SCHEMA, CBACC_ERR_RANGE, CBACC_ERR_NO_RATE,
 * CBACC_ERR_NOT_FOUND (datastore without that (S,G)), CBACC_ERR_NOMEM.  errbuf (may be NULL)
 * receives a one-line explanation. */
CBACC_EXPORT int cbacc_metadata_decode(const char *body, size_t len, const cbacc_sg *sg,
                                       struct cbacc_metadata *out,
                                       struct cbacc_restconf_error *rerr, char *errbuf,
                                       size_t errlen);

/* Which URL layout a server uses (spec §3). */
enum cbacc_layout {
    CBACC_LAYOUT_UNKNOWN = 0,
    CBACC_LAYOUT_2019 = 1, /* {root}/data/ietf-dorms:metadata/sender=S/group=G */
    CBACC_LAYOUT_2021 = 2, /* {root}/data/ietf-dorms:dorms/metadata/sender=S/group=G */
};

/* Decodes a YANG library modules-state body (RFC 7895; the whole container or one module
 * entry) and returns the layout implied by the ietf-dorms revision in *out.  Returns 0,
 * CBACC_ERR_NOT_FOUND (no ietf-dorms module), or a decode error as above. */
CBACC_EXPORT int cbacc_modules_state_decode(const char *body, size_t len, enum cbacc_layout *out,
                                            char *errbuf, size_t errlen);

/* Parses a host-meta document (RFC 6415: XRD XML, or the JSON form) and copies the href of
 * the first Link with rel="restconf" into root (NUL-terminated).  Returns 0,
 * CBACC_ERR_NO_RESTCONF, CBACC_ERR_SYNTAX, CBACC_ERR_RANGE (href longer than size - 1),
 * CBACC_ERR_NOMEM. */
CBACC_EXPORT int cbacc_host_meta_parse(const char *body, size_t len, char *root, size_t size,
                                       char *errbuf, size_t errlen);

/* Builds the metadata URL of an (S,G) below a RESTCONF root URL ("https://h:p/restconf"),
 * with RFC 8040 §3.5.3 key encoding (canonical text, ':' percent-encoded), ending in
 * /ietf-cbacc:cbacc.  Returns the length, or CBACC_ERR_RANGE when it does not fit. */
CBACC_EXPORT int cbacc_metadata_url(const char *root_url, enum cbacc_layout layout,
                                    const cbacc_sg *sg, char *buf, size_t size);

/* Refresh delay from response headers (spec §5): Cache-Control max-age=N ⇒ N s clamped to
 * 5 s … 1 h; no-cache, no-store or no header ⇒ 30 s + U[0, 10] s (draft-ietf-mboned-cbacc
 * §2.1.7).  cache_control may be NULL.  random may be NULL (no jitter). */
CBACC_EXPORT uint64_t cbacc_refresh_delay(const char *cache_control, cbacc_random_fn random,
                                          void *random_user);

/* Owner name for the SRV query of a source: "_dorms._tcp." + the reverse name of S
 * (in-addr.arpa / ip6.arpa), with the trailing dot.  Returns the length or CBACC_ERR_RANGE. */
CBACC_EXPORT int cbacc_srv_name(const cbacc_sg *sg, char *buf, size_t size);

/* One SRV record. */
struct cbacc_srv {
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
    char target[256]; /* without the trailing dot */
};

/* Orders SRV records in place as RFC 2782 prescribes: ascending priority; within one
 * priority a weighted random order (a record is picked with probability weight / sum;
 * weight-0 records have a small chance only while weighted records remain).  Returns the
 * number of usable records, 0 when the set is the single "no service" target ".". */
CBACC_EXPORT size_t cbacc_srv_order(struct cbacc_srv *srv, size_t n, cbacc_random_fn random,
                                    void *random_user);

/* ---- Fetcher (driver) ---------------------------------------------------------------------- */

typedef struct cbacc_fetcher cbacc_fetcher;

/* What the fetcher knows about one (S,G). */
enum cbacc_md_state {
    CBACC_MD_PENDING = 0, /* first fetch not finished */
    CBACC_MD_VALID = 1,   /* metadata from the server (fresh, or revalidated with 304) */
    CBACC_MD_STALE = 2,   /* last good metadata kept after a transport failure */
    CBACC_MD_NONE = 3,    /* no metadata: 404, invalid body, no server; use the default rate */
};

struct cbacc_md_info {
    enum cbacc_md_state state;
    struct cbacc_metadata md; /* valid for VALID and STALE */
    int last_error;           /* 0 or the error of the last attempt */
    uint64_t next_refresh;    /* when the next fetch is due (monotonic ns) */
    char url[512];            /* URL used last ("" before a server is known) */
};

/* Called when a flow's usable metadata changes (state or values), so the caller can
 * re-evaluate.  sg and info are borrowed for the call.  The callback must not call
 * cbacc_fetcher_unwatch() or cbacc_fetcher_free(): note the change and act after
 * cbacc_fetcher_process() returns. */
typedef void (*cbacc_update_fn)(void *user, const cbacc_sg *sg, const struct cbacc_md_info *info);

struct cbacc_fetcher_settings {
    /* DNS server for SRV, A and AAAA lookups: "ADDR", "ADDR:PORT", "[V6ADDR]:PORT".
     * NULL: the first nameserver of /etc/resolv.conf. */
    const char *dns_server;
    /* CA bundle file for TLS verification (NULL: the system store).  Verification is
     * always on. */
    const char *cacert;
    uint64_t connect_timeout_ns; /* 0 ⇒ 2 s */
    uint64_t timeout_ns;         /* whole request, 0 ⇒ 5 s */
    uint64_t dns_timeout_ns;     /* per DNS attempt, 0 ⇒ 2 s (3 attempts) */
    uint64_t retry_min_ns;       /* first retry after a transport failure, 0 ⇒ 1 s */
    uint64_t retry_max_ns;       /* back-off cap, 0 ⇒ 60 s */
    uint64_t server_ttl_ns;      /* how long a discovered server is kept at least, 0 ⇒ the
                                  * SRV TTL (min 30 s) */
    cbacc_random_fn random;      /* NULL ⇒ an internal xorshift seeded from the address */
    void *random_user;
    cbacc_log_fn log;
    void *log_user;
    cbacc_update_fn update;
    void *update_user;
};

/* Creates a fetcher (one curl multi handle, its epoll fd).  Returns 0, CBACC_ERR_NOMEM,
 * CBACC_ERR_INVALID (bad dns_server), or -errno. */
CBACC_EXPORT int cbacc_fetcher_new(cbacc_fetcher **out, const struct cbacc_fetcher_settings *s);
CBACC_EXPORT void cbacc_fetcher_free(cbacc_fetcher *f);

/* Static server for sources inside a prefix ("203.0.113.0/24", "2001:db8::/32", or a plain
 * address), for networks without SRV records.  url is "https://HOST[:PORT]" (host-meta finds
 * the RESTCONF root) or "https://HOST[:PORT]/PATH" (PATH is the RESTCONF root, no
 * host-meta).  The longest matching prefix wins over DNS.  Returns 0, CBACC_ERR_INVALID,
 * CBACC_ERR_NOMEM. */
CBACC_EXPORT int cbacc_fetcher_add_override(cbacc_fetcher *f, const char *prefix, const char *url);
/* Parses "PREFIX=URL" and calls cbacc_fetcher_add_override(). */
CBACC_EXPORT int cbacc_fetcher_add_override_arg(cbacc_fetcher *f, const char *arg);

/* Starts tracking an (S,G): metadata is fetched at once and refreshed until unwatched.
 * Watching a tracked (S,G) again is a no-op.  Returns 0 or CBACC_ERR_NOMEM. */
CBACC_EXPORT int cbacc_fetcher_watch(cbacc_fetcher *f, const cbacc_sg *sg, uint64_t now);
/* Stops tracking (pending requests for it are cancelled). */
CBACC_EXPORT void cbacc_fetcher_unwatch(cbacc_fetcher *f, const cbacc_sg *sg);
/* Current knowledge of an (S,G).  Returns 0 or CBACC_ERR_NOT_FOUND (not watched). */
CBACC_EXPORT int cbacc_fetcher_get(const cbacc_fetcher *f, const cbacc_sg *sg,
                                   struct cbacc_md_info *out);
/* Number of watched flows still PENDING (their first fetch has not finished). */
CBACC_EXPORT size_t cbacc_fetcher_pending(const cbacc_fetcher *f);

/* Event-loop integration: watch get_fd() for input, call process(now) when it is readable
 * or get_expiry() has passed.  get_expiry() returns CBACC_NEVER when nothing is due. */
CBACC_EXPORT int cbacc_fetcher_get_fd(const cbacc_fetcher *f);
CBACC_EXPORT uint64_t cbacc_fetcher_get_expiry(const cbacc_fetcher *f);
/* Drives DNS, curl and refresh timers.  Returns 0 or -errno (epoll failure). */
CBACC_EXPORT int cbacc_fetcher_process(cbacc_fetcher *f, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
