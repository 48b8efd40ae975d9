/* mc-tun.c — open, create and bring up the TUN device (see mc-tun.h). */
#include "mc-tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_up(const char *name)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    int r = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        r = -errno;
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        /* An already-up persistent device needs no privilege; only this step does. */
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            r = -errno;
    }
    close(s);
    return r;
}

int mc_tun_open(mc_tun *t, const char *name, const char **why)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (!name || !*name || strlen(name) >= sizeof t->name) {
        *why = "bad interface name";
        return -EINVAL;
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    t->created = if_nametoindex(name) == 0;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *why = "open /dev/net/tun";
        return -errno;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    /* IFF_NO_PI: each write is a bare IP datagram; the kernel reads its version. */
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        *why = t->created ? "create the TUN device (needs CAP_NET_ADMIN)" : "attach to the TUN device";
        return -e;
    }
    t->fd = fd;
    int r = set_up(name);
    if (r < 0) {
        *why = "bring the device up";
        close(fd);
        t->fd = -1;
        return r;
    }
    return 0;
}

int mc_tun_write(const mc_tun *t, const void *ip, size_t len)
{
    return write(t->fd, ip, len) == (ssize_t)len ? 0 : -errno;
}

void mc_tun_close(mc_tun *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}
