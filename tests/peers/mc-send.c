/* mc-send.c — a multicast sender for the AMT tests: COUNT UDP datagrams from SOURCE to
 * GROUP:PORT, payload = 8-byte sequence number + pattern; --dump writes the payloads
 * concatenated so a receiver's output can be compared byte for byte. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *src = NULL, *grp = NULL, *ifname = NULL, *dump = NULL;
    unsigned port = 5001, size = 200;
    unsigned long count = 100, interval_us = 10000;
    static const struct option lo[] = {
        {"source", required_argument, NULL, 's'}, {"group", required_argument, NULL, 'g'},
        {"port", required_argument, NULL, 'p'}, {"count", required_argument, NULL, 'c'},
        {"interval-us", required_argument, NULL, 'i'}, {"size", required_argument, NULL, 'z'},
        {"ifname", required_argument, NULL, 'I'}, {"dump", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "s:g:p:c:i:z:I:d:", lo, NULL)) != -1) {
        switch (c) {
        case 's': src = optarg; break;
        case 'g': grp = optarg; break;
        case 'p': port = (unsigned)atoi(optarg); break;
        case 'c': count = strtoul(optarg, NULL, 10); break;
        case 'i': interval_us = strtoul(optarg, NULL, 10); break;
        case 'z': size = (unsigned)atoi(optarg); break;
        case 'I': ifname = optarg; break;
        case 'd': dump = optarg; break;
        default:
            fprintf(stderr, "usage: mc-send -s SOURCE -g GROUP [-p PORT] [-c COUNT] [-i INTERVAL_US] [-z SIZE] [-I IFNAME] [-d DUMPFILE]\n");
            return 2;
        }
    }
    if (!src || !grp || size < 8 || size > 8000) {
        fprintf(stderr, "mc-send: need --source and --group (size 8..8000)\n");
        return 2;
    }
    struct sockaddr_storage ss, ds;
    memset(&ss, 0, sizeof ss);
    memset(&ds, 0, sizeof ds);
    socklen_t sl, dl;
    int fam = strchr(grp, ':') ? AF_INET6 : AF_INET;
    if (fam == AF_INET) {
        struct sockaddr_in *s4 = (void *)&ss, *d4 = (void *)&ds;
        s4->sin_family = d4->sin_family = AF_INET;
        d4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, src, &s4->sin_addr) != 1 || inet_pton(AF_INET, grp, &d4->sin_addr) != 1)
            return 2;
        sl = dl = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (void *)&ss, *d6 = (void *)&ds;
        s6->sin6_family = d6->sin6_family = AF_INET6;
        d6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, src, &s6->sin6_addr) != 1 || inet_pton(AF_INET6, grp, &d6->sin6_addr) != 1)
            return 2;
        sl = dl = sizeof *s6;
    }
    int fd = socket(fam, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        perror("mc-send: socket/bind");
        return 1;
    }
    int ttl = 8;
    if (fam == AF_INET) {
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
        if (ifname) {
            unsigned ifi = if_nametoindex(ifname);
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifi, sizeof ifi);
        }
    }
    FILE *df = dump ? fopen(dump, "wb") : NULL;
    if (dump && !df) {
        perror(dump);
        return 1;
    }
    uint8_t buf[8000];
    unsigned long sent = 0;
    for (unsigned long i = 0; i < count; i++) {
        for (int k = 0; k < 8; k++)
            buf[k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
        for (unsigned k = 8; k < size; k++)
            buf[k] = (uint8_t)(k * 13 + i);
        if (sendto(fd, buf, size, 0, (struct sockaddr *)&ds, dl) == (ssize_t)size) {
            sent++;
            if (df)
                fwrite(buf, 1, size, df);
        } else {
            perror("mc-send: sendto");
        }
        if (interval_us) {
            struct timespec ts = {(time_t)(interval_us / 1000000), (long)(interval_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (df)
        fclose(df);
    printf("sent=%lu\n", sent);
    return sent == count ? 0 : 1;
}
