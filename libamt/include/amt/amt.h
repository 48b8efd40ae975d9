/* amt.h — libamt: an AMT gateway (RFC 7450) as a sans-I/O library, plus an optional
 * socket driver.
 *
 * Three layers, each usable alone:
 *
 *  1. Wire codec (amt_msg_*, amt_report_*, amt_query_*): encodes and decodes the seven
 *     AMT message types for IPv4 and IPv6 relays, builds IGMPv3 / MLDv2 reports with
 *     their IP header, Router Alert and checksums, and parses IGMPv3 / MLDv2 General
 *     Queries by header length.  Pure functions over caller buffers.
 *
 *  2. Gateway state machine (amt_gw_*): one object per tunnel (one relay), any number of
 *     (S,G) channels.  It never opens a socket, reads a clock or allocates per packet:
 *     datagrams go in with a timestamp (uint64_t nanoseconds, CLOCK_MONOTONIC), datagrams
 *     to send come out through a callback, timers are get_expiry()/handle_expiry(now),
 *     randomness comes from a settings callback.
 *
 *  3. Driver (amt_io_*): one connected UDP socket per tunnel with recvmmsg batching, a
 *     large receive buffer and UDP_NO_CHECK6_RX; exposes get_fd()/process(now)/
 *     get_expiry() for the caller's event loop.
 *
 * Error codes are negative: AMT_ERR_* from -201 down (amt_strerror() names them); the
 * driver also returns -errno.  Data handed to a callback is borrowed for the call only.
 */
#ifndef AMT_AMT_H
#define AMT_AMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AMT_EXPORT __attribute__((visibility("default")))
#else
#define AMT_EXPORT
#endif

/* ---- basics ---------------------------------------------------------------------- */

#define AMT_PORT 2268 /* IANA "amt", RFC 7450 §8 */

#define AMT_NS_PER_MS UINT64_C(1000000)
#define AMT_NS_PER_S UINT64_C(1000000000)
#define AMT_MS(x) ((uint64_t)(x) * AMT_NS_PER_MS)
#define AMT_S(x) ((uint64_t)(x) * AMT_NS_PER_S)
/* "No deadline", as returned by every get_expiry(). */
#define AMT_NEVER UINT64_MAX

enum amt_error {
    AMT_ERR_INVALID_ARG = -201, /* a caller passed an invalid argument */
    AMT_ERR_NOMEM = -202,       /* the allocator failed */
    AMT_ERR_NOBUF = -203,       /* the output buffer is too small */
    AMT_ERR_TRUNCATED = -204,   /* input shorter than its fixed part */
    AMT_ERR_LENGTH = -205,      /* a length field or total length is inconsistent */
    AMT_ERR_VERSION = -206,     /* AMT version nibble is not 0 */
    AMT_ERR_TYPE = -207,        /* unknown or unexpected message type */
    AMT_ERR_CHECKSUM = -208,    /* IPv4 header, IGMP or ICMPv6 checksum wrong */
    AMT_ERR_INNER = -209,       /* encapsulated IP datagram malformed */
    AMT_ERR_ADDRESS = -210,     /* unusable address (unspecified, loopback, multicast...) */
    AMT_ERR_SOURCE = -211,      /* datagram from an unexpected address or port */
    AMT_ERR_NONCE = -212,       /* nonce does not match the outstanding one */
    AMT_ERR_STATE = -213,       /* message not expected in the current state */
    AMT_ERR_NOT_JOINED = -214,  /* data for a channel that is not joined */
    AMT_ERR_EXISTS = -215,      /* channel already joined */
    AMT_ERR_NOT_FOUND = -216,   /* channel not joined */
    AMT_ERR_FAMILY = -217,      /* address family mismatch */
    AMT_ERR_SEND = -218,        /* the send callback failed */
};

