/// A request's W3C Trace Context (`traceparent` and `tracestate`, W3C Recommendation "Trace
/// Context" Level 1), as an event stores it in its outbox row's `headers`.
///
/// Parsing never fails a request: a malformed `traceparent` gives no context at all (and its
/// `tracestate` is not read, as the specification requires), a malformed `tracestate` is dropped
/// alone.
public struct TraceContext: Sendable, Equatable {
    /// The `traceparent` value as received (trimmed), e.g. `00-4bf92f…4736-00f067aa0ba902b7-01`.
    public let traceparent: String
    /// The list members of every `tracestate` line, joined with `,` (empty members left out);
    /// nil when there were none or the list was invalid.
    public let tracestate: String?

    /// The most a stored `tracestate` may hold (the specification's bound for propagation).
    public static let maxTracestateLength = 512
    /// The most list members of a `tracestate`.
    public static let maxTracestateMembers = 32

    /// The context of a request's header lines (every line of each name, in order); nil unless
    /// there is exactly one valid `traceparent`.
    public init?(traceparent lines: [String], tracestate stateLines: [String]) {
        guard lines.count == 1, let parent = Self.validTraceparent(lines[0]) else { return nil }
        traceparent = parent
        tracestate = Self.validTracestate(stateLines)
    }

    /// The 32 hex digits of the trace id.
    public var traceID: Substring {
        let start = traceparent.index(traceparent.startIndex, offsetBy: 3)
        return traceparent[start..<traceparent.index(start, offsetBy: 32)]
    }

    /// `{"traceparent": "…", "tracestate": "…"}` (tracestate only when kept), for `outbox.headers`.
    public var headers: JSONValue {
        var object = JSONObject(["traceparent": .string(traceparent)])
        if let tracestate { object.append("tracestate", .string(tracestate)) }
        return .object(object)
    }

    /// `headers` as jsonb text, or `{}` for no context.
    public static func headersText(_ context: TraceContext?) -> String {
        context.map { JSONWriter.string($0.headers) } ?? "{}"
    }

    /// `version "-" trace-id "-" parent-id "-" trace-flags`, lowercase hex: version `ff` is
    /// invalid; version `00` is exactly 55 characters; a later version may go on after the flags
    /// with `-` and anything (only the first four fields are read). Trace and parent ids must not
    /// be all zeros.
    public static func validTraceparent(_ raw: String) -> String? {
        let value = raw.trimmingOWS()
        let bytes = Array(value.utf8)
        guard bytes.count >= 55, isLowerHex(bytes[0..<2]), !(bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f")) else { return nil }
        let isVersionZero = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        if isVersionZero ? bytes.count != 55 : (bytes.count > 55 && bytes[55] != UInt8(ascii: "-")) { return nil }
        let dash = UInt8(ascii: "-")
        guard bytes[2] == dash, bytes[35] == dash, bytes[52] == dash,
              isLowerHex(bytes[3..<35]), isLowerHex(bytes[36..<52]), isLowerHex(bytes[53..<55]),
              bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }),
              bytes[36..<52].contains(where: { $0 != UInt8(ascii: "0") }) else { return nil }
        // Nothing but printable ASCII may follow in a later version's extra fields.
        guard bytes[55...].allSatisfy({ (0x20...0x7E).contains($0) }) else { return nil }
        return value
    }

    /// The list members of `lines` (each a comma-separated list; empty members allowed and left
    /// out), each `key=value` by the specification's grammar, at most 32 with no key twice,
    /// joined with `,` and at most 512 characters; nil otherwise, or when there is no member.
    public static func validTracestate(_ lines: [String]) -> String? {
        var members: [String] = []
        var keys: Set<String> = []
        for line in lines {
            for part in line.split(separator: ",", omittingEmptySubsequences: false) {
                let member = part.trimmingOWS()
                if member.isEmpty { continue }
                guard let equals = member.firstIndex(of: "=") else { return nil }
                let key = String(member[..<equals])
                let value = member[member.index(after: equals)...]
                guard isValidKey(key), isValidValue(Array(value.utf8)), keys.insert(key).inserted else { return nil }
                members.append(member)
            }
        }
        guard !members.isEmpty, members.count <= maxTracestateMembers else { return nil }
        let joined = members.joined(separator: ",")
        return joined.utf8.count <= maxTracestateLength ? joined : nil
    }

    /// `simple-key = lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")`, or
    /// `tenant-id "@" system-id` (tenant: lcalpha or digit then up to 240, system: lcalpha then up to 13).
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")) {
            let tenant = bytes[..<at], system = bytes[(at + 1)...]
            guard let first = tenant.first, isLowerAlpha(first) || isDigit(first), tenant.count <= 241,
                  let systemFirst = system.first, isLowerAlpha(systemFirst), system.count <= 14 else { return false }
            return tenant.dropFirst().allSatisfy(isKeyCharacter) && system.dropFirst().allSatisfy(isKeyCharacter)
        }
        guard let first = bytes.first, isLowerAlpha(first), bytes.count <= 256 else { return false }
        return bytes.dropFirst().allSatisfy(isKeyCharacter)
    }

    /// `value = 0*255(chr) nblk-chr`: printable ASCII but `,` and `=`, spaces allowed inside,
    /// not at the end (leading ones were trimmed with the member).
    static func isValidValue(_ bytes: [UInt8]) -> Bool {
        guard let last = bytes.last, last != 0x20, bytes.count <= 256 else { return false }
        return bytes.allSatisfy { (0x20...0x7E).contains($0) && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }
    }

    private static func isLowerHex<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        bytes.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isLowerAlpha(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        isLowerAlpha(byte) || isDigit(byte) || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/")].contains(byte)
    }
}
