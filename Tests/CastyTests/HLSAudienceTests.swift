@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// The HLS audience: players counted by their playlist fetches, within a window, in bounded memory.
struct HLSAudienceTests {
    let window: Int64 = 18_000  // three 6 s targets

    @Test func players_AreClientsWhoseLastPlaylistIsWithinTheWindow() {
        var audience = HLSAudience()
        audience.playlist(client: "10.0.0.1 VLC", at: 1_000, window: window)
        audience.playlist(client: "10.0.0.1 VLC", at: 7_000, window: window)  // the same player reloads
        audience.playlist(client: "10.0.0.1 ffmpeg", at: 8_000, window: window)  // another player, same address
        audience.playlist(client: "10.0.0.2 VLC", at: 9_000, window: window)
        #expect(audience.players(at: 10_000, window: window) == 3)
        #expect(audience.playlists == 4)
        // 18 s after its last playlist a player still counts; past that it has gone.
        #expect(audience.players(at: 25_000, window: window) == 3)
        #expect(audience.players(at: 26_500, window: window) == 1, "only 10.0.0.2 VLC: 9 s + 18 s")
        #expect(audience.players(at: 40_000, window: window) == 0)
    }

    @Test func segments_AreCountedWithTheirBytes() {
        var audience = HLSAudience()
        audience.segment(bytes: 96_000)
        audience.segment(bytes: 95_500)
        #expect(audience.segments == 2 && audience.bytes == 191_500)
    }

    @Test func aFullAudience_ForgetsQuietClients_AndCountsNoMoreThanItsCapacity() {
        var audience = HLSAudience()
        for index in 0..<HLSAudience.capacity { audience.playlist(client: "c\(index)", at: 0, window: window) }
        audience.playlist(client: "late", at: 1_000, window: window)
        #expect(audience.saturated, "no room, and nobody quiet yet")
        #expect(audience.players(at: 1_000, window: window) == HLSAudience.capacity)
        #expect(!audience.saturated)
        // Later, the first ones have gone quiet: a new client takes their room.
        audience.playlist(client: "later", at: 20_000, window: window)
        #expect(!audience.saturated)
        #expect(audience.players(at: 20_000, window: window) == 1)
    }

    // MARK: With listener authorization

    static func call(_ agent: String, login: String? = nil) -> ControlPlane.ListenerCall {
        ControlPlane.ListenerCall(server: "radio.example", port: 8000, client: 1, mount: "/live", ip: "10.0.0.1", agent: agent,
                                  auth: login.flatMap { BasicAuth(header: "Basic \(Base64.encode(Array($0.utf8)))") }, started: .now)
    }

    @Test func authorization_AsksOnceAboutAClient_AndItsWaitingRequestsGetTheAnswer() {
        var audience = HLSAudience()
        let answers = AnswerLog()
        #expect(audience.admission(of: "10.0.0.1 VLC", login: .none, at: 1_000, window: window) { answers.add("first", $0) } == .ask)
        #expect(audience.admission(of: "10.0.0.1 VLC", login: .none, at: 1_200, window: window) { answers.add("second", $0) } == .waiting)
        #expect(!audience.isPlayer("10.0.0.1 VLC"), "not before the application said so")
        #expect(audience.players(at: 1_200, window: window) == 0)
        for waiter in audience.decide("10.0.0.1 VLC", login: .none, admitted: true, call: Self.call("VLC")) { waiter(nil) }
        #expect(answers.lines == ["first admitted", "second admitted"])
        #expect(audience.admission(of: "10.0.0.1 VLC", login: .none, at: 7_000, window: window) { answers.add("later", $0) } == .admitted)
        #expect(answers.lines.count == 2, "an admitted player's next playlist waits for nothing")
        audience.playlist(client: "10.0.0.1 VLC", at: 7_000, window: window)
        #expect(audience.isPlayer("10.0.0.1 VLC"))
        #expect(audience.players(at: 8_000, window: window) == 1)
    }

    @Test("An application that could not be asked is no verdict: nothing is remembered, the next playlist asks again")
    func authorization_ThatCouldNotBeAsked_IsForgotten() {
        var audience = HLSAudience()
        let answers = AnswerLog()
        #expect(audience.admission(of: "10.0.0.2 VLC", login: .none, at: 1_000, window: window) { answers.add("first", $0) } == .ask)
        let outage = ControlPlane.ListenerRefusal(reason: "the application could not be asked", unanswered: true)
        for waiter in audience.forget("10.0.0.2 VLC", login: .none) { waiter(outage) }
        #expect(answers.lines == ["first the application could not be asked"])
        #expect(audience.admission(of: "10.0.0.2 VLC", login: .none, at: 4_000, window: window) { answers.add("again", $0) } == .ask)
    }

    static func basic(_ login: String) -> HLSAudience.Login {
        HLSAudience.Login(query: "", auth: BasicAuth(header: "Basic \(Base64.encode(Array(login.utf8)))"))
    }

    @Test func authorization_KeepsARefusal_UntilTheClientBringsAnotherLogin() {
        var audience = HLSAudience()
        #expect(audience.admission(of: "c", login: .none, at: 0, window: window) { _ in } == .ask)
        _ = audience.decide("c", login: .none, admitted: false, call: Self.call("c"))
        #expect(audience.admission(of: "c", login: .none, at: 6_000, window: window) { _ in } == .refused)
        #expect(!audience.isPlayer("c"))
        let login = Self.basic("ann:pw")
        #expect(audience.admission(of: "c", login: login, at: 7_000, window: window) { _ in } == .ask, "a login is asked about")
        _ = audience.decide("c", login: login, admitted: false, call: Self.call("c", login: "ann:pw"))
        #expect(audience.admission(of: "c", login: login, at: 8_000, window: window) { _ in } == .refused)
        #expect(audience.admission(of: "c", login: Self.basic("ann:pw2"), at: 9_000, window: window) { _ in } == .ask)
        #expect(audience.players(at: 9_000, window: window) == 0)
    }