/* Returns a static English description of an AMT_ERR_* code or a -errno value. */
AMT_EXPORT const char *amt_strerror(int err);
/* Returns the library version, "0.1.0". */
AMT_EXPORT const char *amt_version(void);

/* Address families as used by this library (not AF_*: the core needs no socket
 * headers). */
enum { AMT_IPV4 = 4, AMT_IPV6 = 6 };

/* An IPv4 or IPv6 address.  IPv4 uses bytes[0..3]; the rest must be zero so that two
 * equal addresses compare equal with memcmp. */
typedef struct amt_addr {
    uint8_t family; /* AMT_IPV4 or AMT_IPV6 */
    uint8_t bytes[16];
} amt_addr;

/* An address and UDP port (host byte order). */
typedef struct amt_endpoint {
    amt_addr addr;
    uint16_t port;
} amt_endpoint;

/* A source-specific channel. Both addresses have the same family. */
typedef struct amt_sg {
    amt_addr source;
    amt_addr group;
} amt_sg;

/* Fills *a from 4 or 16 network-order bytes. */
AMT_EXPORT void amt_addr_set(amt_addr *a, int family, const void *bytes);
/* Parses a numeric IPv4 or IPv6 address.  Returns 0 or AMT_ERR_INVALID_ARG. */
AMT_EXPORT int amt_addr_parse(amt_addr *a, const char *text);
/* Formats canonically (inet_ntop style) into buf; returns buf ("?" if invalid).
 * AMT_ADDR_STRLEN is enough for any address. */
#define AMT_ADDR_STRLEN 46
AMT_EXPORT char *amt_addr_format(const amt_addr *a, char *buf, size_t size);
AMT_EXPORT bool amt_addr_equal(const amt_addr *a, const amt_addr *b);
AMT_EXPORT bool amt_addr_is_multicast(const amt_addr *a);

/* ---- wire codec ------------------------------------------------------------------ */

enum amt_msg_type {
    AMT_RELAY_DISCOVERY = 1,
    AMT_RELAY_ADVERTISEMENT = 2,
    AMT_REQUEST = 3,
    AMT_MEMBERSHIP_QUERY = 4,
    AMT_MEMBERSHIP_UPDATE = 5,
    AMT_MULTICAST_DATA = 6,
    AMT_TEARDOWN = 7,
};

/* Fixed sizes from RFC 7450 §5.1. */
#define AMT_DISCOVERY_LEN 8
#define AMT_ADVERTISEMENT_V4_LEN 12
#define AMT_ADVERTISEMENT_V6_LEN 24
#define AMT_REQUEST_LEN 8
#define AMT_QUERY_HDR_LEN 12
#define AMT_UPDATE_HDR_LEN 12
#define AMT_DATA_HDR_LEN 2
#define AMT_TEARDOWN_LEN 30
#define AMT_GATEWAY_TRAILER_LEN 18 /* Gateway Port Number + Gateway IP Address */
#define AMT_MAC_LEN 6

/* One AMT message, decoded or to be encoded.  Which fields apply depends on type:
 *   nonce        Discovery/Advertisement: Discovery Nonce; Request/Query/Update/
 *                Teardown: Request Nonce
 *   response_mac Query, Update, Teardown
 *   p_flag       Request (MLDv2 query wanted)
 *   l_flag, g_flag  Query
 *   relay_address   Advertisement (its family gives the length, 12 or 24)
 *   gateway_port, gateway_address  Query with G=1, Teardown (IPv4 carried as ::a.b.c.d)
 *   ip, ip_len   Query, Update, Data: the encapsulated IP datagram (for a decoded
 *                message: points into the decoded buffer, no copy) */
typedef struct amt_msg {
    uint8_t type;
    bool p_flag, l_flag, g_flag;
    uint32_t nonce;
    uint8_t response_mac[AMT_MAC_LEN];
    amt_addr relay_address;
    uint16_t gateway_port;
    amt_addr gateway_address;
    const uint8_t *ip;
    size_t ip_len;
} amt_msg;

