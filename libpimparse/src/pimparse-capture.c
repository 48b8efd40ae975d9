/* pimparse-capture.c — the libpcap driver: the only file of the library that makes
 * system calls.  Live capture exposes the fd / process(now) / get_expiry() trio; file
 * replay uses each packet's timestamp as the clock. */
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "pimparse-internal.h"

/* Once the state's tables outgrow the caches, replay reads frames in batches (see
 * "batched input" in pimparse-state.c): each frame is copied out of libpcap's buffer
 * (valid only until the next read) and decoded at once, which prefetches its hash slots;
 * the batch is then processed in capture order. */
#define BATCH_FRAMES 16
#define BATCH_BYTES 65536
/* Entries are prefetched this many frames before they are processed. */
#define ENTRY_AHEAD 4

struct batch {
    unsigned n;
    size_t used;
    struct {
        size_t off, len;
        uint64_t ts;
        int rc;
        pimparse_packet pkt;
        struct pp_ahead ah;
    } f[BATCH_FRAMES];
    uint8_t data[BATCH_BYTES];
};

struct pimparse_capture {
    pcap_t *pcap;
    struct batch *batch; /* file replay only */
    pimparse_state *st;
    int linktype;
    int fd;
    uint64_t now;
    uint64_t last_time;
    unsigned long replayed; /* frames read by replay so far */
};

static void set_err(char *errbuf, size_t size, const char *msg)
{
    if (errbuf && size)
        snprintf(errbuf, size, "%s", msg);
}

static void on_live_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    pimparse_capture *c = (pimparse_capture *)user;
    c->last_time = c->now;
    pimparse_state_process_frame(c->st, c->linktype, bytes, h->caplen, c->now);
}

int pimparse_capture_open_live(const char *ifname, pimparse_state *st, pimparse_capture **out,
                               char *errbuf, size_t errbuf_size)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    if (!ifname || !st || !out)
        return PIMPARSE_ERR_INVALID;
    *out = NULL;
    pimparse_capture *c = pp_calloc(1, sizeof *c);
    if (!c)
        return PIMPARSE_ERR_NOMEM;
    c->st = st;
    c->fd = -1;
    c->pcap = pcap_create(ifname, perr);
    if (!c->pcap)
        goto fail;
    struct bpf_program prog;
    memset(&prog, 0, sizeof prog);
    /* Whole PIM messages (the largest J/P fits one MTU), delivered at once. */
    if (pcap_set_snaplen(c->pcap, 65535) != 0 || pcap_set_immediate_mode(c->pcap, 1) != 0 ||
        pcap_set_promisc(c->pcap, 0) != 0)
        goto fail_pcap;
    int r = pcap_activate(c->pcap);
    if (r < 0)
        goto fail_pcap;
    /* spec/pim.md §1: filter `pim` and keep only received frames (not our own Hellos). */
    if (pcap_compile(c->pcap, &prog, "pim", 1, PCAP_NETMASK_UNKNOWN) != 0)
        goto fail_pcap;
    r = pcap_setfilter(c->pcap, &prog);
    pcap_freecode(&prog);
    if (r != 0)
        goto fail_pcap;
    if (pcap_setdirection(c->pcap, PCAP_D_IN) != 0)
        goto fail_pcap;
    if (pcap_setnonblock(c->pcap, 1, perr) != 0)
        goto fail;
    c->fd = pcap_get_selectable_fd(c->pcap);
    if (c->fd < 0) {
        snprintf(perr, sizeof perr, "no selectable fd for %s", ifname);
        goto fail;
    }
    c->linktype = pcap_datalink(c->pcap);
    *out = c;
    return 0;
fail_pcap:
    snprintf(perr, sizeof perr, "%s: %s", ifname, pcap_geterr(c->pcap));
fail:
    set_err(errbuf, errbuf_size, perr);
    if (c->pcap)
        pcap_close(c->pcap);
    pp_free(c);
    return PIMPARSE_ERR_PCAP;
}

int pimparse_capture_open_file(const char *path, pimparse_state *st, pimparse_capture **out,
                               char *errbuf, size_t errbuf_size)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    if (!path || !st || !out)
        return PIMPARSE_ERR_INVALID;
    *out = NULL;
    pimparse_capture *c = pp_calloc(1, sizeof *c);
    if (!c)
        return PIMPARSE_ERR_NOMEM;
    c->st = st;
    c->fd = -1;
    c->batch = pp_malloc(sizeof *c->batch);
    if (!c->batch) {
        pp_free(c);
        return PIMPARSE_ERR_NOMEM;
    }
    c->batch->n = 0;
    c->batch->used = 0;
    c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!c->pcap) {
        pp_free(c->batch);
        set_err(errbuf, errbuf_size, perr);
        pp_free(c);
        return PIMPARSE_ERR_PCAP;
    }
    c->linktype = pcap_datalink(c->pcap);
    *out = c;
    return 0;
}

void pimparse_capture_close(pimparse_capture *c)
{
    if (!c)
        return;
    if (c->pcap)
        pcap_close(c->pcap);
    pp_free(c->batch);
    pp_free(c);
}

