/// One statement of a pipeline (`PQConnection.startPipeline`).
public enum PipelinedStatement {
    /// Fixed SQL text without parameters, such as `BEGIN` or `COMMIT`. Never text built from values.
    case command(String)
    /// A named statement with its parameters, prepared on the connection the first time.
    case prepared(PostgresStatement, [(any PostgresParameter)?])
}
