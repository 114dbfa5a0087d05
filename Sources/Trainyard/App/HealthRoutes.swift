import HTTPServer

/// Liveness and readiness for load balancers and orchestrators.
enum HealthRoutes {
    static func add(to app: TrainyardApp) {
        // Liveness answers without touching the database: the process is up and serving. It is
        // answered on the event loop, so it stays cheap even when every worker is busy.
        app.router.getWithoutBlocking("/healthz") { _ in .text("ok\n") }
        app.router.get("/readyz") { [unowned app] _ in
            do {
                try app.database.ping()
                return .text("ready\n")
            } catch {
                app.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                var response = HTTPResponse.text("database unavailable\n", status: 503)
                response.headers.set("Retry-After", "5")
                return response
            }
        }
    }
}
