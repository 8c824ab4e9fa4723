import Foundation
import Glibc

/// An `outboxd` process started from the built binary, its output captured.
public final class DaemonProcess: Sendable {
    public let child: ChildProcess

    /// Starts `outboxd <arguments>` with `environment` added to a minimal environment.
    public init(arguments: [String], environment: [String: String] = [:]) throws {
        var env = ["PATH": "/usr/bin:/bin", "LOG_FORMAT": "text"]
        env.merge(environment) { $1 }
        child = try ChildProcess(executable: TestEnvironment.binaryPath, arguments: arguments, environment: env)
    }

    public var output: String { child.output }

    /// Waits until the output contains `text`; throws with the output when it does not in time
    /// or the process exits first.
    @discardableResult
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(30)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return output }
            if let code = child.exitCode {
                if output.contains(text) { return output }
                throw HTTPTestError("outboxd exited (\(code)) before printing \"\(text)\":\n\(output)")
            }
            usleep(10_000)
        }
        throw HTTPTestError("outboxd did not print \"\(text)\" within \(timeout):\n\(output)")
    }

    /// Waits for the `listening address=host:port` line and returns the port.
    public func waitForPort(timeout: Duration = .seconds(30)) throws -> Int {
        let text = try waitForOutput("listening address=", timeout: timeout)
        let range = text.range(of: "listening address=")!
        let address = text[range.upperBound...].prefix { !$0.isWhitespace }
        guard let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw HTTPTestError("cannot read the port from \(address)")
        }
        return port
    }

    public func signal(_ signal: Int32) { child.signal(signal) }

    /// Runs `body`; when it throws, prints the end of this process's output first, so the
    /// failure report shows what the daemon saw.
    public func showingOutputOnFailure<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            print("--- outboxd output (last 8000 characters) ---\n\(output.suffix(8000))\n---")
            throw error
        }
    }

    /// Waits for the exit and returns the exit code; throws after `timeout`. A process still
    /// running then gets SIGABRT first, so the Swift runtime's backtracer writes where every
    /// thread hangs into the output of the error; then SIGKILL.
    public func waitForExit(timeout: Duration = .seconds(60)) throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while child.isRunning {
            guard ContinuousClock.now < deadline else {
                child.signal(SIGABRT)
                let grace = ContinuousClock.now + .seconds(15)
                while child.isRunning && ContinuousClock.now < grace { usleep(20_000) }
                child.signal(SIGKILL)
                throw HTTPTestError("outboxd still running after \(timeout) (backtrace after SIGABRT below):\n\(output)")
            }
            usleep(5_000)
        }
        return child.waitForExit()
    }
}
