/* pimparse.h — PIMv2 (RFC 7761) Join/Prune and Hello decoding from raw captured frames,
 * per-(S,G) upstream Join state for one interface, a Hello encoder and a libpcap capture
 * driver.
 *
 * Layers:
 *   decoder      pimparse_frame_decode(), pimparse_jp_decode() + pimparse_jp_next(),
 *                pimparse_hello_decode().  Pure functions over caller bytes; nothing is
 *                allocated and results point into the caller's buffer.
 *   state table  pimparse_state_*.  Fed decoded messages with caller timestamps
 *                (uint64_t nanoseconds); timers through get_expiry()/handle_expiry(now);
 *                events through a callback.  Never reads the clock.
 *   encoder      pimparse_hello_encode().
 *   driver       pimparse_capture_*: the only part that makes system calls (libpcap).
 *
 * Errors: 0 or a positive count/length on success; negative PIMPARSE_ERR_* codes (from
 * -201 down) or -errno (drivers only) on failure; pimparse_strerror() names them. */
#ifndef PIMPARSE_PIMPARSE_H
#define PIMPARSE_PIMPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PIMPARSE_EXPORT __attribute__((visibility("default")))
#else
#define PIMPARSE_EXPORT
#endif

#define PIMPARSE_NS_PER_MS UINT64_C(1000000)
#define PIMPARSE_NS_PER_S UINT64_C(1000000000)
#define PIMPARSE_MS(x) ((uint64_t)(x) * PIMPARSE_NS_PER_MS)
#define PIMPARSE_S(x) ((uint64_t)(x) * PIMPARSE_NS_PER_S)
/* "No deadline" from pimparse_state_get_expiry(). */
#define PIMPARSE_NEVER UINT64_MAX

/* ---- errors ---------------------------------------------------------------------- */

enum {
    PIMPARSE_ERR_TRUNCATED = -201,    /* fewer bytes than a header or count requires */
    PIMPARSE_ERR_LINKTYPE = -202,     /* link type not supported */
    PIMPARSE_ERR_NOT_IP = -203,       /* link payload is neither IPv4 nor IPv6 */
    PIMPARSE_ERR_NOT_PIM = -204,      /* IP payload is not protocol 103 */
    PIMPARSE_ERR_FRAGMENT = -205,     /* IPv4 fragment (MF or offset set) or IPv6 fragment */
    PIMPARSE_ERR_IP_HEADER = -206,    /* bad IP version, IHL or length fields */
    PIMPARSE_ERR_PIM_VERSION = -207,  /* PIM version is not 2 */
    PIMPARSE_ERR_CHECKSUM = -208,     /* PIM checksum does not verify */
    PIMPARSE_ERR_MALFORMED = -209,    /* message structure invalid (lengths, options) */
    PIMPARSE_ERR_FAMILY = -210,       /* encoded address family unknown or not the IP's */
    PIMPARSE_ERR_ENCODING = -211,     /* encoded address with encoding type != 0 */
    PIMPARSE_ERR_WRONG_TYPE = -212,   /* message is not of the type the function decodes */
    PIMPARSE_ERR_NOMEM = -213,        /* allocation failed */
    PIMPARSE_ERR_INVALID = -214,      /* invalid argument */
    PIMPARSE_ERR_BUFFER = -215,       /* caller's output buffer too small */
    PIMPARSE_ERR_PCAP = -216,         /* libpcap reported an error (see the log callback) */
    PIMPARSE_ERR_EOF = -217,          /* end of the capture file */
};

/* Text for an error code (PIMPARSE_ERR_* or -errno); never NULL. */
PIMPARSE_EXPORT const char *pimparse_strerror(int err);
/* Library version string, e.g. "0.1.0". */
PIMPARSE_EXPORT const char *pimparse_version(void);

/* ---- addresses ------------------------------------------------------------------- */

#define PIMPARSE_AF_IPV4 4
#define PIMPARSE_AF_IPV6 6

/* An IPv4 or IPv6 address.  For IPv4 the address is in bytes[0..3] and bytes[4..15] are
 * zero, so two addresses compare equal with memcmp() over the whole struct. */
