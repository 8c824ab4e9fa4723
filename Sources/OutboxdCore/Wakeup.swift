import Glibc
import Synchronization

/// Coalesced wake-ups for a worker thread: any number of `wake()` calls between two waits count
/// once. A pipe carries them, so the worker can wait on it and on a socket (a LISTEN connection)
/// in one poll(2). Used by the relay and by the NOTIFY sender.
public final class Wakeup: Sendable {
    private let pending = Atomic<Bool>(false)
    private let readEnd: Int32
    private let writeEnd: Int32

    public init() {
        var ends: [Int32] = [-1, -1]
        _ = pipe(&ends)
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Never blocks; safe from any thread.
    public func wake() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
    }

    /// What ended a wait.
    public struct Reason: Sendable {
        /// `wake()` was called since the last wait.
        public let woken: Bool
        /// `socket` has input.
        public let socketReadable: Bool
    }

    /// Returns after a wake-up, input on `socket` (when given), or `timeout`.
    @discardableResult
    public func wait(timeout: Duration, socket: Int32 = -1) -> Reason {
        let (woken, socketReadable) = Self.wait(for: [self], timeout: timeout, socket: socket)
        return Reason(woken: woken[0], socketReadable: socketReadable)
    }

    /// Waits on several wake-ups (and a socket) in one poll(2); returns which of them were woken,
    /// in the order given, and whether `socket` has input. Consumes the wake-ups it reports.
    public static func wait(for wakeups: [Wakeup], timeout: Duration, socket: Int32 = -1) -> (woken: [Bool], socketReadable: Bool) {
        let (woken, readable) = wait(for: wakeups, timeout: timeout, sockets: [socket])
        return (woken, readable[0])
    }

    /// Waits on several wake-ups and sockets in one poll(2); returns which wake-ups were woken and
    /// which sockets have input, each in the order given (a negative socket is never readable).
    /// Consumes the wake-ups it reports.
    public static func wait(for wakeups: [Wakeup], timeout: Duration, sockets: [Int32]) -> (woken: [Bool], readable: [Bool]) {
        var descriptors = wakeups.map { pollfd(fd: $0.readEnd, events: Int16(POLLIN), revents: 0) }
        descriptors += sockets.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } // poll(2) skips negative descriptors
        _ = poll(&descriptors, nfds_t(descriptors.count), Int32(clamping: timeout.wholeMilliseconds))
        let woken = wakeups.indices.map { index in
            guard descriptors[index].revents != 0 else { return false }
            wakeups[index].consume()
            return true
        }
        return (woken, sockets.indices.map { sockets[$0] >= 0 && descriptors[wakeups.count + $0].revents != 0 })
    }

    private func consume() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readEnd, &buffer, buffer.count) > 0 {}
        pending.store(false, ordering: .releasing)
    }
}
