import Foundation
import Synchronization

/// An `outboxd` process started from the built binary, with its stderr captured.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `process` is configured before `run()` and then only read; the log lines are
    // behind a Mutex.
    public let process = Process()
    private let log = OutputBuffer()
    private let pipe = Pipe()

    /// Starts `outboxd <arguments>` with `environment` added to a minimal environment.
    public init(arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binaryPath)
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin", "LOG_FORMAT": "text"]
        env.merge(environment) { $1 }
        process.environment = env
        process.currentDirectoryURL = TestEnvironment.repositoryRoot
        process.standardOutput = pipe
        process.standardError = pipe
        let handle = pipe.fileHandleForReading
        handle.readabilityHandler = { [log] file in
            let data = file.availableData
            if !data.isEmpty { log.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    /// Everything the process wrote so far.
    public var output: String { log.text.withLock { $0 } }

    /// Waits until the output contains `text`; throws with the output when it does not in time
    /// or the process exits first.
    @discardableResult
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(30)) throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let current = output
            if current.contains(text) { return current }
            if !process.isRunning {
                Thread.sleep(forTimeInterval: 0.05)
                if output.contains(text) { return output }
                throw HTTPTestError("outboxd exited (\(process.terminationStatus)) before printing \"\(text)\":\n\(output)")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw HTTPTestError("outboxd did not print \"\(text)\" within \(timeout):\n\(output)")
    }

    /// Waits for the `listening address=host:port` line and returns the port.
    public func waitForPort(timeout: Duration = .seconds(30)) throws -> Int {
        let text = try waitForOutput("listening address=", timeout: timeout)
        guard let range = text.range(of: "listening address=") else { throw HTTPTestError("no address") }
        let address = text[range.upperBound...].prefix { !$0.isWhitespace }
        guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw HTTPTestError("cannot read the port from \(address)")
        }
        return port
    }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the exit and returns the status; throws after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(60)) throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while process.isRunning {
            guard clock.now < deadline else { throw HTTPTestError("outboxd still running after \(timeout):\n\(output)") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        pipe.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The captured output, shared with the pipe's reader thread.
private final class OutputBuffer: Sendable {
    let text = Mutex("")
}
