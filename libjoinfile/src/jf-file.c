/* jf-file.c — reading a joinfile and replacing it atomically (spec/joinfile.md §3.3).
 * The only libjoinfile source besides the watch driver that makes syscalls. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "jf-internal.h"

int (*jf_hook_rename)(const char *from, const char *to);

int jf_read_all(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    if (st.st_size > 0 && (uint64_t)st.st_size > max) {
        close(fd);
        return JOINFILE_ERR_TOO_BIG;
    }
    /* The size may change while we read (an in-place writer): read to EOF, bounded. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = jf_malloc(cap + 1);
    if (!buf) {
        close(fd);
        return JOINFILE_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                jf_free(buf);
                close(fd);
                return JOINFILE_ERR_TOO_BIG;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = jf_reallocarray(buf, ncap + 1, 1);
            if (!nb) {
                jf_free(buf);
                close(fd);
                return JOINFILE_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            jf_free(buf);
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        jf_free(buf);
        return JOINFILE_ERR_TOO_BIG;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

JOINFILE_EXPORT int joinfile_read_file(const joinfile_options *opts, const char *path,
                                       joinfile_set **set_out, joinfile_errors **errors)
{
    if (errors)
        *errors = NULL;
    if (set_out)
        *set_out = NULL;
    if (!path || !set_out)
        return JOINFILE_ERR_INVALID;
    char *data;
    size_t len;
    int rc = jf_read_all(path, jf_opts(opts)->max_file_size, &data, &len);
    if (rc)
        return rc;
    rc = joinfile_parse(opts, path, data, len, set_out, errors);
    jf_free(data);
    return rc;
}

/* ---- writer ---- */

struct joinfile_writer {
    joinfile_options opts;
    char *path;
    char *dir;  /* directory of path ("." for a bare name) */
    char *base; /* basename of path */
    unsigned flags;
    bool atomic_impossible; /* rename failed with EBUSY/EXDEV here once */
};

JOINFILE_EXPORT int joinfile_writer_new(const joinfile_options *opts, const char *path,
                                        unsigned flags, joinfile_writer **out)
{
    if (!path || !*path || !out)
        return JOINFILE_ERR_INVALID;
    joinfile_writer *w = jf_calloc(1, sizeof *w);
    if (!w)
        return JOINFILE_ERR_NOMEM;
    w->opts = *jf_opts(opts);
    w->flags = flags;
    char *d = NULL, *b = NULL;
    if (!(w->path = jf_strdup(path)) || !(d = jf_strdup(path)) || !(b = jf_strdup(path))) {
        jf_free(d);
        joinfile_writer_free(w);
        return JOINFILE_ERR_NOMEM;
    }
    /* dirname/basename modify their argument; keep our own copies of the results. */
    w->dir = jf_strdup(dirname(d));
    w->base = jf_strdup(basename(b));
    jf_free(d);
    jf_free(b);
    if (!w->dir || !w->base) {
        joinfile_writer_free(w);
        return JOINFILE_ERR_NOMEM;
    }
    if (!strcmp(w->base, "/") || !strcmp(w->base, ".") || !strcmp(w->base, "..")) {
        joinfile_writer_free(w);
        return JOINFILE_ERR_INVALID;
    }
    *out = w;
    return 0;
}

