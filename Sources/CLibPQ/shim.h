#ifndef OUTBOXD_CLIBPQ_SHIM_H
#define OUTBOXD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