/* Decodes one AMT message (any of the seven types) from a UDP payload.  Checks the
 * version nibble, the type and every length rule of RFC 7450 §5.1 (Advertisement 12 or
 * 24 bytes, Request/Discovery 8, Teardown 30, Query long enough for its G trailer, Data
 * at least 2 + 20).  Reserved bits are ignored.  The encapsulated datagram is not
 * validated here (see amt_query_parse / amt_report_parse / amt_data_parse).
 * Returns 0, AMT_ERR_TRUNCATED, AMT_ERR_LENGTH, AMT_ERR_VERSION or AMT_ERR_TYPE. */
AMT_EXPORT int amt_msg_decode(amt_msg *m, const uint8_t *buf, size_t len);

/* Encodes m into buf (reserved bits zero).  For Query/Update/Data, m->ip/ip_len are
 * copied after the header (they may already sit at buf + header length: the copy is a
 * memmove).  Returns the length written, AMT_ERR_NOBUF or AMT_ERR_INVALID_ARG. */
AMT_EXPORT int amt_msg_encode(const amt_msg *m, uint8_t *buf, size_t size);

/* Group record types, RFC 3376 §4.2.12 / RFC 3810 §5.2.12. */
enum amt_record_type {
    AMT_MODE_IS_INCLUDE = 1,
    AMT_MODE_IS_EXCLUDE = 2,
    AMT_CHANGE_TO_INCLUDE = 3,
    AMT_CHANGE_TO_EXCLUDE = 4,
    AMT_ALLOW_NEW_SOURCES = 5,
    AMT_BLOCK_OLD_SOURCES = 6,
};

/* One group record to build: type, group and its sources (all of the group's family). */
typedef struct amt_record {
    uint8_t type;
    amt_addr group;
    const amt_addr *sources;
    size_t n_sources;
} amt_record;

/* Size of the IP datagram amt_report_build() produces for these records. */
AMT_EXPORT size_t amt_report_size(int family, const amt_record *recs, size_t n);

/* Builds a complete IGMPv3 (family AMT_IPV4) or MLDv2 (AMT_IPV6) Membership Report as an
 * IP datagram: IPv4 header with Router Alert (IHL 6, TOS 0xC0, TTL 1, to 224.0.0.22) and
 * IGMP checksum, or IPv6 header + Hop-by-Hop Router Alert (hop limit 1, to ff02::16) and
 * ICMPv6 checksum with the pseudo-header.  ip_source is the inner source address (NULL:
 * 0.0.0.0 / ::).  Every record's group and sources must be of `family`.
 * Returns the length, AMT_ERR_NOBUF, AMT_ERR_FAMILY or AMT_ERR_INVALID_ARG. */
AMT_EXPORT int amt_report_build(uint8_t *buf, size_t size, int family, const amt_addr *ip_source,
                                const amt_record *recs, size_t n);

/* A decoded group record: sources point into the report (src_stride bytes apart). */
typedef struct amt_record_view {
    uint8_t type;
    amt_addr group;
    uint16_t n_sources;
    const uint8_t *sources; /* n_sources × (4 or 16) bytes, network order */
} amt_record_view;

/* Called once per record by amt_report_parse(); return 0 to continue, non-zero to stop
 * (that value is returned by amt_report_parse). */
typedef int (*amt_record_fn)(void *user, int family, const amt_record_view *rec);

/* Validates a Membership Report IP datagram strictly (IP version, header length and
 * checksum, total length equal to len, TTL/hop limit 1, protocol, Router Alert, report
 * type, IGMP/ICMPv6 checksum, record lengths adding up exactly) and calls cb for each
 * record.  *family is set to AMT_IPV4 or AMT_IPV6.  Returns 0, a callback's non-zero
 * value, or a negative AMT_ERR_*. */
AMT_EXPORT int amt_report_parse(const uint8_t *ip, size_t len, int *family, amt_record_fn cb,
                                void *user);

