import OutboxdPostgres

/// How a relay's `RELAY_SHARDS` compares with the count the running relays use.
enum ShardAgreement: Equatable {
    /// No other relay runs: this count is now the recorded one (`previous` was, if any).
    case recorded(previous: Int?)
    /// Other relays run with the same count.
    case agreed
    /// Other relays run with `inUse` (nil: they run, but no count is recorded, e.g. the row was
    /// deleted by hand); this session holds nothing.
    case mismatch(inUse: Int?)
}

extension OutboxStore {
    /// Joins the relays of this database with `shards`, holding (on this session, until it ends)
    /// the advisory lock (obrx, -1) in shared mode, as every running relay does. Only a session
    /// that gets it exclusively, i.e. while no relay runs, records its count; it takes the shared
    /// lock before releasing the exclusive one, so no other count can be recorded in between. A
    /// different count while relays run leaves the session holding nothing (`mismatch`).
    func joinRelays(shards: Int) throws -> ShardAgreement {
        if try connection.query(Self.tryJoinAlone).first?.require(Bool.self, "locked") == true {
            let previous = try connection.query(Self.recordedShards).first?.require(Int.self, "shards")
            if previous != shards { try connection.query(Self.recordShards, [shards]) }
            try connection.query(Self.joinShared)
            try connection.query(Self.leaveAlone)
            return .recorded(previous: previous)
        }
        // Waits only while another relay is recording its count (a few statements).
        try connection.query(Self.joinShared)
        let inUse = try connection.query(Self.recordedShards).first?.require(Int.self, "shards")
        if inUse == shards { return .agreed }
        try connection.query(Self.leaveShared)
        return .mismatch(inUse: inUse)
    }

    /// Key (0x6F627278 "obrx", -1): beside the shard locks (obrx, 0…255), never one of them.
    static let tryJoinAlone = PostgresStatement(name: "outbox_relays_try_alone", sql: """
        SELECT pg_try_advisory_lock(1868723832, -1) AS locked
        """)

    static let leaveAlone = PostgresStatement(name: "outbox_relays_leave_alone", sql: """
        SELECT pg_advisory_unlock(1868723832, -1)
        """)

    static let joinShared = PostgresStatement(name: "outbox_relays_join", sql: """
        SELECT pg_advisory_lock_shared(1868723832, -1)
        """)

    static let leaveShared = PostgresStatement(name: "outbox_relays_leave", sql: """
        SELECT pg_advisory_unlock_shared(1868723832, -1)
        """)

    static let recordedShards = PostgresStatement(name: "outbox_relays_shards", sql: """
        SELECT shards FROM outbox_relay_shards
        """)

    static let recordShards = PostgresStatement(name: "outbox_relays_record_shards", sql: """
        INSERT INTO outbox_relay_shards (singleton, shards, recorded_at) VALUES (true, $1::int, now())
        ON CONFLICT (singleton) DO UPDATE SET shards = EXCLUDED.shards, recorded_at = EXCLUDED.recorded_at
        """)
}
