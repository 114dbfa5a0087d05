import Foundation
import Logging
import Testing
@testable import HTTPServer

/// Every response carries its request's id, the access log line too; a trusted proxy's id is
/// kept, anyone else's ignored.
@Suite struct RequestIDTests {
    @Test func everyResponseCarriesANewIdThatTheAccessLogShows() throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "ids") { _ in RecordingLogHandler(store: store) }
        try withServer(logger: logger) { (_, port) throws in
            let first = try get(port, "/")
            let second = try get(port, "/items/7")
            let ids = [first.header("X-Request-Id"), second.header("X-Request-Id")].compactMap { $0 }
            #expect(ids.count == 2)
            #expect(Set(ids).count == 2, "ids differ")
            #expect(ids.allSatisfy { RequestIDGenerator.isWellFormed($0) && $0.utf8.count >= 16 })
            // A client's own id is not believed.
            let spoofed = try get(port, "/", headers: "X-Request-Id: forged-by-client\r\n")
            #expect(spoofed.header("X-Request-Id") != "forged-by-client")
            usleep(50_000)
            let logged = store.all.compactMap { record -> String? in
                guard case .string(let id)? = record.metadata["request_id"] else { return nil }
                return id
            }
            #expect(ids.allSatisfy(logged.contains), "each id is in an access log line")
            let routed = store.all.first { $0.metadata["request_id"].map { "\($0)" } == ids[1] }
            #expect(routed?.metadata["route"].map { "\($0)" } == "/items/{id}")
        }
    }

    @Test func aTrustedProxysIdIsKeptWhenWellFormed() throws {
        try withServer(configure: { $0.requestIDTrusted = { $0 == "127.0.0.1" } }) { (_, port) throws in
            #expect(try get(port, "/", headers: "X-Request-Id: edge-7f3a.91:b_c\r\n").header("X-Request-Id") == "edge-7f3a.91:b_c")
            let malformed = try get(port, "/", headers: "X-Request-Id: has spaces and <html>\r\n").header("X-Request-Id")
            #expect(malformed != nil && malformed != "has spaces and <html>")
            let long = String(repeating: "a", count: 129)
            #expect(try get(port, "/", headers: "X-Request-Id: \(long)\r\n").header("X-Request-Id") != long)
        }
    }
}
