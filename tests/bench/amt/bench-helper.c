/* bench-helper.c — the limits the AMT benchmark compares amt-join against:
 *   drain PORT SECONDS COUNT RCVBUF
 *                          a bare recvmmsg loop on 127.0.0.1:PORT (the receive limit),
 *                          until COUNT datagrams or SECONDS
 *   tunwrite IFNAME SECONDS SIZE
 *                          a bare loop writing IPv4/UDP datagrams of the generator's shape
 *                          (SIZE-byte payload) into TUN device IFNAME (the TUN limit)
 * Each prints "pps=N packets=N" measured between the first and the last packet. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int drain(int port, double seconds, uint64_t count, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = rcvbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("drain: bind");
        return 1;
    }
    enum { B = 32, SLOT = 2048 };
    static uint8_t bufs[B][SLOT];
    struct mmsghdr mm[B];
    struct iovec iov[B];
    for (int i = 0; i < B; i++) {
        iov[i] = (struct iovec){bufs[i], SLOT};
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    printf("ready\n");
    fflush(stdout);
    uint64_t n = 0, first = 0, last = 0, start = now_ns(), bytes = 0;
    uint64_t limit = (uint64_t)(seconds * 1e9);
    while (now_ns() - start < limit && (!count || n < count)) {
        int r = recvmmsg(fd, mm, B, MSG_DONTWAIT, NULL);
        if (r <= 0) {
            /* Sleep only when the queue is empty, as an event loop would. */
            struct pollfd p = {.fd = fd, .events = POLLIN};
            poll(&p, 1, 100);
            continue;
        }
        /* Touch each datagram's first bytes as a consumer would (the AMT type). */
        for (int i = 0; i < r; i++)
            bytes += mm[i].msg_len + bufs[i][0];
        last = now_ns();
        if (!first)
            first = last;
        n += (uint64_t)r;
    }
    double span = last > first ? (double)(last - first) / 1e9 : 0;
    printf("pps=%.0f packets=%llu bytes=%llu\n", span > 0 ? (double)n / span : 0, (unsigned long long)n,
           (unsigned long long)bytes);
    return 0;
}

static int tunwrite(const char *ifname, double seconds, int size)
{
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
        perror("/dev/net/tun");
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        perror("TUNSETIFF");
        return 1;
    }
    uint8_t p[2048];
    int len = 20 + 8 + size;
    memset(p, 0, sizeof p);
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[8] = 64;
    p[9] = 17;
    uint8_t s[4] = {10, 2, 2, 1}, g[4] = {232, 1, 1, 1};
    memcpy(p + 12, s, 4);
    memcpy(p + 16, g, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    p[10] = (uint8_t)(~sum >> 8);
    p[11] = (uint8_t)~sum;
    p[20] = 0x13; p[21] = 0x88; p[22] = 0x13; p[23] = 0x89;
    p[24] = (uint8_t)((8 + size) >> 8);
    p[25] = (uint8_t)(8 + size);
    uint64_t n = 0, start = now_ns(), limit = (uint64_t)(seconds * 1e9), errs = 0;
    uint64_t t = start;
    /* Check the clock every 1024 writes so the loop measures write(), not the clock. */
    while (t - start < limit) {
        for (int i = 0; i < 1024; i++) {
            p[28] = (uint8_t)n;
            if (write(fd, p, (size_t)len) == len)
                n++;
            else
                errs++;
        }
        t = now_ns();
    }
    printf("pps=%.0f packets=%llu errors=%llu\n", (double)n / ((double)(t - start) / 1e9),
           (unsigned long long)n, (unsigned long long)errs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "drain"))
        return drain(atoi(argv[2]), atof(argv[3]), strtoull(argv[4], NULL, 10), atoi(argv[5]));
    if (argc == 5 && !strcmp(argv[1], "tunwrite"))
        return tunwrite(argv[2], atof(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: bench-helper drain PORT SECONDS COUNT RCVBUF | tunwrite IFNAME SECONDS SIZE\n");
    return 2;
}
