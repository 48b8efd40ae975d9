/* ing-tun.h — the TUN device decapsulated datagrams are written into.  It is created
 * when missing (CAP_NET_ADMIN) and then vanishes when the tool closes it; an existing
 * persistent device (`ip tuntap add mode tun user U`) is attached to instead, so the
 * tool can run without privileges, and is left in place. */
#ifndef ING_TUN_H
#define ING_TUN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ing_tun {
    int fd;
    bool created;   /* the device did not exist before: it goes away with the fd */
    char name[16];  /* IFNAMSIZ */
} ing_tun;

/* Opens (or creates) the device and brings it up.  Returns 0 or -errno; *why names the
 * step that failed. */
int ing_tun_open(ing_tun *t, const char *name, const char **why);
/* Writes one IP datagram.  Returns 0 or -errno. */
int ing_tun_write(const ing_tun *t, const void *ip, size_t len);
void ing_tun_close(ing_tun *t);

#endif
