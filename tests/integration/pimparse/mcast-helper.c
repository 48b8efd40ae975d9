/* mcast-helper.c — the receiver and sender of the PIM integration tests.
 *
 *   mcast-helper recv IFADDR GROUP SOURCE PORT COUNTFILE
 *       joins (SOURCE,GROUP) on the interface holding IFADDR with
 *       IP_ADD_SOURCE_MEMBERSHIP (the kernel sends IGMPv3 reports), counts datagrams to
 *       PORT and rewrites COUNTFILE with the count after each one; on SIGTERM/SIGINT it
 *       drops the membership (IGMPv3 BLOCK) and exits 0.  Gives up after 600 s.
 *   mcast-helper send SRCADDR GROUP PORT COUNT INTERVAL_MS
 *       sends COUNT datagrams from SRCADDR to GROUP:PORT with TTL (hop limit) 16;
 *       IPv4 or IPv6. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static int die(const char *what)
{
    fprintf(stderr, "mcast-helper: %s: %s\n", what, strerror(errno));
    return 1;
}

static int parse4(const char *t, struct in_addr *a)
{
    if (inet_pton(AF_INET, t, a) != 1) {
        fprintf(stderr, "mcast-helper: bad address %s\n", t);
        return -1;
    }
    return 0;
}

static int do_recv(char **argv)
{
    struct in_addr ifaddr, group, source;
    if (parse4(argv[0], &ifaddr) || parse4(argv[1], &group) || parse4(argv[2], &source))
        return 2;
    int port = atoi(argv[3]);
    const char *countfile = argv[4];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = group};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return die("bind");
    /* Linux struct ip_mreq_source order: multiaddr, interface, sourceaddr. */
    struct ip_mreq_source m;
    memset(&m, 0, sizeof m);
    m.imr_multiaddr = group;
    m.imr_interface = ifaddr;
    m.imr_sourceaddr = source;
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &m, sizeof m) != 0)
        return die("IP_ADD_SOURCE_MEMBERSHIP");
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    unsigned long count = 0;
    time_t end = time(NULL) + 600;
    while (!stop && time(NULL) < end) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r <= 0)
            continue;
        char buf[2048];
        if (recv(fd, buf, sizeof buf, 0) < 0)
            continue;
        count++;
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", countfile);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%lu\n", count);
            fclose(f);
            rename(tmp, countfile);
        }
    }
    setsockopt(fd, IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, &m, sizeof m);
    close(fd);
    return 0;
}

static int do_send(char **argv)
{
    int port = atoi(argv[2]);
    long n = atol(argv[3]);
    long interval_ms = atol(argv[4]);
    struct sockaddr_storage src, dst;
    socklen_t slen;
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    int v6 = strchr(argv[0], ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src, *d6 = (struct sockaddr_in6 *)&dst;
        s6->sin6_family = d6->sin6_family = AF_INET6;
        d6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, argv[0], &s6->sin6_addr) != 1 ||
            inet_pton(AF_INET6, argv[1], &d6->sin6_addr) != 1) {
            fprintf(stderr, "mcast-helper: bad IPv6 address\n");
            return 2;
        }
        slen = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&src, *d4 = (struct sockaddr_in *)&dst;
        s4->sin_family = d4->sin_family = AF_INET;
        d4->sin_port = htons((uint16_t)port);
        if (parse4(argv[0], &s4->sin_addr) || parse4(argv[1], &d4->sin_addr))
            return 2;
        slen = sizeof *s4;
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return die("socket");
    if (bind(fd, (struct sockaddr *)&src, slen) != 0)
        return die("bind");
    int ttl = 16;
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
    } else {
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &((struct sockaddr_in *)&src)->sin_addr,
                   sizeof(struct in_addr));
    }
    for (long i = 0; i < n; i++) {
        char msg[64];
        int l = snprintf(msg, sizeof msg, "mcingest pim test %ld", i);
        if (sendto(fd, msg, (size_t)l, 0, (struct sockaddr *)&dst, slen) < 0)
            return die("sendto");
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "recv") == 0)
        return do_recv(argv + 2);
    if (argc == 7 && strcmp(argv[1], "send") == 0)
        return do_send(argv + 2);
    fprintf(stderr, "usage: mcast-helper recv IFADDR GROUP SOURCE PORT COUNTFILE\n"
                    "       mcast-helper send SRCADDR GROUP PORT COUNT INTERVAL_MS\n");
    return 2;
}