/* A decoded IGMPv3 / MLDv2 General Query. */
typedef struct amt_query_info {
    uint8_t family;         /* AMT_IPV4 (IGMPv3) or AMT_IPV6 (MLDv2) */
    uint8_t ip_header_len;  /* IPv4: IHL×4 (20 or 24 seen); IPv6: 40 + extension headers */
    bool s_flag;            /* Suppress Router-Side Processing */
    uint8_t qrv;            /* Querier's Robustness Variable as sent (0 = use 2) */
    uint8_t qqic;           /* raw QQIC */
    uint32_t qqi_s;         /* decoded Querier's Query Interval in seconds (0 → 125) */
    uint32_t max_resp_ms;   /* decoded Maximum Response Delay in milliseconds */
    amt_addr ip_source;
} amt_query_info;

/* Parses the IP datagram of a Membership Query: IPv4 header by its IHL (5 and 6 are both
 * accepted), total length within len, IGMPv3 type 0x11 with a valid checksum; or IPv6
 * with extension headers walked to ICMPv6 type 130 (MLDv2, 28+ bytes) with a valid
 * checksum over the pseudo-header.  Returns 0, AMT_ERR_TRUNCATED, AMT_ERR_LENGTH,
 * AMT_ERR_INNER or AMT_ERR_CHECKSUM. */
AMT_EXPORT int amt_query_parse(amt_query_info *q, const uint8_t *ip, size_t len);

/* RFC 3376 §4.1.1/§4.1.7 and RFC 3810 §5.1.3/§5.1.9 exponential codes. */
AMT_EXPORT uint32_t amt_decode_code8(uint8_t code);   /* IGMPv3 MRC (0.1 s) and QQIC (s) */
AMT_EXPORT uint32_t amt_decode_code16(uint16_t code); /* MLDv2 Maximum Response Code (ms) */

/* A decoded encapsulated multicast datagram (Multicast Data payload). */
typedef struct amt_data {
    amt_sg sg;              /* inner source and destination group */
    const uint8_t *ip;      /* the whole inner IP datagram (points into the receive buffer) */
    size_t ip_len;
    uint8_t protocol;       /* inner transport protocol (17 = UDP) */
    bool has_udp;           /* UDP header parsed: the fields below are valid */
    uint16_t udp_sport, udp_dport;
    const uint8_t *payload; /* UDP payload */
    size_t payload_len;
} amt_data;

/* Parses an inner multicast datagram (IPv4 or IPv6): version, header length, total
 * length within len (trailing bytes are ignored), multicast destination, and a UDP
 * header when the datagram is an unfragmented UDP packet (a zero UDP checksum is
 * accepted).  Returns 0, AMT_ERR_TRUNCATED, AMT_ERR_LENGTH or AMT_ERR_INNER. */
AMT_EXPORT int amt_data_parse(amt_data *d, const uint8_t *ip, size_t len);

/* Internet checksum (RFC 1071) of a buffer, folded and complemented. */
AMT_EXPORT uint16_t amt_checksum(const void *buf, size_t len);

/* ---- gateway state machine ------------------------------------------------------- */

typedef struct amt_gw amt_gw;

enum amt_gw_state {
    AMT_GW_IDLE = 0,       /* no channel joined */
    AMT_GW_DISCOVERING,    /* Relay Discovery sent, waiting for an Advertisement */
    AMT_GW_REQUESTING,     /* Request sent, waiting for the first Query */
    AMT_GW_ACTIVE,         /* Query received, Updates sent, data flowing */
    AMT_GW_HOLDDOWN,       /* relay refused (L flag): waiting before discovering again */
};
AMT_EXPORT const char *amt_gw_state_name(int state);

