import Glibc

/// The process's open-files limit (`RLIMIT_NOFILE`), raised to fit the HTTP connection limits.
/// systemd starts services with a soft limit of 1024 and a hard limit far above it, expecting a
/// program that needs more (and does not use select(2)) to raise its own soft limit.
enum OpenFilesLimit {
    /// Descriptors kept for everything but HTTP connections: database connections, librdkafka's
    /// sockets and pipes, files.
    static let reserve = 512

    /// Raises the soft limit to `needed` when it is lower; throws naming `key` when the hard limit
    /// is lower still.
    static func ensure(_ needed: Int, key: String) throws {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        guard limit.rlim_cur < rlim_t(needed) else { return }
        let soft = limit.rlim_cur
        guard limit.rlim_max >= rlim_t(needed) else {
            throw DaemonError(.configuration, "\(key): needs \(needed) open files (with \(reserve) kept for the rest), "
                + "but the hard limit is \(limit.rlim_max); lower \(key), or raise LimitNOFILE= in the unit (ulimit -Hn)")
        }
        limit.rlim_cur = rlim_t(needed)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            // The units' system call filter (~@resources) refuses setrlimit; they set LimitNOFILE= instead.
            throw DaemonError(.configuration, "\(key): needs \(needed) open files (with \(reserve) kept for the rest), "
                + "but the limit is \(soft) and raising it failed (\(String(cString: strerror(errno)))); "
                + "raise LimitNOFILE= in the unit, or lower \(key)")
        }
    }
}
