import Foundation
import Testing
@testable import OutboxdDaemon

/// How `outboxd serve` learns it must stop: a signal, or a part that failed (exit 75).
@Suite struct StopRequestTests {
    @Test func theFirstRequestWinsAndEveryWaiterSeesIt() {
        let stop = StopRequest()
        stop.request(.failure("Kafka producer fatal error OUT_OF_ORDER_SEQUENCE_NUMBER"))
        stop.request(.signal("SIGTERM"))
        #expect(stop.wait() == .failure("Kafka producer fatal error OUT_OF_ORDER_SEQUENCE_NUMBER"))
        #expect(stop.wait() == .failure("Kafka producer fatal error OUT_OF_ORDER_SEQUENCE_NUMBER"))
    }

    @Test func aWaiterWakesWhenAnotherThreadRequests() {
        let stop = StopRequest()
        Thread.detachNewThread { stop.request(.signal("SIGINT")) }
        #expect(stop.wait() == .signal("SIGINT"))
    }

    @Test func aFailedPartExitsWithTempfail() {
        #expect(DaemonError(.partFailed, "relay").exitCode == 75)
    }
}
