import CRdKafka
import Dispatch
import Foundation
import OutboxdCore
import Synchronization

/// A librdkafka producer with its own poll thread, which serves delivery reports.
///
/// `send` produces a batch and waits until every message has its report (or the deadline):
/// each message's opaque is its slot in the batch (`DeliveryBatch.slot`); the batch keeps itself
/// alive until its last result.
public final class RDKafkaProducer: Sendable {
    let handle: RDKafkaHandle
    /// Serves delivery reports (and statistics) until `close`.
    private let pollThread: WorkerThread
    /// The statistics callback's opaque: owned here, so it outlives the handle.
    private let brokers = BrokerStates()
    public let bootstrapServers: String
    public let topicPolicy: KafkaTopicPolicy
    /// librdkafka's `message.max.bytes`: a message whose key, value and headers (with their
    /// framing) exceed it is refused at once with `MSG_SIZE_TOO_LARGE`.
    public let maxMessageBytes: Int
    /// How long a topic lookup or creation while producing may take.
    let adminTimeout: Duration
    /// Topics seen to exist (or created), so `ensureTopics` asks the cluster once per topic.
    let knownTopics = Mutex<Set<String>>([])

    /// `messageTimeout` is librdkafka's `message.timeout.ms`: after it a message that has no
    /// report fails (`_MSG_TIMED_OUT`) and librdkafka stops retrying it, so a caller that waits a
    /// little longer for the report knows for sure whether it may still be delivered.
    /// `topicPolicy` decides what `ensureTopics` does about missing topics (and whether the
    /// client may ask brokers to auto-create them).
    public init(configuration: KafkaClientConfiguration, messageTimeout: Duration = .seconds(300),
                topicPolicy: KafkaTopicPolicy = KafkaTopicPolicy()) throws {
        let conf = try RDKafkaConfig.make(configuration.producerProperties(messageTimeout: messageTimeout, topicPolicy: topicPolicy))
        rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryReport)
        brokers.install(on: conf)
        let rk = try RDKafkaConfig.newHandle(RD_KAFKA_PRODUCER, conf, context: "producer")
        let handle = RDKafkaHandle(raw: rk)
        self.handle = handle
        maxMessageBytes = RDKafkaConfig.integer("message.max.bytes", of: rk) ?? 1_000_000
        bootstrapServers = configuration.bootstrapServers
        self.topicPolicy = topicPolicy
        adminTimeout = min(messageTimeout, .seconds(10))
        let wakeup = Wakeup()
        let kick = ProducerKick(linger: .milliseconds(RDKafkaConfig.integer("linger.ms", of: rk) ?? 5))
        self.kick = kick
        reportsQueued = RDKafkaQueueWakeup(mainQueueOf: rk, wakes: wakeup)
        pollThread = WorkerThread(name: "kafka-poll", wakeup: wakeup) { [handle, kick] signal in
            while !signal.isStopping {
                signal.wait(timeout: .milliseconds(100))
                kick.serve(handle, signal: signal)
                rd_kafka_poll(handle.raw, 0)
            }
        }
        pollThread.start(ended: { _ in })
    }

    /// Makes librdkafka send each produced batch at once (`ProducerKick`).
    private let kick: ProducerKick
    /// Wakes the poll thread when librdkafka queues reports (or statistics) for it.
    private let reportsQueued: RDKafkaQueueWakeup

    /// Each broker's connection state (`UP`, `DOWN`, `CONNECT`, …) from the latest statistics.
    public var brokerStates: [String: String] { brokers.current }

    /// The fatal error librdkafka raised (e.g. the idempotent producer lost its sequence), if
    /// any: the producer then delivers nothing more, and a new one (a restart) is needed. Asked
    /// of librdkafka itself, which sets it before it fails the messages in flight (and logs it).
    public var fatalError: KafkaError? { RDKafkaConfig.fatalError(of: handle.raw) }

    /// Raises a fatal error as librdkafka would on a broken idempotent sequence
    /// (`rd_kafka_test_fatal_error`), for tests of what the relay does then.
    public func raiseFatalErrorForTesting(_ reason: String) {
        _ = rd_kafka_test_fatal_error(handle.raw, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
    }

    /// Asks the cluster for its brokers; throws naming the address when none answers in time.
    public func checkReachable(timeout: Duration) throws {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle.raw, 0, nil, &metadata, Int32(timeout.milliseconds))
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let error = RDKafkaConfig.error(code, context: "metadata")
            throw KafkaError(code: error.code, message: "no Kafka broker at \(bootstrapServers) answered within \(timeout): \(error.message)",
                             context: "metadata")
        }
    }

    /// Produces `messages` and waits for every delivery report, at most `timeout`. Results are in
    /// the order of `messages`.
    public func send(_ messages: [KafkaMessage], timeout: Duration) -> [DeliveryResult] {
        produce(messages).results(waitingUpTo: timeout)
    }

    /// Produces `messages` without waiting; the batch collects their delivery reports. Messages of
    /// one partition are delivered in the order produced, also across batches. `onComplete` runs
    /// once every message has its report, on the thread that served the last one (keep it short).
    /// A topic not seen before is looked up (and created, by `topicPolicy`) first; a message to a
    /// topic that does not exist fails at once with a permanent error instead of waiting out
    /// `message.timeout.ms`.
    /// `chains` (one number per message, or nil): messages with the same number must arrive in
    /// order; once one fails at once (too large, no such partition or topic), the later ones of
    /// its chain are not produced (`.notProduced`), so none overtakes it.
    public func produce(_ messages: [KafkaMessage], chains: [Int]? = nil, onComplete: (@Sendable () -> Void)? = nil) -> DeliveryBatch {
        precondition(chains == nil || chains!.count == messages.count, "one chain per message")
        let batch = DeliveryBatch(count: messages.count, onComplete: onComplete)
        let missing = knownTopics.withLock { known in messages.allSatisfy { known.contains($0.topic) } }
            ? [:] : unavailableTopics(Set(messages.map(\.topic)))
        var broken: Set<Int> = []
        for (index, message) in messages.enumerated() {
            let chain = chains?[index]
            if let chain, broken.contains(chain) {
                batch.finish(index, .notProduced)
            } else if let error = missing[message.topic] ?? produce(message, opaque: batch.slot(index)) {
                if let chain { broken.insert(chain) }
                batch.finish(index, .failed(error))
            }
        }
        if !messages.isEmpty, kick.request(after: batch) { pollThread.signal.wakeup.wake() }
        return batch
    }

    /// The topics of `topics` no message can go to, each with why: names no cluster can have (a
    /// routed topic, OUTBOX_TOPIC_ROUTE with a row's values), then those `ensureTopics` could not
    /// provide. Only topics not known yet get here, and an invalid name is never remembered.
    private func unavailableTopics(_ topics: Set<String>) -> [String: KafkaError] {
        var invalid: [String: KafkaError] = [:]
        for topic in topics where !KafkaTopicName.isValid(topic) {
            invalid[topic] = RDKafkaConfig.error(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
                                                 message: "\"\(topic.prefix(64))\" is not a Kafka topic name (\(KafkaTopicName.rule))",
                                                 context: "produce")
        }
        return ensureTopics(topics.subtracting(invalid.keys), timeout: adminTimeout).merging(invalid) { provided, _ in provided }
    }

    /// Waits until every queued message has been delivered or failed, at most `timeout`.
    public func flush(timeout: Duration) -> Bool {
        rd_kafka_flush(handle.raw, Int32(timeout.milliseconds)) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Flushes, stops the poll thread and destroys the handle. Call once. What is not delivered
    /// within `flushTimeout` (brokers down) is purged: the outbox still has those rows.
    public func close(flushTimeout: Duration = .seconds(10)) {
        close(flushTimeout: flushTimeout, destroy: true)
    }

    /// `close`, but the handle is left for a thread that may still produce (one left running at
    /// the stop deadline, just before the process exits).
    public func closeKeepingHandle(flushTimeout: Duration) {
        close(flushTimeout: flushTimeout, destroy: false)
    }

    private func close(flushTimeout: Duration, destroy: Bool) {
        if !flush(timeout: flushTimeout) {
            _ = rd_kafka_purge(handle.raw, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            _ = flush(timeout: .milliseconds(500)) // serves the purged messages' reports
        }
        pollThread.stop(deadline: nil)
        if destroy {
            rd_kafka_destroy(handle.raw)
            reportsQueued.release()
        }
    }

    /// Produces one message; a synchronous failure is returned (no report follows then).
    private func produce(_ message: KafkaMessage, opaque: UnsafeMutableRawPointer) -> KafkaError? {
        let headers = rd_kafka_headers_new(message.headers.count)
        for (position, header) in message.headers.enumerated() {
            if message.nullHeaders.contains(position) {
                _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                continue
            }
            if header.value.isEmpty {
                // A pointer to no bytes: an empty value, which a null pointer would make a null one.
                var none: UInt8 = 0
                _ = withUnsafeBytes(of: &none) { rd_kafka_header_add(headers, header.name, -1, $0.baseAddress, 0) }
                continue
            }
            header.value.withUnsafeBytes { value in
                _ = rd_kafka_header_add(headers, header.name, -1, value.baseAddress, value.count)
            }
        }
        while true {
            let code = message.key.withUnsafeBytes { key in
                message.value.withUnsafeBytes { value in
                    outboxd_rdkafka_produce(handle.raw, message.topic, message.partition ?? -1 /* RD_KAFKA_PARTITION_UA */, key.baseAddress, key.count,
                                            message.isTombstone ? nil : value.baseAddress, message.isTombstone ? 0 : value.count,
                                            message.timestampMilliseconds ?? 0, headers, opaque)
                }
            }
            if code == RD_KAFKA_RESP_ERR_NO_ERROR { return nil }
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                // The local queue is full: let the poll thread drain reports, then retry.
                rd_kafka_poll(handle.raw, 10)
                continue
            }
            rd_kafka_headers_destroy(headers)
            return RDKafkaConfig.error(code, context: "produce")
        }
    }
}

