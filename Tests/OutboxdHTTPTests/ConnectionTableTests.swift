import Testing
@testable import OutboxdHTTP

/// The connection limits and the request deadline, by plain calls with a made-up clock.
@Suite struct ConnectionTableTests {
    let start = ContinuousClock.now
    let one = ClientAddress(bytes: [10, 0, 0, 1])
    let two = ClientAddress(bytes: [10, 0, 0, 2])

    func table(max: Int = 3, perAddress: Int = 2, timeout: Duration = .seconds(10)) -> ConnectionTable {
        ConnectionTable(limits: .init(maxConnections: max, maxPerAddress: perAddress, requestTimeout: timeout))
    }

    @Test func perAddressThenTotalLimitRefuseAndCount() {
        var table = table()
        #expect(table.admit(one) == nil)
        let first = table.opened(one, now: start)
        #expect(table.admit(one) == nil)
        _ = table.opened(one, now: start)
        #expect(table.admit(one) == .perAddress)
        #expect(table.admit(two) == nil)
        _ = table.opened(two, now: start)
        #expect(table.isFull)
        #expect(table.admit(two) == .limit)
        table.closed(first)
        #expect(table.admit(one) == nil, "a closed connection frees its address's slot")
        #expect(table.refused == [.perAddress: 1, .limit: 1])
    }

    @Test func noPerAddressLimitWithZero() {
        var table = table(max: 10, perAddress: 0)
        for _ in 0..<10 {
            #expect(table.admit(one) == nil)
            _ = table.opened(one, now: start)
        }
        #expect(table.admit(one) == .limit)
    }

    @Test func ipv4MappedIPv6IsTheSameClient() {
        let mapped = ClientAddress(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1])
        #expect(mapped == one)
        #expect(mapped.description == "10.0.0.1")
        let loopback6 = ClientAddress(bytes: Array(repeating: 0, count: 15) + [1])
        #expect(loopback6.description == "0:0:0:0:0:0:0:1")
        #expect(loopback6 != ClientAddress(bytes: [0, 0, 0, 1]))
        #expect(ClientAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [0x2a]).description == "2001:db8:0:0:0:0:0:2a")
    }

    @Test func deadlineRunsWhileWaitingForARequestNotWhileHandlingIt() {
        var table = table(timeout: .seconds(10))
        let waiting = table.opened(one, now: start)
        let handled = table.opened(two, now: start)
        table.requestComplete(handled)
        #expect(table.expired(now: start + .seconds(9)).isEmpty)
        #expect(table.expired(now: start + .seconds(10)) == [waiting])
        #expect(table.expired(now: start + .seconds(20)).isEmpty, "an expired connection is returned once")
        table.responseSent(handled, now: start + .seconds(30))
        #expect(table.expired(now: start + .seconds(39)).isEmpty)
        #expect(table.expired(now: start + .seconds(40)) == [handled], "the next request's deadline counts from the response")
        #expect(table.timedOut == 2)
    }

    @Test func stuckIsALoopThatStopsOrAHandlerThatRunsTooLongNotAFullServer() {
        var status = HTTPServerStatus()
        status.lastLoopTurn = start
        status.connections = 5
        status.maxConnections = 5
        #expect(status.isFull)
        #expect(status.stuck(now: start + .seconds(1), loopStuckAfter: .seconds(10), handlerStuckAfter: .seconds(60)) == nil)
        #expect(status.stuck(now: start + .seconds(10), loopStuckAfter: .seconds(10), handlerStuckAfter: .seconds(60))?.contains("event loop") == true)
        status.lastLoopTurn = start + .seconds(100)
        status.oldestHandlerSince = start + .seconds(40)
        #expect(status.stuck(now: start + .seconds(100), loopStuckAfter: .seconds(10), handlerStuckAfter: .seconds(60))?.contains("handler") == true)
    }
}