typedef struct pimparse_addr {
    uint8_t family; /* PIMPARSE_AF_IPV4 or PIMPARSE_AF_IPV6; 0 = none */
    uint8_t bytes[16];
} pimparse_addr;

/* Canonical text (inet_ntop; RFC 5952 for IPv6) into buf of size >= 46.  Returns buf. */
PIMPARSE_EXPORT char *pimparse_addr_format(const pimparse_addr *a, char *buf, size_t size);
/* Parses dotted-quad or IPv6 text.  Returns 0 or PIMPARSE_ERR_INVALID. */
PIMPARSE_EXPORT int pimparse_addr_parse(const char *text, pimparse_addr *out);
/* Equality of two addresses (family and bytes). */
PIMPARSE_EXPORT bool pimparse_addr_equal(const pimparse_addr *a, const pimparse_addr *b);

/* ---- frame decoder --------------------------------------------------------------- */

/* Link types are libpcap's DLT_* values (pcap_datalink()).  PIMPARSE_LINK_RAW also
 * accepts 14 (OpenBSD's DLT_RAW) and 101 (LINKTYPE_RAW as stored in files). */
enum {
    PIMPARSE_LINK_NULL = 0,
    PIMPARSE_LINK_EN10MB = 1,
    PIMPARSE_LINK_RAW = 12,
    PIMPARSE_LINK_LOOP = 108,
    PIMPARSE_LINK_LINUX_SLL = 113,
    PIMPARSE_LINK_IPV4 = 228,
    PIMPARSE_LINK_IPV6 = 229,
    PIMPARSE_LINK_LINUX_SLL2 = 276,
};

/* PIM message types (RFC 7761 §4.9, RFC 8736). */
enum {
    PIMPARSE_TYPE_HELLO = 0,
    PIMPARSE_TYPE_REGISTER = 1,
    PIMPARSE_TYPE_REGISTER_STOP = 2,
    PIMPARSE_TYPE_JOIN_PRUNE = 3,
    PIMPARSE_TYPE_BOOTSTRAP = 4,
    PIMPARSE_TYPE_ASSERT = 5,
    PIMPARSE_TYPE_GRAFT = 6,
    PIMPARSE_TYPE_GRAFT_ACK = 7,
    PIMPARSE_TYPE_CANDIDATE_RP = 8,
};

/* One PIM message found in a frame.  `pim` points into the caller's frame buffer and is
 * valid as long as that buffer is. */
typedef struct pimparse_packet {
    pimparse_addr ip_src;
    pimparse_addr ip_dst;
    uint8_t ttl;          /* IPv4 TTL / IPv6 hop limit */
    uint8_t pim_type;     /* low nibble of the first PIM byte */
    uint8_t pim_flags;    /* the reserved/flag byte (RFC 8736), reported, never checked */
    const uint8_t *pim;   /* the PIM message, common header included */
    size_t pim_len;       /* its length (IP payload length, padding trimmed) */
} pimparse_packet;

/* Decodes the link, IP and PIM common headers of one captured frame and verifies the PIM
 * version and checksum (with the IPv6 pseudo-header; Register: first 8 bytes or whole).
 * IPv4: IHL and total length honoured (trailing link padding trimmed), fragments refused.
 * IPv6: Hop-by-Hop, Routing and Destination Options headers skipped.
 * Returns 0 and fills *out, or PIMPARSE_ERR_LINKTYPE, _NOT_IP, _NOT_PIM, _FRAGMENT,
 * _IP_HEADER, _TRUNCATED, _PIM_VERSION, _CHECKSUM, _INVALID.  Never reads outside
 * frame[0..len). */
PIMPARSE_EXPORT int pimparse_frame_decode(int linktype, const uint8_t *frame, size_t len,
                                          pimparse_packet *out);

/* Same, starting at an IPv4 or IPv6 header (no link header). */
PIMPARSE_EXPORT int pimparse_ip_decode(const uint8_t *ip, size_t len, pimparse_packet *out);

/* Internet checksum helper (RFC 1071) over data with an initial 32-bit partial sum;
 * returns the folded one's complement of the sum.  Exposed for tests and encoders. */
