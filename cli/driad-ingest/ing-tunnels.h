/* ing-tunnels.h — the tunnel table: one libamt tunnel (amt_io) per relay, shared by every
 * (S,G) that uses the relay, all in the caller's mc_loop.  A tunnel whose last (S,G) left
 * lingers before it is closed, so a channel that comes back at once finds it joined.
 * Relay failures seen by a tunnel (never advertised, refused with the L flag, Requests
 * unanswered, ICMP unreachable, no traffic) are reported after the tunnel's process()
 * returns, never from inside libamt's callbacks. */
#ifndef ING_TUNNELS_H
#define ING_TUNNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "amt/amt.h"
#include "ing-plan.h"
#include "mc-loop.h"

typedef struct ing_tunnels ing_tunnels;

struct ing_tunnels_settings {
    mc_loop *loop;
    uint16_t relay_port;   /* 2268 */
    uint64_t linger;       /* 10 s */
    uint64_t retry;        /* first Discovery/Request retransmission (0: libamt's 1 s) */
    uint64_t no_traffic;   /* RFC 8777 §3.3.4.1 loss detection; 0 = off */
    uint64_t holddown;     /* libamt's own wait after an L flag (0: its 600 s) */
    int rcvbuf;            /* per-tunnel SO_RCVBUF */
    unsigned batch;        /* datagrams per recvmmsg (0: libamt's 32) */
    /* A relay failed: called from the loop, outside libamt. */
    void (*failed)(void *user, uint64_t now, const amt_addr *relay, const char *reason);
    /* Every delivered datagram. */
    void (*data)(void *user, const amt_data *d);
    void *user;
};

int ing_tunnels_new(ing_tunnels **out, const struct ing_tunnels_settings *s);
/* Closes every tunnel without sending anything (call ing_tunnels_shutdown first). */
void ing_tunnels_free(ing_tunnels *t);

/* Joins sg through the tunnel to c->relay, creating it when needed (discovery as the
 * candidate says).  Returns 0, an AMT_ERR_* code or -errno. */
int ing_tunnels_attach(ing_tunnels *t, uint64_t now, const ing_candidate *c, const amt_sg *sg);
/* Leaves sg on the tunnel to relay (BLOCK Update now; the tunnel lingers when empty). */
void ing_tunnels_detach(ing_tunnels *t, uint64_t now, const amt_addr *relay, const amt_sg *sg);
/* Leaves every channel of every tunnel (one line per leave). */
void ing_tunnels_shutdown(ing_tunnels *t, uint64_t now);

/* Read-only view for the status file. */
typedef struct ing_tunnel_info {
    amt_addr relay;
    amt_endpoint local;
    int state;              /* enum amt_gw_state */
    bool discovery;
    size_t n_channels;
    uint64_t created_at;
    uint64_t linger_until;  /* AMT_NEVER unless empty */
    amt_gw_counters counters;
    const amt_gw *gw;       /* for amt_gw_channel_at / amt_gw_channel_stats */
} ing_tunnel_info;

size_t ing_tunnels_count(const ing_tunnels *t);
bool ing_tunnels_at(const ing_tunnels *t, size_t i, ing_tunnel_info *info);
/* Tunnels in AMT_GW_ACTIVE. */
size_t ing_tunnels_joined(const ing_tunnels *t);
/* (S,G)s joined over every tunnel. */
size_t ing_tunnels_channels(const ing_tunnels *t);

/* Name of a tunnel state in the log lines ("discovering", "requesting", "joined"...). */
const char *ing_tunnel_state_word(int amt_state);

#endif
