@testable import CastyWire
import Testing

@testable import Casty

struct StreamURLTests {
    @Test(arguments: [
        ("http://radio.example.org:8000/live.mp3", "radio.example.org", 8000, "/live.mp3"),
        ("http://radio.example.org/", "radio.example.org", 80, "/"),
        ("http://127.0.0.1:8080", "127.0.0.1", 8080, "/"),
        ("HTTP://[::1]:9000/a?b=c", "::1", 9000, "/a?b=c"),
        ("http://host:1?x", "host", 1, "/?x"),
    ])
    func urls_AreSplitIntoHostPortAndPath(text: String, host: String, port: Int, path: String) throws {
        let url = try #require(StreamURL(text))
        #expect(url.host == host)
        #expect(Int(url.port) == port)
        #expect(url.path == path)
    }

    @Test(arguments: ["httpss://secure/", "ftp://x/", "http://", "http://:80/", "http://host:0/", "http://host:70000/",
                      "http://[::1/", "http://a:b:c/", "http://@host/", "http://u:p%zz@host/", "radio.example.org:8000"])
    func otherText_IsNotAStreamURL(text: String) {
        #expect(StreamURL(text) == nil)
    }

    @Test func httpsURLs_AreSecure_OnPort443UnlessWritten_AndStaySecureThroughRedirectsAndLogs() throws {
        let url = try #require(StreamURL("HTTPS://radio.example.org/live?token=x"))
        #expect(url.secure && url.port == 443 && url.authority == "radio.example.org")
        #expect(url.description == "https://radio.example.org:443/live?token=x")
        #expect(url.shown.description == "https://radio.example.org:443/live?…")
        #expect(url.resolving("/other")?.secure == true)
        #expect(url.resolving("http://plain.example/")?.secure == false)
        let written = try #require(StreamURL("https://radio.example.org:8443/"))
        #expect(written.port == 8443 && written.authority == "radio.example.org:8443")
        #expect(StreamURL("http://radio.example.org/")?.secure == false)
    }

    @Test("A text given as a URL is shown without its query or password, whether Casty could read it or not", arguments: [
        ("http://127.0.0.1:99999/verify?token=QSECRET1", "http://127.0.0.1:99999/verify?…"),
        ("http://[bad/verify?token=ENVSECRET3", "http://[bad/verify?…"),
        ("http://vu:URLPASS77@127.0.0.1:19159/verify", "http://vu:…@127.0.0.1:19159/verify"),
        ("htp://a:b@c/x?y", "htp://a:…@c/x?…"),
        ("user:pw@host", "user:…@host"),
        ("http://host/path@with:colon", "http://host/path@with:colon"),
        ("http://radio.example:8000/live", "http://radio.example:8000/live"),
    ])
    func givenTexts_AreShownWithoutSecrets(text: String, shown: String) {
        #expect(StreamURL.shown(text) == shown)
        #expect(CastyError.badURL(text).description.hasSuffix(shown))
    }

    @Test("A URL's login (user:password@, escapes decoded) is sent as Basic auth, never shown, and kept through redirects on the same server only")
    func login_IsBasicAuth_NeverShown_KeptOnTheSameServer() throws {
        let url = try #require(StreamURL("http://relay:p%40ss:w@radio.example:8000/live?token=t"))
        #expect(url.host == "radio.example" && url.port == 8000 && url.path == "/live?token=t")
        #expect(url.login == "relay:p@ss:w")
        #expect(url.authorization == "Basic " + Base64.encode(Array("relay:p@ss:w".utf8)))
        #expect(!url.description.contains("p@ss") && !url.description.contains("relay"))
        #expect(url.resolving("/other")?.login == url.login)
        #expect(url.resolving("http://radio.example:8000/moved")?.login == url.login)
        #expect(url.resolving("http://elsewhere.example:8000/live")?.login == nil, "another server does not learn it")
        #expect(StreamURL("http://user@host/")?.login == "user:")
    }

    @Test func redirectLocations_ResolveAgainstTheURL() {
        let base = StreamURL(host: "a", port: 8000, path: "/x")
        #expect(base.resolving("/y") == StreamURL(host: "a", port: 8000, path: "/y"))
        #expect(base.resolving("http://b:9/z") == StreamURL(host: "b", port: 9, path: "/z"))
        #expect(base.resolving("relative") == nil)
        #expect(StreamURL(host: "::1", port: 80, path: "/").authority == "[::1]")
    }
}
