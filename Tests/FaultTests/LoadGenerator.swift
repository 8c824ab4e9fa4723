import Foundation
import OutboxdTestSupport
import Synchronization

/// Clients on threads of their own, each creating a task and then PATCHing it a few times, one
/// request after the other (so a task's events are committed in request order), at a steady
/// rate, until stopped. Every request is recorded; a client whose connection fails reconnects.
final class LoadGenerator: Sendable {
    let port: Int
    let clients: Int
    let patchesPerTask: Int
    /// Requests per second of each client (a client that falls behind does not catch up in a burst).
    let rate: Double
    let requestTimeoutSeconds: Int
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let recorded = Collected<LoadSample>()
    /// Connection attempts refused (the listener is gone, e.g. after SIGTERM).
    private let refusals = Atomic<Int>(0)

    init(port: Int, scale: FaultScale, requestTimeoutSeconds: Int = 30) {
        self.port = port
        clients = scale.clients
        patchesPerTask = scale.patchesPerTask
        rate = scale.clientRate
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    func start() {
        for client in 0..<clients {
            Thread.detachNewThread { [self] in
                run(client)
                finished.signal()
            }
        }
    }

    /// Stops every client after its current request and returns all samples.
    func stop() -> [LoadSample] {
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<clients { finished.wait() }
        return samples
    }

    var samples: [LoadSample] { recorded.all }
    var refusedConnections: Int { refusals.load(ordering: .relaxed) }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    private func run(_ client: Int) {
        var connection: HTTPTestClient?
        var number = 0
        var next = ContinuousClock.now
        let interval = Duration.seconds(1 / rate)
        func pace() {
            let now = ContinuousClock.now
            if next > now { Thread.sleep(forTimeInterval: (next - now).seconds) }
            next = max(next, now) + interval
        }
        while !isStopping {
            if connection == nil {
                connection = try? HTTPTestClient(port: port, timeoutSeconds: requestTimeoutSeconds)
                if connection == nil {
                    refusals.add(1, ordering: .relaxed)
                    Thread.sleep(forTimeInterval: 0.02)
                    continue
                }
            }
            number += 1
            pace()
            let created = send(.create, "POST", "/tasks", #"{"title":"fault load \#(client)-\#(number)"}"#, taskID: nil, on: &connection)
            guard let id = created, connection != nil else { continue }
            for patch in stride(from: 1, through: patchesPerTask, by: 1) {
                guard !isStopping, connection != nil else { break }
                pace()
                let body = #"{"title":"fault load \#(client)-\#(number) v\#(patch)","description":"patch \#(patch)"}"#
                _ = send(.update, "PATCH", "/tasks/\(id)", body, taskID: id, on: &connection)
            }
        }
    }

    /// Sends one request and records it; returns the task id of a successful create. Drops the
    /// connection when it failed or the server asked to close it.
    private func send(_ kind: LoadSample.Kind, _ method: String, _ path: String, _ body: String, taskID: String?,
                      on connection: inout HTTPTestClient?) -> String? {
        guard let client = connection else { return nil }
        let started = ContinuousClock.now
        do {
            let response = try client.json(method, path, body)
            let latency = ContinuousClock.now - started
            var id = taskID
            if kind == .create, response.status == 201 {
                id = try? response.json().objectValue?["id"]?.stringValue
            }
            recorded.add(LoadSample(kind: kind, status: response.status, taskID: id, started: started, latency: latency,
                                    retryAfter: response.header("Retry-After"), error: nil))
            if response.header("Connection")?.lowercased() == "close" { connection = nil }
            return kind == .create && response.status == 201 ? id : nil
        } catch {
            recorded.add(LoadSample(kind: kind, status: 0, taskID: taskID, started: started, latency: ContinuousClock.now - started,
                                    retryAfter: nil, error: "\(error)"))
            connection = nil
            return nil
        }
    }
}
