import Glibc

/// A resolved IPv4 or IPv6 socket address for the listener.
struct SocketAddress {
    let family: Int32
    private let storage: sockaddr_storage

    /// Resolves `host` (an address or a name such as `localhost`) with getaddrinfo.
    static func resolve(host: String, port: Int) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw HTTPServerError("cannot resolve listen address \(host.prefix(64)):\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
        }
        return SocketAddress(family: info.pointee.ai_family, storage: storage)
    }

    /// Binds a new socket to this address and closes it: `strerror` when that fails
    /// (`Cannot assign requested address`: no address of this machine).
    func bindFailure() -> String? {
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        let length = socklen_t(family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        return withSockaddr { bind(descriptor, $0, length) } == 0 ? nil : String(cString: strerror(errno))
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self))
        }
    }
}
