/// A pipeline sent with `PQConnection.startPipeline` whose results are still to be read with
/// `finishPipeline`.
public struct PendingPipeline {
    /// Per result to read: the name of a statement being prepared, or nil for a statement's rows.
    let expected: [String?]
}
