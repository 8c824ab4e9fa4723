import Glibc

/// A secret read from a file named by `<KEY>_FILE` (`DATABASE_URL_FILE`, `API_TOKENS_FILE`,
/// `NOTIFICATION_WEBHOOK_URL_FILE`, `KAFKA_<secret>_FILE` such as `KAFKA_SASL_PASSWORD_FILE`), so it
/// need not be in the environment, where `/proc/<pid>/environ` and `ps e` show it. A relative path
/// names a systemd credential: it resolves against `$CREDENTIALS_DIRECTORY` (`LoadCredential=`).
/// The file must be a regular file that neither its group nor other users may read, hold UTF-8
/// text of 1 byte to 64 KiB, and one trailing newline is stripped.
enum SecretFile {
    static let maxBytes = 65_536

    /// The key whose value `name` reads from a file, or nil: `<KEY>_FILE` for a secret key of
    /// `ConfigurationKey.all`, or for a `KAFKA_*` key `Redaction` counts as secret.
    static func baseKey(of name: String) -> String? {
        guard name.hasSuffix("_FILE") else { return nil }
        let base = String(name.dropLast("_FILE".count))
        if let key = ConfigurationKey.named(base) { return key.isSecret ? base : nil }
        return base.hasPrefix("KAFKA_") && base.count > 6 && Redaction.isSecretKey(base) ? base : nil
    }

    /// The secret in the file `path` names, and the path it was read from; errors name `key` and
    /// the path, never any of the file's text.
    static func read(key: String, path: String, credentialsDirectory: String?) throws(ConfigurationError) -> (value: String, path: String) {
        let resolved: String
        if path.hasPrefix("/") {
            resolved = path
        } else {
            guard let directory = credentialsDirectory, !directory.isEmpty else {
                throw ConfigurationError(key: key, "\(Redaction.excerpt(path, limit: 100)) is a relative path, which names a systemd credential, but CREDENTIALS_DIRECTORY is not set "
                                         + "(add LoadCredential= to the unit, or give an absolute path)")
            }
            guard !path.split(separator: "/", omittingEmptySubsequences: false).contains("..") else {
                throw ConfigurationError(key: key, "\(Redaction.excerpt(path, limit: 100)) must not leave CREDENTIALS_DIRECTORY (no .. components)")
            }
            resolved = directory + "/" + path
        }
        let shown = Redaction.excerpt(resolved, limit: 100)
        let descriptor = open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else {
            throw ConfigurationError(key: key, "cannot read \(shown): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw ConfigurationError(key: key, "\(shown) is not a regular file")
        }
        guard info.st_mode & (S_IRGRP | S_IROTH) == 0 else {
            throw ConfigurationError(key: key, "\(shown) holds a secret and is readable by its group or other users (mode "
                                     + String(info.st_mode & 0o777, radix: 8) + "); chmod 600 it (or 400), or use LoadCredential=")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while bytes.count <= maxBytes {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigurationError(key: key, "cannot read \(shown): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        guard bytes.count <= maxBytes else { throw ConfigurationError(key: key, "\(shown) is larger than \(maxBytes) bytes") }
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw ConfigurationError(key: key, "\(shown) is empty") }
        guard !bytes.contains(0), let value = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(key: key, "\(shown) must hold UTF-8 text without NUL bytes")
        }
        return (value, resolved)
    }
}
