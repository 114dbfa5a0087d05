import HTTPServer

extension TrainyardApp {
    /// Every route of the app, in one place.
    func addRoutes() {
        router.mount(prefix: "/static/", staticFiles)
        router.notFound = { [unowned self] request in
            if let answer = TrackingRoutes.unknownEndpoint(request.path) { return answer }
            return self.web.handle(request, access: .anyone) { ctx in throw HTTPError.notFound() }
        }

        HealthRoutes.add(to: self)
        AccountRoutes.add(to: self)
        AuditRoutes.add(to: self)
        DashboardRoutes.add(to: self)
        ModelRoutes.add(to: self)
        TrainingRoutes.add(to: self)
        TrackingRoutes.add(to: self)
        DocsRoutes.add(to: self)
        DeploymentRoutes.add(to: self)
        DeploymentAPI.add(to: self)
        InferenceAPI.add(to: self)
        SourceRoutes.add(to: self)
        OpenAPIDocument.add(to: self)
    }
}
