/* jf-watch.c — the inotify watch driver (spec/joinfile.md §3.4).  It adds no rules of its
 * own: events go to the debounce core, re-reads go through joinfile_read_file(). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <syslog.h>
#include <unistd.h>

#include "jf-internal.h"

/* Bad lines logged per read when the caller set no line-error callback (spec §3.1:
 * rate-limited); the rest are summarised in one line. */
#define JF_WATCH_LOGGED_LINES 10
/* Retry interval when the directory watch cannot be re-established. */
#define JF_WATCH_RETRY JOINFILE_MS(1000)

#define DIR_MASK                                                                               \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY |         \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
#define FILE_MASK (IN_CLOSE_WRITE | IN_MODIFY)

enum watch_state { ST_INITIAL, ST_OK, ST_MISSING, ST_ERROR };

struct joinfile_watch {
    joinfile_options opts; /* the caller's, with our line-error logger when it set none */
    bool log_lines;
    uint64_t lines_logged;
    char *path, *dir, *base;
    unsigned flags;
    int ifd;
    int dir_wd, file_wd;
    uint64_t retry_at;
    joinfile_debounce *deb;
    joinfile_set *current;
    enum watch_state state;
    joinfile_watch_fn fn;
    void *user;
};

static void log_line_error(void *user, const char *name, const joinfile_line_error *e)
{
    joinfile_watch *w = user;
    if (w->lines_logged++ >= JF_WATCH_LOGGED_LINES)
        return;
    char msg[512];
    joinfile_line_error_format(name, e, msg, sizeof msg);
    jf_log(&w->opts, LOG_WARNING, "%s", msg);
}

static int add_dir_watch(joinfile_watch *w)
{
    w->dir_wd = inotify_add_watch(w->ifd, w->dir, DIR_MASK);
    return w->dir_wd < 0 ? -errno : 0;
}

JOINFILE_EXPORT int joinfile_watch_new(const joinfile_options *opts, const char *path,
                                       unsigned flags, joinfile_watch_fn fn, void *user,
                                       joinfile_watch **out)
{
    if (!path || !*path || !fn || !out)
        return JOINFILE_ERR_INVALID;
    joinfile_watch *w = jf_calloc(1, sizeof *w);
    if (!w)
        return JOINFILE_ERR_NOMEM;
    w->ifd = -1;
    w->dir_wd = w->file_wd = -1;
    w->opts = *jf_opts(opts);
    if (!w->opts.line_error_fn) {
        w->log_lines = true;
        w->opts.line_error_fn = log_line_error;
        w->opts.line_error_user = w;
    }
    w->flags = flags;
    w->fn = fn;
    w->user = user;
    int rc = JOINFILE_ERR_NOMEM;
    char *d = NULL, *b = NULL;
    if (!(w->path = jf_strdup(path)) || !(d = jf_strdup(path)) || !(b = jf_strdup(path)))
        goto fail;
    w->dir = jf_strdup(dirname(d));
    w->base = jf_strdup(basename(b));
    if (!w->dir || !w->base)
        goto fail;
    if ((rc = joinfile_debounce_new(w->opts.debounce, &w->deb)) || (rc = joinfile_set_new(&w->current)))
        goto fail;
    w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->ifd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = add_dir_watch(w)))
        goto fail;
    /* spec §3.4 start-up: read once after the watch is installed. */
    joinfile_debounce_now(w->deb, 0);
    jf_free(d);
    jf_free(b);
    *out = w;
    return 0;
fail:
    jf_free(d);
    jf_free(b);
    joinfile_watch_free(w);
    return rc;
}

JOINFILE_EXPORT void joinfile_watch_free(joinfile_watch *w)
{
    if (!w)
        return;
    if (w->ifd >= 0)
        close(w->ifd);
    joinfile_debounce_free(w->deb);
    joinfile_set_free(w->current);
    jf_free(w->path);
    jf_free(w->dir);
    jf_free(w->base);
    jf_free(w);
}

JOINFILE_EXPORT int joinfile_watch_get_fd(const joinfile_watch *w)
{
    return w ? w->ifd : -1;
}

JOINFILE_EXPORT uint64_t joinfile_watch_get_expiry(const joinfile_watch *w)
{
    if (!w)
        return JOINFILE_NEVER;
    uint64_t t = joinfile_debounce_get_expiry(w->deb);
    if (w->dir_wd < 0 && w->retry_at < t)
        t = w->retry_at;
    return t;
}

JOINFILE_EXPORT void joinfile_watch_reread(joinfile_watch *w, uint64_t now)
{
    if (w)
        joinfile_debounce_now(w->deb, now);
}

JOINFILE_EXPORT joinfile_set *joinfile_watch_get_set(joinfile_watch *w)
{
    return w ? w->current : NULL;
}

static int differs(void *user, int change, const joinfile_entry *a, const joinfile_entry *b)
{
    (void)user, (void)change, (void)a, (void)b;
    return 1;
}

