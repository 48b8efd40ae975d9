/* mc-exit.h — exit statuses of every tool (DESIGN.md; the c-ares adig convention). */
#ifndef MC_EXIT_H
#define MC_EXIT_H

enum {
    MC_EXIT_OK = 0,       /* success */
    MC_EXIT_RUNTIME = 1,  /* runtime or system error */
    MC_EXIT_USAGE = 2,    /* bad command line */
    MC_EXIT_NEGATIVE = 3, /* a negative answer: no relay, no data, nothing admitted, files differ */
};

#endif
