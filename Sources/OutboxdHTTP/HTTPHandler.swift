/// Answers complete requests. Called on the HTTP server's threads, several at once.
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest) -> HTTPResponse
}