enum amt_gw_event_type {
    AMT_EV_STATE,          /* state changed: old_state → state */
    AMT_EV_RELAY_FOUND,    /* Advertisement accepted: relay */
    AMT_EV_DISCOVERY_FAILED, /* discovery_report_after attempts unanswered (once per run) */
    AMT_EV_CONNECTED,      /* first valid Query of a Request cycle: relay, query */
    AMT_EV_RELAY_REFUSED,  /* Query with the L flag: relay at its limit */
    AMT_EV_RELAY_LOST,     /* Requests unanswered or ICMP unreachable: reason */
    AMT_EV_FIRST_DATA,     /* first data packet of a channel: sg */
    AMT_EV_GATEWAY_CHANGED, /* G flag fields changed (NAT rebinding); Teardown sent */
};

enum amt_lost_reason {
    AMT_LOST_NO_RESPONSE = 1, /* request_retries Requests unanswered */
    AMT_LOST_UNREACHABLE = 2, /* ICMP destination/port unreachable */
    AMT_LOST_NO_TRAFFIC = 3,  /* no data for data_timeout (RFC 8777 §3.3.4.1) */
};

typedef struct amt_gw_event {
    int type;               /* enum amt_gw_event_type */
    int state, old_state;   /* AMT_EV_STATE (state is also set for every event) */
    amt_endpoint relay;     /* the relay (or discovery address) in use */
    const amt_sg *sg;       /* AMT_EV_FIRST_DATA */
    int reason;             /* AMT_EV_RELAY_LOST: enum amt_lost_reason */
    const amt_query_info *query; /* AMT_EV_CONNECTED */
    unsigned attempts;      /* AMT_EV_DISCOVERY_FAILED, AMT_EV_RELAY_LOST */
} amt_gw_event;

/* Drop reasons counted by the gateway. */
enum amt_drop {
    AMT_DROP_SOURCE = 0,   /* wrong source address or port (RFC 7450 §5.2.3.x, digest §8.1) */
    AMT_DROP_MALFORMED,    /* AMT header/length rules violated */
    AMT_DROP_TYPE,         /* a type a gateway never receives, or unexpected in this state */
    AMT_DROP_NONCE,        /* nonce not the outstanding one */
    AMT_DROP_QUERY,        /* encapsulated query malformed or bad checksum */
    AMT_DROP_INNER,        /* encapsulated data datagram malformed */
    AMT_DROP_NOT_JOINED,   /* data for a channel not joined */
    AMT_DROP_COUNT
};
AMT_EXPORT const char *amt_drop_name(int reason);

typedef struct amt_gw_counters {
    uint64_t data_packets, data_bytes; /* delivered inner datagrams / their IP bytes */
    uint64_t rx_messages;              /* every datagram passed to amt_gw_recv */
    uint64_t drops[AMT_DROP_COUNT];
    uint64_t tx[8];                    /* messages sent, indexed by AMT type */
    uint64_t send_errors;
    uint64_t discoveries;              /* Relay Discovery messages sent */
    uint64_t request_cycles;           /* Request → Query cycles completed */
    uint64_t relay_lost;
    uint64_t queries_ignored_family;   /* Queries of the other family than asked (P) */
} amt_gw_counters;

typedef struct amt_channel_stats {
    uint64_t packets, bytes;
    uint64_t joined_at;          /* timestamp of amt_gw_join */
    uint64_t first_data_at;      /* 0 before the first packet */
} amt_channel_stats;

/* Memory functions used for every allocation the library makes (nghttp2 style), so the
 * tests can fail any one of them. NULL in the settings = libc. */
