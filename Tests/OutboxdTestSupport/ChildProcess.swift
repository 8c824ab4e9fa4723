import Foundation
import Glibc

/// A child process started with posix_spawn, its stdout and stderr going to a file. Waiting uses
/// waitpid, which (unlike Foundation's Process on Linux) stays reliable with many children at once.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` and `outputPath` are set in init and only read after; `status` is written
    // once by waitpid under the Mutex.
    public let pid: pid_t
    public let outputPath: String
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` in the test's working directory (the package root).
    public init(executable: String, arguments: [String], environment: [String: String]) throws {
        outputPath = TestEnvironment.scratchDirectory.appendingPathComponent("child-\(UUID().uuidString.prefix(12)).log").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw HTTPTestError("cannot start \(executable): errno \(result)") }
        self.pid = pid
    }

    /// Everything the process wrote so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// The exit code (or 128 + signal) once it has exited, else nil. Never blocks.
    public var exitCode: Int32? {
        exitStatus.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = Self.decode(raw) }
            }
            return status
        }
    }

    public var isRunning: Bool { exitCode == nil }

    /// Blocks until the process exits; returns its exit code.
    public func waitForExit() -> Int32 {
        if let code = exitCode { return code }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        let code = Self.decode(raw)
        exitStatus.withLock { $0 = code }
        return code
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitForExit()
        }
    }
}

import Synchronization
