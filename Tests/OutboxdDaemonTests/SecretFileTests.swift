import Foundation
import Glibc
import OutboxdTestSupport
import Testing
@testable import OutboxdDaemon

/// Secrets from files (`<KEY>_FILE`), so they leave the environment: read with one trailing newline
/// stripped, relative names from `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`), and every
/// bad file a clear error naming the key and the path, never the file's text.
@Suite struct SecretFileTests {
    let directory: String

    init() throws {
        directory = TestEnvironment.scratchDirectory.appendingPathComponent("secrets-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ name: String, _ text: String, mode: mode_t = 0o600) throws -> String {
        let path = directory + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
        return path
    }

    func load(_ environment: [String: String], file: String? = nil) throws(ConfigurationError) -> ConfigurationLoader {
        try ConfigurationLoader(fileText: file, fileName: "test.conf", environment: environment, flags: [])
    }

    func error(_ environment: [String: String], file: String? = nil) -> ConfigurationError? {
        do {
            _ = try load(environment, file: file)
            return nil
        } catch {
            return error
        }
    }

    @Test func secretsAreReadFromFilesAndShownRedacted() throws {
        let url = try write("database-url", "postgresql://app:s3cret-pw@db.internal/outboxd\n")
        try write("api-tokens", "token-0123456789abcdef,token-fedcba9876543210\n")
        let sasl = try write("sasl", "kafka-s3cret\r\n")
        let hook = try write("hook", "http://hooks.internal:8080/T000/B000/s3cret-hook")
        let loader = try load(["DATABASE_URL_FILE": url, "API_TOKENS_FILE": "api-tokens", "CREDENTIALS_DIRECTORY": directory,
                               "KAFKA_SASL_PASSWORD_FILE": sasl],
                              file: "NOTIFICATION_WEBHOOK_URL_FILE=\(hook)\n")
        let configuration = loader.configuration
        #expect(configuration.database.conninfo == "postgresql://app:s3cret-pw@db.internal/outboxd")
        #expect(configuration.access.apiTokens == ["token-0123456789abcdef", "token-fedcba9876543210"])
        #expect(configuration.kafka.passthrough["sasl.password"] == "kafka-s3cret")
        #expect(configuration.kafka.passthrough["sasl.password.file"] == nil)
        #expect(configuration.consumers.notificationWebhook == "http://hooks.internal:8080/T000/B000/s3cret-hook")
        let sources = Dictionary(uniqueKeysWithValues: loader.settings.map { ($0.key, $0.source) })
        #expect(sources["DATABASE_URL"] == .secretFile(url))
        #expect(sources["API_TOKENS"] == .secretFile(directory + "/api-tokens"))
        #expect(sources["KAFKA_SASL_PASSWORD"] == .secretFile(sasl))
        #expect(sources["NOTIFICATION_WEBHOOK_URL"] == .secretFile(hook))
        let text = OutboxdCommand.checkConfigText(loader)
        #expect(!text.contains("s3cret"), "\(text)")
        #expect(text.contains("DATABASE_URL=postgresql://app:***@db.internal/outboxd  # file \(url)\n"))
        #expect(text.contains("API_TOKENS=***  # file \(directory)/api-tokens\n"))
        #expect(text.contains("API_TOKENS_FILE=api-tokens  # environment\n"))
        #expect(text.contains("KAFKA_SASL_PASSWORD_FILE=\(sasl)  # environment\n"))
        #expect(text.contains("NOTIFICATION_WEBHOOK_URL=***  # file \(hook)\n"))
    }

    @Test func aValueAndItsFileTogetherAreAnError() throws {
        let url = try write("database-url", "postgresql://a@b/c")
        let both = try #require(error(["DATABASE_URL_FILE": url], file: "DATABASE_URL=postgresql://x@y/z\n"))
        #expect(both.key == "DATABASE_URL_FILE")
        #expect(both.description.contains("DATABASE_URL (test.conf:1) and DATABASE_URL_FILE (environment) are both set"), "\(both)")
        let sasl = try write("sasl", "pw")
        let kafka = try #require(error(["KAFKA_SASL_PASSWORD_FILE": sasl, "KAFKA_SASL_PASSWORD": "inline-pw"]))
        #expect(kafka.description.contains("KAFKA_SASL_PASSWORD (environment) and KAFKA_SASL_PASSWORD_FILE (environment) are both set"))
        #expect(!kafka.description.contains("inline-pw"))
    }

    @Test func badFilesAreErrorsNamingTheKeyAndThePath() throws {
        let open = try write("open", "s3cret-open\n", mode: 0o644)
        let group = try write("group", "s3cret-group\n", mode: 0o640)
        let empty = try write("empty", "\n")
        let nul = try write("nul", "s3cret\u{0}x")
        let big = try write("big", String(repeating: "x", count: 70_000))
        let missing = directory + "/missing"
        let cases: [([String: String], String)] = [
            (["DATABASE_URL_FILE": open], "DATABASE_URL_FILE: \(open) holds a secret and is readable by its group or other users (mode 644)"),
            (["API_TOKENS_FILE": group], "API_TOKENS_FILE: \(group) holds a secret and is readable by its group or other users (mode 640)"),
            (["DATABASE_URL_FILE": empty], "DATABASE_URL_FILE: \(empty) is empty"),
            (["DATABASE_URL_FILE": nul], "DATABASE_URL_FILE: \(nul) must hold UTF-8 text without NUL bytes"),
            (["DATABASE_URL_FILE": big], "DATABASE_URL_FILE: \(big) is larger than 65536 bytes"),
            (["DATABASE_URL_FILE": missing], "DATABASE_URL_FILE: cannot read \(missing): No such file or directory"),
            (["DATABASE_URL_FILE": directory], "DATABASE_URL_FILE: \(directory) is not a regular file"),
            (["DATABASE_URL_FILE": "database-url"], "DATABASE_URL_FILE: database-url is a relative path, which names a systemd credential, but CREDENTIALS_DIRECTORY is not set"),
            (["DATABASE_URL_FILE": "../open", "CREDENTIALS_DIRECTORY": directory + "/sub"], "DATABASE_URL_FILE: ../open must not leave CREDENTIALS_DIRECTORY"),
            (["KAFKA_SSL_KEY_PASSWORD_FILE": open], "KAFKA_SSL_KEY_PASSWORD_FILE: \(open) holds a secret and is readable"),
        ]
        for (environment, expected) in cases {
            let failure = try #require(error(environment), "\(environment) was accepted")
            #expect(failure.description.hasPrefix(expected), "\(failure)")
            #expect(!failure.description.contains("s3cret"))
        }
        // A token file whose text is not valid tokens is refused without quoting it.
        let short = try write("short", "s3cret\n")
        let tokens = try #require(error(["API_TOKENS_FILE": short]))
        #expect(tokens.key == "API_TOKENS" && !tokens.description.contains("s3cret"), "\(tokens)")
    }

    /// A non-secret KAFKA_*_FILE stays a librdkafka property, as before.
    @Test func onlySecretKeysHaveFiles() throws {
        let loader = try load(["KAFKA_SSL_CA_FILE": "/etc/ssl/ca.pem"])
        #expect(loader.configuration.kafka.passthrough["ssl.ca.file"] == "/etc/ssl/ca.pem")
        #expect(try load(["KAFKA_SASL_PASSWORD_FILE": ""]).configuration.kafka.passthrough.isEmpty)
        #expect(SecretFile.baseKey(of: "HTTP_LISTEN_FILE") == nil)
        #expect(SecretFile.baseKey(of: "DATABASE_URL_FILE") == "DATABASE_URL")
        #expect(SecretFile.baseKey(of: "KAFKA_SASL_PASSWORD_FILE") == "KAFKA_SASL_PASSWORD")
    }
}
