import Foundation
import Testing
@testable import HTTPServer

@Suite struct ServerBasicsTests {
    @Test func helloRoute_Returns200WithHeaders() throws {
        try withServer { _, port in
            let response = try get(port, "/")
            #expect(response.status == 200)
            #expect(response.text == "hello")
            #expect(response.header("Content-Length") == "5")
            #expect(response.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(response.header("Date")?.hasSuffix(" GMT") == true)
            #expect(response.header("Connection") == nil)
        }
    }
}