PIMPARSE_EXPORT uint16_t pimparse_checksum(const uint8_t *data, size_t len, uint32_t initial);

/* ---- Join/Prune (RFC 7761 §4.9.5) ------------------------------------------------- */

/* Group flags (Encoded-Group byte 2). */
#define PIMPARSE_GROUP_B 0x80u /* Bidir-PIM range (RFC 5015) */
#define PIMPARSE_GROUP_Z 0x01u /* admin-scope zone (RFC 5059) */
/* Source flags (Encoded-Source byte 2). */
#define PIMPARSE_SOURCE_S 0x04u /* sparse bit */
#define PIMPARSE_SOURCE_W 0x02u /* wildcard: (*,G) */
#define PIMPARSE_SOURCE_R 0x01u /* RPT */

/* A validated Join/Prune message.  Fields describe the message header; the iterator
 * fields are private to pimparse_jp_next(). */
typedef struct pimparse_jp {
    pimparse_addr upstream_neighbor;
    uint16_t holdtime;      /* seconds; 0xFFFF = never times out */
    uint8_t num_groups;
    /* iterator (private) */
    const uint8_t *it_pos;
    const uint8_t *it_end;
    uint8_t it_group;       /* groups fully consumed so far */
    uint16_t it_source;     /* next source index inside the current group */
    uint8_t it_alen;        /* address length of the message's family */
} pimparse_jp;

/* Kinds of entry, from the W and R bits (RFC 7761 §4.9.5.1). */
enum pimparse_entry_kind {
    PIMPARSE_ENTRY_SG = 0,     /* W=0 R=0: (S,G) */
    PIMPARSE_ENTRY_STAR_G = 1, /* W=1 R=1: (*,G); the source is the RP address */
    PIMPARSE_ENTRY_SG_RPT = 2, /* W=0 R=1: (S,G,rpt) */
    PIMPARSE_ENTRY_INVALID = 3 /* W=1 R=0: not a valid combination */
};

/* One joined or pruned source of one group. */
typedef struct pimparse_jp_entry {
    pimparse_addr group;
    uint8_t group_flags;      /* PIMPARSE_GROUP_* bits as received */
    uint8_t group_mask_len;
    uint8_t group_index;      /* 0-based position of the group in the message */
    uint16_t num_joined;      /* counts of the group this entry belongs to */
    uint16_t num_pruned;
    pimparse_addr source;
    uint8_t source_flags;     /* PIMPARSE_SOURCE_* bits as received (reserved bits too) */
    uint8_t source_mask_len;
    uint16_t source_index;    /* 0-based position within its (joined or pruned) list */
    bool is_join;             /* in the Joined list (else Pruned) */
    uint8_t kind;             /* enum pimparse_entry_kind */
} pimparse_jp_entry;

/* Validates a Join/Prune message (the packet must have pim_type 3): header, every group
 * header and every source list against the message length (the whole message is refused
 * on any shortfall), address families equal to the IP version, encoding type 0.
 * Bytes after the last group are ignored.  Returns 0 and fills *jp ready for iteration,
 * or PIMPARSE_ERR_WRONG_TYPE, _TRUNCATED, _FAMILY, _ENCODING, _INVALID. */
PIMPARSE_EXPORT int pimparse_jp_decode(const pimparse_packet *pkt, pimparse_jp *jp);

/* Next entry of a decoded message in message order (groups in order; within a group the
 * joined sources, then the pruned sources).  Groups with zero sources yield nothing.
 * Returns 1 with *e filled, 0 at the end. */
PIMPARSE_EXPORT int pimparse_jp_next(pimparse_jp *jp, pimparse_jp_entry *e);

/* ---- Hello (RFC 7761 §4.9.2) ------------------------------------------------------ */

#define PIMPARSE_HELLO_HAS_HOLDTIME 0x01u
#define PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY 0x02u
#define PIMPARSE_HELLO_HAS_DR_PRIORITY 0x04u
#define PIMPARSE_HELLO_HAS_GENERATION_ID 0x08u
#define PIMPARSE_HELLO_HAS_ADDRESS_LIST 0x10u
#define PIMPARSE_HELLO_HAS_STATE_REFRESH 0x20u
#define PIMPARSE_HELLO_BIDIR_CAPABLE 0x40u
#define PIMPARSE_HELLO_JOIN_ATTRIBUTE 0x80u

