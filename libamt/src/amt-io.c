/* amt-io.c — the socket driver: one connected UDP socket per tunnel, recvmmsg batching,
 * a large receive buffer and UDP_NO_CHECK6_RX.  The only libamt file that makes system
 * calls; it adds no protocol logic (STYLE.md "Thin drivers"). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amt-internal.h"

#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102 /* digest §6; older libc headers lack it */
#endif

struct amt_io {
    amt_io_settings s;
    amt_gw_settings gs;    /* the caller's gateway settings (their callbacks and user) */
    amt_gw *gw;
    int fd;
    int sock_family;       /* AF_INET6 (dual-stack) or AF_INET */
    bool connected;
    amt_endpoint peer;
    bool icmp_pending;     /* ECONNREFUSED seen while sending: report from process() */
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_storage *names;
    uint8_t *bufs;
};

static void to_sockaddr(const amt_io *io, const amt_endpoint *ep, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (io->sock_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(ep->port);
        memcpy(&sin->sin_addr, ep->addr.bytes, 4);
        *len = sizeof *sin;
        return;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(ep->port);
    if (ep->addr.family == AMT_IPV4) {
        /* Dual-stack socket: IPv4 peers as v4-mapped addresses (RFC 4291 §2.5.5.2). */
        sin6->sin6_addr.s6_addr[10] = 0xFF;
        sin6->sin6_addr.s6_addr[11] = 0xFF;
        memcpy(&sin6->sin6_addr.s6_addr[12], ep->addr.bytes, 4);
    } else if (ep->addr.family == AMT_IPV6) {
        memcpy(&sin6->sin6_addr, ep->addr.bytes, 16);
    }
    *len = sizeof *sin6;
}

static void from_sockaddr(const struct sockaddr_storage *ss, amt_endpoint *ep)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    memset(ep, 0, sizeof *ep);
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        amt_addr_set(&ep->addr, AMT_IPV4, &sin->sin_addr);
        ep->port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (memcmp(sin6->sin6_addr.s6_addr, mapped, 12) == 0)
            amt_addr_set(&ep->addr, AMT_IPV4, &sin6->sin6_addr.s6_addr[12]);
        else
            amt_addr_set(&ep->addr, AMT_IPV6, &sin6->sin6_addr);
        ep->port = ntohs(sin6->sin6_port);
    }
}

/* ---- gateway callbacks ----------------------------------------------------------- */

static int io_send(void *user, const amt_endpoint *dst, const uint8_t *buf, size_t len)
{
    amt_io *io = user;
    if (io->sock_family == AF_INET && dst->addr.family != AMT_IPV4)
        return -EAFNOSUPPORT;
    if (!io->connected || io->peer.port != dst->port || !amt_addr_equal(&io->peer.addr, &dst->addr)) {
        /* Connecting again keeps the bound port, so Requests and Updates share the
         * source address and port the relay's MAC is bound to (RFC 7450 §5.2.3.5). */
        struct sockaddr_storage ss;
        socklen_t sl;
        to_sockaddr(io, dst, &ss, &sl);
        if (connect(io->fd, (struct sockaddr *)&ss, sl) < 0)
            return -errno;
        io->connected = true;
        io->peer = *dst;
    }
    /* A bounded retry: EINTR only, the socket is non-blocking. */
    for (int i = 0; i < 3; i++) {
        ssize_t n = send(io->fd, buf, len, 0);
        if (n >= 0)
            return 0;
        if (errno == ECONNREFUSED) {
            /* The ICMP error of an earlier datagram; report it outside this callback. */
            io->icmp_pending = true;
            continue;
        }
        if (errno != EINTR)
            return -errno;
    }
    return -EIO;
}

static uint32_t io_rand(void *user)
{
    amt_io *io = user;
    if (io->gs.rand)
        return io->gs.rand(io->gs.user);
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* Entropy pool not ready (early boot): fall back to mixing addresses and the fd,
         * enough to keep nonces distinct between tunnels. */
        uintptr_t p = (uintptr_t)io ^ (uintptr_t)&r;
        r = (uint32_t)(p ^ (p >> 32)) * 2654435761u + (uint32_t)io->fd;
    }
    return r;
}

static void io_event(void *user, const amt_gw_event *ev)
{
    amt_io *io = user;
    if (io->gs.event)
        io->gs.event(io->gs.user, ev);
}

static void io_log(void *user, int level, const char *msg)
{
    amt_io *io = user;
    if (io->gs.log)
        io->gs.log(io->gs.user, level, msg);
}

/* ---- public API ------------------------------------------------------------------ */

void amt_io_settings_default(amt_io_settings *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    s->rcvbuf = 4 << 20;
    s->batch = 32;
    s->slot_size = 65536;
    s->max_batches = 16;
}

