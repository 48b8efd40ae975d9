/* ing-plan.h — which relay each source uses: the sans-I/O core of driad-ingest.
 *
 * It groups (S,G)s by source, asks for each source's relay candidates (RFC 8777 order,
 * delivered by the caller's resolver), assigns the source to its first usable candidate,
 * moves it to the next one when its relay fails (the relay is held down, RFC 8777
 * §3.3.4.1 / §3.3.5), and looks the source up again when its DNS answer expires, when
 * the lookup failed (RFC 8777 §3.5 back-off) or when its candidates ran out
 * (RFC 8777 §3.3.4.1 back-off).  It never opens a socket or reads the clock: changes come
 * in with a timestamp, actions go out through the ops callbacks, timers are
 * get_expiry()/handle_expiry(now). */
#ifndef ING_PLAN_H
#define ING_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amt/amt.h"

enum ing_origin { ING_FROM_AMTRELAY = 1, ING_FROM_ANYCAST = 2 };

/* One relay a source may use. */
typedef struct ing_candidate {
    amt_addr relay;
    uint8_t precedence;
    bool discovery; /* RFC 8777 §4.2.2: D = 0, so Relay Discovery goes to this address first */
    uint8_t origin; /* enum ing_origin */
} ing_candidate;

enum ing_lookup_status {
    ING_LOOKUP_FOUND = 0,
    ING_LOOKUP_NO_RECORD,  /* NXDOMAIN / NODATA */
    ING_LOOKUP_NO_RELAY,   /* type 0 at the best precedence */
    ING_LOOKUP_UNUSABLE,   /* records, but none gives an address of the wanted family */
    ING_LOOKUP_FAILED,     /* DNS error or timeout */
};

/* State of a source, for the status file and the tests. */
enum ing_source_state {
    ING_SRC_LOOKUP = 0, /* lookup outstanding, no relay yet */
    ING_SRC_ASSIGNED,   /* using candidate `current` */
    ING_SRC_WAITING,    /* no relay: lookup again at next_at */
};
const char *ing_source_state_name(int state);

struct ing_plan_ops {
    void *user;
    /* Starts an asynchronous lookup; the answer comes back through
     * ing_plan_lookup_result().  Return 0, or < 0 (retried after the back-off). */
    int (*lookup)(void *user, uint64_t now, const amt_addr *source);
    /* Joins sg through a tunnel to relay.  Return 0 or < 0 (logged). */
    int (*attach)(void *user, uint64_t now, const ing_candidate *relay, const amt_sg *sg);
    /* Leaves sg on the tunnel to relay. */
    void (*detach)(void *user, uint64_t now, const amt_addr *relay, const amt_sg *sg);
    /* A relay is held down until `until` (may be NULL). */
    void (*holddown)(void *user, const amt_addr *relay, uint64_t until);
    /* One log line (syslog level). */
    void (*log)(void *user, int level, const char *msg);
    /* Randomness for the back-off spread (may be NULL: no spread). */
    uint32_t (*rand)(void *user);
};

typedef struct ing_plan_settings {
    uint64_t hold_down;        /* a failed relay is not used for this long: 600 s */
    uint64_t dns_retry_initial; /* RFC 8777 §3.5: 1 s */
    uint64_t dns_retry_max;     /* RFC 8777 §3.5: 120 s */
    uint64_t restart_initial;   /* candidates exhausted, RFC 8777 §3.3.4.1: 4 s */
    uint64_t restart_max;       /* RFC 8777 §3.3.4.1: 120 s */
    uint64_t min_relookup;      /* a TTL-driven re-lookup never comes sooner: 5 s */
    bool anycast;               /* no AMTRELAY record: use anycast_relay (discovery) */
    amt_addr anycast_relay;     /* RFC 7450 §7: 192.52.193.1 */
} ing_plan_settings;

void ing_plan_settings_default(ing_plan_settings *s);

typedef struct ing_plan ing_plan;

/* Returns 0 or -ENOMEM. Settings and ops are copied. */
int ing_plan_new(ing_plan **out, const ing_plan_settings *s, const struct ing_plan_ops *ops);
/* Frees without calling any op (detach first with ing_plan_clear if needed). */
void ing_plan_free(ing_plan *p);

/* The joinfile gained sg: its source is looked up (or its relay joined at once).
 * Returns 0, -EEXIST, -EINVAL or -ENOMEM. */
int ing_plan_add(ing_plan *p, uint64_t now, const amt_sg *sg);
/* The joinfile lost sg: it is left; the last group of a source forgets the source.
 * Returns 0 or -ENOENT. */
int ing_plan_remove(ing_plan *p, uint64_t now, const amt_sg *sg);

/* The answer to a lookup started through ops.lookup.  cands are in preference order
 * (ignored unless status is ING_LOOKUP_FOUND); expires is the absolute time the answer
 * stops being valid (0: unknown); reason is a short text for ING_LOOKUP_FAILED. */
void ing_plan_lookup_result(ing_plan *p, uint64_t now, const amt_addr *source, int status,
                            const char *reason, const ing_candidate *cands, size_t n,
                            uint64_t expires);

/* The tunnel to relay failed (never answered, refused, unreachable, silent).  The relay
 * is held down and every source using it moves to its next candidate. */
void ing_plan_relay_failed(ing_plan *p, uint64_t now, const amt_addr *relay, const char *reason);

/* True while relay is held down at now. */
bool ing_plan_held_down(const ing_plan *p, const amt_addr *relay, uint64_t now);

uint64_t ing_plan_get_expiry(const ing_plan *p);
void ing_plan_handle_expiry(ing_plan *p, uint64_t now);

/* Read-only view of a source (status file, tests). */
typedef struct ing_source_info {
    amt_addr source;
    int state;                    /* enum ing_source_state */
    const ing_candidate *relay;   /* ASSIGNED: the candidate in use; NULL otherwise */
    size_t n_candidates;
    const amt_addr *groups;
    size_t n_groups;
    uint64_t next_at;             /* next lookup (AMT_NEVER: none planned) */
    unsigned failures;            /* consecutive failed lookups / exhausted candidate lists */
} ing_source_info;

/* Relays held down at now: the i-th one (0-based) into *relay and *until; false past
 * the end. */
bool ing_plan_hold_at(const ing_plan *p, size_t i, uint64_t now, amt_addr *relay, uint64_t *until);

size_t ing_plan_source_count(const ing_plan *p);
/* 0 ≤ i < count; returns false past the end. Pointers valid until the next call that
 * changes the plan. */
bool ing_plan_source_at(const ing_plan *p, size_t i, ing_source_info *info);
/* The source's info by address; false when unknown. */
bool ing_plan_source_find(const ing_plan *p, const amt_addr *source, ing_source_info *info);

#endif