typedef struct pimparse_hello {
    uint32_t present;              /* PIMPARSE_HELLO_* bits */
    uint16_t holdtime;             /* option 1; 105 when absent */
    bool t_bit;                    /* option 2 bit 31: join suppression disabled */
    uint16_t propagation_delay_ms; /* option 2 bits 30..16 */
    uint16_t override_interval_ms; /* option 2 bits 15..0 */
    uint32_t dr_priority;          /* option 19; 1 when absent */
    uint32_t generation_id;        /* option 20 */
    uint32_t state_refresh;        /* option 21 value (RFC 3973) */
    uint16_t num_addresses;        /* entries in the Address List option (24) */
    uint16_t num_unknown_options;  /* options skipped by length */
    const uint8_t *address_list;   /* option 24 value, inside the caller's buffer */
    uint16_t address_list_len;
} pimparse_hello;

/* Decodes and validates a Hello (pim_type 0): options are Type(2) Length(2) Value TLVs
 * to the end of the message; a known option with the wrong length or any option running
 * past the end invalidates the Hello; unknown options are skipped.  Address List entries
 * are Encoded-Unicast of family 1 or 2 (either, whatever the IP version: FRR lists its
 * fe80:: address in IPv4 Hellos).  Returns 0 or PIMPARSE_ERR_WRONG_TYPE, _MALFORMED,
 * _FAMILY, _ENCODING, _INVALID. */
PIMPARSE_EXPORT int pimparse_hello_decode(const pimparse_packet *pkt, pimparse_hello *h);

/* The index-th address of a decoded Hello's Address List.  Returns 0 or
 * PIMPARSE_ERR_INVALID (index out of range). */
PIMPARSE_EXPORT int pimparse_hello_address(const pimparse_hello *h, unsigned index,
                                           pimparse_addr *out);

/* What to put in a Hello we send. */
typedef struct pimparse_hello_params {
    uint16_t holdtime;                 /* 105 normally; 0 = going down */
    uint32_t generation_id;
    uint32_t dr_priority;
    bool lan_prune_delay;              /* include option 2 */
    bool t_bit;
    uint16_t propagation_delay_ms;     /* 500 by default */
    uint16_t override_interval_ms;     /* 2500 by default */
    const pimparse_addr *addresses;    /* secondary addresses for option 24; may be NULL */
    size_t num_addresses;
} pimparse_hello_params;

/* Fills p with the defaults of RFC 7761 §4.11: holdtime 105, DR priority 1, LAN Prune
 * Delay 500/2500 ms included, no addresses, the given generation ID. */
PIMPARSE_EXPORT void pimparse_hello_params_default(pimparse_hello_params *p,
                                                   uint32_t generation_id);

/* Encodes a PIM Hello message (PIM header and options; no IP header) into buf.  The
 * checksum covers the message; for IPv6 pass the IP source and destination so that the
 * pseudo-header is included (both NULL, or both of one family; NULL computes the IPv4
 * checksum).  Returns the message length or PIMPARSE_ERR_BUFFER, _INVALID. */
PIMPARSE_EXPORT int pimparse_hello_encode(const pimparse_hello_params *p,
                                          const pimparse_addr *src, const pimparse_addr *dst,
                                          uint8_t *buf, size_t size);

/* ---- state table ------------------------------------------------------------------ */

typedef struct pimparse_state pimparse_state;

