import Foundation
import OutboxdCore
import OutboxdPostgres
import Synchronization

/// `RELAY_SOURCE=wal`: reads the outbox's committed inserts from a logical replication slot
/// (`pgoutput`, an insert-only publication of `outbox`) and wakes the relay for each transaction,
/// so rows another service writes are claimed at once instead of at the next poll.
///
/// The table stays the truth: the relay claims the rows from the outbox's queue exactly as in
/// poll mode, so per-key order (G3), retries and the views are the same, and no row is published
/// twice by the two paths. The slot's position is confirmed past a transaction once its rows are
/// handed to the relay (`WalStream`): they are committed rows the relay publishes whatever happens
/// to the slot, so a slot dropped, invalidated or lost in a failover costs latency, never an event
/// (it is recreated, and the relay woken to publish the gap from the table). An idle stream
/// confirms the server's position on keepalives, so the slot holds no WAL back. One relay
/// streams a slot; another one waits (`standby`) and takes over when it goes.
///
/// Events emitted with `outbox_emit_message` have no row: they are handed to the relay's sink
/// (`RelaySink`), and a transaction holding some is confirmed only once they are delivered or written as
/// rows. Until then they exist only in the slot's WAL (README "Table-less events").
public final class WalSource: Worker {
    public let configuration: RelayConfiguration
    private let database: PostgresPoolConfiguration
    private let sink: RelaySink
    private let wake: @Sendable () -> Void
    /// Whether the relay is draining a backlog from the table (its claims come back full).
    private let backlogged: @Sendable () -> Bool
    /// Woken by the producer when a flight of emitted events has all its reports.
    private let reportsIn = Wakeup()
    private let thread: WorkerThread
    private let logger = Logger(label: "relay.wal")
    private let state = Mutex(WalSourceStatus())

    /// `wake`: the relay's wake-up; `sink`: the relay's (`Relay.sink`), for the emitted events;
    /// `backlogged`: whether the relay drains a backlog (`RelayProgress.isBacklogged`).
    public init(configuration: RelayConfiguration, database: PostgresPoolConfiguration, sink: RelaySink,
                wake: @escaping @Sendable () -> Void, backlogged: @escaping @Sendable () -> Bool) {
        self.configuration = configuration
        self.database = database
        self.sink = sink
        self.wake = wake
        self.backlogged = backlogged
        thread = WorkerThread(name: "relay-wal")
    }

    /// The source of `relay` (same configuration): wakes it, and hands its sink the emitted events.
    public convenience init(beside relay: Relay, database: PostgresPoolConfiguration) {
        self.init(configuration: relay.configuration, database: database, sink: relay.sink, wake: { [wakeup = relay.wakeup] in wakeup.wake() },
                  backlogged: { relay.isBacklogged })
    }

    public var name: String { thread.name }
    public var phase: WorkerState.Phase { thread.phase }
    public var status: WalSourceStatus { state.withLock { $0 } }

    /// How often the slot's retained WAL is read and the confirmed position repeated to the server.
    static let statusInterval: Duration = .seconds(5)
    /// How long one read of the stream waits before the loop checks for a stop.
    static let readTimeout: Duration = .milliseconds(250)

    /// What is wrong with the database for this source (exit 78 at start-up), nil when nothing;
    /// and whether `max_slot_wal_keep_size` is unlimited (a warning at start-up).
    public static func check(database: PostgresPoolConfiguration) throws -> (problem: String?, keepsWALWithoutLimit: Bool) {
        let connection = try database.connect()
        defer { connection.close() }
        return try WalSlot.check(on: connection)
    }

    public func start(ended: @escaping @Sendable (WorkerEnd) -> Void) {
        thread.start(ended: ended) { [self] signal in loop(signal) }
    }

    public func run() { start(ended: { _ in }) }

    @discardableResult
    public func stop(deadline: ContinuousClock.Instant?) -> Bool {
        thread.stop(deadline: deadline)
    }

    private func loop(_ signal: StopSignal) {
        var failures = 0
        var streamed = false
        while !signal.isStopping {
            do {
                try stream(signal, streamed: &streamed, failures: &failures)
            } catch let error as PostgresError where error.code == .objectInUse {
                let first = state.withLock { state -> Bool in
                    defer { state.phase = .standby; state.lastError = nil }
                    return state.phase != .standby
                }
                if first { logger.notice("another relay streams the slot; standing by", ["slot": configuration.walSlot]) }
                signal.wait(timeout: configuration.takeoverInterval)
            } catch {
                failures += 1
                let safe = (error as? PostgresError).map(\.classification) ?? "stream error"
                state.withLock { $0.phase = .failing; $0.lastError = safe }
                logger.warning("the WAL source failed; the poller covers meanwhile", ["slot": configuration.walSlot, "error": "\(error)"])
                let delay = min(configuration.backoff.delay(afterFailures: failures, jitter: Double.random(in: 0...1)), .seconds(5))
                signal.wait(timeout: delay)
            }
        }
    }

