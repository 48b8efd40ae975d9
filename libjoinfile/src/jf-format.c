/* jf-format.c — canonical text (joinfile(5) "Canonical form"; spec/joinfile.md §3.2 with
 * issue 2's population rule). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "jf-internal.h"

static size_t put_u32(char *out, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t jf_format_address(int family, const uint8_t a[16], char *buf)
{
    if (family == AF_INET) {
        /* Hand-written: inet_ntop's IPv4 path goes through sprintf, which dominated
         * formatting a million lines. */
        size_t n = 0;
        for (int i = 0; i < 4; i++) {
            unsigned v = a[i];
            if (i)
                buf[n++] = '.';
            if (v >= 100)
                buf[n++] = (char)('0' + v / 100);
            if (v >= 10)
                buf[n++] = (char)('0' + v / 10 % 10);
            buf[n++] = (char)('0' + v % 10);
        }
        buf[n] = '\0';
        return n;
    }
    /* RFC 5952 text (lower case, longest zero run compressed) is what glibc writes. */
    if (!inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN)) {
        buf[0] = '\0';
        return 0;
    }
    return strlen(buf);
}

/* Writes "S,G[,P]" into out (>= JOINFILE_ENTRY_MAX_LEN bytes); returns the length. */
static size_t format_entry(const joinfile_entry *e, int mode, char *out)
{
    size_t n = jf_format_address(e->family, e->source, out);
    out[n++] = ',';
    n += jf_format_address(e->family, e->group, out + n);
    if (mode == JOINFILE_POPULATION_ALWAYS ||
        (mode == JOINFILE_POPULATION_AUTO && e->population != 1)) {
        out[n++] = ',';
        n += put_u32(out + n, e->population);
    }
    out[n] = '\0';
    return n;
}

static bool valid_mode(int mode)
{
    return mode == JOINFILE_POPULATION_AUTO || mode == JOINFILE_POPULATION_ALWAYS ||
           mode == JOINFILE_POPULATION_NEVER;
}

JOINFILE_EXPORT size_t joinfile_entry_format(const joinfile_entry *e, int population_mode,
                                             char *buf, size_t size)
{
    if (!e || !buf || size < JOINFILE_ENTRY_MAX_LEN || !valid_mode(population_mode) ||
        (e->family != AF_INET && e->family != AF_INET6))
        return 0;
    return format_entry(e, population_mode, buf);
}

JOINFILE_EXPORT int joinfile_format(joinfile_set *set, int population_mode, char *buf,
                                    size_t size, size_t *len)
{
    if (!set || !len || (!buf && size) || !valid_mode(population_mode))
        return JOINFILE_ERR_INVALID;
    int rc = jf_set_ensure_sorted(set);
    if (rc)
        return rc;
    size_t total = 0;
    char line[JOINFILE_ENTRY_MAX_LEN];
    for (size_t i = 0; i < set->count; i++) {
        size_t n = format_entry(&set->sorted[i], population_mode, line);
        line[n++] = '\n';
        if (total + n <= size)
            memcpy(buf + total, line, n);
        total += n;
    }
    *len = total;
    return total <= size ? 0 : JOINFILE_ERR_NOSPACE;
}

JOINFILE_EXPORT int joinfile_format_alloc(joinfile_set *set, int population_mode, char **out,
                                          size_t *len)
{
    if (!set || !out || !len || !valid_mode(population_mode))
        return JOINFILE_ERR_INVALID;
    int rc = jf_set_ensure_sorted(set);
    if (rc)
        return rc;
    /* Room for the common IPv4 line; grows for IPv6. */
    size_t cap = set->count * 32 + JOINFILE_ENTRY_MAX_LEN + 1, total = 0;
    char *buf = jf_malloc(cap);
    if (!buf)
        return JOINFILE_ERR_NOMEM;
    for (size_t i = 0; i < set->count; i++) {
        if (cap - total < JOINFILE_ENTRY_MAX_LEN + 1) {
            char *nb = jf_reallocarray(buf, 2, cap);
            if (!nb) {
                jf_free(buf);
                return JOINFILE_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        total += format_entry(&set->sorted[i], population_mode, buf + total);
        buf[total++] = '\n';
    }
    buf[total] = '\0';
    *out = buf;
    *len = total;
    return 0;
}

JOINFILE_EXPORT void joinfile_free(void *p)
{
    jf_free(p);
}
