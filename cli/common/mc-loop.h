/* mc-loop.h — the small epoll loop every long-running tool runs.  Library drivers plug in
 * through their fd / process(now) / get_expiry() trio (DESIGN.md "Thin drivers"):
 *
 *     mc_loop_add(loop, amt_io_get_fd(io), my_expiry, my_process, io, &handle);
 *
 * Each iteration asks every source for its expiry, sleeps in epoll_wait until the
 * earliest one or until an fd is readable, then calls process(now) of every source whose
 * fd is ready or whose expiry has passed.  Signals are delivered through a signalfd. */
#ifndef MC_LOOP_H
#define MC_LOOP_H

#include <stdint.h>

typedef struct mc_loop mc_loop;

/* Absolute CLOCK_MONOTONIC nanoseconds of the source's next deadline; MC_NEVER (from
 * mc-time.h) for none.  NULL callback = no timer. */
typedef uint64_t (*mc_expiry_fn)(void *user);
/* Called when the fd is readable (or has an error/hang-up) or the expiry has passed.
 * `now` is mc_now() taken once per loop iteration. */
typedef void (*mc_process_fn)(void *user, uint64_t now);
typedef void (*mc_signal_fn)(void *user, int signo);

/* Returns 0 or -errno. */
int mc_loop_new(mc_loop **out);
void mc_loop_free(mc_loop *loop);

/* Adds a source: fd may be -1 (timer only); expiry may be NULL (fd only).  The fd is
 * watched for input (EPOLLIN).  *handle (may be NULL) identifies it for mc_loop_remove.
 * A source may be added or removed from inside any callback.  Returns 0 or -errno. */
int mc_loop_add(mc_loop *loop, int fd, mc_expiry_fn expiry, mc_process_fn process, void *user,
                int *handle);
/* Same, watching the fd for output as well (EPOLLOUT) when want_write is non-zero. */
int mc_loop_set_write(mc_loop *loop, int handle, int want_write);
void mc_loop_remove(mc_loop *loop, int handle);

/* Blocks signo and delivers it through a signalfd to cb.  Returns 0 or -errno. */
int mc_loop_add_signal(mc_loop *loop, int signo, mc_signal_fn cb, void *user);

/* Runs until mc_loop_stop().  Returns the status given to mc_loop_stop, or -errno when
 * epoll itself fails. */
int mc_loop_run(mc_loop *loop);
void mc_loop_stop(mc_loop *loop, int status);

/* Runs one iteration, waiting at most max_wait_ns (tests; 0 = poll).  Returns the number
 * of sources processed or -errno. */
int mc_loop_run_once(mc_loop *loop, uint64_t max_wait_ns);

#endif
