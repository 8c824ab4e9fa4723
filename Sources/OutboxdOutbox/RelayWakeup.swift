import Glibc
import OutboxdCore
import Synchronization

/// Coalesced wake-ups for the relay: any number of `wake()` calls between two waits count once.
/// A pipe carries them, so the relay waits on it and on its LISTEN socket in one poll(2).
public final class RelayWakeup: Sendable {
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

    /// Called after a commit that wrote outbox rows; never blocks.
    public func wake() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) {
            var byte: UInt8 = 1
            _ = write(writeEnd, &byte, 1)
        }
    }

    /// Returns after a wake-up, input on `socket` (a LISTEN connection), or `timeout`; true when
    /// the socket is readable.
    @discardableResult
    func wait(timeout: Duration, socket: Int32 = -1) -> Bool {
        var descriptors = [pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        _ = poll(&descriptors, socket >= 0 ? 2 : 1, milliseconds)
        if descriptors[0].revents != 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            while read(readEnd, &buffer, buffer.count) > 0 {}
            pending.store(false, ordering: .releasing)
        }
        return socket >= 0 && descriptors[1].revents != 0
    }
}