typedef struct amt_mem {
    void *(*malloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} amt_mem;

/* Settings of one gateway.  Initialise with amt_gw_settings_default(), then set fields.
 * `size` versions the struct: fields are only ever appended. */
typedef struct amt_gw_settings {
    size_t size;
    /* Where the first message goes: a Relay Discovery address (discovery = true) or the
     * relay itself (discovery = false: RFC 8777 D bit, or configured). Port normally
     * AMT_PORT. */
    amt_endpoint relay;
    bool discovery;
    /* Inner source address of the reports (NULL-equivalent: family 0 = unspecified). */
    amt_addr report_source;

    /* Timers (digest §5, "ours"). */
    uint64_t discovery_initial;  /* first Relay Discovery retransmission: 1 s */
    uint64_t discovery_max;      /* back-off cap: 64 s */
    unsigned discovery_jitter_pct; /* ± percent of each interval: 20 */
    unsigned discovery_report_after; /* AMT_EV_DISCOVERY_FAILED after this many: 4 */
    uint64_t request_initial;    /* first Request retransmission: 1 s (×2 each) */
    unsigned request_retries;    /* Requests unanswered before the relay is lost: 4 */
    uint64_t refresh_min;        /* minimum time between Request cycles: 1 s */
    uint64_t holddown;           /* after L=1: 600 s (RFC 8777 §3.3.5) */
    uint64_t restart_span;       /* random delay added before re-discovery after a loss:
                                    0..span (RFC 8777 §3.3.4.2; default 0 = immediate) */

    /* Callbacks; `user` is passed to each.  rand and send are required. */
    void *user;
    uint32_t (*rand)(void *user);
    /* Sends one datagram to dst.  Return 0, or a negative value (counted, and the timers
     * retransmit). */
    int (*send)(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len);
    void (*event)(void *user, const amt_gw_event *ev);
    void (*log)(void *user, int syslog_level, const char *msg);
    const amt_mem *mem;
    /* No data on any channel for this long while ACTIVE = the relay is lost
     * (RFC 8777 §3.3.4.1); 0 = off (default: a source may be legitimately silent). */
    uint64_t data_timeout;
} amt_gw_settings;

AMT_EXPORT void amt_gw_settings_default(amt_gw_settings *s);

/* Creates a gateway in state IDLE.  The settings are copied (mem is referenced: it must
 * outlive the gateway).  Returns 0, AMT_ERR_INVALID_ARG or AMT_ERR_NOMEM. */
AMT_EXPORT int amt_gw_new(amt_gw **out, const amt_gw_settings *s);
/* Frees the gateway without sending anything (call amt_gw_shutdown first to leave
 * cleanly).  NULL is accepted. */
AMT_EXPORT void amt_gw_free(amt_gw *gw);

/* Adds a channel.  In IDLE this starts discovery (or a Request); in ACTIVE it sends an
 * Update with ALLOW{S} at once.  Returns 0, AMT_ERR_EXISTS, AMT_ERR_INVALID_ARG (family
 * mismatch, group not multicast) or AMT_ERR_NOMEM. */
AMT_EXPORT int amt_gw_join(amt_gw *gw, uint64_t now, const amt_sg *sg);
/* Removes a channel, sending an Update with BLOCK{S} at once when ACTIVE.  The last
 * leave returns the gateway to IDLE (with a Teardown when a G=1 Query was seen).
 * Returns 0 or AMT_ERR_NOT_FOUND. */
AMT_EXPORT int amt_gw_leave(amt_gw *gw, uint64_t now, const amt_sg *sg);
/* Leaves every channel (one BLOCK Update per family) and sends a Teardown if a G=1 Query
 * was seen; the gateway is IDLE afterwards. */
AMT_EXPORT void amt_gw_shutdown(amt_gw *gw, uint64_t now);

/* Feeds one received UDP datagram (from = its source).  Returns
 *   1  Multicast Data for a joined channel: *data describes the inner datagram, which
 *      points into buf (no copy);
 *   0  a control message was consumed;
 *   <0 the datagram was dropped (the matching drop counter was incremented). */
AMT_EXPORT int amt_gw_recv(amt_gw *gw, uint64_t now, const amt_endpoint *from,
                           const uint8_t *buf, size_t len, amt_data *data);

/* Reports an ICMP destination/port unreachable for the tunnel (the driver sees it as
 * ECONNREFUSED).  In ACTIVE the relay is declared lost and discovery (or a new Request
 * cycle) starts at once (a restarted relay forgets its tunnels: digest §7); in the
 * other states the retransmission back-off already handles it and it is ignored. */
AMT_EXPORT void amt_gw_icmp_unreachable(amt_gw *gw, uint64_t now);

/* The next time amt_gw_handle_expiry must be called, or AMT_NEVER. */
AMT_EXPORT uint64_t amt_gw_get_expiry(const amt_gw *gw);
/* Runs the timers that are due at `now`. */
AMT_EXPORT void amt_gw_handle_expiry(amt_gw *gw, uint64_t now);

AMT_EXPORT int amt_gw_get_state(const amt_gw *gw);
/* The relay Requests go to (the advertised address once discovery succeeded). */
AMT_EXPORT const amt_endpoint *amt_gw_get_relay(const amt_gw *gw);
AMT_EXPORT void amt_gw_get_counters(const amt_gw *gw, amt_gw_counters *c);
AMT_EXPORT size_t amt_gw_channel_count(const amt_gw *gw);
/* Returns 0 or AMT_ERR_NOT_FOUND. */
AMT_EXPORT int amt_gw_channel_stats(const amt_gw *gw, const amt_sg *sg, amt_channel_stats *st);
/* The i-th channel in the gateway's order (0 ≤ i < amt_gw_channel_count); NULL past the
 * end. The pointer is valid until the next join/leave. */
AMT_EXPORT const amt_sg *amt_gw_channel_at(const amt_gw *gw, size_t i);

/* ---- socket driver --------------------------------------------------------------- */

typedef struct amt_io amt_io;

/* Called for every delivered data datagram (borrowed for the call only). */
typedef void (*amt_io_data_fn)(void *user, const amt_data *d);

/* Driver settings (the gateway's own settings are passed separately, so that each
 * struct can grow on its own).  Initialise with amt_io_settings_default(). */
typedef struct amt_io_settings {
    size_t size;
    amt_io_data_fn on_data;
    void *data_user;
    amt_endpoint local;     /* local address/port to bind (family 0 / port 0: any) */
    int rcvbuf;             /* SO_RCVBUF(FORCE) bytes: 4 MiB */
    unsigned batch;         /* datagrams per recvmmsg: 32 */
    size_t slot_size;       /* bytes per datagram buffer: 65536 */
    unsigned max_batches;   /* recvmmsg calls per process(): 16 */
} amt_io_settings;

AMT_EXPORT void amt_io_settings_default(amt_io_settings *s);
/* Creates the socket (non-blocking, close-on-exec) and the gateway with settings gw
 * (copied).  The driver supplies gw->send itself; gw->rand may be NULL (the driver then
 * uses getrandom()).  Returns 0, AMT_ERR_INVALID_ARG, AMT_ERR_NOMEM or -errno. */
AMT_EXPORT int amt_io_new(amt_io **out, const amt_gw_settings *gw, const amt_io_settings *s);
/* Closes the socket and frees everything (no messages sent).  NULL is accepted. */
AMT_EXPORT void amt_io_free(amt_io *io);
AMT_EXPORT amt_gw *amt_io_get_gw(amt_io *io);
AMT_EXPORT int amt_io_get_fd(const amt_io *io);
/* Reads what is queued (up to max_batches × batch datagrams), feeds the gateway,
 * delivers data through on_data, then runs due timers.  Returns the number of
 * datagrams read or -errno on a socket error other than EAGAIN/ECONNREFUSED. */
AMT_EXPORT int amt_io_process(amt_io *io, uint64_t now);
AMT_EXPORT uint64_t amt_io_get_expiry(const amt_io *io);
/* The local address and port of the tunnel socket. Returns 0 or -errno. */
AMT_EXPORT int amt_io_get_local(const amt_io *io, amt_endpoint *local);

#ifdef __cplusplus
}
#endif
#endif
