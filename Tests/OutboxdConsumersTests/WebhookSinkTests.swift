import Foundation
import OutboxdConsumers
import OutboxdCore
import OutboxdHTTP
import OutboxdPostgres
import OutboxdTestSupport
import Synchronization
import Testing

/// A webhook receiver that refuses its first `failures` requests with 500.
final class WebhookReceiver: HTTPHandler {
    let bodies = Collected<String>()
    let remainingFailures: Mutex<Int>

    init(failures: Int) { remainingFailures = Mutex(failures) }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        bodies.add(String(decoding: request.body, as: UTF8.self))
        let fail = remainingFailures.withLock { remaining -> Bool in
            defer { remaining -= 1 }
            return remaining > 0
        }
        return HTTPResponse(status: fail ? 500 : 204)
    }
}

@Suite struct WebhookSinkTests {
    /// The sender POSTs the notification as JSON; a 500 is retried, a 2xx marks it sent.
    @Test func aRefusedNotificationIsRetriedThenSent() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let receiver = WebhookReceiver(failures: 1)
        var http = HTTPServerConfiguration()
        http.port = 0
        let server = MHDServer(configuration: http, handler: receiver)
        try server.start()
        defer { server.stop(timeout: .seconds(2)) }
        let connection = try database.connect()
        let taskID = UUID()
        try connection.query("INSERT INTO notifications (event_id, task_id, recipient, message) VALUES ($1, $2, 'ops@example.test', 'Task created: hooked')",
                             [UUID(), taskID])
        let sender = NotificationSender(sink: try WebhookNotificationSink(url: "http://127.0.0.1:\(server.port)/hooks/tasks"))
        #expect(try sender.sendDue(on: connection) == 1)
        let first = try #require(try connection.query("SELECT status, attempts, last_error FROM notifications").first)
        #expect(try first.require(String.self, "status") == "pending")
        #expect(try first.require(Int.self, "attempts") == 1)
        #expect(try first.require(String.self, "last_error").contains("500"))
        #expect(try sender.sendDue(on: connection) == 0) // backing off
        try connection.query("UPDATE notifications SET next_attempt_at = now()")
        #expect(try sender.sendDue(on: connection) == 1)
        #expect(try database.count("notifications", where: "status = 'sent' AND sent_at IS NOT NULL AND attempts = 2") == 1)

        #expect(receiver.bodies.all.count == 2)
        let body = try #require(try JSONParser.parse(receiver.bodies.all[1]).objectValue)
        #expect(body["task_id"]?.stringValue == taskID.lowercaseString)
        #expect(body["recipient"]?.stringValue == "ops@example.test")
        #expect(body["message"]?.stringValue == "Task created: hooked")
    }

    @Test(arguments: [
        ("https://hooks.example/x", "https is not supported"),
        ("http://:80/x", "has no host"),
        ("http://host:0/x", "invalid port"),
        ("ftp://host/x", "must start with http://"),
    ])
    func invalidURLsAreRefused(url: String, message: String) {
        do {
            _ = try WebhookNotificationSink(url: url)
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(message))
        }
    }

    /// Nothing listening: the send fails (to be retried) instead of hanging.
    @Test func anUnreachableWebhookFails() throws {
        let sink = try WebhookNotificationSink(url: "http://127.0.0.1:\(try TestCluster.freePort())/x", timeout: .seconds(2))
        #expect(throws: WebhookNotificationSink.Failure.self) {
            try sink.send(Notification(id: 1, taskID: "t", recipient: "r", message: "m"))
        }
    }
}
