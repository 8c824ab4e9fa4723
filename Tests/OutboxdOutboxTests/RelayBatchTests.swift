import Testing
@testable import OutboxdOutbox

@Suite struct BackoffTests {
    @Test func doublesWithJitterUpToTheMaximum() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.delay(afterFailures: 1, jitter: 1) == .milliseconds(100))
        #expect(backoff.delay(afterFailures: 1, jitter: 0) == .milliseconds(50))
        #expect(backoff.delay(afterFailures: 3, jitter: 1) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 10, jitter: 1) == .seconds(1))
        #expect(backoff.delay(afterFailures: 1000, jitter: 0.5) == .milliseconds(750))
    }
}
