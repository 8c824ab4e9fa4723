#ifndef OUTBOXD_CRDKAFKA_SHIM_H
#define OUTBOXD_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif
