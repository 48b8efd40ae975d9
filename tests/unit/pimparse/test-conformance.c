/* test-conformance.c — decodes every capture of tcpdump's PIM test suite in
 * ../shared/conformance/pim (read in place) and compares every Join/Prune message with
 * the ground truth written in that folder's README.md; checks the documented Hellos; and
 * checks that the malformed captures are refused without reading past the data.
 * Usage: test-pimparse-conformance DIR.  Exit 77 (skipped) when DIR is absent. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimparse/pimparse.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "FAIL: ");
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    failures++;
}

/* Collapses whitespace runs to one space and trims. */
static void squeeze(char *s)
{
    char *w = s;
    int sp = 1;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            if (!sp)
                *w++ = ' ';
            sp = 1;
        } else {
            *w++ = *r;
            sp = 0;
        }
    }
    if (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

/* ---- ground truth from README.md ---------------------------------------------------- */

struct truth_msg {
    unsigned pkt;
    char *text; /* header line and group lines, squeezed, joined with '\n' */
};

struct truth_file {
    char name[128];
    unsigned declared;
    struct truth_msg *msgs;
    unsigned n;
};

static struct truth_file files[16];
static unsigned nfiles;

static void append(char **dst, const char *line)
{
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(line);
    char *n = realloc(*dst, a + b + 2);
    if (!n)
        abort();
    if (a) {
        n[a] = '\n';
        memcpy(n + a + 1, line, b + 1);
    } else {
        memcpy(n, line, b + 1);
    }
    *dst = n;
}

static int load_truth(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int in_section = 0, in_fence = 0;
    struct truth_file *cur = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0) {
            in_section = strstr(line, "Join/Prune ground truth") != NULL;
            cur = NULL;
            continue;
        }
        if (!in_section)
            continue;
        if (strncmp(line, "### ", 4) == 0 && nfiles < 16) {
            cur = &files[nfiles++];
            memset(cur, 0, sizeof *cur);
            sscanf(line + 4, "%127s", cur->name);
            const char *dash = strstr(line, "\xe2\x80\x94"); /* em dash */
            if (dash)
                cur->declared = (unsigned)strtoul(dash + 3, NULL, 10);
            continue;
        }
        if (strncmp(line, "```", 3) == 0) {
            in_fence = !in_fence;
            continue;
        }
        if (!in_fence || !cur)
            continue;
        squeeze(line);
        if (!line[0])
            continue;
        if (strncmp(line, "pkt ", 4) == 0) {
            struct truth_msg *m = realloc(cur->msgs, (cur->n + 1) * sizeof *m);
            if (!m)
                abort();
            cur->msgs = m;
            m[cur->n].pkt = (unsigned)strtoul(line + 4, NULL, 10);
            m[cur->n].text = NULL;
            append(&m[cur->n].text, line);
            cur->n++;
        } else if (cur->n) {
            append(&cur->msgs[cur->n - 1].text, line);
        }
    }
    fclose(f);
    return 0;
}