static int open_socket(amt_io *io)
{
    int one = 1, zero = 0;
    bool v4_only = io->s.local.addr.family == AMT_IPV4 && io->gs.relay.addr.family == AMT_IPV4;
    io->fd = -1;
    if (!v4_only) {
        io->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (io->fd >= 0) {
            io->sock_family = AF_INET6;
            /* One socket for either family, so a relay advertised in the other family
             * than the discovery address needs no new fd. */
            if (setsockopt(io->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
                return -errno;
            /* RFC 7450 §4.2.2.3 / RFC 6935: Multicast Data over IPv6 may carry a zero
             * UDP checksum; Linux drops it without this (digest §6). */
            if (setsockopt(io->fd, SOL_UDP, UDP_NO_CHECK6_RX, &one, sizeof one) < 0)
                return -errno;
        } else if (errno != EAFNOSUPPORT || io->gs.relay.addr.family == AMT_IPV6) {
            return -errno;
        }
    }
    if (io->fd < 0) {
        io->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (io->fd < 0)
            return -errno;
        io->sock_family = AF_INET;
    }
    /* Absorb relay bursts (digest §5): FORCE works past rmem_max with CAP_NET_ADMIN. */
    int rb = io->s.rcvbuf;
    if (rb > 0 && setsockopt(io->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof rb) < 0)
        setsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
    struct sockaddr_storage ss;
    socklen_t sl;
    amt_endpoint local = io->s.local;
    to_sockaddr(io, &local, &ss, &sl);
    if (bind(io->fd, (struct sockaddr *)&ss, sl) < 0)
        return -errno;
    return 0;
}

int amt_io_new(amt_io **out, const amt_gw_settings *gw, const amt_io_settings *s)
{
    if (!out)
        return AMT_ERR_INVALID_ARG;
    *out = NULL;
    if (!gw || !s || s->size < sizeof *s || gw->size < sizeof *gw || !s->batch ||
        s->slot_size < 1500 || !s->max_batches)
        return AMT_ERR_INVALID_ARG;
    const amt_mem *m = gw->mem;
    amt_io *io = amt_mem_malloc(m, sizeof *io);
    if (!io)
        return AMT_ERR_NOMEM;
    memset(io, 0, sizeof *io);
    io->s = *s;
    io->gs = *gw;
    io->fd = -1;
    int r = AMT_ERR_NOMEM;
    io->msgs = amt_mem_malloc(m, s->batch * sizeof *io->msgs);
    io->iov = amt_mem_malloc(m, s->batch * sizeof *io->iov);
    io->names = amt_mem_malloc(m, s->batch * sizeof *io->names);
    io->bufs = amt_mem_malloc(m, s->batch * s->slot_size);
    if (!io->msgs || !io->iov || !io->names || !io->bufs)
        goto fail;
    for (unsigned i = 0; i < s->batch; i++) {
        io->iov[i].iov_base = io->bufs + (size_t)i * s->slot_size;
        io->iov[i].iov_len = s->slot_size;
        memset(&io->msgs[i], 0, sizeof io->msgs[i]);
        io->msgs[i].msg_hdr.msg_iov = &io->iov[i];
        io->msgs[i].msg_hdr.msg_iovlen = 1;
        io->msgs[i].msg_hdr.msg_name = &io->names[i];
        io->msgs[i].msg_hdr.msg_namelen = sizeof io->names[i];
    }
    amt_gw_settings gs = *gw;
    gs.user = io;
    gs.rand = io_rand;
    gs.send = io_send;
    gs.event = io_event;
    gs.log = io_log;
    if ((r = open_socket(io)) < 0)
        goto fail;
    if ((r = amt_gw_new(&io->gw, &gs)) < 0)
        goto fail;
    *out = io;
    return 0;
fail:
    amt_io_free(io);
    return r;
}

void amt_io_free(amt_io *io)
{
    if (!io)
        return;
    const amt_mem *m = io->gs.mem;
    amt_gw_free(io->gw);
    if (io->fd >= 0)
        close(io->fd);
    amt_mem_free(m, io->msgs);
    amt_mem_free(m, io->iov);
    amt_mem_free(m, io->names);
    amt_mem_free(m, io->bufs);
    amt_mem_free(m, io);
}

amt_gw *amt_io_get_gw(amt_io *io)
{
    return io ? io->gw : NULL;
}

int amt_io_get_fd(const amt_io *io)
{
    return io ? io->fd : -1;
}

uint64_t amt_io_get_expiry(const amt_io *io)
{
    return io ? amt_gw_get_expiry(io->gw) : AMT_NEVER;
}

int amt_io_get_local(const amt_io *io, amt_endpoint *local)
{
    if (!io || !local)
        return AMT_ERR_INVALID_ARG;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(io->fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    from_sockaddr(&ss, local);
    return 0;
}

int amt_io_process(amt_io *io, uint64_t now)
{
    if (!io)
        return AMT_ERR_INVALID_ARG;
    int total = 0;
    for (unsigned b = 0; b < io->s.max_batches; b++) {
        int n = recvmmsg(io->fd, io->msgs, io->s.batch, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            if (errno == ECONNREFUSED) {
                /* ICMP port unreachable from the connected relay (RFC 7450 §5.2.3.4.3
                 * restart; digest §7). */
                amt_gw_icmp_unreachable(io->gw, now);
                continue;
            }
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &io->msgs[i].msg_hdr;
            if (!(h->msg_flags & MSG_TRUNC)) {
                amt_endpoint from;
                amt_data d;
                from_sockaddr(&io->names[i], &from);
                if (amt_gw_recv(io->gw, now, &from, io->iov[i].iov_base, io->msgs[i].msg_len, &d) == 1 &&
                    io->s.on_data)
                    io->s.on_data(io->s.data_user, &d);
            }
            h->msg_namelen = sizeof io->names[i];
            h->msg_flags = 0;
        }
        total += n;
        if ((unsigned)n < io->s.batch)
            break;
    }
    if (io->icmp_pending) {
        io->icmp_pending = false;
        amt_gw_icmp_unreachable(io->gw, now);
    }
    if (amt_gw_get_expiry(io->gw) <= now)
        amt_gw_handle_expiry(io->gw, now);
    return total;
}
