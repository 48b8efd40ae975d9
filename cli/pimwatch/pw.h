/* pw.h — pieces of pimwatch that make system calls besides the capture: the interface's
 * addresses, the Hello sender, and the kernel multicast forwarding cache. */
#ifndef PW_H
#define PW_H

#include <stdbool.h>
#include <stdint.h>

#include "pimparse/pimparse.h"

#define PW_MAX_ADDRS 32

struct pw_iface {
    char name[32];
    int ifindex;
    pimparse_addr v4[PW_MAX_ADDRS]; /* v4[0] is the primary (Hello source) */
    int n_v4;
    pimparse_addr v6[PW_MAX_ADDRS]; /* v6[0] is the link-local address (Hello source) */
    int n_v6;
    bool has_ll6;
};

/* Fills *ifc with the interface's index and addresses.  Returns 0 or -errno. */
int pw_iface_lookup(const char *name, struct pw_iface *ifc);
/* Whether two lookups found the same addresses. */
bool pw_iface_same_addresses(const struct pw_iface *a, const struct pw_iface *b);

/* ---- address changes (pw-addrwatch.c) ---- */

/* A non-blocking rtnetlink socket told of every interface address added or removed.
 * Returns the fd or -errno. */
int pw_addrwatch_open(void);
/* Reads what is queued on it; returns 1 when an address of ifindex came or went (or
 * notifications were lost), else 0. */
int pw_addrwatch_read(int fd, int ifindex);

/* ---- Hellos (RFC 7761 §4.3.1) ---- */

struct pw_hello {
    int fd4, fd6;
    struct pw_iface *ifc;
    uint32_t generation_id;
    uint32_t dr_priority;
    uint16_t holdtime;
    uint64_t period;     /* ns between periodic Hellos */
    uint64_t next;       /* next send (monotonic ns) */
    int startup_left;    /* triggered Hellos still to send at 1 s spacing */
};

/* Opens the raw PIM sockets (IPv4 when the interface has an IPv4 address, IPv6 when it
 * has a link-local one), joins ALL-PIM-ROUTERS.  Returns 0 or -errno. */
int pw_hello_open(struct pw_hello *h, struct pw_iface *ifc, uint16_t holdtime, uint64_t period,
                  uint32_t dr_priority, uint32_t generation_id, uint64_t now);
/* Sends what is due at now; returns the number of Hellos sent. */
int pw_hello_process(struct pw_hello *h, uint64_t now);
/* Sends a Hello with the given holdtime at once (holdtime 0 on shutdown). */
int pw_hello_send(struct pw_hello *h, uint16_t holdtime);
/* After h->ifc's addresses changed: re-opens the IPv4 socket when the primary address it
 * is bound to changed (*fd4_changed set), and sends the new address list at now (RFC
 * 7761 §4.3.1: neighbors learn secondary addresses from Hellos).  Returns 0 or -errno
 * (the IPv4 socket could not be re-opened; h->fd4 is then -1). */
int pw_hello_addresses_changed(struct pw_hello *h, const pimparse_addr *old_primary4,
                               uint64_t now, bool *fd4_changed);
/* Reads and discards what the raw sockets received (PIM to 224.0.0.13 / ff02::d). */
void pw_hello_drain(struct pw_hello *h);
void pw_hello_close(struct pw_hello *h);

/* ---- multicast forwarding cache ---- */

struct pw_mfc {
    int fd4, fd6;     /* -1 when the family is not in use */
    int in_ifindex, out_ifindex;
    unsigned long added, removed, failed;
};

/* Takes the kernel's multicast routing socket(s) (MRT_INIT / MRT6_INIT) and adds the two
 * virtual interfaces (0 = from, 1 = to).  errmsg receives a readable reason on failure.
 * Returns 0 or -errno (-EADDRINUSE: another multicast router owns it). */
int pw_mfc_open(struct pw_mfc *m, int in_ifindex, int out_ifindex, char *errmsg, size_t size);
/* Adds / removes the route of (S,G).  Returns 0 or -errno. */
int pw_mfc_add(struct pw_mfc *m, const pimparse_addr *s, const pimparse_addr *g);
int pw_mfc_del(struct pw_mfc *m, const pimparse_addr *s, const pimparse_addr *g);
/* Discards the kernel's upcalls (cache misses) queued on the sockets. */
void pw_mfc_drain(struct pw_mfc *m);
/* MRT_DONE (the kernel drops every route and virtual interface) and close. */
void pw_mfc_close(struct pw_mfc *m);

#endif
