import Foundation
import Glibc

/// A unix datagram socket standing in for systemd's `NOTIFY_SOCKET`: tests read what the daemon
/// sent (`READY=1`, `WATCHDOG=1`, …).
public final class NotifySocket: @unchecked Sendable { // one descriptor, read from one test thread
    public let path: String
    private let fd: Int32

    public init() throws {
        path = TestEnvironment.scratchDirectory.path + "/notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError("socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HTTPTestError("bind \(path) failed: \(String(cString: strerror(errno)))") }
    }

    /// The next datagram, or nil after `timeout`.
    public func receive(timeout: Duration) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Reads datagrams until one satisfies `match` (returned) or `timeout` passes (nil).
    public func receive(until match: (String) -> Bool, timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let message = receive(timeout: deadline - ContinuousClock.now), match(message) { return message }
        }
        return nil
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
