/* mc-loop.c — epoll + signalfd loop driving fd / process(now) / get_expiry() sources. */
#include "mc-loop.h"
#include "mc-time.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct source {
    bool used;
    bool ready;
    int fd;
    mc_expiry_fn expiry;
    mc_process_fn process;
    void *user;
};

struct sig_handler {
    int signo;
    mc_signal_fn cb;
    void *user;
};

struct mc_loop {
    int epfd;
    struct source *src;
    size_t nsrc, cap;
    int sigfd;
    sigset_t sigmask;
    struct sig_handler sig[16];
    size_t nsig;
    bool stop;
    int status;
};

int mc_loop_new(mc_loop **out)
{
    mc_loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int e = errno;
        free(l);
        return -e;
    }
    l->sigfd = -1;
    sigemptyset(&l->sigmask);
    *out = l;
    return 0;
}

void mc_loop_free(mc_loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    if (l->sigfd >= 0)
        close(l->sigfd);
    free(l->src);
    free(l);
}

int mc_loop_add(mc_loop *l, int fd, mc_expiry_fn expiry, mc_process_fn process, void *user,
                int *handle)
{
    size_t i;
    for (i = 0; i < l->nsrc && l->src[i].used; i++)
        ;
    if (i == l->nsrc) {
        if (l->nsrc == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            struct source *s = realloc(l->src, cap * sizeof *s);
            if (!s)
                return -ENOMEM;
            l->src = s;
            l->cap = cap;
        }
        l->nsrc++;
    }
    if (fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            int e = errno;
            if (i == l->nsrc - 1)
                l->nsrc--;
            return -e;
        }
    }
    l->src[i] = (struct source){.used = true, .fd = fd, .expiry = expiry, .process = process,
                                .user = user};
    if (handle)
        *handle = (int)i;
    return 0;
}

int mc_loop_set_write(mc_loop *l, int handle, int want_write)
{
    if (handle < 0 || (size_t)handle >= l->nsrc || !l->src[handle].used || l->src[handle].fd < 0)
        return -EINVAL;
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0u),
                             .data.u32 = (uint32_t)handle};
    return epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->src[handle].fd, &ev) == 0 ? 0 : -errno;
}

void mc_loop_remove(mc_loop *l, int handle)
{
    if (handle < 0 || (size_t)handle >= l->nsrc || !l->src[handle].used)
        return;
    if (l->src[handle].fd >= 0)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->src[handle].fd, NULL);
    l->src[handle].used = false;
    l->src[handle].ready = false;
}

static void signal_process(void *user, uint64_t now)
{
    mc_loop *l = user;
    (void)now;
    struct signalfd_siginfo si;
    /* Bounded: at most one read per pending signal kind plus the final EAGAIN. */
    for (int n = 0; n < 64; n++) {
        ssize_t r = read(l->sigfd, &si, sizeof si);
        if (r != (ssize_t)sizeof si)
            return;
        for (size_t i = 0; i < l->nsig; i++)
            if (l->sig[i].signo == (int)si.ssi_signo)
                l->sig[i].cb(l->sig[i].user, (int)si.ssi_signo);
    }
}

int mc_loop_add_signal(mc_loop *l, int signo, mc_signal_fn cb, void *user)
{
    if (l->nsig == sizeof l->sig / sizeof l->sig[0])
        return -ENOSPC;
    sigaddset(&l->sigmask, signo);
    if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) != 0)
        return -errno;
    int fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (l->sigfd < 0) {
        l->sigfd = fd;
        int r = mc_loop_add(l, fd, NULL, signal_process, l, NULL);
        if (r < 0)
            return r;
    }
    l->sig[l->nsig++] = (struct sig_handler){signo, cb, user};
    return 0;
}

void mc_loop_stop(mc_loop *l, int status)
{
    l->stop = true;
    l->status = status;
}

static uint64_t earliest_expiry(mc_loop *l)
{
    uint64_t t = MC_NEVER;
    for (size_t i = 0; i < l->nsrc; i++) {
        if (l->src[i].used && l->src[i].expiry) {
            uint64_t e = l->src[i].expiry(l->src[i].user);
            if (e < t)
                t = e;
        }
    }
    return t;
}

int mc_loop_run_once(mc_loop *l, uint64_t max_wait_ns)
{
    uint64_t now = mc_now();
    uint64_t deadline = earliest_expiry(l);
    uint64_t wait_ns = deadline <= now ? 0 : deadline - now;
    if (wait_ns > max_wait_ns)
        wait_ns = max_wait_ns;
    /* Round up to whole milliseconds so a timer due in 0.3 ms does not spin. */
    int timeout_ms = wait_ns == MC_NEVER ? -1
                     : wait_ns / MC_NS_PER_MS >= (uint64_t)24 * 3600 * 1000
                         ? 24 * 3600 * 1000
                         : (int)((wait_ns + MC_NS_PER_MS - 1) / MC_NS_PER_MS);

    struct epoll_event ev[64];
    int n = epoll_wait(l->epfd, ev, 64, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -errno;
    }
    for (int i = 0; i < n; i++) {
        uint32_t h = ev[i].data.u32;
        if (h < l->nsrc && l->src[h].used)
            l->src[h].ready = true;
    }
    now = mc_now();
    int processed = 0;
    /* Index loop (not pointers): callbacks may add sources and move the array. */
    for (size_t i = 0; i < l->nsrc && !l->stop; i++) {
        if (!l->src[i].used)
            continue;
        bool due = l->src[i].ready;
        if (!due && l->src[i].expiry)
            due = l->src[i].expiry(l->src[i].user) <= now;
        l->src[i].ready = false;
        if (due) {
            l->src[i].process(l->src[i].user, now);
            processed++;
        }
    }
    return processed;
}

int mc_loop_run(mc_loop *l)
{
    l->stop = false;
    while (!l->stop) {
        int r = mc_loop_run_once(l, MC_NEVER);
        if (r < 0)
            return r;
    }
    return l->status;
}
