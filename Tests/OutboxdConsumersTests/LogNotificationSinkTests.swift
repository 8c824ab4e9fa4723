import Foundation
import OutboxdConsumers
import OutboxdCore
import Testing

@Suite struct LogNotificationSinkTests {
    /// The log line names the notification but never holds its message (it quotes the task's title).
    @Test func theLogLineHoldsNoMessage() throws {
        let capture = LogCapture()
        defer { capture.close() }
        let taskID = UUID().lowercaseString
        let title = "secret title \(UUID().lowercaseString)"
        try LogNotificationSink().send(Notification(id: 42, taskID: taskID, recipient: "ops@example.org", message: "Task created: \(title)"))
        let lines = capture.lines.filter { $0.contains(taskID) }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.contains("notification id=42 task_id=\(taskID) recipient=ops@example.org"))
        #expect(!line.contains(title))
        #expect(!line.contains("secret"))
    }
}
