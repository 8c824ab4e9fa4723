import Foundation

/// Polls `condition` until it holds (bounded); for states that have no notification to wait on.
public func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () throws -> Bool) throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw HTTPTestError("timed out waiting until \(what)") }
        Thread.sleep(forTimeInterval: 0.01)
    }
}
