import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

/// Routes answered on the event loop: they keep answering when every worker is busy, and they
/// keep their place among pipelined responses.
@Suite struct NonBlockingRoutesTests {
    func router() -> Router {
        let router = makeTestRouter()
        router.getWithoutBlocking("/healthz") { _ in .text("ok\n") }
        return router
    }

    @Test func nonBlockingRoute_AnswersWhileEveryWorkerIsBusy() throws {
        try withServer(responder: router(), configure: { $0.workerThreads = 1 }) { (_, port) throws in
            let busy = try TestClient(port: port)
            busy.send("GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
            Thread.sleep(forTimeInterval: 0.1)   // the only worker is now asleep in the handler
            let started = Date()
            let health = try get(port, "/healthz")
            #expect(health.status == 200)
            #expect(health.text == "ok\n")
            #expect(Date().timeIntervalSince(started) < 1, "answered without waiting for the busy worker")
            #expect(try busy.readResponse().text == "slept")
        }
    }

    @Test func nonBlockingRoute_KeepsItsPlaceInAPipeline() throws {
        try withServer(responder: router()) { (_, port) throws in
            let client = try TestClient(port: port)
            client.send("GET /sleep?ms=200 HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /items/7 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().text == "slept")
            #expect(try client.readResponse().text == "ok\n")
            #expect(try client.readResponse().text == "item 7")
            let head = try client.readResponse(headRequest: true)
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "3")
        }
    }

    @Test func nonBlockingRoute_IsAlsoAnOrdinaryRoute() throws {
        let router = router()
        #expect(try router.respond(to: HTTPRequest(target: "/healthz")).status == 200)
        #expect(router.respondWithoutBlocking(to: HTTPRequest(method: "POST", target: "/healthz")) == nil)
        #expect(router.respondWithoutBlocking(to: HTTPRequest(target: "/items/1")) == nil)
    }
}