/// librdkafka's queue event callback for the main queue (`rd_kafka_queue_cb_event_enable`): on one
/// of librdkafka's threads, when the queue gets an op after being served. Wakes the poll thread.
private let rdKafkaQueueEvent: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { _, opaque in
    guard let opaque else { return }
    Unmanaged<Wakeup>.fromOpaque(opaque).takeUnretainedValue().wake()
}

/// The main queue's event callback, installed on a new handle. The `Wakeup` is retained for the
/// callback: `release` after `rd_kafka_destroy`; a handle never destroyed keeps it.
struct RDKafkaQueueWakeup: @unchecked Sendable { // the raw pointer is only released once, after the handle is gone
    private let opaque: UnsafeMutableRawPointer

    init(mainQueueOf rk: OpaquePointer, wakes wakeup: Wakeup) {
        opaque = Unmanaged.passRetained(wakeup).toOpaque()
        let queue = rd_kafka_queue_get_main(rk)
        rd_kafka_queue_cb_event_enable(queue, rdKafkaQueueEvent, opaque)
        rd_kafka_queue_destroy(queue)
    }

    func release() {
        Unmanaged<Wakeup>.fromOpaque(opaque).release()
    }
}

/// An `rd_kafka_t *`. Safe to send: librdkafka's handle is thread-safe for the calls used here.
struct RDKafkaHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// The delivery reports of one `produce` call.
public final class DeliveryBatch: Sendable {
    private struct State {
        var results: [DeliveryResult]
        var remaining: Int
    }
    private let state: Mutex<State>
    private let done = DispatchSemaphore(value: 0)
    private let onComplete: (@Sendable () -> Void)?
    /// One per message, its opaque for librdkafka: written once here, read by the reports.
    private let slots: Slots