    @Test("A token in the playlist's URL is a login: a refused player with a fresh token is asked about again")
    func authorization_AsksAgain_ARefusedClientWithAnotherToken() {
        var audience = HLSAudience()
        let stale = HLSAudience.Login(query: "?token=stale", auth: nil)
        #expect(audience.admission(of: "c", login: stale, at: 0, window: window) { _ in } == .ask)
        _ = audience.decide("c", login: stale, admitted: false, call: Self.call("c"))
        #expect(audience.admission(of: "c", login: stale, at: 3_000, window: window) { _ in } == .refused)
        let fresh = HLSAudience.Login(query: "?token=fresh", auth: nil)
        #expect(audience.admission(of: "c", login: fresh, at: 6_000, window: window) { _ in } == .ask)
        _ = audience.decide("c", login: fresh, admitted: true, call: Self.call("c"))
        #expect(audience.admission(of: "c", login: fresh, at: 7_000, window: window) { _ in } == .admitted)
        #expect(audience.isPlayer("c"))
    }

    @Test("An admitted client lets no other login through: another token or Basic login from its address and agent is asked about")
    func authorization_AsksAboutAnotherLogin_OfAnAdmittedClient() {
        var audience = HLSAudience()
        let ann = HLSAudience.Login(query: "?token=ann", auth: nil)
        _ = audience.admission(of: "c", login: ann, at: 0, window: window) { _ in }
        _ = audience.decide("c", login: ann, admitted: true, call: Self.call("ann"))
        audience.playlist(client: "c", login: ann, at: 0, window: window)
        #expect(audience.admission(of: "c", login: ann, at: 1_000, window: window) { _ in } == .admitted)
        let revoked = HLSAudience.Login(query: "?token=revoked", auth: nil)
        #expect(audience.admission(of: "c", login: revoked, at: 2_000, window: window) { _ in } == .ask)
        _ = audience.decide("c", login: revoked, admitted: false, call: Self.call("revoked"))
        #expect(audience.admission(of: "c", login: revoked, at: 3_000, window: window) { _ in } == .refused)
        #expect(audience.admission(of: "c", login: Self.basic("bob:pw"), at: 3_000, window: window) { _ in } == .ask)
        #expect(audience.admission(of: "c", login: ann, at: 4_000, window: window) { _ in } == .admitted, "ann still listens")
        // Each admitted login is told gone with its own call.
        let bob = Self.basic("bob:pw")
        _ = audience.decide("c", login: bob, admitted: true, call: Self.call("bob"))
        audience.playlist(client: "c", login: bob, at: 4_000, window: window)
        #expect(audience.players(at: 5_000, window: window) == 2)
        #expect(audience.sweep(at: 30_000, window: window).map(\.agent).sorted() == ["ann", "bob"])
        #expect(!audience.isPlayer("c"))
    }

    @Test func authorization_LetsAFewRequestsWaitPerClient() {
        var audience = HLSAudience()
        #expect(audience.admission(of: "c", login: .none, at: 0, window: window) { _ in } == .ask)
        for _ in 1..<HLSAudience.waitersPerClient {
            #expect(audience.admission(of: "c", login: .none, at: 0, window: window) { _ in } == .waiting)
        }
        #expect(audience.admission(of: "c", login: .none, at: 0, window: window) { _ in } == .unavailable)
    }

    @Test func quietAdmittedPlayers_AreHandedBackOnce_ForListenerRemove() {
        var audience = HLSAudience()
        _ = audience.admission(of: "a", login: .none, at: 0, window: window) { _ in }
        _ = audience.decide("a", login: .none, admitted: true, call: Self.call("a"))
        audience.playlist(client: "a", at: 0, window: window)
        _ = audience.admission(of: "r", login: .none, at: 0, window: window) { _ in }
        _ = audience.decide("r", login: .none, admitted: false, call: Self.call("r"))
        _ = audience.admission(of: "pending", login: .none, at: 0, window: window) { _ in }
        #expect(audience.admittedCount == 1)
        #expect(audience.sweep(at: 10_000, window: window).isEmpty, "still within the window")
        #expect(audience.players(at: 20_000, window: window) == 0, "counting forgets the quiet ones too")
        #expect(audience.sweep(at: 20_000, window: window).map(\.agent) == ["a"], "the admitted one only, once")
        #expect(audience.sweep(at: 30_000, window: window).isEmpty)
        #expect(audience.admittedCount == 0)
        #expect(audience.admission(of: "a", login: .none, at: 30_000, window: window) { _ in } == .ask, "a player that returns is asked again")
        #expect(audience.admission(of: "pending", login: .none, at: 30_000, window: window) { _ in } == .waiting,
                "a client being asked about is not forgotten before the answer")
    }
}

/// What waiting requests were answered, in order.
final class AnswerLog: Sendable {
    private let log = Locked<[String]>([])
    var lines: [String] { log.value }
    func add(_ name: String, _ refusal: ControlPlane.ListenerRefusal?) { log.update { $0.append("\(name) \(refusal?.reason ?? "admitted")") } }
}