enum pimparse_event_type {
    PIMPARSE_EVENT_JOIN = 1,          /* (S,G) entered Join state */
    PIMPARSE_EVENT_PRUNE = 2,         /* (S,G) left Join state after a Prune */
    PIMPARSE_EVENT_EXPIRE = 3,        /* (S,G) Expiry Timer ran out */
    PIMPARSE_EVENT_NEIGHBOR_UP = 4,   /* first Hello from a neighbor (or a new GenID) */
    PIMPARSE_EVENT_NEIGHBOR_DOWN = 5, /* holdtime 0, neighbor timeout, or GenID change */
    PIMPARSE_EVENT_NOT_JOINED = 6,    /* (*,G) or (S,G,rpt) entry counted, not joined */
    PIMPARSE_EVENT_PRUNE_PENDING = 7, /* a Prune on a LAN with >1 neighbor: the (S,G) keeps
                                       * forwarding until `deadline` unless overridden */
    PIMPARSE_EVENT_PRUNE_OVERRIDE = 8, /* a Join (from `neighbor`) cancelled a pending Prune */
};

typedef struct pimparse_event {
    int type;               /* enum pimparse_event_type */
    uint64_t time;          /* the `now` of the call that caused it; for timer events
                             * (EXPIRE, PRUNE after Prune-Pending) the timer's deadline */
    pimparse_addr source;   /* JOIN/PRUNE/EXPIRE/NOT_JOINED (NOT_JOINED (*,G): the RP) */
    pimparse_addr group;
    pimparse_addr neighbor; /* NEIGHBOR_*: the neighbor; JOIN/PRUNE/NOT_JOINED: J/P sender */
    uint16_t holdtime;      /* JOIN: message holdtime; NEIGHBOR_UP: Hello holdtime */
    uint32_t generation_id; /* NEIGHBOR_* */
    uint8_t kind;           /* NOT_JOINED: enum pimparse_entry_kind */
    bool is_join;           /* NOT_JOINED: from the Joined list */
    uint64_t deadline;      /* PRUNE_PENDING: when the Prune takes effect */
} pimparse_event;

/* Policy flags. */
#define PIMPARSE_POLICY_ANY_UPSTREAM 0x01u    /* count J/Ps whatever their Upstream Neighbor */
#define PIMPARSE_POLICY_SSM_ONLY 0x02u        /* only groups in 232/8 and ff3x::/32 */
#define PIMPARSE_POLICY_REQUIRE_NEIGHBOR 0x04u /* ignore J/Ps from senders without a Hello */

typedef struct pimparse_settings {
    size_t size;            /* sizeof(pimparse_settings): fields may be appended */
    uint32_t policy;        /* PIMPARSE_POLICY_* */
    /* Our own LAN Prune Delay values, used with the neighbors' (RFC 7761 §4.3.3). */
    uint16_t propagation_delay_ms;
    uint16_t override_interval_ms;
    /* Seed for the (S,G) hash (a random value makes collision flooding impractical). */
    uint64_t hash_seed;
    void (*event)(void *user, const pimparse_event *ev); /* may be NULL */
    void (*log)(void *user, int syslog_level, const char *msg); /* may be NULL */
    void *user;
} pimparse_settings;

/* Defaults: policy 0 (upstream must be one of our addresses), 500/2500 ms, seed 0. */
PIMPARSE_EXPORT void pimparse_settings_default(pimparse_settings *s);

/* Counters.  Every frame offered is counted in `frames` and in exactly one of not_pim,
 * bad_link, truncated, fragments, bad_ip, bad_version, bad_checksum, malformed, hellos,
 * join_prunes, other_types.  Every entry of a J/P that passes the upstream and neighbor
 * filters lands in exactly one of sg_joins, sg_prunes, star_g, sg_rpt, rejected_group,
 * rejected_source. */
typedef struct pimparse_stats {
    uint64_t frames;             /* frames and packets offered */
    uint64_t not_pim;            /* not IP or not protocol 103 (filtered traffic) */
    uint64_t bad_link;           /* unsupported link type or link header */
    uint64_t truncated;
    uint64_t fragments;
    uint64_t bad_ip;
    uint64_t bad_version;
    uint64_t bad_checksum;
    uint64_t malformed;          /* J/P or Hello structure, family, encoding */
    uint64_t hellos;
    uint64_t join_prunes;        /* valid J/P messages */
    uint64_t other_types;        /* valid PIM messages of other types, skipped */
    uint64_t foreign_upstream;   /* J/Ps for another upstream router */
    uint64_t from_non_neighbor;  /* refused under PIMPARSE_POLICY_REQUIRE_NEIGHBOR */
    uint64_t sg_joins;           /* (S,G) join entries applied */
    uint64_t sg_prunes;          /* (S,G) prune entries applied */
    uint64_t star_g;             /* (*,G) entries counted */
    uint64_t sg_rpt;             /* (S,G,rpt) entries counted */
    uint64_t rejected_group;     /* bidir, not multicast, link-local, non-SSM, bad mask */
    uint64_t rejected_source;    /* invalid W/R, mask, non-unicast source */
    uint64_t neighbors_refused;  /* Hellos from new neighbors beyond the table's limit */
} pimparse_stats;