JOINFILE_EXPORT void joinfile_writer_free(joinfile_writer *w)
{
    if (!w)
        return;
    jf_free(w->path);
    jf_free(w->dir);
    jf_free(w->base);
    jf_free(w);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* True when the file already holds exactly these bytes. */
static bool same_content(const char *path, const void *data, size_t len)
{
    char *cur;
    size_t n;
    if (jf_read_all(path, len, &cur, &n))
        return false;
    bool same = n == len && !memcmp(cur, data, len);
    jf_free(cur);
    return same;
}

static int write_in_place(joinfile_writer *w, const void *data, size_t len)
{
    int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, w->opts.mode);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, data, len);
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* 0, -errno, or 1 when rename was impossible at this path (EBUSY/EXDEV). */
static int write_atomic(joinfile_writer *w, const void *data, size_t len)
{
    int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    /* spec §3.3 step 2: ".<basename>.<6 random characters>", never equal to the basename,
     * so watchers matching the exact basename ignore it.  mkostemp wants six 'X'. */
    size_t dl = strlen(w->dir), bl = strlen(w->base);
    char *tmp = jf_malloc(dl + bl + 10);
    if (!tmp) {
        close(dfd);
        return JOINFILE_ERR_NOMEM;
    }
    memcpy(tmp, w->dir, dl);
    tmp[dl] = '/';
    tmp[dl + 1] = '.';
    memcpy(tmp + dl + 2, w->base, bl);
    tmp[dl + 2 + bl] = '.';
    memset(tmp + dl + 3 + bl, 'X', 6);
    tmp[dl + 9 + bl] = '\0';

    int rc = 0;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fchmod(fd, w->opts.mode) < 0 || (rc = write_all(fd, data, len)) || fsync(fd) < 0) {
        if (!rc)
            rc = -errno;
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) < 0) {
        rc = -errno;
        unlink(tmp);
        goto out;
    }
    int r = jf_hook_rename ? jf_hook_rename(tmp, w->path) : rename(tmp, w->path);
    if (r < 0) {
        rc = -errno;
        unlink(tmp);
        if (rc == -EBUSY || rc == -EXDEV)
            rc = 1;
        goto out;
    }
    /* The rename is durable only once the directory is synced. */
    if (fsync(dfd) < 0)
        rc = -errno;
out:
    jf_free(tmp);
    close(dfd);
    return rc;
}

JOINFILE_EXPORT int joinfile_writer_write(joinfile_writer *w, const void *data, size_t len,
                                          int *how)
{
    if (!w || (!data && len))
        return JOINFILE_ERR_INVALID;
    if (!data)
        data = "";
    if (!(w->flags & JOINFILE_WRITER_NO_SKIP) && same_content(w->path, data, len)) {
        if (how)
            *how = JOINFILE_WRITE_UNCHANGED;
        return 0;
    }
    int rc;
    if (!(w->flags & JOINFILE_WRITER_IN_PLACE) && !w->atomic_impossible) {
        rc = write_atomic(w, data, len);
        if (rc <= 0) {
            if (rc == 0 && how)
                *how = JOINFILE_WRITE_ATOMIC;
            if (rc < 0)
                jf_log(&w->opts, LOG_ERR, "%s: atomic write failed: %s", w->path,
                       joinfile_strerror(rc));
            return rc;
        }
        w->atomic_impossible = true;
        jf_log(&w->opts, LOG_WARNING,
               "%s: cannot replace atomically (a single-file mount?): writing in place from now "
               "on; readers may see a partial file while it is written",
               w->path);
    }
    rc = write_in_place(w, data, len);
    if (rc)
        jf_log(&w->opts, LOG_ERR, "%s: in-place write failed: %s", w->path, joinfile_strerror(rc));
    else if (how)
        *how = JOINFILE_WRITE_IN_PLACE;
    return rc;
}

JOINFILE_EXPORT int joinfile_writer_write_set(joinfile_writer *w, joinfile_set *set,
                                              int population_mode, int *how)
{
    if (!w || !set)
        return JOINFILE_ERR_INVALID;
    char *text;
    size_t len;
    int rc = joinfile_format_alloc(set, population_mode, &text, &len);
    if (rc)
        return rc;
    rc = joinfile_writer_write(w, text, len, how);
    jf_free(text);
    return rc;
}

JOINFILE_EXPORT int joinfile_write_file(const joinfile_options *opts, const char *path,
                                        const void *data, size_t len, unsigned flags, int *how)
{
    joinfile_writer *w;
    int rc = joinfile_writer_new(opts, path, flags, &w);
    if (rc)
        return rc;
    rc = joinfile_writer_write(w, data, len, how);
    joinfile_writer_free(w);
    return rc;
}
