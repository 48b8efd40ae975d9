/* txcsum-off.c — turns off transmit checksum offload on network interfaces (the
 * SIOCETHTOOL ETHTOOL_STXCSUM request, as `ethtool -K IF tx off`), so that packets
 * captured on a veth carry their final UDP checksums and tshark can verify them. */
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: txcsum-off IFNAME...\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("txcsum-off: socket");
        return 1;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[i]);
        ifr.ifr_data = (char *)&ev;
        if (ioctl(fd, SIOCETHTOOL, &ifr) < 0) {
            perror(argv[i]);
            status = 1;
        }
    }
    close(fd);
    return status;
}
