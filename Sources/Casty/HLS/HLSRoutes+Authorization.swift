internal import CastyNet
internal import Icy

/// Listener authorization for HLS players (`--listener-auth-url`).
///
/// An HLS player holds no connection to authorize once: it is a client (address and user agent, as the
/// ``HLSAudience`` counts it) that fetches the live playlist every few seconds. So the application is asked at
/// its first live playlist — `action=listener_add` with the mount, the address, the user agent and the login,
/// exactly as for a stream — while the loop serves everyone else, and the verdict is kept in the audience table
/// for the client with that login (its Basic login and its URL's query, a token): its next playlists with it are
/// answered at once, `401`/`403` for a refused one, and one with another login is asked about anew — but an
/// outage (no answer, a `3xx` or `5xx`: `503` to the player) is no verdict and is not kept. Segments go
/// only to admitted players (`403` otherwise). An admitted player that has fetched no playlist for three target
/// durations has gone: the application is told `action=listener_remove`, from a sweep that runs while admitted
/// players are remembered.
extension HLSRoutes {
    /// Runs `serve` with the login `exchange`'s client asked with once it is admitted to `mount` with it: at once
    /// when the audience knows it is, after the application's answer when it does not; a refused client is
    /// answered `401` or `403`. On the loop.
    static func authorize(
        _ exchange: Exchange, packager: HLSPackager, control: ControlPlane, mount: String,
        then serve: @escaping @Sendable (HLSAudience.Login) -> Void
    ) {
        let client = client(exchange)
        let call = ListenerAuthorization.call(exchange, mount: mount)
        let login = HLSAudience.Login(call)
        let refusal: Headers = ["Cache-Control": "no-cache"]
        let oneShot = exchange.connection.peerHasHungUp
        packager.assumeIsolated { isolated in
            let admission = isolated.audience.admission(
                of: client, login: login, at: wallClockMilliseconds(), window: isolated.audienceWindow
            ) { why in
                // A player that hung up while waiting: said in one line, not answered.
                guard !ListenerAuthorization.playerLeft(exchange, oneShot: oneShot) else {
                    return ListenerAuthorization.left(exchange, call, what: "HLS \(mount)", refusal: why)
                }
                guard why == nil else {
                    return ListenerAuthorization.refuse(exchange, call, what: "HLS \(mount)", why: why, headers: refusal)
                }
                serve(login)
            }
            switch admission {
            case .admitted:
                serve(login)
            case .refused:
                // Told once, when the application answered: a refused player asks again every few seconds.
                ListenerAuthorization.refuse(exchange, call, what: "HLS \(mount)", headers: refusal, logged: false)
            case .ask:
                ListenerAuthorization.ask(control, call, loop: packager.loop) { why in
                    packager.assumeIsolated { isolated in
                        // An outage is no verdict: not remembered, the next playlist asks again.
                        let waiting = why?.unanswered == true
                            ? isolated.audience.forget(client, login: login)
                            : isolated.audience.decide(client, login: login, admitted: why == nil, call: call)
                        if why == nil { sweepDeparted(packager, control: control) }
                        for waiter in waiting { waiter(why) }
                    }
                }
            case .waiting:
                break
            case .unavailable:
                exchange.answer(503, "Service Unavailable", body: "Too many HLS players to authorize now: try again shortly.",
                                headers: ["Retry-After": "2", "Cache-Control": "no-cache"])
            }
        }
    }

    /// `403` for a segment asked by a client that is not an admitted player.
    static func refuseSegment(_ exchange: Exchange) {
        exchange.port.refused()
        exchange.answer(403, "Forbidden", body: "Segments are served to admitted players: fetch the live playlist first.",
                        headers: ["Cache-Control": "no-cache"])
    }

    /// Schedules, unless one is, a sweep of `packager`'s audience one window from now: admitted players gone quiet
    /// are told to the application (`listener_remove`), and the sweep is scheduled again while any remain.
    private static func sweepDeparted(_ packager: HLSPackager, control: ControlPlane) {
        packager.assumeIsolated { isolated in
            guard !isolated.audience.sweepScheduled else { return }
            isolated.audience.sweepScheduled = true
            packager.loop.schedule(after: .milliseconds(isolated.audienceWindow)) {
                packager.assumeIsolated { isolated in
                    isolated.audience.sweepScheduled = false
                    for call in isolated.audience.sweep(at: wallClockMilliseconds(), window: isolated.audienceWindow) {
                        control.listenerLeft(call)
                    }
                    if isolated.audience.admittedCount > 0 { sweepDeparted(packager, control: control) }
                }
            }
        }
    }
}
