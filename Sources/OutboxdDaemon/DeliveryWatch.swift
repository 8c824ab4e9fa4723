import Foundation
import OutboxdCore
import OutboxdOutbox
import OutboxdPostgres
import OutboxdTasks
import Synchronization

/// Answers the requests that wait for their event's delivery (`Prefer: wait`), on one thread of
/// its own whatever their number: told at once by the relay of this process, and by a `NOTIFY`
/// on `<RELAY_CHANNEL>_published` that every relay sends (coalesced) after a batch commits,
/// whereupon one statement looks up every waiting event (`OutboxDeliveries`); a lookup every
/// second covers a lost notification. Nothing waits on a thread or polls per request, and `stop`
/// answers every waiting request at once (202), so no wait outlives the stop timeout.
final class DeliveryWatch: DeliveryWaiting, Worker {
    typealias Done = @Sendable ((partition: Int32?, offset: Int64?)?) -> Void

    private struct Waiting {
        let deadline: ContinuousClock.Instant
        let done: Done
    }

    private struct State {
        var waiting: [UUID: [Waiting]] = [:]
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeup: Wakeup
    private let thread: WorkerThread
    private let relayWaiters: DeliveryWaiters?
    private let database: PostgresPoolConfiguration
    private let channel: String
    private let fallback: Duration
    private let logger = Logger(label: "delivery-wait")
    private let lookups: Counter
    private let outcomes: Counter

    /// Lookups by what set them off (`notify`, `registered`, `poll`), and waits by outcome.
    struct Metrics: Sendable {
        let lookups = Counter("outboxd_delivery_wait_lookups_total",
                              "Lookups of the events that requests with Prefer: wait wait for, by trigger (notify, registered, poll).",
                              labels: ["trigger"])
        let outcomes = Counter("outboxd_delivery_waits_total", "Requests with Prefer: wait by outcome (delivered, timeout, stopping).",
                               labels: ["outcome"])
        var families: [any MetricsCollector] { [lookups, outcomes] }
    }

    init(relayWaiters: DeliveryWaiters?, database: PostgresPoolConfiguration, channel: String, metrics: Metrics, fallback: Duration = .seconds(1)) {
        lookups = metrics.lookups
        outcomes = metrics.outcomes
        self.relayWaiters = relayWaiters
        self.database = database
        self.channel = channel
        self.fallback = fallback
        let wakeup = Wakeup()
        self.wakeup = wakeup
        thread = WorkerThread(name: "delivery-wait", wakeup: wakeup)
    }

    var name: String { thread.name }

    /// The channel relays notify after each batch that published events.
    static func publishedChannel(of channel: String) -> String { channel + "_published" }

    func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        thread.start(ended: ended) { [self] _ in loop() }
    }

    /// Answers every waiting request (nil: 202) and ends the thread; later waits end at once.
    @discardableResult
    func stop(deadline: ContinuousClock.Instant?) -> Bool {
        let waiting = state.withLock { state -> [UUID: [Waiting]] in
            guard !state.stopped else { return [:] }
            state.stopped = true
            defer { state.waiting = [:] }
            return state.waiting
        }
        for id in waiting.keys { relayWaiters?.remove(id) }
        let all = waiting.values.flatMap { $0 }
        if !all.isEmpty { outcomes.increment(["stopping"], by: Double(all.count)) }
        all.forEach { $0.done(nil) }
        return thread.stop(deadline: deadline)
    }

    func awaitDelivery(of eventID: UUID, timeout: Duration, then done: @escaping Done) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.waiting[eventID, default: []].append(Waiting(deadline: .now + timeout, done: done))
            return true
        }
        guard accepted else {
            outcomes.increment(["stopping"])
            return done(nil)
        }
        relayWaiters?.register(eventID) { [self] report in finish(eventID, with: (report.partition, report.offset)) }
        // The report may have come before the registration: look it up once.
        wakeup.wake()
    }

    private func finish(_ eventID: UUID, with delivered: (partition: Int32?, offset: Int64?)?) {
        guard let waiting = state.withLock({ $0.waiting.removeValue(forKey: eventID) }) else { return }
        relayWaiters?.remove(eventID)
        outcomes.increment([delivered == nil ? "timeout" : "delivered"], by: Double(waiting.count))
        waiting.forEach { $0.done(delivered) }
    }

    private func loop() {
        var connection: PQConnection?
        var nextPoll = ContinuousClock.now + fallback
        while !state.withLock({ $0.stopped }) {
            if connection == nil || connection!.isBroken {
                connection?.close()
                connection = try? database.connect()
                do {
                    try connection?.listen(Self.publishedChannel(of: channel))
                } catch {
                    connection = nil
                }
            }
            let (nearest, anyWaiting) = state.withLock { state in
                (state.waiting.values.flatMap { $0.map(\.deadline) }.min(), !state.waiting.isEmpty)
            }
            let now = ContinuousClock.now
            var until = anyWaiting ? min(nextPoll, nearest ?? nextPoll) : now + .seconds(3600)
            if connection == nil { until = min(until, now + .seconds(1)) }
            let reason = wakeup.wait(timeout: max(until - now, .zero), socket: connection?.socketDescriptor ?? -1)
            var trigger: String?
            if reason.socketReadable {
                if (try? connection?.drainNotifications()) == nil { connection = nil }
                trigger = "notify"
            } else if reason.woken {
                trigger = "registered"
            } else if ContinuousClock.now >= nextPoll {
                trigger = "poll"
            }
            if let trigger, anyWaiting || reason.woken {
                lookUp(trigger: trigger, on: &connection)
                if trigger == "poll" || trigger == "notify" { nextPoll = ContinuousClock.now + fallback }
            }
            expire()
        }
        connection?.close()
    }

    /// One statement for every waiting event; the delivered ones are answered.
    private func lookUp(trigger: String, on connection: inout PQConnection?) {
        let ids = state.withLock { Array($0.waiting.keys) }
        guard !ids.isEmpty, let live = connection else { return }
        lookups.increment([trigger])
        do {
            for (id, delivered) in try OutboxDeliveries.delivered(ids, on: live) { finish(id, with: delivered) }
        } catch {
            logger.debug("delivery lookup failed; trying again", ["error": "\(error)"])
            connection = nil
        }
    }

    private func expire() {
        let now = ContinuousClock.now
        let expired = state.withLock { state -> [(UUID, [Waiting])] in
            var expired: [(UUID, [Waiting])] = []
            for (id, waiting) in state.waiting {
                var rest = waiting
                let late = rest.filter { $0.deadline <= now }
                guard !late.isEmpty else { continue }
                rest.removeAll { $0.deadline <= now }
                expired.append((id, late))
                state.waiting[id] = rest.isEmpty ? nil : rest
            }
            return expired
        }
        for (id, late) in expired {
            if state.withLock({ $0.waiting[id] == nil }) { relayWaiters?.remove(id) }
            outcomes.increment(["timeout"], by: Double(late.count))
            late.forEach { $0.done(nil) }
        }
    }
}