    /// The slots' memory, owned by the batch. Safe to send: written only in `init`, before any
    /// message is produced, then only read (by whichever thread serves a report).
    private struct Slots: @unchecked Sendable {
        let base: UnsafeMutablePointer<Slot>
    }

    /// What a message's opaque points to: its batch (not retained: the batch holds one retain on
    /// itself for all of them) and its index.
    struct Slot {
        let batch: Unmanaged<DeliveryBatch>
        let index: Int
    }

    init(count: Int, onComplete: (@Sendable () -> Void)? = nil) {
        state = Mutex(State(results: Array(repeating: .unknown, count: count), remaining: count))
        self.onComplete = onComplete
        slots = Slots(base: .allocate(capacity: max(count, 1)))
        let unowned = Unmanaged.passUnretained(self)
        for index in 0..<count { (slots.base + index).initialize(to: Slot(batch: unowned, index: index)) }
        if count == 0 {
            done.signal()
            onComplete?()
        } else {
            _ = unowned.retain() // for the reports, which may outlive every other reference; the last result releases it
        }
    }

    deinit {
        slots.base.deallocate() // Slot is trivial: nothing to deinitialise
    }

    /// The opaque of message `index`.
    func slot(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots.base + index) }

    /// Records message `index`'s result; the last one releases the batch's retain on itself.
    func finish(_ index: Int, _ result: DeliveryResult) {
        Self.finish(Slot(batch: Unmanaged.passUnretained(self), index: index), result)
    }

    static func finish(_ slot: Slot, _ result: DeliveryResult) {
        let batch = slot.batch.takeUnretainedValue() // alive: its retain on itself is released below, last
        let finished = batch.state.withLock { state -> Bool in
            state.results[slot.index] = result
            state.remaining -= 1
            return state.remaining == 0
        }
        if finished {
            batch.done.signal()
            batch.onComplete?()
            slot.batch.release()
        }
    }

    /// Whether every message has its report; never waits.
    public var isComplete: Bool { wait(upTo: .zero) }

    /// Waits until every message has its report, at most `timeout`; results in produce order
    /// (`.unknown` for a message still without a report).
    public func results(waitingUpTo timeout: Duration) -> [DeliveryResult] {
        _ = wait(upTo: timeout)
        return state.withLock { $0.results }
    }

    /// Whether every message has its report, waiting at most `timeout` for it.
    public func wait(upTo timeout: Duration) -> Bool {
        guard done.wait(timeout: timeout.fromNow) == .success else { return false }
        done.signal() // stays complete for the next wait
        return true
    }
}

/// librdkafka's delivery report callback, on the poll thread: completes the message's batch entry.
private let rdKafkaDeliveryReport: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let slot = opaque.assumingMemoryBound(to: DeliveryBatch.Slot.self).pointee
    let error = message.pointee.err
    if error == RD_KAFKA_RESP_ERR_NO_ERROR {
        DeliveryBatch.finish(slot, .delivered(partition: message.pointee.partition, offset: message.pointee.offset, reportedAt: .now()))
    } else {
        DeliveryBatch.finish(slot, .failed(RDKafkaConfig.error(error, context: "delivery")))
    }
}

extension Duration {
    /// Whole milliseconds, saturating at Int32.max.
    var milliseconds: Int64 { min(Int64(Int32.max), wholeMilliseconds) }
}
