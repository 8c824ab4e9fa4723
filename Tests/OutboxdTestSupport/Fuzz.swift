import Foundation

/// Runs randomized property tests ("fuzz targets") for a time budget, deterministically per seed.
///
/// Each case gets a `SplitMix64` seeded with a case seed derived from the run's base seed and the
/// target's name, so a failure, or a crash (see `FuzzCrashNote`), names the one seed that
/// reproduces it. Environment:
/// - `OUTBOXD_FUZZ_SECONDS`: budget per target in seconds (default 3; `make test-faults` sets more).
/// - `OUTBOXD_FUZZ_CASES`: at most this many cases per target (default: no limit).
/// - `OUTBOXD_FUZZ_SEED`: base seed, decimal or `0x` hex, or `random`; the default is fixed.
/// - `OUTBOXD_FUZZ_REPLAY`: `target@0xSEED` from a failure report runs just that case.
public enum Fuzz {
    public static let defaultSeconds = 3.0
    static let defaultSeed: UInt64 = 0x0B0C_5EED_2026_0006

    /// The budget of each target.
    public static var budget: Duration {
        let seconds = ProcessInfo.processInfo.environment["OUTBOXD_FUZZ_SECONDS"].flatMap(Double.init) ?? defaultSeconds
        return .milliseconds(Int64(max(seconds, 0) * 1000))
    }

    /// At most this many cases per target (`OUTBOXD_FUZZ_CASES`), for runs that repeat exactly.
    private static let maxCases = ProcessInfo.processInfo.environment["OUTBOXD_FUZZ_CASES"].flatMap(Int.init) ?? Int.max

    private static let baseSeed: UInt64 = {
        guard let text = ProcessInfo.processInfo.environment["OUTBOXD_FUZZ_SEED"], !text.isEmpty else { return defaultSeed }
        if text == "random" { return UInt64.random(in: 0...UInt64.max) }
        return parseSeed(text) ?? defaultSeed
    }()

    /// Runs `property` on fresh cases until the budget is spent or a case fails; logs one summary
    /// line to stderr. The property throws `FuzzFailure` (or any error) to fail its case.
    public static func run(_ target: String, budget: Duration = Fuzz.budget,
                           property: (inout SplitMix64) throws -> Void) -> FuzzReport {
        let slot = FuzzCrashNote.claim()
        defer { if let slot { FuzzCrashNote.release(slot) } }
        let replay = replaySeed(for: target)
        let started = ContinuousClock.now
        var seeds = SplitMix64(seed: baseSeed ^ fnv1a(target))
        var cases = 0
        var failure: String?
        while failure == nil {
            let done = replay != nil ? cases == 1 : cases == maxCases || ContinuousClock.now - started >= budget
            if done { break }
            let seed = replay ?? seeds.next()
            let reproduce = "OUTBOXD_FUZZ_REPLAY=\(target)@\(hex(seed))"
            if let slot { FuzzCrashNote.note(slot, "fuzz target \(target), case \(cases); reproduce with \(reproduce)") }
            var generator = SplitMix64(seed: seed)
            cases += 1
            do {
                try property(&generator)
            } catch {
                failure = "fuzz target \(target) failed in case \(cases - 1) (base seed \(hex(baseSeed))): \(error)\nreproduce with \(reproduce)"
            }
        }
        let report = FuzzReport(target: target, cases: cases, elapsed: ContinuousClock.now - started, baseSeed: baseSeed, failure: failure)
        FileHandle.standardError.write(Data("\(report)\n".utf8))
        return report
    }

    /// Throws a `FuzzFailure` with `message` and `input` unless `condition` holds.
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String,
                             input: @autoclosure () -> [UInt8]) throws(FuzzFailure) {
        guard condition else { throw FuzzFailure(message(), input: input()) }
    }

    public static func hex(_ value: UInt64) -> String {
        "0x" + String(value, radix: 16, uppercase: true)
    }

    /// Bytes as hex pairs, e.g. `7B 22 7D`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    private static func replaySeed(for target: String) -> UInt64? {
        guard let text = ProcessInfo.processInfo.environment["OUTBOXD_FUZZ_REPLAY"],
              let at = text.firstIndex(of: "@"), text[..<at] == target else { return nil }
        return parseSeed(String(text[text.index(after: at)...]))
    }

    private static func parseSeed(_ text: String) -> UInt64? {
        text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }

    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}

/// A property that did not hold, with the input that shows it.
public struct FuzzFailure: Error, CustomStringConvertible {
    public let message: String
    public let input: [UInt8]

    public init(_ message: String, input: [UInt8] = []) {
        self.message = message
        self.input = input
    }

    public var description: String {
        guard !input.isEmpty else { return message }
        let text = String(decoding: input.prefix(2000), as: UTF8.self).unicodeScalars
            .map { $0.value < 0x20 || $0.value == 0x7F ? $0.escaped(asASCII: true) : String($0) }.joined()
        return "\(message)\ninput (\(input.count) bytes, hex): \(Fuzz.hex(input.prefix(4000)))\ninput as text: \(text)"
    }
}

/// What a fuzz run did.
public struct FuzzReport: Sendable, CustomStringConvertible {
    public let target: String
    public let cases: Int
    public let elapsed: Duration
    public let baseSeed: UInt64
    /// The first failure, naming the seed that reproduces it; nil when every case held.
    public let failure: String?

    public var casesPerSecond: Int {
        seconds > 0 ? Int(Double(cases) / seconds) : cases
    }

    public var description: String {
        "fuzz \(target): \(cases) cases in \(String(format: "%.1f", seconds)) s (\(casesPerSecond)/s), base seed \(Fuzz.hex(baseSeed))"
            + (failure == nil ? "" : ", FAILED")
    }

    private var seconds: Double {
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
