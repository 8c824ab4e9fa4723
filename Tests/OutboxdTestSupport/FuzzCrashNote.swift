import Glibc
import Synchronization

/// Makes a crash during a fuzz run reproducible: every case notes its seed here before it runs,
/// and a handler for fatal signals (a trapped precondition, a segfault) writes the notes of the
/// cases running at that moment to stderr, then hands the signal on to the previous handler
/// (Swift's backtracer), which reports the crash as usual.
enum FuzzCrashNote {
    private static let slotCount = 16
    private static let slotSize = 512
    /// Faults that re-occur when the handler returns, so the previous handler then gets them too.
    private static let signals = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE]

    /// Notes as NUL-terminated strings, written by one case's thread and read by the handler.
    nonisolated(unsafe) private static let notes: UnsafeMutablePointer<CChar> = {
        let notes = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotSize)
        notes.initialize(repeating: 0, count: slotCount * slotSize)
        return notes
    }()
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: signals.count)
        previous.initialize(repeating: sigaction(), count: signals.count)
        return previous
    }()
    private static let claimed = Mutex([Bool](repeating: false, count: slotCount))

    private static let installed: Void = {
        _ = notes
        for (index, signal) in signals.enumerated() {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in FuzzCrashNote.report(signal) }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, previous + index)
        }
    }()

    /// A slot for one running target, or nil when all are taken (the run goes on unnoted).
    static func claim() -> Int? {
        _ = installed
        return claimed.withLock { slots in
            guard let free = slots.firstIndex(of: false) else { return nil }
            slots[free] = true
            return free
        }
    }

    static func note(_ slot: Int, _ text: String) {
        let start = notes + slot * slotSize
        var count = 0
        for byte in text.utf8.prefix(slotSize - 1) {
            start[count] = CChar(bitPattern: byte)
            count += 1
        }
        start[count] = 0
    }

    static func release(_ slot: Int) {
        notes[slot * slotSize] = 0
        claimed.withLock { $0[slot] = false }
    }

    /// Runs in the signal handler: only write(2) and sigaction(2), both async-signal-safe.
    private static func report(_ signal: Int32) {
        for slot in 0..<slotCount where notes[slot * slotSize] != 0 {
            let start = notes + slot * slotSize
            _ = write(2, "\n*** crashed during ", 20)
            _ = write(2, start, strlen(start))
            _ = write(2, "\n", 1)
        }
        if let index = signals.firstIndex(of: signal) {
            // Returning re-runs the faulting instruction, now under the old handler.
            sigaction(signal, previous + index, nil)
        }
    }
}
