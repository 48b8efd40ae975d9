/* mc-recv.c — joins (S,G) source-specifically on one interface and counts datagrams to
 * PORT until COUNT arrived or TIMEOUT seconds passed.  Exit 0 when COUNT arrived, 3 when
 * not; --dump writes the payloads concatenated. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *src = NULL, *grp = NULL, *ifname = NULL, *dump = NULL;
    unsigned port = 5001;
    unsigned long count = 1, timeout_s = 10;
    static const struct option lo[] = {
        {"source", required_argument, NULL, 's'}, {"group", required_argument, NULL, 'g'},
        {"port", required_argument, NULL, 'p'}, {"count", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'}, {"ifname", required_argument, NULL, 'I'},
        {"dump", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "s:g:p:c:t:I:d:", lo, NULL)) != -1) {
        switch (c) {
        case 's': src = optarg; break;
        case 'g': grp = optarg; break;
        case 'p': port = (unsigned)atoi(optarg); break;
        case 'c': count = strtoul(optarg, NULL, 10); break;
        case 't': timeout_s = strtoul(optarg, NULL, 10); break;
        case 'I': ifname = optarg; break;
        case 'd': dump = optarg; break;
        default:
            fprintf(stderr, "usage: mc-recv -s SOURCE -g GROUP -I IFNAME [-p PORT] [-c COUNT] [-t TIMEOUT] [-d DUMPFILE]\n");
            return 2;
        }
    }
    if (!src || !grp || !ifname)
        return 2;
    int fam = strchr(grp, ':') ? AF_INET6 : AF_INET;
    int fd = socket(fam, SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct group_source_req r;
    memset(&r, 0, sizeof r);
    r.gsr_interface = if_nametoindex(ifname);
    struct sockaddr_storage b;
    memset(&b, 0, sizeof b);
    socklen_t bl;
    if (fam == AF_INET) {
        struct sockaddr_in *g = (void *)&r.gsr_group, *s = (void *)&r.gsr_source, *bb = (void *)&b;
        g->sin_family = s->sin_family = bb->sin_family = AF_INET;
        inet_pton(AF_INET, grp, &g->sin_addr);
        inet_pton(AF_INET, src, &s->sin_addr);
        bb->sin_port = htons((uint16_t)port);
        bb->sin_addr = g->sin_addr;
        bl = sizeof *bb;
    } else {
        struct sockaddr_in6 *g = (void *)&r.gsr_group, *s = (void *)&r.gsr_source, *bb = (void *)&b;
        g->sin6_family = s->sin6_family = bb->sin6_family = AF_INET6;
        inet_pton(AF_INET6, grp, &g->sin6_addr);
        inet_pton(AF_INET6, src, &s->sin6_addr);
        bb->sin6_port = htons((uint16_t)port);
        bl = sizeof *bb;
    }
    if (!r.gsr_interface || bind(fd, (struct sockaddr *)&b, bl) < 0 ||
        setsockopt(fd, fam == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP, &r, sizeof r) < 0) {
        perror("mc-recv: bind/join");
        return 1;
    }
    printf("joined\n");
    fflush(stdout);
    FILE *df = dump ? fopen(dump, "wb") : NULL;
    uint8_t buf[65536];
    unsigned long got = 0;
    uint64_t end = now_ms() + timeout_s * 1000;
    while (got < count) {
        uint64_t t = now_ms();
        if (t >= end)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(end - t)) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            continue;
        got++;
        if (df)
            fwrite(buf, 1, (size_t)n, df);
    }
    if (df)
        fclose(df);
    printf("received=%lu\n", got);
    return got >= count ? 0 : 3;
}