static void emit(joinfile_watch *w, int type, joinfile_set *old_set, joinfile_set *new_set,
                 const joinfile_errors *errors, int error)
{
    joinfile_watch_event ev = {
        .type = type,
        .path = w->path,
        .old_set = old_set,
        .new_set = new_set,
        .errors = errors,
        .error = error,
    };
    w->fn(w->user, &ev);
}

static void reread(joinfile_watch *w)
{
    /* Watch the file's current inode before reading it, so a write that lands between the
     * read and the next event is still seen (spec §3.4, single-file mounts). */
    int fwd = inotify_add_watch(w->ifd, w->path, FILE_MASK);
    w->file_wd = fwd >= 0 ? fwd : -1;

    joinfile_set *set = NULL;
    joinfile_errors *errors = NULL;
    w->lines_logged = 0;
    int rc = joinfile_read_file(&w->opts, w->path, &set, &errors);
    if (w->log_lines && errors && joinfile_errors_count(errors) > JF_WATCH_LOGGED_LINES)
        jf_log(&w->opts, LOG_WARNING, "%s: %llu more bad lines not shown", w->path,
               (unsigned long long)(joinfile_errors_count(errors) - JF_WATCH_LOGGED_LINES));

    if (rc == 0) {
        int d = joinfile_set_diff(w->current, set, differs, NULL);
        if (d < 0) { /* out of memory while comparing: keep the old set, try next time */
            jf_log(&w->opts, LOG_ERR, "%s: %s", w->path, joinfile_strerror(d));
            emit(w, JOINFILE_WATCH_READ_ERROR, w->current, w->current, NULL, d);
            joinfile_set_free(set);
        } else if (d || w->state != ST_OK) {
            joinfile_set *old = w->current;
            w->current = set;
            w->state = ST_OK;
            emit(w, JOINFILE_WATCH_CHANGED, old, set, errors, 0);
            joinfile_set_free(old);
        } else {
            joinfile_set_free(set);
        }
    } else if (rc == -ENOENT) {
        if (w->state != ST_MISSING) {
            w->state = ST_MISSING;
            joinfile_set *empty = NULL;
            if ((w->flags & JOINFILE_WATCH_MISSING_IS_EMPTY) && joinfile_set_count(w->current) &&
                joinfile_set_new(&empty) == 0) {
                joinfile_set *old = w->current;
                w->current = empty;
                emit(w, JOINFILE_WATCH_MISSING, old, empty, NULL, 0);
                joinfile_set_free(old);
            } else {
                emit(w, JOINFILE_WATCH_MISSING, w->current, w->current, NULL, 0);
            }
        }
    } else {
        w->state = ST_ERROR;
        jf_log(&w->opts, LOG_ERR, "%s: %s; keeping the last good set (%zu entries)", w->path,
               joinfile_strerror(rc), joinfile_set_count(w->current));
        emit(w, JOINFILE_WATCH_READ_ERROR, w->current, w->current, errors, rc);
    }
    joinfile_errors_free(errors);
}

/* Drains the inotify fd.  Returns 0 or -errno. */
static int drain(joinfile_watch *w, uint64_t now)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->ifd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -errno;
        }
        if (n == 0)
            return 0;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                /* Events were lost: re-read whatever happened (spec §3.4). */
                joinfile_debounce_now(w->deb, now);
                continue;
            }
            if (ev->wd == w->dir_wd) {
                if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                    if (ev->mask & IN_IGNORED)
                        w->dir_wd = -1;
                    else if (w->dir_wd >= 0) {
                        inotify_rm_watch(w->ifd, w->dir_wd);
                        w->dir_wd = -1;
                    }
                    w->retry_at = now;
                    joinfile_debounce_event(w->deb, now);
                    continue;
                }
                /* Exact basename match: `xfoo.sgs` must not wake the reader of `foo.sgs`
                 * (spec §2 defect 4), nor our own `.foo.sgs.??????` temp files. */
                if (ev->len && !strcmp(ev->name, w->base)) {
                    /* A rename into place is a whole file: it may be read at once. */
                    if (ev->mask & IN_MOVED_TO)
                        joinfile_debounce_complete(w->deb, now);
                    else
                        joinfile_debounce_event(w->deb, now);
                }
            } else if (ev->wd == w->file_wd) {
                if (ev->mask & IN_IGNORED)
                    w->file_wd = -1;
                else
                    joinfile_debounce_event(w->deb, now);
            }
        }
    }
}

JOINFILE_EXPORT int joinfile_watch_process(joinfile_watch *w, uint64_t now)
{
    if (!w)
        return JOINFILE_ERR_INVALID;
    int rc = drain(w, now);
    if (rc)
        return rc;
    if (w->dir_wd < 0 && now >= w->retry_at) {
        int r = add_dir_watch(w);
        if (r) {
            w->retry_at = now + JF_WATCH_RETRY;
            jf_log(&w->opts, LOG_ERR, "%s: cannot watch directory %s: %s", w->path, w->dir,
                   joinfile_strerror(r));
        } else {
            jf_log(&w->opts, LOG_NOTICE, "%s: watching directory %s again", w->path, w->dir);
            joinfile_debounce_now(w->deb, now);
        }
    }
    if (joinfile_debounce_handle_expiry(w->deb, now))
        reread(w);
    return 0;
}
