import Testing
@testable import HTTPServer

/// Random and mutated requests, parsed whole and in random pieces. The parser must never
/// crash, must always reach a verdict (a request or a 4xx/5xx failure) once the input ends,
/// and must reach the same verdict however the input is split.
@Suite struct ParserFuzzTests {
    private static let limits = HTTPParserLimits(maxHeadBytes: 512, maxRequestLineBytes: 200, maxBodyBytes: 300, maxHeaderCount: 12)

    private static let goodMethods = ["GET", "POST", "HEAD", "PUT", "DELETE"]
    private static let badMethods = ["G(T", "", "GET GET"]
    private static let goodTargets = ["/", "/a/b?c=d&c=e", "/%2e%2e/x", "http://h/p", "/a%zz", "/x?y"]
    private static let badTargets = ["*", "/" + String(repeating: "x", count: 210), "?", "/#f", "/a b"]
    private static let goodVersions = ["HTTP/1.1", "HTTP/1.0"]
    private static let badVersions = ["HTTP/2.0", "HTTP/1.1 ", "http/1.1", "HTTP/1.", ""]
    private static let benignHeaders = ["Accept: */*", "Connection: close", "Connection: keep-alive", "X-Empty:", "User-Agent: fuzz/1.0"]
    private static let hostileHeaders = [
        "Host: second", "Content-Length: 301", "Content-Length: -1", "Transfer-Encoding: gzip", "Expect: 100-continue",
        "Expect: nothing", "X-Fold: a\r\n b", "Bad Name: v", ": novalue", "X-Long: " + String(repeating: "v", count: 500),
        "Transfer-Encoding: chunked",
    ]
    private static let chunkedBodies = ["0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", "zz\r\n", "200\r\n"]

    private static func pick(_ good: [String], _ bad: [String], badOdds: Double, _ g: inout SeededGenerator) -> String {
        Double.random(in: 0..<1, using: &g) < badOdds ? bad.randomElement(using: &g)! : good.randomElement(using: &g)!
    }

    private static func makeRequest(_ g: inout SeededGenerator) -> [UInt8] {
        let method = pick(goodMethods, badMethods, badOdds: 0.05, &g)
        let target = pick(goodTargets, badTargets, badOdds: 0.08, &g)
        let version = pick(goodVersions, badVersions, badOdds: 0.05, &g)
        var text = "\(method) \(target) \(version)\r\n"
        if Double.random(in: 0..<1, using: &g) < 0.95 { text += "Host: example\r\n" }
        for _ in 0..<Int.random(in: 0...3, using: &g) {
            text += pick(benignHeaders, hostileHeaders, badOdds: 0.12, &g) + "\r\n"
        }
        var body = ""
        switch Int.random(in: 0..<3, using: &g) {
        case 0:
            break
        case 1:
            body = String(repeating: "b", count: Int.random(in: 0...40, using: &g))
            text += "Content-Length: \(body.utf8.count)\r\n"
        default:
            if version == "HTTP/1.1" {
                text += "Transfer-Encoding: chunked\r\n"
                body = chunkedBodies.randomElement(using: &g)!
            }
        }
        text += "\r\n" + body
        if Bool.random(using: &g) { text += "GET /next HTTP/1.1\r\nHost: n\r\n\r\n" }
        return Array(text.utf8)
    }

    private static func mutate(_ input: [UInt8], _ g: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let special: [UInt8] = [0, 9, 10, 13, 32, 58, 59, 0x7F, 0xFF, 48, 70]
        for _ in 0..<Int.random(in: 0...4, using: &g) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &g)
            switch Int.random(in: 0..<6, using: &g) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &g)
            case 1: bytes.insert(special.randomElement(using: &g)!, at: at)
            case 2: bytes.remove(at: at)
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...20, using: &g)))
            case 4:
                let end = min(bytes.count, at + Int.random(in: 1...40, using: &g))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default: bytes = Array(bytes[0..<at])
            }
        }
        return bytes
    }

    private static func randomBytes(_ g: inout SeededGenerator) -> [UInt8] {
        (0..<Int.random(in: 0...300, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    private static func verdicts(_ chunks: [ArraySlice<UInt8>]) -> [String] {
        var parser = HTTPRequestParser(limits: limits)
        var out: [String] = []
        for chunk in chunks {
            for event in parser.feed(Array(chunk)) { out.append(describe(event)) }
        }
        for event in parser.finish() { out.append(describe(event)) }
        return out
    }

    private static func describe(_ event: HTTPParseEvent) -> String {
        switch event {
        case .request(let r): return "R \(r.method) \(r.target) \(r.version) \(r.headers.count) \(r.body)"
        case .failure(let e): return "F \(e.status)"
        case .expectContinue: return "C"
        }
    }

    @Test func randomAndMutatedRequests_AlwaysReachTheSameVerdict() {
        var g = SeededGenerator(seed: 0x5EED_2026)
        var requests = 0
        var failures: Set<Int> = []
        for iteration in 0..<20_000 {
            let input: [UInt8]
            switch iteration % 4 {
            case 0, 1: input = Self.makeRequest(&g)
            case 3: input = iteration % 8 == 3 ? Self.randomBytes(&g) : Self.mutate(Self.makeRequest(&g), &g)
            default: input = Self.mutate(Self.makeRequest(&g), &g)
            }
            let whole = Self.verdicts([input[...]])

            var pieces: [ArraySlice<UInt8>] = []
            var start = 0
            while start < input.count {
                let end = min(input.count, start + Int.random(in: 1...max(1, input.count / 3 + 1), using: &g))
                pieces.append(input[start..<end])
                start = end
            }
            let split = Self.verdicts(pieces)

            let onlyEmptyLines = input.count % 2 == 0 && stride(from: 0, to: input.count, by: 2).allSatisfy { input[$0] == 13 && input[$0 + 1] == 10 }
            let decided = whole.contains { $0.hasPrefix("R") || $0.hasPrefix("F") }
            if !decided && !onlyEmptyLines {
                Issue.record("iteration \(iteration): no verdict for \(input)")
                return
            }
            if let failureIndex = whole.firstIndex(where: { $0.hasPrefix("F") }) {
                let status = Int(whole[failureIndex].dropFirst(2)) ?? 0
                if !(400..<600).contains(status) || failureIndex != whole.count - 1 {
                    Issue.record("iteration \(iteration): bad failure \(whole)")
                    return
                }
            }
            requests += whole.filter { $0.hasPrefix("R") }.count
            failures.formUnion(whole.filter { $0.hasPrefix("F") }.compactMap { Int($0.dropFirst(2)) })
            if whole != split {
                Issue.record("iteration \(iteration): whole \(whole) != split \(split) for \(input)")
                return
            }
        }
        // The generator must reach both outcomes, and every kind of refusal.
        #expect(requests > 2_000)
        #expect(failures.isSuperset(of: [400, 413, 414, 417, 431, 501, 505]))
    }
}
