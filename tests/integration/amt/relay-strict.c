/* relay-strict.c — checks that the test relay is strict (DESIGN.md: it must catch gateway
 * bugs, not mirror them).  Talks to a running amt-relay on 127.0.0.1:PORT: one Request,
 * then Updates each broken in one way, then a correct one.  Prints one line per variant
 * ("reason-the-relay-must-log") for the calling script, which checks the relay rejected
 * every broken Update with that reason and accepted only the correct one.
 * Usage: relay-strict PORT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "amt-internal.h"

static int sock(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        exit(1);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static struct sockaddr_in relay;

static void tx(int fd, const uint8_t *b, size_t n, const char *expect)
{
    if (sendto(fd, b, n, 0, (struct sockaddr *)&relay, sizeof relay) != (ssize_t)n)
        exit(1);
    printf("%s\n", expect);
    /* Keep the relay's log in the order of the variants. */
    usleep(20000);
}

/* Recomputes the IPv4 header checksum (and the IGMP one) after an edit. */
static void fix4(uint8_t *ip, size_t len, bool igmp)
{
    size_t hl = (size_t)(ip[0] & 15) * 4;
    ip[10] = ip[11] = 0;
    amt_put16(ip + 10, amt_checksum(ip, hl));
    if (igmp) {
        ip[hl + 2] = ip[hl + 3] = 0;
        amt_put16(ip + hl + 2, amt_checksum(ip + hl, len - hl));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    relay.sin_family = AF_INET;
    relay.sin_port = htons((uint16_t)atoi(argv[1]));
    relay.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int a = sock(), b = sock();
    uint8_t req[8] = {AMT_REQUEST, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};
    if (sendto(a, req, 8, 0, (struct sockaddr *)&relay, sizeof relay) != 8)
        return 1;
    uint8_t q[512];
    ssize_t qn = recv(a, q, sizeof q, 0);
    amt_msg qm;
    if (qn <= 0 || amt_msg_decode(&qm, q, (size_t)qn) != 0 || qm.type != AMT_MEMBERSHIP_QUERY ||
        qm.nonce != 0x12345678) {
        fprintf(stderr, "relay-strict: no valid Query\n");
        return 1;
    }
    amt_addr src, grp;
    amt_addr_parse(&src, "10.2.2.1");
    amt_addr_parse(&grp, "232.1.1.1");
    amt_record rec = {AMT_MODE_IS_INCLUDE, grp, &src, 1};
    uint8_t good[256], v[300];
    int ipn = amt_report_build(good + 12, sizeof good - 12, AMT_IPV4, NULL, &rec, 1);
    amt_msg um = {.type = AMT_MEMBERSHIP_UPDATE, .nonce = qm.nonce, .ip = good + 12, .ip_len = (size_t)ipn};
    memcpy(um.response_mac, qm.response_mac, 6);
    size_t n = (size_t)amt_msg_encode(&um, good, sizeof good);
    uint8_t *ip = v + 12;

    memcpy(v, good, n); v[4] ^= 1;
    tx(a, v, n, "response MAC mismatch");
    memcpy(v, good, n); v[11] ^= 1;
    tx(a, v, n, "nonce not issued");
    memcpy(v, good, n); v[1] = 0x80;
    tx(a, v, n, "reserved bits set");
    memcpy(v, good, n); ip[24 + 2] ^= 1;
    tx(a, v, n, "IGMP checksum");
    memcpy(v, good, n); ip[10] ^= 1;
    tx(a, v, n, "IPv4 header checksum");
    memcpy(v, good, n); ip[8] = 2; fix4(ip, n - 12, false);
    tx(a, v, n, "TTL is not 1");
    memcpy(v, good, n); ip[19] = 1; fix4(ip, n - 12, false);
    tx(a, v, n, "destination is not 224.0.0.22");
    memcpy(v, good, n); v[n] = 0;
    tx(a, v, n + 1, "IPv4 total length != datagram length");
    /* IHL 5: drop the Router Alert option. */
    memcpy(v, good, 12);
    memcpy(ip, good + 12, 20);
    memcpy(ip + 20, good + 12 + 24, n - 12 - 24);
    ip[0] = 0x45;
    amt_put16(ip + 2, (uint16_t)(n - 12 - 4));
    fix4(ip, n - 12 - 4, false);
    tx(a, v, n - 4, "IPv4 header is not IHL 6");
    /* Two records announced, one present. */
    memcpy(v, good, n); ip[24 + 7] = 2; fix4(ip, n - 12, true);
    tx(a, v, n, "record header beyond the report");
    /* Record type 7 does not exist. */
    memcpy(v, good, n); ip[24 + 8] = 7; fix4(ip, n - 12, true);
    tx(a, v, n, "unknown record type");
    /* From another port: the MAC is bound to the Request's address and port. */
    tx(b, good, n, "no request from this address and port");
    /* MLDv2 with a bad ICMPv6 checksum. */
    amt_addr s6, g6;
    amt_addr_parse(&s6, "2001:db8::1");
    amt_addr_parse(&g6, "ff3e::8000:1");
    amt_record r6 = {AMT_ALLOW_NEW_SOURCES, g6, &s6, 1};
    int n6 = amt_report_build(v + 12, sizeof v - 12, AMT_IPV6, NULL, &r6, 1);
    memcpy(v, good, 12);
    v[12 + 48 + 2] ^= 1;
    tx(a, v, 12 + (size_t)n6, "ICMPv6 checksum");
    /* And the correct one. */
    tx(a, good, n, "ACCEPT");
    close(a);
    close(b);
    return 0;
}
