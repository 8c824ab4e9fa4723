extension Dictionary {
    /// The value stored for `key`, storing `value` first when there is none, in one hash lookup
    /// (the relay asks this per claimed row: the first row of a key decides for the later ones).
    mutating func firstValue(for key: Key, storing value: Value) -> Value {
        { (stored: inout Value) in stored }(&self[key, default: value])
    }
}