int pimparse_capture_get_fd(const pimparse_capture *c)
{
    return c ? c->fd : -1;
}

int pimparse_capture_process(pimparse_capture *c, uint64_t now)
{
    if (!c || c->fd < 0)
        return PIMPARSE_ERR_INVALID;
    c->now = now;
    int total = 0;
    /* Bounded: a busy link cannot keep us here for more than a few buffers per wake-up. */
    for (int round = 0; round < 64; round++) {
        int n = pcap_dispatch(c->pcap, -1, on_live_frame, (u_char *)c);
        if (n < 0) {
            if (n == PCAP_ERROR_BREAK)
                break;
            return PIMPARSE_ERR_PCAP;
        }
        if (n == 0)
            break;
        total += n;
    }
    pimparse_state_handle_expiry(c->st, now);
    return total;
}

uint64_t pimparse_capture_get_expiry(pimparse_capture *c)
{
    return c ? pimparse_state_get_expiry(c->st) : PIMPARSE_NEVER;
}

/* memcpy for the typical frame, a hundred bytes or so: whole 32-byte blocks, then the
 * last 32 bytes (overlapping) - a few moves inline instead of a library call choosing a
 * strategy for every frame. */
static void copy_frame(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (len < 32 || len > 256) {
        memcpy(dst, src, len);
        return;
    }
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        memcpy(dst + i, src + i, 32);
    if (i < len)
        memcpy(dst + len - 32, src + len - 32, 32);
}

static void batch_run(pimparse_capture *c, struct batch *b)
{
    for (unsigned i = 0; i < b->n && i < ENTRY_AHEAD; i++)
        pp_state_prefetch_entries(c->st, &b->f[i].ah);
    for (unsigned i = 0; i < b->n; i++) {
        if (i + ENTRY_AHEAD < b->n)
            pp_state_prefetch_entries(c->st, &b->f[i + ENTRY_AHEAD].ah);
        c->last_time = b->f[i].ts;
        pp_state_process_decoded(c->st, b->f[i].rc, &b->f[i].pkt, &b->f[i].ah, b->f[i].len,
                                 b->f[i].ts);
    }
    b->n = 0;
    b->used = 0;
}

/* One replayed frame (pcap_dispatch callback). */
static void on_replay_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    pimparse_capture *c = (pimparse_capture *)user;
    struct batch *b = c->batch;
    /* Opened with nanosecond precision: tv_usec holds nanoseconds. */
    uint64_t ts = (uint64_t)h->ts.tv_sec * PIMPARSE_NS_PER_S + (uint64_t)h->ts.tv_usec;
    size_t len = h->caplen;
    c->replayed++;
    if (b->n == 0 && !pp_state_prefetch_pays(c->st)) {
        /* Small tables: straight from libpcap's buffer, as nothing is worth fetching
         * ahead.  Only between batches, so frames stay in order. */
        c->last_time = ts;
        pimparse_state_process_frame(c->st, c->linktype, data, len, ts);
        return;
    }
    if (len > BATCH_BYTES - b->used)
        batch_run(c, b);
    if (len > BATCH_BYTES) {
        /* Larger than a whole batch: processed straight from libpcap's buffer. */
        c->last_time = ts;
        pimparse_state_process_frame(c->st, c->linktype, data, len, ts);
        return;
    }
    unsigned i = b->n++;
    b->f[i].off = b->used;
    b->f[i].len = len;
    b->f[i].ts = ts;
    copy_frame(b->data + b->used, data, len);
    b->used += len;
    b->f[i].rc = pp_state_decode_ahead(c->st, c->linktype, b->data + b->f[i].off, len,
                                       &b->f[i].pkt, &b->f[i].ah);
    if (b->n == BATCH_FRAMES)
        batch_run(c, b);
}

long pimparse_capture_replay(pimparse_capture *c, unsigned long max_frames)
{
    if (!c || !c->pcap || c->fd >= 0 || !c->batch)
        return PIMPARSE_ERR_INVALID;
    /* pcap_dispatch reads a file's records in one call (cnt -1: to the end), without the
     * per-record wrapper of pcap_next_ex.  Frames are counted as the callback sees them,
     * so that a read error (a capture cut inside a record) still counts what came before
     * it. */
    unsigned long start = c->replayed;
    int err = 0;
    for (;;) {
        int cnt = -1;
        if (max_frames) {
            unsigned long left = max_frames - (c->replayed - start);
            if (left == 0)
                break;
            cnt = left > INT_MAX ? INT_MAX : (int)left;
        }
        int r = pcap_dispatch(c->pcap, cnt, on_replay_frame, (u_char *)c);
        if (r == PCAP_ERROR_BREAK || r == 0)
            break;
        if (r < 0) {
            err = PIMPARSE_ERR_PCAP;
            break;
        }
    }
    /* Frames read before an error are still processed: a truncated capture keeps what
     * came before the cut. */
    batch_run(c, c->batch);
    return err ? err : (long)(c->replayed - start);
}

uint64_t pimparse_capture_last_time(const pimparse_capture *c)
{
    return c ? c->last_time : 0;
}

int pimparse_capture_linktype(const pimparse_capture *c)
{
    return c ? c->linktype : -1;
}
