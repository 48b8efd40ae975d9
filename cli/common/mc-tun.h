/* mc-tun.h — the TUN device tools write decapsulated IP datagrams into (amt-join --tun,
 * driad-ingest --tun), so the kernel routes them as native multicast.  It is created when
 * missing (CAP_NET_ADMIN) and then vanishes when the tool closes it; an existing
 * persistent device (`ip tuntap add mode tun user U`) is attached to instead, so the tool
 * can run without privileges, and is left in place. */
#ifndef MC_TUN_H
#define MC_TUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mc_tun {
    int fd;
    bool created;   /* the device did not exist before: it goes away with the fd */
    char name[16];  /* IFNAMSIZ */
} mc_tun;

/* Opens (or creates) the device and brings it up.  Returns 0 or -errno; *why names the
 * step that failed. */
int mc_tun_open(mc_tun *t, const char *name, const char **why);
/* Writes one IP datagram.  Returns 0 or -errno. */
int mc_tun_write(const mc_tun *t, const void *ip, size_t len);
void mc_tun_close(mc_tun *t);

#endif
