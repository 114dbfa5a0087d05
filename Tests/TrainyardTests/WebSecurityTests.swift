import Foundation
import Testing
@testable import Trainyard

@Suite struct SafeRedirectTests {
    @Test(arguments: ["/", "/deployments?status=active", "/training/jobs/12"])
    func sameSitePathsAreAllowed(_ path: String) {
        #expect(SafeRedirect.isSafe(path))
    }

    @Test(arguments: ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "evil",
                      "/ok\r\nSet-Cookie: x=1", "/ok\nLocation: //evil", "", "/a\\b", "/\u{7F}"])
    func everythingElseIsRefused(_ path: String) {
        #expect(!SafeRedirect.isSafe(path))
        #expect(SafeRedirect.path(path, fallback: "/") == "/")
    }
}

@Suite struct SignerTests {
    let signer = Signer(secret: Array("a-secret-that-is-long-enough-for-tests".utf8))

    @Test func signedValuesVerify() {
        let signed = signer.sign("hello")
        #expect(signer.verify(signed).map { String(decoding: $0, as: UTF8.self) } == "hello")
    }

    @Test func tamperedValuesAreRejected() {
        let signed = signer.sign("hello")
        let parts = signed.split(separator: ".")
        let forged = Base64URL.encode(Array("hellp".utf8)) + "." + parts[1]
        #expect(signer.verify(forged) == nil)
        #expect(signer.verify(signed + "x") == nil)
        #expect(signer.verify("") == nil)
        #expect(signer.verify("....") == nil)
    }

    @Test func purposesDoNotShareSignatures() {
        let flash = signer.derived(purpose: "flash"), session = signer.derived(purpose: "session")
        #expect(session.verify(flash.sign("x")) == nil)
    }

    @Test func otherKeysDoNotVerify() {
        let other = Signer(secret: Array("another-secret-that-is-long-enough!!".utf8))
        #expect(other.verify(signer.sign("hello")) == nil)
    }
}

@Suite struct FlashTests {
    let signer = Signer(secret: Array("a-secret-that-is-long-enough-for-tests".utf8))

    @Test func roundTripsMessageValuesAndErrors() {
        let flash = Flash(.error, "Please fix the highlighted fields", values: ["name": "résumé <b>"], fieldErrors: ["epochs": "Too many"])
        #expect(Flash.decode(flash.encoded(with: signer), with: signer) == flash)
    }

    @Test func oversizedValuesAreDroppedButTheMessageStays() {
        let flash = Flash(.error, "Name is required", values: ["notes": String(repeating: "n", count: 10_000), "name": ""],
                          fieldErrors: ["name": "Enter a name"])
        let cookie = flash.encoded(with: signer)
        #expect(cookie.utf8.count <= Flash.maxCookieBytes)
        let decoded = Flash.decode(cookie, with: signer)
        #expect(decoded?.message == "Name is required")
        #expect(decoded?.fieldErrors["name"] == "Enter a name")
        #expect(decoded?.values["notes"] == nil)
    }
}

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheDocumentedTable() throws {
        let config = try AppConfiguration.fromEnvironment([:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.databaseURL == nil)
        #expect(config.dataDirectory == "./data")
        #expect(config.simulationSpeed == 1)
        #expect(config.logLevel == .info)
    }

    @Test func environmentIsRead() throws {
        let config = try AppConfiguration.fromEnvironment([
            "HOST": "0.0.0.0", "PORT": "9000", "DATABASE_URL": "postgres://u@h/db", "TRAINYARD_DATA_DIR": "/tmp/ty",
            "TRAINYARD_SIM_SPEED": "50", "LOG_LEVEL": "DEBUG",
        ])
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 9000)
        #expect(config.usesPostgres)
        #expect(config.sqlitePath == "/tmp/ty/trainyard.sqlite")
        #expect(config.simulationSpeed == 50)
        #expect(config.logLevel == .debug)
    }

    @Test(arguments: [["PORT": "http"], ["PORT": "70000"], ["TRAINYARD_SIM_SPEED": "-1"], ["TRAINYARD_SIM_SPEED": "nan"], ["LOG_LEVEL": "loud"]])
    func invalidValuesAreReportedNotGuessed(_ env: [String: String]) {
        #expect(throws: AppConfiguration.Invalid.self) { try AppConfiguration.fromEnvironment(env) }
    }

    @Test func generatedSecretKeyIsPrivateAndStable() throws {
        let dir = NSTemporaryDirectory() + "ty-secret-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try SecretKey.resolve(configured: nil, dataDirectory: dir)
        let second = try SecretKey.resolve(configured: nil, dataDirectory: dir)
        #expect(first == second)
        #expect(first.count >= 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secret_key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func replicasStartingTogetherAgreeOnOneKey() throws {
        let dir = NSTemporaryDirectory() + "ty-secret-race-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var keys = [[UInt8]](repeating: [], count: 16)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let key = (try? SecretKey.resolve(configured: nil, dataDirectory: dir)) ?? []
            lock.lock(); keys[i] = key; lock.unlock()
        }
        #expect(Set(keys.map { String(decoding: $0, as: UTF8.self) }).count == 1)
        #expect(keys[0].count >= 32)
        // Nothing is left beside the key.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["secret_key"])
    }

    @Test func aKeyFileOthersCanReadStopsTheStart() throws {
        let dir = NSTemporaryDirectory() + "ty-secret-mode-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try SecretKey.resolve(configured: nil, dataDirectory: dir)
        chmod(dir + "/secret_key", 0o644)
        #expect(throws: SecretKey.Failure.self) { try SecretKey.resolve(configured: nil, dataDirectory: dir) }
        chmod(dir + "/secret_key", 0o600)
        try "short\n".write(toFile: dir + "/secret_key", atomically: false, encoding: .utf8)
        #expect(throws: SecretKey.Failure.self) { try SecretKey.resolve(configured: nil, dataDirectory: dir) }
    }

    @Test func shortConfiguredSecretIsRefused() {
        #expect(throws: SecretKey.Failure.self) { try SecretKey.resolve(configured: "short", dataDirectory: "/nonexistent") }
    }
}