    /// One replication session: prepares the slot, streams until a stop or an error.
    private func stream(_ signal: StopSignal, streamed: inout Bool, failures: inout Int) throws {
        let control = try database.connect()
        defer { control.close() }
        let slot = WalSlot(name: configuration.walSlot, publication: configuration.walPublication)
        switch try slot.prepare(on: control) {
        case .existing:
            break
        case .created:
            logger.notice("created the replication slot", ["slot": slot.name, "publication": slot.publication])
        case .recreated:
            state.withLock { $0.slotsRecreated += 1 }
            logger.warning("the replication slot was missing or lost; recreated it, and rows committed meanwhile are published from the table",
                           ["slot": slot.name])
            logger.error("events emitted with outbox_emit_message while the slot was gone and not yet delivered are lost (they were in its WAL only)",
                         ["slot": slot.name])
        }
        let replication = try database.connectReplication(applicationName: RelaySource.wal.applicationNames[1])
        defer { replication.close() }
        try replication.startLogicalReplication(slot: slot.name, from: LSN(rawValue: 0),
                                                options: [("proto_version", "1"), ("publication_names", slot.publication), ("messages", "true")])
        let start = try slot.position(on: control)
        var walStream = WalStream(confirmed: start?.confirmed ?? LSN(rawValue: 0))
        var decoder = PgOutputDecoder()
        if !streamed || state.withLock({ $0.phase != .streaming }) {
            logger.notice("streaming the outbox's inserts", ["slot": slot.name, "from": "\(walStream.confirmed)"])
        }
        streamed = true
        failures = 0
        state.withLock { $0.phase = .streaming; $0.lastError = nil; $0.confirmedAt = .now; $0.retainedBytes = start?.retainedBytes ?? 0 }
        // Rows committed while no stream ran are due now.
        wake()
        // The status goes well within the server's wal_sender_timeout (the keepalive bound): while
        // the stream is paused, the server's keepalive requests wait unread.
        let statusEvery = min(Self.statusInterval, database.keepalive.deadAfter / 3)
        let pauseBound = Self.pauseBound(keepLimit: try WalSlot.keepLimit(on: control))
        var statusDue = ContinuousClock.now + statusEvery
        var retained = start?.retainedBytes ?? 0
        // Whether the stream waits for the relay's drain, looked at once per `pauseCheck`.
        var paused = false
        var pauseCheckedAt: ContinuousClock.Instant?
        // Transactions handed since the last wake-up: the relay is woken once they are visible.
        var unseen: [UInt32] = []
        var flights = Flights()
        defer { finish(&flights, stream: &walStream, control: control, replication: replication, stopping: signal.isStopping) }
        while !signal.isStopping {
            try record(&flights, stream: &walStream, control: control, replication: replication)
            // Read on while messages are waiting (up to the bounds), then hand the events read and
            // wake the relay, once each. While the relay drains a backlog from the table (its
            // claims come back full), the stream is not read: its wake-ups would add nothing, and
            // PostgreSQL's decoding of it would take CPU from the drain (once the socket's buffers
            // are full, the server waits). It is read on once a claim comes back short, or once
            // the slot keeps `pauseBound` of WAL; meanwhile the status goes on (the server's
            // `wal_sender_timeout`), and table-less events wait behind the backlog, as rows do.
            let quiet = unseen.isEmpty && flights.burst.isEmpty && flights.out.isEmpty
            let looked = ContinuousClock.now
            if pauseCheckedAt.map({ looked - $0 >= Self.pauseCheck }) ?? true {
                paused = retained < pauseBound && backlogged()
                pauseCheckedAt = looked
            }
            let reading = !paused && unseen.count < Self.wakeEvery && flights.hasRoom
            let timeout = quiet ? Self.readTimeout : Duration.zero
            if reading, let bytes = try replication.readReplication(timeout: timeout) {
                let action: WalStream.Action
                switch try ReplicationMessage.decode(bytes) {
                case .xLogData(_, _, _, let data):
                    action = walStream.received(try decoder.decode(data))
                case .keepalive(let walEnd, _, let replyRequested):
                    action = walStream.keepalive(walEnd: walEnd, replyRequested: replyRequested)
                }
                switch action {
                case .none: break
                case .confirm(let lsn): try confirm(lsn, on: replication)
                case .publish(let rows, let messages, let xid, let ticket):
                    if rows > 0 { unseen.append(xid) }
                    state.withLock { $0.transactions += rows > 0 ? 1 : 0; $0.messages += messages.count }
                    if messages.isEmpty {
                        // Handed: the rows are the relay's (from the table) whatever the slot does
                        // next; confirmed with the wake-up.
                        _ = walStream.recorded(ticket)
                    } else {
                        flights.add(messages, ticket: ticket)
                    }
                }
                continue
            }
            if !flights.burst.isEmpty {
                flights.send(sink) { [reportsIn] in reportsIn.wake() }
            }
            if !unseen.isEmpty {
                try awaitVisible(unseen, on: control)
                wake()
                unseen.removeAll(keepingCapacity: true)
                try confirm(walStream.confirmed, on: replication)
            }
            if !flights.out.isEmpty, flights.out.first?.isComplete == false {
                // Nothing to read now: wait for the stream or for the reports (or, past the bounds,
                // for the reports only).
                _ = Wakeup.wait(for: [reportsIn], timeout: Self.readTimeout, sockets: [reading ? replication.socketDescriptor : -1])
            }
            if paused { signal.wait(timeout: Self.pauseCheck) }
            let now = ContinuousClock.now
            if now >= statusDue {
                statusDue = now + statusEvery
                try confirm(walStream.confirmed, on: replication)
                if let position = try slot.position(on: control) {
                    retained = position.retainedBytes
                    state.withLock { $0.retainedBytes = position.retainedBytes }
                }
            }
        }
    }

