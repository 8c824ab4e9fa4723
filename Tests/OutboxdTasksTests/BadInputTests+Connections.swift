import Foundation
import OutboxdTestSupport
import Testing

/// G7 on the wire: ambiguous body lengths.
extension BadInputTests {
    static let validPost = "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"title\":\"a\"}"

    /// A client with a short read timeout, so a server that never answers fails the test quickly.
    static func client(_ api: APIFixture) throws -> HTTPTestClient {
        try HTTPTestClient(port: api.daemon.httpPort, timeoutSeconds: 10)
    }

    @Test(arguments: [
        "Content-Length: 13\r\nContent-Length: 14\r\n\r\n{\"title\":\"a\"}x",
        "Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n{\"title\":\"a\"}\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\nd\r\n{\"title\":\"a\"}\r\n0\r\n\r\n",
    ])
    func ambiguousBodyLengthIsRefusedAndTheConnectionClosed(framing: String) throws {
        let api = try APIFixture(parts: [.api])
        let client = try Self.client(api)
        try client.send(Array(("POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + Self.validPost).utf8))
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect(response.text.contains("Content-Length"), "\(response.text)")
        #expect(client.isClosedByServer())
        #expect(try api.counts() == (0, 0))
    }
}
