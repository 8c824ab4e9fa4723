import Foundation
import OutboxdTestSupport
import Testing

/// Every statement over the outbox's tables, views and functions lives in Sources/OutboxdOutbox, so
/// a schema change is one module (migrations/ and bench/ are not scanned). Other modules call its
/// Swift functions (`OutboxWriter`, `OutboxInspection`, `OutboxRepair`, `OutboxDeliveries`).
@Suite struct OutboxSQLPlacementTests {
    /// `FROM outbox`, `INTO outbox_relay_shards`, `UPDATE outbox`, `JOIN outbox_pending`, … and calls
    /// of the outbox's SQL functions (`outbox_retry(`), in any case, across line breaks.
    static let outboxSQL = #"\b(FROM|INTO|UPDATE|JOIN|TABLE)\s+outbox(_[a-z_]+)?\b|\boutbox_[a-z_]+\s*\("#

    @Test func noStatementOverTheOutboxOutsideTheOutboxModule() throws {
        let root = TestEnvironment.repositoryRoot
        var outside: [String] = []
        var inside = 0
        for directory in ["Sources", "Tests/OutboxdTestSupport"] {
            for file in try Self.swiftFiles(under: root.appendingPathComponent(directory)) {
                let hits = try Self.outboxSQLLines(in: file)
                let relative = String(file.path.dropFirst(root.path.count + 1))
                if relative.hasPrefix("Sources/OutboxdOutbox/") {
                    inside += hits.count
                } else {
                    outside += hits.map { "\(relative):\($0.line): \($0.text)" }
                }
            }
        }
        #expect(outside.isEmpty, "SQL over the outbox outside Sources/OutboxdOutbox:\n\(outside.joined(separator: "\n"))")
        // The pattern finds the module's own statements (the claim, the writer, the inspection), so a
        // pattern that matches nothing cannot pass this test.
        #expect(inside >= 10, "only \(inside) statements found in Sources/OutboxdOutbox")
    }

    @Test func thePatternFindsStatementsInEveryShape() throws {
        let regex = try NSRegularExpression(pattern: Self.outboxSQL, options: [.caseInsensitive])
        for sql in ["SELECT 1 FROM outbox o", "insert into outbox (id)", "UPDATE outbox SET", "DELETE FROM\n    outbox",
                    "JOIN outbox_pending p", "SELECT shards FROM outbox_relay_shards", "SELECT outbox_retry($1)"] {
            #expect(regex.firstMatch(in: sql, range: NSRange(sql.startIndex..., in: sql)) != nil, "\(sql)")
        }
        for text in ["the rows from the outbox", "outboxd_outbox_pending{topic}", "import OutboxdOutbox", "OutboxStore.claim"] {
            #expect(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil, "\(text)")
        }
    }

    static func swiftFiles(under directory: URL) throws -> [URL] {
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return files.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    /// Line number and line of each match.
    static func outboxSQLLines(in file: URL) throws -> [(line: Int, text: String)] {
        let text = try String(contentsOf: file, encoding: .utf8)
        let regex = try NSRegularExpression(pattern: outboxSQL, options: [.caseInsensitive])
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match -> (line: Int, text: String)? in
            guard let range = Range(match.range, in: text) else { return nil }
            let line = text[..<range.lowerBound].count(where: { $0 == "\n" }) + 1
            let start = text[..<range.lowerBound].lastIndex(of: "\n").map(text.index(after:)) ?? text.startIndex
            let lineText = text[start...].prefix { $0 != "\n" }
            return (line, lineText.trimmingCharacters(in: .whitespaces))
        }
    }
}
