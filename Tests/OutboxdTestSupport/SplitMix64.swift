/// A seeded generator (SplitMix64), so a randomized test repeats exactly for a given seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A number in `0..<count` (modulo bias is negligible here); cheaper than the generic API in debug builds.
    public mutating func below(_ count: Int) -> Int {
        Int(next() % UInt64(count))
    }

    /// True with probability `percent`/100.
    public mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }

    /// A random element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }

    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// One to four random edits of non-empty `bytes`, for the decoders' fuzz tests: a byte
    /// overwritten, a byte inserted, with `digitRuns` a run of up to 23 `9`s inserted (numbers no
    /// field can hold), or a byte removed.
    public mutating func mutate(_ bytes: inout [UInt8], digitRuns: Bool = false) {
        for _ in 0...(next() % 4) {
            let position = Int(next() % UInt64(bytes.count))
            switch (next() % (digitRuns ? 4 : 3), digitRuns) {
            case (0, _): bytes[position] = UInt8(truncatingIfNeeded: next())
            case (1, _): bytes.insert(UInt8(truncatingIfNeeded: next()), at: position)
            case (2, true): bytes.insert(contentsOf: Array(repeating: UInt8(ascii: "9"), count: Int(next() % 24)), at: position)
            default: if bytes.count > 1 { bytes.remove(at: position) }
            }
        }
    }
}
