import Foundation
import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres

/// `outboxd outbox …`: the inspection views and repair functions of migration 0006
/// (`OutboxInspection`, `OutboxRepair`), as human tables or `--json`. Exit codes: 0 ok; 2 nothing
/// matched (unknown event id, nothing retried); 3 `status` found parked events; 64 usage; 69
/// database unreachable; 1 other failure.
enum OutboxTool {
    static let usage = "outboxd outbox status | pending | parked | show ID | retry ID… | retry-parked [--since T] | replay --from T --to T [--no-wait]  [--json] [--limit N]"

    static func run(_ arguments: CommandLineArguments, configuration: Configuration) throws -> Int32 {
        guard let subcommand = arguments.positional.first else { throw DaemonError(.usage, "outbox needs a subcommand: \(usage)") }
        let rest = Array(arguments.positional.dropFirst())
        let json = arguments.outboxOptions["json"] != nil
        var limit = 20
        if let text = arguments.outboxOptions["limit"] {
            guard let value = Int(text), (1...10_000).contains(value) else { throw DaemonError(.usage, "--limit must be a whole number from 1 to 10000") }
            limit = value
        }
        let connection = try configuration.connectOrFail()
        defer { connection.close() }
        func expectNoArguments() throws {
            guard rest.isEmpty else { throw DaemonError(.usage, "outbox \(subcommand) takes no arguments; \(usage)") }
        }
        switch subcommand {
        case "status":
            try expectNoArguments()
            let rows = try OutboxInspection.status(on: connection)
            print(render(rows, json: json), terminator: "")
            return try rows.contains { try $0.require(Int.self, "parked") > 0 } ? 3 : 0
        case "pending":
            try expectNoArguments()
            print(render(try OutboxInspection.pending(limit: limit, on: connection), json: json), terminator: "")
            return 0
        case "parked":
            try expectNoArguments()
            print(render(try OutboxInspection.parked(limit: limit, on: connection), json: json), terminator: "")
            return 0
        case "show":
            guard rest.count == 1, let id = UUID(text: rest[0]) else { throw DaemonError(.usage, "outbox show needs one event id (a UUID)") }
            guard let row = try OutboxInspection.event(id, on: connection) else {
                FileHandle.standardError.write(Data("no outbox row with event id \(id.lowercaseString) (published rows are purged after OUTBOX_RETENTION)\n".utf8))
                return 2
            }
            if json {
                print(JSONWriter.string(object(row)))
            } else {
                let width = row.columns.map(\.count).max() ?? 0
                for (column, value) in zip(row.columns, row.values) {
                    print(column.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (value ?? "-"))
                }
            }
            return 0
        case "retry":
            guard !rest.isEmpty else { throw DaemonError(.usage, "outbox retry needs event ids") }
            let ids = try rest.map { text -> UUID in
                guard let id = UUID(text: text) else { throw DaemonError(.usage, "\"\(text.prefix(64))\" is not an event id (a UUID)") }
                return id
            }
            let count = try OutboxRepair.retry(ids, on: connection)
            report(["retried": .int(count), "asked": .int(ids.count)], "\(count) of \(ids.count) events made due now", json: json)
            return count == 0 ? 2 : 0
        case "retry-parked":
            try expectNoArguments()
            let since = try timestamp("since", arguments, required: false)
            let count = try OutboxRepair.retryParked(since: since, on: connection)
            report(["retried": .int(count)], "\(count) parked events made due now", json: json)
            return count == 0 ? 2 : 0
        case "replay":
            try expectNoArguments()
            let from = try timestamp("from", arguments, required: true)!, to = try timestamp("to", arguments, required: true)!
            guard from < to else { throw DaemonError(.usage, "--from must be before --to") }
            let count = try OutboxRepair.replay(from: from, to: to, on: connection)
            report(["replayed": .int(count)], "\(count) events queued to be published again", json: json)
            guard count > 0 else { return 2 }
            if arguments.outboxOptions["no-wait"] == nil { try waitForRelay(connection) }
            return 0
        default:
            throw DaemonError(.usage, "unknown outbox subcommand \"\(subcommand.prefix(64))\"; \(usage)")
        }
    }

    /// Progress lines on stderr until nothing is pending (the relay republishes the replay).
    private static func waitForRelay(_ connection: PQConnection) throws {
        var last = -1
        while true {
            let pending = try OutboxInspection.pendingCount(on: connection)
            if pending != last { FileHandle.standardError.write(Data("replay: \(pending) events pending\n".utf8)) }
            if pending == 0 { return }
            last = pending
            Thread.sleep(forTimeInterval: 1)
        }
    }

    private static func timestamp(_ name: String, _ arguments: CommandLineArguments, required: Bool) throws -> Timestamp? {
        guard let text = arguments.outboxOptions[name] else {
            if required { throw DaemonError(.usage, "outbox replay needs --\(name) (RFC 3339, e.g. 2026-11-24T08:00:00Z)") }
            return nil
        }
        guard let value = Timestamp(rfc3339: text) else { throw DaemonError(.usage, "--\(name) \"\(text.prefix(64))\" is not an RFC 3339 time (e.g. 2026-11-24T08:00:00Z)") }
        return value
    }

    private static func report(_ fields: KeyValuePairs<String, JSONValue>, _ text: String, json: Bool) {
        print(json ? JSONWriter.string(.object(JSONObject(fields))) : text)
    }

    private static func object(_ row: PostgresRow) -> JSONValue {
        var object = JSONObject()
        for (column, value) in zip(row.columns, row.values) { object.append(column, value.map(JSONValue.string) ?? .null) }
        return .object(object)
    }

    /// A table with a header (or a JSON array of objects, values as text).
    static func render(_ rows: PostgresRows, json: Bool) -> String {
        if json { return JSONWriter.string(.array(rows.map(object))) + "\n" }
        guard !rows.isEmpty else { return "(none)\n" }
        var widths = rows.columns.map(\.count)
        for row in rows { for (index, value) in row.values.enumerated() { widths[index] = max(widths[index], (value ?? "-").count) } }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces) + "\n"
        }
        return line(rows.columns) + rows.map { line($0.values.map { $0 ?? "-" }) }.joined()
    }
}
