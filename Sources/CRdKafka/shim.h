#ifndef OUTBOXD_CRDKAFKA_SHIM_H
#define OUTBOXD_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* rd_kafka_producev is variadic, which Swift cannot call. On success librdkafka owns `headers`;
   on failure the caller still does. The payload and key are copied. `partition`:
   RD_KAFKA_PARTITION_UA (-1) lets the partitioner pick; `timestamp` 0: the time of this call. */
static inline rd_kafka_resp_err_t outboxd_rdkafka_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                          const void *key, size_t key_len,
                                                          const void *value, size_t value_len,
                                                          int64_t timestamp, rd_kafka_headers_t *headers, void *opaque) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *) value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_TIMESTAMP(timestamp),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

#endif
