import Foundation
import Glibc
import Synchronization

/// A TCP proxy in front of PostgreSQL that can lose the answer to one commit. Once armed with a
/// prepared statement's name, the first connection that binds it (runs it) has everything the
/// server sends back withheld until the server's ReadyForQuery, by which time the statement's
/// transaction has committed, and then both ends are closed: a network failure after the commit.
/// The client must not ask for TLS or GSS encryption (`sslmode=disable&gssencmode=disable`): the
/// proxy reads the plain protocol.
public final class CommitCuttingProxy: Sendable {
    public let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let armed = Mutex<String?>(nil)
    private let cutCount = Atomic<Int>(0)

    /// Listens on a free port of 127.0.0.1 and forwards every connection to `targetPort` there.
    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestError("socket failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw HTTPTestError("bind or listen failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = listener
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                guard let server = try? LoopbackSocket.connect(port: targetPort, timeout: .seconds(3600)) else {
                    Glibc.close(client)
                    continue
                }
                relay(client: client, server: server)
            }
        }
    }

    /// The next connection that runs the prepared statement `name` loses the answer to it.
    public func arm(statement name: String) { armed.withLock { $0 = name } }

    /// Answers lost so far.
    public var cuts: Int { cutCount.load(ordering: .relaxed) }

    /// Stops accepting; connections already relayed go on until either end closes.
    public func close() { shutdown(listener, Int32(SHUT_RDWR)); Glibc.close(listener) }

    private func relay(client: Int32, server: Int32) {
        let cutting = Atomic<Bool>(false)
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(client, &buffer, buffer.count)
                guard count > 0 else { break }
                let chunk = Array(buffer[0..<count])
                if let name = armed.withLock({ $0 }), Self.binds(chunk, statement: name),
                   armed.withLock({ state in defer { state = nil }; return state == name }) {
                    cutting.store(true, ordering: .sequentiallyConsistent)
                }
                guard Self.write(server, chunk) else { break }
            }
            shutdown(server, Int32(SHUT_WR))
        }
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var withheld: [UInt8] = []
            while true {
                let count = read(server, &buffer, buffer.count)
                guard count > 0 else { break }
                let chunk = Array(buffer[0..<count])
                if cutting.load(ordering: .sequentiallyConsistent) {
                    withheld += chunk
                    // ReadyForQuery: 'Z', length 5, then the transaction status.
                    if withheld.indices.dropLast(5).contains(where: { withheld[$0] == 0x5A && withheld[($0 + 1)...($0 + 4)].elementsEqual([0, 0, 0, 5]) }) {
                        cutCount.add(1, ordering: .relaxed)
                        break
                    }
                    continue
                }
                guard Self.write(client, chunk) else { break }
            }
            shutdown(client, Int32(SHUT_RDWR))
            shutdown(server, Int32(SHUT_RDWR))
            Glibc.close(client)
            Glibc.close(server)
        }
    }

    /// A Bind message of the unnamed portal to the prepared statement `name`: 'B', its length,
    /// an empty portal name, then the statement's name, each NUL-terminated.
    static func binds(_ bytes: [UInt8], statement name: String) -> Bool {
        let pattern: [UInt8] = [0] + Array(name.utf8) + [0]
        guard bytes.count >= pattern.count + 5 else { return false }
        for start in 5...(bytes.count - pattern.count) where bytes[start - 5] == UInt8(ascii: "B") {
            if bytes[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
        }
        return false
    }

    private static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { return false }
            sent += written
        }
        return true
    }
}
