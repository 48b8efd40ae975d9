/* bare-loop.c — the limit: read every record of a capture and touch its last byte,
 * nothing else.
 *   bare-loop FILE              with pcap_next_ex, one call per record (the limit the
 *                               benchmark's ratio uses)
 *   bare-loop --dispatch FILE   with pcap_dispatch, as pimwatch's replay reads (printed
 *                               beside it, so the ratio's reader can see what the
 *                               cheaper call is worth on its own) */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

static unsigned long n, sum;

static void on_record(u_char *user, const struct pcap_pkthdr *h, const u_char *d)
{
    (void)user;
    n++;
    sum += d[h->caplen - 1];
}

int main(int argc, char **argv)
{
    int dispatch = argc == 3 && strcmp(argv[1], "--dispatch") == 0;
    if (argc != 2 && !dispatch) {
        fprintf(stderr, "usage: bare-loop [--dispatch] FILE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[argc - 1], err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (dispatch) {
        while (pcap_dispatch(p, -1, on_record, NULL) > 0)
            ;
    } else {
        struct pcap_pkthdr *h;
        const u_char *d;
        while (pcap_next_ex(p, &h, &d) == 1)
            on_record(NULL, h, d);
    }
    pcap_close(p);
    printf("%lu records (checksum %lu)\n", n, sum);
    return 0;
}