/* Creates an empty state table.  settings may be NULL (defaults); it is copied.
 * Returns 0 or PIMPARSE_ERR_NOMEM, _INVALID. */
PIMPARSE_EXPORT int pimparse_state_new(const pimparse_settings *settings, pimparse_state **out);
/* Frees the table; NULL is accepted. */
PIMPARSE_EXPORT void pimparse_state_free(pimparse_state *st);

/* Adds one of our addresses (a J/P counts when its Upstream Neighbor is one of them, and
 * Hellos from them are ignored).  Returns 0, PIMPARSE_ERR_NOMEM, _INVALID. */
PIMPARSE_EXPORT int pimparse_state_add_local_address(pimparse_state *st, const pimparse_addr *a);
/* Replaces all of our addresses with a[0..n) (n may be 0), as when the interface's
 * addresses change.  All or nothing: returns 0, or PIMPARSE_ERR_NOMEM / _INVALID with
 * the old list kept. */
PIMPARSE_EXPORT int pimparse_state_set_local_addresses(pimparse_state *st, const pimparse_addr *a,
                                                       size_t n);
/* Replaces the policy flags. */
PIMPARSE_EXPORT void pimparse_state_set_policy(pimparse_state *st, uint32_t policy);

/* Feeds one frame of the given link type.  Decoding errors are counted (and logged at
 * LOG_DEBUG) and returned; they never change the state.  Timers due at or before now are
 * run first.  Returns 0 or a negative decode error. */
PIMPARSE_EXPORT int pimparse_state_process_frame(pimparse_state *st, int linktype,
                                                 const uint8_t *frame, size_t len, uint64_t now);
/* Feeds one already decoded PIM packet (Join/Prune and Hello are used; other types are
 * counted and skipped).  Returns 0 or a negative decode error. */
PIMPARSE_EXPORT int pimparse_state_process_packet(pimparse_state *st, const pimparse_packet *pkt,
                                                  uint64_t now);

/* Adds (S,G) in Join state expiring at `expiry` unless a Join refreshes it (used to keep
 * a restarted watcher's previous output provisionally).  No event is raised.  Refuses
 * groups the policy rejects.  Returns 1 if added, 0 if it already existed, or
 * PIMPARSE_ERR_INVALID, _NOMEM. */
PIMPARSE_EXPORT int pimparse_state_add_provisional(pimparse_state *st, const pimparse_addr *source,
                                                   const pimparse_addr *group, uint64_t expiry);

/* Earliest pending timer (absolute ns), or PIMPARSE_NEVER. */
PIMPARSE_EXPORT uint64_t pimparse_state_get_expiry(pimparse_state *st);
/* Runs every timer due at or before now (Expiry, Prune-Pending, neighbor holdtime). */
PIMPARSE_EXPORT void pimparse_state_handle_expiry(pimparse_state *st, uint64_t now);

/* Number of (S,G)s in Join or Prune-Pending state (both are forwarding). */
PIMPARSE_EXPORT size_t pimparse_state_count(const pimparse_state *st);
/* Number of live PIM neighbors. */
PIMPARSE_EXPORT size_t pimparse_state_neighbor_count(const pimparse_state *st);

/* Looks up (S,G).  Returns 1 and fills *expiry (PIMPARSE_NEVER for holdtime 0xFFFF) and
 * *prune_pending (either may be NULL) if present, 0 if not. */
PIMPARSE_EXPORT int pimparse_state_lookup(const pimparse_state *st, const pimparse_addr *source,
                                          const pimparse_addr *group, uint64_t *expiry,
                                          bool *prune_pending);

