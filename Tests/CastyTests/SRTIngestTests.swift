@testable import Casty
@testable import CastyNet
import Testing

/// The SRT ingest's parts that need no caller: the library loader's error, the passphrase rule, stream IDs and
/// the listen callback's decisions. `scripts/station/srt.sh` proves the rest with ffmpeg as the caller.
@Suite struct SRTIngestTests {
    @Test("Callers rejected in the handshake are told five per window and summed; one caller's handshake sent again is told once")
    func srtRejections_AreBudgeted_AndAHandshakeSentAgainIsToldOnce() async {
        let lines = Locked<[String]>([])
        let loop = EventLoop.shared
        let rejections = SRTRejections(loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let now = ContinuousClock.now
        #expect(rejections.tell("10.0.0.1:5000 live", "caller 1", now: now))
        #expect(!rejections.tell("10.0.0.1:5000 live", "caller 1 again", now: now + .milliseconds(300)), "libsrt asking again")
        for caller in 2...8 { #expect(rejections.tell("10.0.0.\(caller):5000 live", "caller \(caller)", now: now + .seconds(2))) }
        #expect(rejections.tell("10.0.0.8:5000 live", "caller 8 retrying", now: now + .seconds(4)), "a second later: told")
        await loop.submit { rejections.closeWindow() }
        #expect(await eventually { lines.value.count == 6 }, "\(lines.value)")
        #expect(lines.value.prefix(5) == ["caller 1", "caller 2", "caller 3", "caller 4", "caller 5"])
        #expect(lines.value.last == "4 more SRT callers refused in the handshake in the last 10.0 seconds (not logged one by one)")
        // A rejection told in another budget (too many callers waiting) is taken for the same caller's just as well.
        #expect(rejections.isNew("10.0.0.9:5000 live", now: now + .seconds(6)))
        #expect(!rejections.isNew("10.0.0.9:5000 live", now: now + .seconds(6) + .milliseconds(300)), "libsrt asking again")
    }

    @Test func srtLibrary_NamesThePackageToInstall_WhenTheLibraryIsMissing() {
        #expect(throws: SRTError.self) { try SRTLibrary.load(names: ["libcasty-no-such-srt.so.9"]) }
        do {
            try SRTLibrary.load(names: ["libcasty-no-such-srt.so.9", "/nonexistent/libsrt.so"])
        } catch {
            let text = "\(error)"
            #expect(text.hasPrefix("SRT needs libsrt: apt-get install libsrt1.5-gnutls"), "\(text)")
            #expect(text.contains("libcasty-no-such-srt.so.9"))
            guard case .libraryMissing(let tried, _) = error else {
                Issue.record("not libraryMissing: \(error)")
                return
            }
            #expect(tried == ["libcasty-no-such-srt.so.9", "/nonexistent/libsrt.so"])
        }
    }

    @Test func stationServer_RefusesToStart_WhenSRTIsAskedForWithoutTheLibrary() {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        var srt = SRTIngest.Configuration(address: .loopback(port: 0))
        srt.libraryNames = ["libcasty-no-such-srt.so.9"]
        srt.defaultPassphrase = "long enough passphrase"
        configuration.srt = srt
        let loop = EventLoop(name: "srt-test")
        defer { loop.shutdown() }
        #expect { try StationServer.start(configuration, address: .loopback(port: 0), loop: loop) } throws: { error in
            "\(error)".hasPrefix("SRT needs libsrt: apt-get install libsrt1.5-gnutls")
        }
    }

    @Test func srtConfiguration_TakesPassphrasesOf10To79Characters() throws {
        var srt = SRTIngest.Configuration(address: .loopback(port: 9000))
        srt.passphrases = ["/live": String(repeating: "a", count: 10), "/other": String(repeating: "b", count: 79)]
        try srt.check()
        srt.passphrases["/short"] = "123456789"
        #expect(throws: ConfigurationError.srtPassphrase(mount: "/short", length: 9)) { try srt.check() }
        srt.passphrases["/short"] = nil
        srt.passphrases["/long"] = String(repeating: "c", count: 80)
        #expect(throws: ConfigurationError.srtPassphrase(mount: "/long", length: 80)) { try srt.check() }
        srt.passphrases["/long"] = nil
        srt.defaultPassphrase = "short"
        #expect(throws: ConfigurationError.srtPassphrase(mount: nil, length: 5)) { try srt.check() }
        #expect("\(ConfigurationError.srtPassphrase(mount: "/live", length: 5))" == "the SRT passphrase of /live has 5 characters: SRT takes 10 to 79")
    }

    @Test func stationServer_RefusesAShortPassphrase_BeforeLoadingAnything() {
        var configuration = StationServer.Configuration()
        var srt = SRTIngest.Configuration(address: .loopback(port: 0))
        srt.passphrases = ["/live": "tooshort"]
        configuration.srt = srt
        #expect(throws: ConfigurationError.srtPassphrase(mount: "/live", length: 8)) { try configuration.check() }
        srt.passphrases = ["live": "long enough passphrase"]
        configuration.srt = srt
        #expect(throws: ConfigurationError.mountName("live")) { try configuration.check() }
    }

    @Test func srtStreamID_NamesTheMount() {
        #expect(SRTStreamID("live") == SRTStreamID("/live"))
        #expect(SRTStreamID("live")?.mount == "/live")
        #expect(SRTStreamID("live")?.key == nil)
        #expect(SRTStreamID("studio/a?key=K1&x=y")?.mount == "/studio/a")
        #expect(SRTStreamID("studio/a?key=K1&x=y")?.key == "K1")
        #expect(SRTStreamID("#!::r=live,m=publish")?.mount == "/live")
        #expect(SRTStreamID("#!::r=live,m=publish")?.key == nil)
        #expect(SRTStreamID("#!::r=live,key=K2,m=publish")?.key == "K2")
        #expect(SRTStreamID("#!::s=S3,r=live")?.key == "S3", "the session, where no key= is given")
        #expect(SRTStreamID("#!::s=S3,r=live,key=K2")?.key == "K2")
        #expect(SRTStreamID("") == nil)
        #expect(SRTStreamID("/") == nil)
        #expect(SRTStreamID("a b") == nil)
        #expect(SRTStreamID("#!::m=publish") == nil)
        #expect(SRTStreamID("bad\u{1B}[2J") == nil)
    }

    @Test("A stream ID escaped as ffmpeg's URL needs it (%3F for ?, %23 for #) is read as written unescaped")
    func srtStreamID_WithPercentEscapes_IsDecodedFirst() {
        #expect(SRTStreamID("live%3Fkey%3DK1") == SRTStreamID("live?key=K1"))
        #expect(SRTStreamID("live%3Fkey%3DK1")?.key == "K1")
        #expect(SRTStreamID("%23!::r=live,m=publish")?.mount == "/live")
        #expect(SRTStreamID("%23!::r=live,m=request")?.publishes == false)
        #expect(SRTStreamID("live%1B%5B2J") == nil, "an escaped control character is no mount name either")
        #expect(SRTStreamID("li%ve")?.mount == "/li%ve", "a broken escape is taken as written")
    }

    @Test("A stream ID whose bytes are not UTF-8 names no mount, as an HTTP source's path: refused saying it holds a %XX escape, never a mount of U+FFFD")
    func srtStreamID_WhoseBytesAreNotUTF8_NamesNoMount() {
        #expect(SRTStreamID("a%FFb") == nil)
        #expect(SRTStreamID.whyNoMount("a%FEb") == "it holds a %XX escape")
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: nil, defaultPassphrase: "DefaultPass1"))
        for streamID in ["a%FFb", "a%FEb", "a%FFb%3Fkey%3DK1", "#!::r=a%FFb,m=publish"] {
            #expect(list.decide(streamID) == (.reject(code: 1403), "not a mount name: it holds a %XX escape"), "\(streamID)")
        }
        #expect(list.shown("a%FFb%3Fkey%3DK1") == "a%FFb?key=…", "its key hidden all the same")
        #expect(SRTStreamID("caf%C3%A9")?.mount == "/café", "escapes of UTF-8 name its characters")
        // As libsrt hands a stream ID over: bytes that are not UTF-8 are their escapes, the same (no) name.
        #expect(SRTListener.streamIDText([0x61, 0xFF, 0x62]) == "a%FFb")
        #expect(SRTListener.streamIDText([0x61, 0xFE, 0x62]) == "a%FEb")
        #expect(SRTListener.streamIDText(Array("café".utf8)) == "café")
    }

    @Test("A stream ID is shown without its secrets: every value after '?', SRT's fields but r= and m=, in %XX escapes too")
    func srtStreamID_IsShownWithoutItsSecrets() {
        #expect(SRTStreamID.shown("live?key=K1&x=y") == "live?key=…&x=…")
        #expect(SRTStreamID.shown("dj13%3Fkey%3DKS13%26token%3DTOKSECRET") == "dj13?key=…&token=…")
        #expect(SRTStreamID.shown("live?flag") == "live?flag", "a name alone is shown")
        #expect(SRTStreamID.shown("#!::u=alice,r=live,s=SESSIONSECRET,m=publish") == "#!::u=…,r=live,s=…,m=publish")
        #expect(SRTStreamID.shown("#!::r=live,t=stream,token=T") == "#!::r=live,t=…,token=…")
        #expect(SRTStreamID.shown("#!::r=sm9?key=goodkey") == "#!::r=sm9?key=…")
        #expect(SRTStreamID.shown("#!::r=sm10,m=request,key=goodkey") == "#!::r=sm10,m=request,key=…")
        #expect(SRTStreamID.shown("smp5%3Fkey%3Dgoodkey") == "smp5?key=…")
        #expect(SRTStreamID.shown("#!::r=live,m=publish") == "#!::r=live,m=publish")
    }

    @Test("A stream ID whose mount holds its own key or a passphrase is refused in the handshake saying how to set it, and shown with that part as …")
    func srtStreamID_WhoseMountHoldsItsKeyOrAPassphrase_IsRefusedAndNeverShown() {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: nil, passphrases: ["/live": "SecretPass123"], verifying: true))
        let keyed = list.decide("live/K1?key=K1")
        #expect(keyed.0 == .reject(code: 1403), "\(keyed)")
        #expect(keyed.why == "the mount holds its key too: set the stream ID to live?key=…, the key apart", "\(String(describing: keyed.why))")
        #expect(list.decide("#!::r=live/K1,key=K1,m=publish").0 == .reject(code: 1403))
        let passphrase = list.decide("studio/SecretPass123/a?key=K1")
        #expect(passphrase.0 == .reject(code: 1403), "\(passphrase)")
        #expect(passphrase.why == "the mount holds a passphrase too: set the stream ID to studio/a, the passphrase apart",
                "\(String(describing: passphrase.why))")
        #expect(list.decide("live/K2?key=K1").0 == .accept(passphrase: nil), "another part is no secret")
        #expect(list.shown("live/K1?key=K1") == "live/…?key=…")
        #expect(list.shown("live%2FK1%3Fkey%3DK1") == "live/…?key=…")
        #expect(list.shown("#!::r=live/K1,key=K1,m=publish") == "#!::r=live/…,key=…,m=publish")
        #expect(list.shown("live/SecretPass123") == "live/…")
        #expect(SRTStreamID.shown("live/K1?key=K1") == "live/…?key=…", "its own key is hidden wherever it is shown")
    }

    @Test("The access log writes the mount a stream ID asks for alone: its query, a part that is its key or a passphrase hidden; SRT's syntax without r= names none")
    func srtStreamID_ShownMount_HoldsNoSecret() {
        #expect(SRTStreamID.shownMount("live?key=K1&token=T") == "/live")
        #expect(SRTStreamID.shownMount("live%3Fkey%3DK1") == "/live")
        #expect(SRTStreamID.shownMount("#!::r=live,key=K1,m=publish") == "/live")
        #expect(SRTStreamID.shownMount("#!::r=live?key=K1,m=publish") == "/live?…")
        #expect(SRTStreamID.shownMount("live/K1?key=K1") == "/live/…")
        #expect(SRTStreamID.shownMount("#!::u=alice,s=S") == nil)
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: nil, passphrases: ["/live": "SecretPass123"], verifying: true))
        #expect(list.shownMount("studio/SecretPass123/a?key=K1") == "/studio/…/a")
    }

    @Test("A caller of a mount with no SRT passphrase is refused with the option that gives it one")
    func srtMountWithoutPassphrase_RefusalNamesTheOption() {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: ["/live", "/news"], passphrases: ["/live": "SecretPass123"], verifying: false))
        let refused = list.decide("news")
        #expect(refused.0 == .reject(code: SRTListener.forbidden))
        #expect(refused.why == "/news has no SRT passphrase (give it one: --srt-passphrase /news=…, or --srt-passphrase … for every mount)")
    }

    @Test("A handshake rejection is written in the access log with the status an Icecast source is answered for the same refusal")
    func srtRejectionCodes_AreWrittenAsTheHTTPSourcePathsStatuses() {
        #expect(SRTIngest.status(ofRejection: SRTListener.unauthorized) == 401)
        #expect(SRTIngest.status(ofRejection: SRTListener.forbidden) == 403)
        #expect(SRTIngest.status(ofRejection: SRTListener.conflict) == 403, "a mount in use, as Icecast answers it")
        #expect(SRTIngest.status(ofRejection: SRTListener.overloaded) == 503)
    }

    @Test("The fields of a stream ID Casty does not read are named, never their values")
    func srtStreamID_NamesTheFieldsNotRead() {
        #expect(SRTStreamID.notRead("dj13%3Fkey%3DKS13%26token%3DTOKSECRET")
            == "?token= not read (of a stream ID's query, Casty reads ?key= only)")
        #expect(SRTStreamID.notRead("#!::u=alice,r=live,key=K,x=1")
            == "u=, x= not read (of SRT's access control syntax, Casty reads r=, m=, key=, s= only)")
        #expect(SRTStreamID.notRead("live?key=K") == nil)
        #expect(SRTStreamID.notRead("#!::r=live,m=publish,s=S") == nil)
        #expect(SRTStreamID.notRead("live") == nil)
    }

    @Test func srtAllowList_DecidesFromTheWhitelistAndPassphrases() {
        let list = SRTAllowList(SRTAllowList.Rules(
            whitelist: ["/live", "/open"], passphrases: ["/live": "SecretPass123", "/later": "LaterPass123"]))
        #expect(list.decide("live").0 == .accept(passphrase: "SecretPass123"))
        #expect(list.decide("other").0 == .reject(code: 1403))
        #expect(list.decide("later").0 == .reject(code: 1403))
        #expect(list.decide("").0 == .reject(code: 1403))
        // A whitelisted mount with no passphrase: nobody could be told from anybody, unless the application verifies keys.
        #expect(list.decide("open").0 == .reject(code: 1403))
        // The admin API adds a mount: the callback sees it at once.
        list.update(whitelist: ["/live", "/open", "/later"])
        #expect(list.decide("later").0 == .accept(passphrase: "LaterPass123"))
        list.update(whitelist: nil)
        #expect(list.decide("anything").0 == .reject(code: 1403))

        let verifying = SRTAllowList(SRTAllowList.Rules(whitelist: nil, defaultPassphrase: "DefaultPass1", verifying: true))
        #expect(verifying.decide("anything?key=K").0 == .accept(passphrase: "DefaultPass1"))
        let keysOnly = SRTAllowList(SRTAllowList.Rules(whitelist: nil, verifying: true))
        #expect(keysOnly.decide("anything?key=K").0 == .accept(passphrase: nil))
        // Any mount, but not a path the server answers itself: refused in the handshake, with why, not accepted and
        // then closed once the application was asked.
        for reserved in ["admin?key=K", "api/mounts?key=K", "live/index.m3u8?key=K", "#!::r=status.json,key=K"] {
            let refused = keysOnly.decide(reserved)
            #expect(refused.0 == .reject(code: 1403) && refused.why?.contains("a path the server answers itself") == true,
                    "\(reserved): \(String(describing: refused.why))")
        }
        for (noMount, why) in [("live/?key=K", "it ends with /"), ("a//b?key=K", "it holds //"), ("live/../x?key=K", "it holds .. between slashes"),
                               ("sp%20ace?key=K", "it holds a space"), ("?key=K", "the stream ID names none")] {
            #expect(keysOnly.decide(noMount) == (.reject(code: 1403), "not a mount name: \(why)"), "\(noMount)")
        }

        // A caller that asks to receive (a player, in SRT's access control syntax) is no source.
        #expect(list.decide("#!::r=live,m=publish").0 == .accept(passphrase: "SecretPass123"))
        let player = list.decide("#!::r=live,m=request")
        #expect(player.0 == .reject(code: 1403) && player.why?.contains("m=request") == true, "\(String(describing: player.why))")
        #expect(list.decide("#!::r=live,m=bidirectional").0 == .reject(code: 1403))
    }

    @Test("What can be told in the handshake is refused there, with its code: 1409 in use (but to its own source's credentials), 1401 no key, 1402 full")
    func srtAllowList_RejectsInTheHandshake_AMountInUse_AMissingKey_AndAFullServer() throws {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: ["/live", "/other"], defaultPassphrase: "SecretPass123"))
        list.update(inUse: ["/live"], full: false)
        let inUse = list.decide("live")
        #expect(inUse.0 == .reject(code: 1409) && inUse.why == "/live is in use", "\(String(describing: inUse.why))")
        #expect(list.decide("other").0 == .accept(passphrase: "SecretPass123"))
        list.update(inUse: ["/live"], full: true)
        #expect(list.decide("other").0 == .reject(code: 1402))
        list.update(inUse: [], full: false)
        #expect(list.decide("live").0 == .accept(passphrase: "SecretPass123"), "free again once its source ended")

        // A caller with a credential the live source published with (the mount's passphrase, which SRT checks next, or
        // its key) may be that encoder reconnecting: let on, for the loop to take the mount back if that source is silent.
        list.update(inUse: ["/live"], full: false, live: ["/live": [try #require(Secret("SecretPass123"))]])
        #expect(list.decide("live").0 == .accept(passphrase: "SecretPass123"), "the SRT source's passphrase")
        list.update(inUse: ["/live"], full: false, live: ["/live": [try #require(Secret("hackme"))]])
        #expect(list.decide("live").0 == .reject(code: 1409), "an Icecast source's password")
        let keyed = SRTAllowList(SRTAllowList.Rules(whitelist: nil, verifying: true))
        keyed.update(inUse: ["/show"], full: false, live: ["/show": [try #require(Secret("K1"))]])
        #expect(keyed.decide("show?key=K1").0 == .accept(passphrase: nil), "its key")
        #expect(keyed.decide("show?key=K2").0 == .reject(code: 1409), "another key")
        keyed.update(inUse: ["/show"], full: false)
        #expect(keyed.decide("show?key=K1").0 == .reject(code: 1409), "held for a source not started yet (an RTMP publisher's)")

        // The application is never asked about an empty key: no key, or an empty one, is refused at once.
        let verifying = SRTAllowList(SRTAllowList.Rules(whitelist: nil, verifying: true))
        for streamID in ["gina", "gina?key=", "#!::r=frank,m=publish", "#!::r=frank,key=,m=publish"] {
            let refused = verifying.decide(streamID)
            #expect(refused.0 == .reject(code: 1401) && refused.why?.contains("no key") == true, "\(streamID)")
        }
        #expect(verifying.decide("gina?key=K").0 == .accept(passphrase: nil))
        // Nor about a key it could not be told as it is: one with control bytes, raw or escaped, is refused here.
        for streamID in ["gina?key=good\u{1}ctl", "gina?key=good%01ctl", "#!::r=frank,key=good%09ctl,m=publish"] {
            let refused = verifying.decide(streamID)
            #expect(refused.0 == .reject(code: 1403) && refused.why?.contains("the key holds control characters") == true,
                    "\(streamID.debugDescription): \(String(describing: refused.why))")
        }
        #expect(verifying.decide("#!::r=frank,key=good,m=publish").0 == .accept(passphrase: nil), "a key in SRT's own syntax")
    }

    @Test("After a SIGHUP changed a mount's SRT passphrase, a caller of it is let on to SRT's check of the new one while its live source is an SRT caller admitted with the old one (its encoder, started again), not while another kind of source holds it")
    func srtAllowList_AfterAPassphraseChange_LetsOnACallerOfTheMountItsSRTSourceHolds() throws {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: ["/a"], passphrases: ["/a": "first-passphrase-1"]))
        let old = try #require(Secret("first-passphrase-1"))
        list.update(inUse: ["/a"], full: false, live: ["/a": [old]], byPassphrase: ["/a"])
        #expect(list.decide("a").0 == .accept(passphrase: "first-passphrase-1"))
        #expect(list.update(passphrases: ["/a": "second-passphrase-2"], defaultPassphrase: nil) == ["SRT passphrase of /a changed"])
        // SRT asks the caller the passphrase of now: the old one is refused there, as a wrong passphrase.
        #expect(list.decide("a").0 == .accept(passphrase: "second-passphrase-2"), "the live SRT source was admitted with the mount's passphrase")
        // So is a caller of a mount whose own passphrase was removed, the one of every mount taking over.
        _ = list.update(passphrases: [:], defaultPassphrase: "every-mount-pass")
        #expect(list.decide("a").0 == .accept(passphrase: "every-mount-pass"))
        // An Icecast source whose password was the mount's old passphrase is no SRT caller of it: a stranger's mount.
        _ = list.update(passphrases: ["/a": "second-passphrase-2"], defaultPassphrase: nil)
        list.update(inUse: ["/a"], full: false, live: ["/a": [old]])
        #expect(list.decide("a").0 == .reject(code: 1409))
        // A mount with no passphrase any more (the application verifies keys): its key decides, as before.
        let keyed = SRTAllowList(SRTAllowList.Rules(whitelist: nil, passphrases: ["/b": "first-passphrase-1"], verifying: true))
        _ = keyed.update(passphrases: [:], defaultPassphrase: nil)
        keyed.update(inUse: ["/b"], full: false, live: ["/b": [old, try #require(Secret("K1"))]], byPassphrase: ["/b"])
        #expect(keyed.decide("b?key=K2").0 == .reject(code: 1409))
        #expect(keyed.decide("b?key=K1").0 == .accept(passphrase: nil))
    }

    @Test("Callers waiting are counted from the listen callback until they claim, close, or their handshake is forgotten")
    func srtPending_CountsCallersUntilTheyClaim_UpToItsLimit() {
        var pending = SRTPending(limit: 2)
        let then = ContinuousClock.now
        let first = pending.admit(1, from: "10.0.0.1", now: then), second = pending.admit(2, from: "10.0.0.2", now: then)
        #expect(first == nil && second == nil)
        let past = pending.admit(3, from: "10.0.0.3", now: then)
        #expect(past == .all, "the limit is reached")
        pending.accept(1, from: "10.0.0.1")
        let stillPast = pending.admit(3, from: "10.0.0.3", now: then)
        #expect(stillPast == .all, "an accepted caller still waits")
        pending.forget(1)  // it claimed its mount
        let third = pending.admit(3, from: "10.0.0.3", now: then)
        #expect(third == nil)
        pending.forget(99)  // never counted: nothing happens
        #expect(pending.count == 2)
        // A handshake libsrt gave up on, which nobody was told about, is forgotten after a while; an accepted caller is not.
        pending.accept(3, from: "10.0.0.3")
        let fourth = pending.admit(4, from: "10.0.0.4", now: then + SRTPending.handshakeTimeout)
        #expect(fourth == nil, "caller 2's handshake is forgotten")
        let fifth = pending.admit(5, from: "10.0.0.5", now: then + SRTPending.handshakeTimeout)
        #expect(fifth == .all)
        #expect(pending.count == 2)
    }

    @Test("A caller accepted after its handshake's entry was forgotten (a slow handshake) is counted all the same, by its address")
    func srtPending_CountsAnAcceptedCaller_WhoseHandshakeWasForgotten() {
        var pending = SRTPending(limit: 2, perAddress: 1)
        let then = ContinuousClock.now
        #expect(pending.admit(1, from: "10.0.0.1", now: then) == nil)
        // Another caller's admission, a handshake's timeout later, forgets the first one's handshake...
        #expect(pending.admit(2, from: "10.0.0.2", now: then + SRTPending.handshakeTimeout) == nil)
        #expect(pending.count == 1)
        // ...which libsrt completes all the same: accepted, it waits for its mount and holds its buffers.
        pending.accept(1, from: "10.0.0.1")
        #expect(pending.count == 2)
        #expect(pending.admit(3, from: "10.0.0.3", now: then + SRTPending.handshakeTimeout) == .all)
        #expect(pending.count(from: "10.0.0.1") == 1)
        pending.forget(1)
        #expect(pending.admit(3, from: "10.0.0.3", now: then + SRTPending.handshakeTimeout) == nil)
    }

    @Test("One address cannot take every place: its callers waiting are bounded under the global bound, others still get in")
    func srtPending_BoundsTheCallersWaitingFromOneAddress() {
        var pending = SRTPending(limit: 16, perAddress: 4)
        let then = ContinuousClock.now
        for socket in Int32(1)...4 { #expect(pending.admit(socket, from: "10.0.0.9", now: then) == nil) }
        #expect(pending.admit(5, from: "10.0.0.9", now: then) == .fromAddress)
        #expect(pending.count(from: "10.0.0.9") == 4)
        #expect(pending.admit(6, from: "10.0.0.7", now: then) == nil, "another address is taken")
        // Accepted callers count for their address until they claim; then one more of it is taken.
        pending.accept(1, from: "10.0.0.9")
        #expect(pending.admit(7, from: "10.0.0.9", now: then) == .fromAddress)
        pending.forget(1)
        #expect(pending.admit(7, from: "10.0.0.9", now: then) == nil)
        #expect(pending.count == 5)
    }

    @Test func srtAllowList_RemembersTheApplicationsRefusal_ForThatCallerAndKey_ForAWhile() {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: nil, verifying: true))
        let then = ContinuousClock.now
        list.remember(refused: "live?key=Bad", from: "10.0.0.5", now: then)
        let again = list.decide("live?key=Bad", from: "10.0.0.5", now: then + .seconds(2))
        #expect(again.0 == .reject(code: 1403))
        #expect(again.why?.contains("the application refused its key") == true)
        #expect(list.decide("live?key=Good", from: "10.0.0.5", now: then + .seconds(2)).0 == .accept(passphrase: nil), "a corrected key is asked about")
        #expect(list.decide("live?key=Bad", from: "10.0.0.6", now: then + .seconds(2)).0 == .accept(passphrase: nil), "another caller is asked about")
        #expect(list.decide("live?key=Bad", from: "10.0.0.5", now: then + SRTAllowList.refusalMemory + .seconds(1)).0
            == .accept(passphrase: nil), "the memory is short: the application is asked again")
    }

    @Test func srtAllowList_RemembersABoundedNumberOfRefusals() {
        let list = SRTAllowList(SRTAllowList.Rules(whitelist: nil, verifying: true))
        let then = ContinuousClock.now
        for index in 0..<(SRTAllowList.refusalCapacity + 500) {
            list.remember(refused: "live?key=K\(index)", from: "10.0.\(index / 256).\(index % 256)", now: then + .milliseconds(index))
        }
        #expect(list.rememberedCount == SRTAllowList.refusalCapacity)
        // The newest are kept, the oldest let go.
        let newest = SRTAllowList.refusalCapacity + 499
        #expect(list.decide("live?key=K\(newest)", from: "10.0.\(newest / 256).\(newest % 256)", now: then + .seconds(3)).0 == .reject(code: 1403))
        #expect(list.decide("live?key=K0", from: "10.0.0.0", now: then + .seconds(3)).0 == .accept(passphrase: nil))
    }

    @Test(arguments: [
        ("02:29:46.127150/SRT:RcvQ:w1!W:SRT.cn: @766073194:newConnection: connection rejected due to: INTERNAL REJECTION - ERROR:BADSECRET",
         766073194, SRTRejection.wrongPassphrase),
        ("@766073193:newConnection: connection rejected due to: INTERNAL REJECTION - ERROR:UNSECURE\n", 766073193, .passphraseMissing),
    ])
    func srtRejection_IsReadFromLibsrtsLog(line: String, socket: Int32, reason: SRTRejection) throws {
        let found = try #require(SRTRejection.parse(line))
        #expect(found.socket == socket)
        #expect(found.reason == reason)
        #expect("\(reason)" == (reason == .wrongPassphrase ? "wrong passphrase" : "no passphrase, where the mount has one"))
    }

    @Test("libsrt's 'password required or unexpected' is told as the case that happened: no passphrase where the listener set one, a passphrase where it set none")
    func srtRejection_Unsecure_IsToldAsTheCaseThatHappened() {
        let told = Locked<[Int32: String]>([:])
        let unsecure = "connection rejected due to: INTERNAL REJECTION - ERROR:UNSECURE"
        for (socket, passphrase) in [(Int32(2_100_000_001), false), (2_100_000_002, true)] {
            SRTCallers.started(socket, peer: nil, passphrase: passphrase) { _, reason in told.update { $0[socket] = "\(reason)" } }
            SRTCallers.logLine(level: 4, message: "@\(socket):newConnection: \(unsecure)")
        }
        #expect(told.value == [2_100_000_001: "a passphrase, where the mount has none", 2_100_000_002: "no passphrase, where the mount has one"])
    }

    @Test("A caller whose connection breaks before libsrt's peer idle timeout closed it (hung up), however long it sent nothing; past it, it stopped answering, in tenths of seconds")
    func srtListener_TellsACallerThatClosed_FromOneThatStoppedAnswering() {
        let idle = Duration.seconds(10)
        #expect(SRTListener.endReason(quiet: .milliseconds(2900), peerIdleTimeout: idle) == "the caller hung up")
        #expect(SRTListener.endReason(quiet: .milliseconds(50), peerIdleTimeout: idle) == "the caller hung up")
        #expect(SRTListener.endReason(quiet: .milliseconds(10_240), peerIdleTimeout: idle) == "the caller stopped answering (nothing for 10.2 s)")
    }

    @Test func srtRejection_IgnoresOtherLogLines() {
        for line in [
            "02:29:46.127159/SRT:RcvQ:w1!W:SRT.cn: processConnectRequest: rsp(REJECT): 1010 - Incorrect passphrase",
            "02:29:46.126762/SRT:RcvQ:w1!W:SRT.cn: KMREQ/rcv: (snd) Rx process failure - BADSECRET",
            "@12:newConnection: connection rejected due to: INTERNAL REJECTION - ERROR:BACKLOG",
            "newConnection: connection rejected due to: ERROR:BADSECRET",
        ] {
            #expect(SRTRejection.parse(line) == nil, "\(line)")
        }
    }
}
