import Foundation
import Glibc
import OutboxdCore

/// systemd's notify protocol (`sd_notify(3)`): datagrams like `READY=1` to the unix socket named
/// by `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Without `NOTIFY_SOCKET`
/// (not under systemd, or `Type=simple`) every call does nothing.
///
/// With `WATCHDOG_USEC` set, a thread sends `WATCHDOG=1` every half interval, but only while
/// `problem()` finds nothing wrong, so systemd restarts a daemon whose relay or HTTP server is stuck.
public final class SystemdNotifier: Sendable {
    private let address: String?
    private let watchdogInterval: Duration?
    private let logger = Logger(label: "systemd")

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap(Int64.init).flatMap { $0 > 0 ? .microseconds($0) : nil }
    }

    public var isActive: Bool { address != nil }

    /// Sends `state` (`READY=1`, `STATUS=…`, `STOPPING=1`, `WATCHDOG=1`) without ever blocking; a
    /// datagram the socket cannot take now is dropped and logged, not thrown.
    public func notify(_ state: String) {
        guard let address else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var path = Array(address.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 } // abstract namespace
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard path.count < capacity else { return }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { buffer in
            buffer.copyBytes(from: path)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                // Never blocks: a datagram socket whose reader lags (its queue holds
                // net.unix.max_dgram_qlen, 10 by default) would otherwise hang this thread, and with
                // it the stop that waits for the watchdog thread.
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), address, length) }
            }
        }
        if sent < 0 { logger.warning("sd_notify failed", ["state": String(state.prefix(32)), "error": String(cString: strerror(errno))]) }
    }

    /// Two workers, for the daemon's `WorkerGroup`: one sends `WATCHDOG=1` every half watchdog
    /// interval while `problem()` returns nil (only when systemd asked for a watchdog,
    /// `WatchdogSec=`); the other sends `STATUS=<status()>` every 10 s. Separate, so a slow status
    /// query never delays a ping. None without `NOTIFY_SOCKET`.
    public func watchdogWorkers(problem: @escaping @Sendable () -> String?, status: @escaping @Sendable () -> String?) -> [WorkerThread] {
        guard isActive else { return [] }
        var workers: [WorkerThread] = []
        if let interval = watchdogInterval {
            workers.append(periodic("watchdog", every: interval / 2) { [self] wasHealthy in
                let found = problem()
                if found == nil { notify("WATCHDOG=1") }
                if let found, wasHealthy {
                    logger.error("watchdog pings withheld", ["problem": found])
                } else if found == nil, !wasHealthy {
                    logger.notice("healthy again; watchdog pings resume")
                }
                return found == nil
            })
        }
        workers.append(periodic("status", every: .seconds(10)) { [self] _ in
            if let text = status() { notify("STATUS=" + text) }
            return true
        })
        return workers
    }

    /// Runs `body` every `interval` until stopped; `body` gets what it returned last time.
    private func periodic(_ name: String, every interval: Duration, _ body: @escaping @Sendable (Bool) -> Bool) -> WorkerThread {
        WorkerThread(name: name) { signal in
            var last = true
            while !signal.isStopping {
                last = body(last)
                signal.wait(timeout: interval)
            }
        }
    }

    /// The watchdog interval systemd set, if any.
    public var watchdog: Duration? { watchdogInterval }
}