/* Calls cb for every joined (S,G) in unspecified order; cb returns non-zero to stop.
 * The table must not be modified from cb.  Returns the number of calls. */
PIMPARSE_EXPORT size_t pimparse_state_foreach(const pimparse_state *st,
                                              int (*cb)(void *user, const pimparse_addr *source,
                                                        const pimparse_addr *group),
                                              void *user);

/* Neighbor information. */
typedef struct pimparse_neighbor {
    pimparse_addr address;
    uint16_t holdtime;
    uint32_t generation_id;
    uint32_t dr_priority;
    bool has_lan_prune_delay;
    uint16_t propagation_delay_ms;
    uint16_t override_interval_ms;
    uint16_t num_secondary;     /* addresses from the Address List */
    uint64_t expiry;            /* PIMPARSE_NEVER for holdtime 0xFFFF */
} pimparse_neighbor;

/* The index-th neighbor (0 <= index < neighbor_count).  Returns 0 or _INVALID. */
PIMPARSE_EXPORT int pimparse_state_neighbor(const pimparse_state *st, size_t index,
                                            pimparse_neighbor *out);

/* J/P_Override_Interval the table uses now (RFC 7761 §4.3.3): Effective_Propagation_Delay
 * + Effective_Override_Interval over our values and every neighbor's, when all neighbors
 * advertise LAN Prune Delay; the defaults otherwise. */
PIMPARSE_EXPORT uint64_t pimparse_state_override_interval(const pimparse_state *st);

/* Copies the counters. */
PIMPARSE_EXPORT void pimparse_state_get_stats(const pimparse_state *st, pimparse_stats *out);

/* ---- capture driver (libpcap) ------------------------------------------------------ */

typedef struct pimparse_capture pimparse_capture;

/* Opens a live capture on ifname: filter "pim", inbound only, immediate mode,
 * non-blocking.  Frames go to st.  errbuf (may be NULL) receives libpcap's message on
 * failure.  Returns 0, PIMPARSE_ERR_PCAP, _NOMEM, _INVALID. */
PIMPARSE_EXPORT int pimparse_capture_open_live(const char *ifname, pimparse_state *st,
                                               pimparse_capture **out, char *errbuf,
                                               size_t errbuf_size);
/* Opens a pcap/pcapng file for replay; packet timestamps (nanoseconds since the epoch)
 * are the clock.  Returns 0, PIMPARSE_ERR_PCAP, _NOMEM, _INVALID. */
PIMPARSE_EXPORT int pimparse_capture_open_file(const char *path, pimparse_state *st,
                                               pimparse_capture **out, char *errbuf,
                                               size_t errbuf_size);
/* Closes; NULL accepted. */
PIMPARSE_EXPORT void pimparse_capture_close(pimparse_capture *c);

/* Live: the selectable fd (-1 for a file). */
PIMPARSE_EXPORT int pimparse_capture_get_fd(const pimparse_capture *c);
/* Live: reads every frame available now and feeds them with timestamp now, then runs
 * the due timers.  Returns the number of frames read or PIMPARSE_ERR_PCAP. */
PIMPARSE_EXPORT int pimparse_capture_process(pimparse_capture *c, uint64_t now);
/* The state table's next deadline (the expiry of the trio). */
PIMPARSE_EXPORT uint64_t pimparse_capture_get_expiry(pimparse_capture *c);

/* File: replays up to max_frames frames (0 = all), running the state's timers at each
 * packet's timestamp before the packet.  Returns the number of frames read (0 at end of
 * file) or PIMPARSE_ERR_PCAP. */
PIMPARSE_EXPORT long pimparse_capture_replay(pimparse_capture *c, unsigned long max_frames);
/* Timestamp of the last frame read (ns), 0 before the first. */
PIMPARSE_EXPORT uint64_t pimparse_capture_last_time(const pimparse_capture *c);
/* The capture's link type (pcap_datalink). */
PIMPARSE_EXPORT int pimparse_capture_linktype(const pimparse_capture *c);

#ifdef __cplusplus
}
#endif

#endif