static const struct truth_file *truth_for(const char *name)
{
    for (unsigned i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* ---- our rendering of a decoded J/P in the same notation ---------------------------- */

static void flags_text(uint8_t f, char *out)
{
    char *p = out;
    if (f & PIMPARSE_SOURCE_S)
        *p++ = 'S';
    if (f & PIMPARSE_SOURCE_W)
        *p++ = 'W';
    if (f & PIMPARSE_SOURCE_R)
        *p++ = 'R';
    if (p == out)
        *p++ = '-';
    *p = '\0';
}

static char *render(unsigned pktno, const pimparse_packet *pkt, pimparse_jp *jp)
{
    static char out[65536];
    char a[64], b[64], c[64];
    int n = snprintf(out, sizeof out, "pkt %u %s > %s upstream %s holdtime %u groups %u", pktno,
                     pimparse_addr_format(&pkt->ip_src, a, sizeof a),
                     pimparse_addr_format(&pkt->ip_dst, b, sizeof b),
                     pimparse_addr_format(&jp->upstream_neighbor, c, sizeof c), jp->holdtime,
                     jp->num_groups);
    pimparse_jp_entry e;
    int cur_group = -1;
    int in_prunes = 0;
    unsigned cur_nj = 0, cur_np = 0;
    while (pimparse_jp_next(jp, &e)) {
        if (e.group_index != cur_group) {
            if (cur_group >= 0 && !in_prunes)
                n += snprintf(out + n, sizeof out - (size_t)n, " P: -");
            cur_group = e.group_index;
            in_prunes = 0;
            cur_nj = e.num_joined;
            cur_np = e.num_pruned;
            n += snprintf(out + n, sizeof out - (size_t)n, "\n%s%s J:",
                          pimparse_addr_format(&e.group, a, sizeof a),
                          (e.group_flags & PIMPARSE_GROUP_B) ? " B" : "");
            if (cur_nj == 0)
                n += snprintf(out + n, sizeof out - (size_t)n, " -");
        }
        if (!e.is_join && !in_prunes) {
            in_prunes = 1;
            n += snprintf(out + n, sizeof out - (size_t)n, " P:");
        }
        char fl[8];
        flags_text(e.source_flags, fl);
        n += snprintf(out + n, sizeof out - (size_t)n, " %s[%s]",
                      pimparse_addr_format(&e.source, a, sizeof a), fl);
        if ((e.group_mask_len != (e.group.family == PIMPARSE_AF_IPV4 ? 32 : 128)) ||
            (e.source_mask_len != (e.group.family == PIMPARSE_AF_IPV4 ? 32 : 128)))
            fail("pkt %u: unexpected mask length", pktno);
    }
    if (cur_group >= 0 && !in_prunes)
        n += snprintf(out + n, sizeof out - (size_t)n, " P: -");
    (void)cur_np;
    return out;
}

/* ---- a model of the joined set built from the ground truth ------------------------- */

struct model_entry {
    pimparse_addr s, g;
    uint64_t expiry;
    int live;
};
static struct model_entry model[256];
static unsigned nmodel;
static unsigned long model_joins, model_prunes;

static void model_expire(uint64_t now)
{
    for (unsigned i = 0; i < nmodel; i++)
        if (model[i].live && model[i].expiry <= now)
            model[i].live = 0;
}

static void model_apply(const pimparse_jp_entry *e, uint16_t holdtime, uint64_t now)
{
    /* Only plain (S,G) entries (no W, no R) in non-bidir, non-link-local groups. */
    if (e->source_flags & (PIMPARSE_SOURCE_W | PIMPARSE_SOURCE_R))
        return;
    if (e->group_flags & PIMPARSE_GROUP_B)
        return;
    if (e->group.family == PIMPARSE_AF_IPV6 && (e->group.bytes[1] & 0x0f) <= 2)
        return;
    unsigned i;
    for (i = 0; i < nmodel; i++)
        if (model[i].live && pimparse_addr_equal(&model[i].s, &e->source) &&
            pimparse_addr_equal(&model[i].g, &e->group))
            break;
    uint64_t et = now + PIMPARSE_S(holdtime);
    if (e->is_join)
        model_joins++;
    else
        model_prunes++;
    if (e->is_join) {
        if (i < nmodel) {
            if (et > model[i].expiry)
                model[i].expiry = et;
        } else if (nmodel < 256) {
            model[nmodel++] = (struct model_entry){e->source, e->group, et, 1};
        }
    } else if (i < nmodel) {
        model[i].live = 0; /* no Hellos counted as >1 neighbour in this model: at once */
    }
}

static int in_model_cb(void *user, const pimparse_addr *s, const pimparse_addr *g)
{
    unsigned *found = user;
    for (unsigned i = 0; i < nmodel; i++)
        if (model[i].live && pimparse_addr_equal(&model[i].s, s) && pimparse_addr_equal(&model[i].g, g)) {
            (*found)++;
            return 0;
        }
    char a[64], b[64];
    fail("state holds %s,%s which the ground truth does not", pimparse_addr_format(s, a, sizeof a),
         pimparse_addr_format(g, b, sizeof b));
    return 0;
}

/* ---- per-file expectations ---------------------------------------------------------- */

struct expect_err {
    const char *file;
    unsigned pkt;
    int err;
};
static const struct expect_err expected_errors[] = {
    {"pim-packet-assortment.pcap", 151, PIMPARSE_ERR_CHECKSUM},
    {"pim-packet-assortment.pcap", 196, PIMPARSE_ERR_CHECKSUM},
    {"pim-packet-assortment.pcap", 206, PIMPARSE_ERR_CHECKSUM},
    {"pim-packet-assortment.pcap", 58, PIMPARSE_ERR_TRUNCATED},
    {"pim-packet-assortment.pcap", 185, PIMPARSE_ERR_TRUNCATED},
};

static int is_malformed_seed(const char *name)
{
    return strncmp(name, "pim_header_asan", 15) == 0 || strncmp(name, "pimv2-oobr", 10) == 0 ||
           strcmp(name, "heapoverflow-in_checksum.pcap") == 0 ||
           strcmp(name, "hoobr_pimv1.pcap") == 0 || strcmp(name, "erspan-type-ii-1.pcap") == 0;
}

static void check_hello(const char *name, unsigned pktno, const pimparse_packet *pkt,
                        const pimparse_hello *h, unsigned *checked)
{
    char src[64];
    pimparse_addr_format(&pkt->ip_src, src, sizeof src);
    if (strcmp(name, "PIMv2_hellos.pcap") == 0) {
        uint32_t want = pktno % 2 ? 0x3f0ef4cd : 0x3ef93ece;
        if (h->holdtime != 105 || h->generation_id != want || h->dr_priority != 1 ||
            !(h->present & PIMPARSE_HELLO_HAS_STATE_REFRESH) || h->state_refresh != 0x01000000)
            fail("%s pkt %u: Hello fields differ", name, pktno);
        (*checked)++;
    } else if (strcmp(name, "PIM-SM_join_prune.pcap") == 0 || strcmp(name, "PIM-DM_pruning.pcap") == 0) {
        uint32_t want = strcmp(src, "10.0.0.14") == 0 ? 0xd76fc4dc
                      : strcmp(src, "10.0.0.13") == 0 ? 0xd77051ab
                      : strcmp(src, "10.0.0.1") == 0  ? 0xd76852f6
                      : strcmp(src, "10.0.0.2") == 0  ? 0xd767b714 : 0;
        if (h->holdtime != 105 || h->generation_id != want || h->dr_priority != 1 ||
            !(h->present & PIMPARSE_HELLO_HAS_STATE_REFRESH))
            fail("%s pkt %u: Hello fields differ", name, pktno);
        (*checked)++;
    } else if (strcmp(name, "pim-packet-assortment.pcap") == 0 &&
               ((pktno >= 111 && pktno <= 128) || (pktno >= 229 && pktno <= 245))) {
        if (h->holdtime != 50 || h->dr_priority != 150 || h->generation_id != 0x226 ||
            !(h->present & PIMPARSE_HELLO_HAS_LAN_PRUNE_DELAY) || h->t_bit ||
            h->propagation_delay_ms != 10 || h->override_interval_ms != 100)
            fail("%s pkt %u: Hello fields differ", name, pktno);
        if (h->present & PIMPARSE_HELLO_HAS_ADDRESS_LIST) {
            pimparse_addr a;
            if (pimparse_hello_address(h, 0, &a) != 0 ||
                a.family != pkt->ip_src.family)
                fail("%s pkt %u: address list", name, pktno);
            if (a.family == PIMPARSE_AF_IPV6 && h->address_list_len != 18 * h->num_addresses)
                fail("%s pkt %u: IPv6 address list length", name, pktno);
        }
        (*checked)++;
    }
}

static void run_file(const char *dir, const char *name)
{
    char path[4096], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fail("%s: %s", name, err);
        return;
    }
    int lt = pcap_datalink(p);
    const struct truth_file *tf = truth_for(name);
    unsigned next_truth = 0, jps = 0, hellos_checked = 0, pktno = 0;
    pimparse_settings set;
    pimparse_settings_default(&set);
    set.policy = PIMPARSE_POLICY_ANY_UPSTREAM;
    pimparse_state *st;
    if (pimparse_state_new(&set, &st) != 0)
        abort();
    nmodel = 0;
    model_joins = model_prunes = 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    /* Bounded by the file: pcap_next_ex returns PCAP_ERROR_BREAK at its end. */
    while (pcap_next_ex(p, &h, &data) == 1) {
        pktno++;
        uint64_t now = (uint64_t)h->ts.tv_sec * PIMPARSE_NS_PER_S + (uint64_t)h->ts.tv_usec * 1000;
        /* An exact-size copy: ASan flags any read past the captured bytes. */
        uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
        if (!copy)
            abort();
        memcpy(copy, data, h->caplen);
        pimparse_packet pkt;
        int r = pimparse_frame_decode(lt, copy, h->caplen, &pkt);
        for (size_t i = 0; i < sizeof expected_errors / sizeof expected_errors[0]; i++)
            if (strcmp(expected_errors[i].file, name) == 0 && expected_errors[i].pkt == pktno &&
                r != expected_errors[i].err)
                fail("%s pkt %u: got %d (%s), want %d", name, pktno, r, pimparse_strerror(r),
                     expected_errors[i].err);
        if (strcmp(name, "hoobr_pimv1.pcap") == 0 && r != PIMPARSE_ERR_NOT_IP && r != PIMPARSE_ERR_NOT_PIM)
            fail("%s pkt %u: got %d", name, pktno, r);
        if (strncmp(name, "pimv2-oobr", 10) == 0 && r != PIMPARSE_ERR_CHECKSUM &&
            r != PIMPARSE_ERR_TRUNCATED)
            fail("%s pkt %u: got %d", name, pktno, r);
        if (is_malformed_seed(name) && r == 0) {
            pimparse_hello hh;
            pimparse_jp jj;
            if ((pkt.pim_type == 0 && pimparse_hello_decode(&pkt, &hh) == 0) ||
                (pkt.pim_type == 3 && pimparse_jp_decode(&pkt, &jj) == 0))
                fail("%s pkt %u: malformed capture decoded as a valid message", name, pktno);
        }
        if (r == 0 && pkt.pim_type == PIMPARSE_TYPE_JOIN_PRUNE) {
            pimparse_jp jp;
            int jr = pimparse_jp_decode(&pkt, &jp);
            if (jr != 0) {
                fail("%s pkt %u: J/P refused: %s", name, pktno, pimparse_strerror(jr));
            } else {
                jps++;
                pimparse_jp copyjp = jp;
                const char *got = render(pktno, &pkt, &copyjp);
                if (!tf || next_truth >= tf->n || tf->msgs[next_truth].pkt != pktno) {
                    fail("%s pkt %u: J/P not in the ground truth:\n%s", name, pktno, got);
                } else {
                    if (strcmp(got, tf->msgs[next_truth].text) != 0)
                        fail("%s pkt %u differs:\n got: %s\nwant: %s", name, pktno, got,
                             tf->msgs[next_truth].text);
                    next_truth++;
                }
                model_expire(now);
                pimparse_jp_entry e;
                while (pimparse_jp_next(&jp, &e))
                    model_apply(&e, jp.holdtime, now);
            }
        }
        if (r == 0 && pkt.pim_type == PIMPARSE_TYPE_HELLO) {
            pimparse_hello hh;
            if (pimparse_hello_decode(&pkt, &hh) == 0)
                check_hello(name, pktno, &pkt, &hh, &hellos_checked);
            else if (!is_malformed_seed(name))
                fail("%s pkt %u: Hello refused", name, pktno);
        }
        /* The state table sees the same frame (with only one neighbour per LAN here, a
         * prune is immediate, as in the model). */
        pimparse_state_process_frame(st, lt, copy, h->caplen, now);
        free(copy);
    }
    pcap_close(p);
    if (tf) {
        if (next_truth != tf->n)
            fail("%s: %u of %u ground-truth messages seen", name, next_truth, tf->n);
        if (tf->n != tf->declared)
            fail("%s: README declares %u messages, lists %u", name, tf->declared, tf->n);
    } else if (jps) {
        fail("%s: %u J/Ps where the ground truth has none", name, jps);
    }
    if ((strcmp(name, "PIMv2_hellos.pcap") == 0 && hellos_checked != 6) ||
        (strcmp(name, "pim-packet-assortment.pcap") == 0 && hellos_checked == 0))
        fail("%s: %u Hellos checked", name, hellos_checked);
    /* Final joined set = the ground-truth model's. */
    unsigned live = 0, found = 0;
    for (unsigned i = 0; i < nmodel; i++)
        live += (unsigned)model[i].live;
    pimparse_state_foreach(st, in_model_cb, &found);
    if (found != live || pimparse_state_count(st) != live)
        fail("%s: state holds %zu (S,G)s, ground truth %u", name, pimparse_state_count(st), live);
    if ((strcmp(name, "PIM-SM_join_prune.pcap") == 0 || strcmp(name, "PIM-DM_pruning.pcap") == 0) &&
        pimparse_state_count(st) != 0)
        fail("%s: an SSM joinfile from this capture must be empty", name);
    pimparse_stats s;
    pimparse_state_get_stats(st, &s);
    uint64_t classified = s.not_pim + s.bad_link + s.truncated + s.fragments + s.bad_ip +
                          s.bad_version + s.bad_checksum + s.malformed + s.hellos +
                          s.join_prunes + s.other_types;
    if (classified != s.frames || s.frames != pktno)
        fail("%s: %llu frames, %llu classified, %u read", name, (unsigned long long)s.frames,
             (unsigned long long)classified, pktno);
    if (s.sg_joins != model_joins || s.sg_prunes != model_prunes)
        fail("%s: state applied %llu joins / %llu prunes, ground truth %lu / %lu", name,
             (unsigned long long)s.sg_joins, (unsigned long long)s.sg_prunes, model_joins,
             model_prunes);
    printf("%-36s %4u frames  %3u J/P  %3u hellos  joined %zu  star_g %llu  rpt %llu  errors: "
           "trunc %llu csum %llu ip %llu malformed %llu not-pim %llu  (S,G) joins %lu prunes %lu\n",
           name, pktno, jps, hellos_checked, pimparse_state_count(st),
           (unsigned long long)s.star_g, (unsigned long long)s.sg_rpt,
           (unsigned long long)s.truncated, (unsigned long long)s.bad_checksum,
           (unsigned long long)s.bad_ip, (unsigned long long)s.malformed,
           (unsigned long long)s.not_pim, model_joins, model_prunes);
    pimparse_state_free(st);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFORMANCE-DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    DIR *d = opendir(dir);
    if (!d) {
        printf("SKIP: %s: %s\n", dir, strerror(errno));
        return 77;
    }
    if (load_truth(dir) != 0) {
        closedir(d);
        printf("SKIP: no README.md in %s\n", dir);
        return 77;
    }
    if (nfiles < 3)
        fail("README ground truth: %u files parsed", nfiles);
    char *names[64];
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".pcap") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (unsigned i = 0; i < n; i++) {
        run_file(dir, names[i]);
        free(names[i]);
    }
    for (unsigned i = 0; i < nfiles; i++) {
        int seen = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *f = fopen(path, "rb");
        if (f) {
            seen = 1;
            fclose(f);
        }
        if (!seen)
            fail("ground truth names %s, which is missing", files[i].name);
        for (unsigned j = 0; j < files[i].n; j++)
            free(files[i].msgs[j].text);
        free(files[i].msgs);
    }
    if (n < 10)
        fail("only %u captures found", n);
    printf("%u captures, %d failures\n", n, failures);
    return failures ? 1 : 0;
}
