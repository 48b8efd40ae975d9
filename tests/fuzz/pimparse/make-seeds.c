/* make-seeds.c — writes the seed corpus of fuzz-frame (corpus-fuzz-frame/): frames the
 * unit tests build (J/P and Hello over IPv4 and IPv6 behind every link type, with VLAN
 * tags, extension headers, options), each prefixed with its link-type selector byte.
 * Run from the source tree to regenerate: make-seeds DIR.  With --from-pcap FILE... it
 * instead converts capture records (for example tcpdump's PIM captures in
 * ../shared/conformance/pim) into seeds in DIR for a local fuzzing session; those are
 * never committed. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pimparse/pimparse.h"
#include "pp-build.h"

static const int link_types[] = {1, 113, 276, 12, 0, 108, 228, 229};

static void write_seed(const char *dir, const char *name, int lt_index, const uint8_t *f, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *o = fopen(path, "wb");
    if (!o) {
        perror(path);
        exit(1);
    }
    uint8_t sel = (uint8_t)lt_index;
    fwrite(&sel, 1, 1, o);
    fwrite(f, 1, n, o);
    fclose(o);
}

static int from_pcap(const char *dir, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[i], err);
        if (!p) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        int lt = pcap_datalink(p), idx = -1;
        for (int k = 0; k < 8; k++)
            if (link_types[k] == lt)
                idx = k;
        if (idx < 0) {
            pcap_close(p);
            continue;
        }
        const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        struct pcap_pkthdr *h;
        const u_char *d;
        unsigned n = 0;
        while (pcap_next_ex(p, &h, &d) == 1) {
            char name[512];
            snprintf(name, sizeof name, "%s-%04u", base, ++n);
            write_seed(dir, name, idx, d, h->caplen);
        }
        pcap_close(p);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [--from-pcap FILE...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    if (argc > 2 && strcmp(argv[2], "--from-pcap") == 0)
        return from_pcap(dir, argc - 3, argv + 3);

    static const struct ppb_source j4[] = {{"23.212.185.4", PIMPARSE_SOURCE_S, 0},
                                           {"1.1.1.1", 7, 0}, {"10.0.0.3", 1, 0}};
    static const struct ppb_group g4[] = {{"232.1.1.1", 0, 0, j4, 2, j4 + 2, 1},
                                          {"225.0.0.1", PIMPARSE_GROUP_B, 0, j4, 1, NULL, 0}};
    static const struct ppb_source j6[] = {{"2001:db8::4", PIMPARSE_SOURCE_S, 0},
                                           {"2001:db8::5", 1, 0}};
    static const struct ppb_group g6[] = {{"ff3e::8000:1", 0, 0, j6, 1, j6 + 1, 1}};
    uint8_t msg[1024], ip[2048], frame[2100];
    size_t ml, il, fl;
    char name[64];

    for (int fam = 0; fam < 2; fam++) {
        /* Join/Prune */
        ml = fam ? ppb_jp(msg, sizeof msg, "fe80::2", 210, g6, 1)
                 : ppb_jp(msg, sizeof msg, "10.2.0.2", 210, g4, 2);
        il = ppb_ip(ip, sizeof ip, fam ? "fe80::1" : "10.2.0.1", fam ? "ff02::d" : "224.0.0.13",
                    103, msg, ml, 0);
        for (int k = 0; k < 8; k++) {
            if ((k == 6 && fam) || (k == 7 && !fam))
                continue;
            fl = ppb_link(frame, sizeof frame, link_types[k], 0, ip, il);
            snprintf(name, sizeof name, "jp-v%d-link%d", fam ? 6 : 4, link_types[k]);
            write_seed(dir, name, k, frame, fl);
        }
        fl = ppb_link(frame, sizeof frame, 1, 2, ip, il);
        snprintf(name, sizeof name, "jp-v%d-qinq", fam ? 6 : 4);
        write_seed(dir, name, 0, frame, fl);
        /* Hello with every option we encode */
        pimparse_hello_params hp;
        pimparse_hello_params_default(&hp, 0x11223344);
        pimparse_addr addrs[2];
        pimparse_addr_parse("10.2.0.9", &addrs[0]);
        pimparse_addr_parse("fe80::9", &addrs[1]);
        hp.addresses = addrs;
        hp.num_addresses = 2;
        pimparse_addr s, d;
        pimparse_addr_parse(fam ? "fe80::1" : "10.2.0.1", &s);
        pimparse_addr_parse(fam ? "ff02::d" : "224.0.0.13", &d);
        int hl = pimparse_hello_encode(&hp, fam ? &s : NULL, fam ? &d : NULL, msg, sizeof msg);
        if (hl < 0)
            return 1;
        il = ppb_ip(ip, sizeof ip, fam ? "fe80::1" : "10.2.0.1", fam ? "ff02::d" : "224.0.0.13",
                    103, msg, (size_t)hl, 1);
        fl = ppb_link(frame, sizeof frame, 1, 1, ip, il);
        snprintf(name, sizeof name, "hello-v%d-vlan", fam ? 6 : 4);
        write_seed(dir, name, 0, frame, fl);
    }
    /* IPv6 J/P behind a Hop-by-Hop header. */
    ml = ppb_jp(msg, sizeof msg, "fe80::2", 210, g6, 1);
    il = ppb_ip(ip, sizeof ip, "fe80::1", "ff02::d", 103, msg, ml, 0);
    memmove(ip + 48, ip + 40, ml);
    memset(ip + 40, 0, 8);
    ip[40] = 103;
    ip[42] = 5;
    ip[43] = 2;
    ip[6] = 0;
    ip[4] = (uint8_t)((ml + 8) >> 8);
    ip[5] = (uint8_t)(ml + 8);
    write_seed(dir, "jp-v6-hbh", 3, ip, il + 8);
    /* IPv4 J/P with a Router Alert option (IHL 6). */
    ml = ppb_jp(msg, sizeof msg, "10.2.0.2", 210, g4, 1);
    il = ppb_ip(ip, sizeof ip, "10.2.0.1", "224.0.0.13", 103, msg, ml, 0);
    memmove(ip + 24, ip + 20, ml);
    ip[0] = 0x46;
    ip[20] = 0x94;
    ip[21] = 4;
    ip[22] = ip[23] = 0;
    ip[3] = (uint8_t)(il + 4);
    ppb_fix_ip_csum(ip);
    write_seed(dir, "jp-v4-router-alert", 3, ip, il + 4);
    return 0;
}