    /// How often the stream looks at whether the relay drains a backlog.
    static let pauseCheck: Duration = .milliseconds(20)

    /// How much WAL the slot may keep while the stream is paused: half of
    /// `max_slot_wal_keep_size`, so that a long drain never gets the slot invalidated. With no
    /// limit (start-up warns), none: the slot keeps the backlog's WAL until it is read whether
    /// or not the stream pauses, and a pause adds what the drain itself writes.
    static func pauseBound(keepLimit: Int64?) -> Int64 {
        keepLimit.map { $0 / 2 } ?? .max
    }

    /// Handed transactions read before the relay is woken, at most.
    static let wakeEvery = 256

    /// Emitted events read in this burst, and those produced and not yet recorded, oldest first.
    struct Flights {
        var burst: [WalStream.Message] = []
        var burstTickets: [Int] = []
        var out: [RelaySink.Flight] = []
        var events = 0
        var bytes = 0

        /// Past these (events or content bytes read and not recorded) the stream is not read.
        static let maxEvents = 20_000
        static let maxBytes = 16 << 20

        var hasRoom: Bool { events < Self.maxEvents && bytes < Self.maxBytes }

        mutating func add(_ messages: [WalStream.Message], ticket: Int) {
            burst += messages
            burstTickets.append(ticket)
            events += messages.count
            bytes += messages.reduce(0) { $0 + $1.content.count }
        }

        /// Produces the burst's events as one flight.
        mutating func send(_ sink: RelaySink, onComplete: @escaping @Sendable () -> Void) {
            out.append(sink.send(burst, tickets: burstTickets, onComplete: onComplete))
            burst = []
            burstTickets = []
        }

        mutating func removeFirst() -> RelaySink.Flight {
            let flight = out.removeFirst()
            events -= flight.events.count
            bytes -= flight.bytes
            return flight
        }
    }

    /// Records the flights at the front whose reports are all in (delivered, or written as rows),
    /// in the order they were sent, and confirms the slot past what that completes.
    private func record(_ flights: inout Flights, stream: inout WalStream, control: PQConnection, replication: PQConnection) throws {
        var confirmTo: LSN?
        while let first = flights.out.first, first.isComplete {
            let stored = try sink.record(first, on: control)
            _ = flights.removeFirst()
            if stored > 0 { state.withLock { $0.messagesStored += stored } }
            for ticket in first.tickets {
                if case .confirm(let lsn) = stream.recorded(ticket) { confirmTo = lsn }
            }
        }
        if let confirmTo { try confirm(confirmTo, on: replication) }
    }

    /// How long a stop waits for the reports of the events on their way, so that they are
    /// confirmed rather than read and sent again by the next stream.
    static let stopWait: Duration = .seconds(2)

    /// At the end of a stream: on a stop, records what arrives within `stopWait`; what is left is
    /// not confirmed, and the next stream reads it again (the same `ce_id`).
    private func finish(_ flights: inout Flights, stream: inout WalStream, control: PQConnection, replication: PQConnection, stopping: Bool) {
        guard stopping, !flights.out.isEmpty else { return }
        let deadline = ContinuousClock.now + Self.stopWait
        while let first = flights.out.first, ContinuousClock.now < deadline {
            _ = first.deliveries.wait(upTo: deadline - ContinuousClock.now)
            guard first.isComplete else { break }
            do {
                try record(&flights, stream: &stream, control: control, replication: replication)
            } catch {
                logger.warning("emitted events not recorded at the stop; the next stream sends them again", ["error": "\(error)"])
                return
            }
        }
    }

    /// Waits (briefly: the gap between a commit's flush and its visibility) until `xids` are
    /// visible, so the claim the wake-up starts sees their rows; at most `visibilityWait`, after
    /// which the wake-up goes anyway (the poll finds what it missed).
    private func awaitVisible(_ xids: [UInt32], on control: PQConnection) throws {
        let deadline = ContinuousClock.now + Self.visibilityWait
        while try !WalSlot.allVisible(xids, on: control), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.0002)
        }
    }

    static let visibilityWait: Duration = .milliseconds(200)

    private func confirm(_ lsn: LSN, on replication: PQConnection) throws {
        let micros = Int64((Date().timeIntervalSince1970 - 946_684_800) * 1_000_000)
        try replication.sendReplication(ReplicationMessage.statusUpdate(written: lsn, flushed: lsn, applied: lsn, clientTime: micros))
        state.withLock { $0.confirmedAt = .now }
    }
}
