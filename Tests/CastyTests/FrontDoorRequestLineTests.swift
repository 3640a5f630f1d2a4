@testable import CastyNet
import CastyWire
import Icy
import Testing

@testable import Casty

/// The request line as a port of one stream (a relay's, a branch's) reads it (RFC 9112 §2.2, §2.3, §3.2; RFC 9110
/// §2.5, §9.1, §9.3.2): what it takes, what it refuses and with which status — never with the stream, which such a
/// port plays at any path.
struct FrontDoorRequestLineTests {
    let loop = EventLoop.shared

    func serving() throws -> ClientPort {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        return try ClientPort(distributor: distributor, address: .loopback(port: 0), options: ClientOptions())
    }

    func ask(_ port: ClientPort, _ request: String) async throws -> String {
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send(request)
        #expect(await eventually { peer.closed.value }, "\(request.debugDescription): \(peer.text)")
        return peer.text
    }

    @Test("HEAD /admin/… at a port without the admin API gets GET's 404 without its body, not the stream's head")
    func headOfTheAdminAPI_OnAPortOfOneStream_IsGETs404() async throws {
        let port = try serving()
        defer { port.close() }
        for path in ["/admin/stats", "/admin/metadata?mount=/live&mode=updinfo&song=x", "/admin/listmounts"] {
            let get = try await ask(port, "GET \(path) HTTP/1.0\r\n\r\n")
            #expect(get.hasPrefix("HTTP/1.0 404 Not Found\r\n") && get.hasSuffix("\r\n\r\n{\"error\":\"this node has no admin API\"}\n"), "\(get)")
            let head = try await ask(port, "HEAD \(path) HTTP/1.0\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(path): \(head)")
            #expect(head.contains("Content-Type: application/json\r\n") && !head.contains("audio/mpeg"), "\(head)")
            #expect(head.hasSuffix("\r\n\r\n"), "no body: \(head)")
            let length = get.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
            #expect(length.map { head.contains($0) } == true, "GET's length: \(head)")
        }
    }

    @Test("Empty lines before the request line are skipped (RFC 9112 §2.2)")
    func emptyLinesBeforeTheRequestLine_AreSkipped() async throws {
        let port = try serving()
        defer { port.close() }
        for leading in ["\r\n", "\r\n\r\n", "\n"] {
            let text = try await ask(port, leading + "GET /status.json HTTP/1.0\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n") && text.contains("Content-Type: application/json\r\n"), "\(leading.debugDescription): \(text)")
        }
        // A request line over the limit after them is still the target's length: 414, not 431.
        let long = try await ask(port, "\r\nGET /" + String(repeating: "a", count: 9000) + " HTTP/1.0\r\n\r\n")
        #expect(long.hasPrefix("HTTP/1.0 414 URI Too Long\r\n"), "\(long)")
    }

    @Test("HTTP/1.2 is served as HTTP/1.1 (RFC 9110 §2.5)")
    func laterMinorVersion_IsServedAsHTTP11() async throws {
        let port = try serving()
        defer { port.close() }
        let text = try await ask(port, "GET /status.json HTTP/1.2\r\nHost: radio\r\nConnection: close\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n") && text.contains("\"server_name\""), "\(text)")
        let noHost = try await ask(port, "GET /status.json HTTP/1.2\r\n\r\n")
        #expect(noHost.hasPrefix("HTTP/1.0 400 Bad Request\r\n"), "Host is needed as in HTTP/1.1: \(noHost)")
    }

    @Test("HTTP/2.0 in a request line, and the HTTP/2 preface, get 505 HTTP Version Not Supported")
    func http2_Is505() async throws {
        let port = try serving()
        defer { port.close() }
        for request in ["GET /status.json HTTP/2.0\r\nHost: radio\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
            let text = try await ask(port, request)
            #expect(text.hasPrefix("HTTP/1.0 505 HTTP Version Not Supported\r\n"), "\(request.debugDescription): \(text)")
            #expect(text.hasSuffix("\r\n\r\nunsupported protocol version \"HTTP/2.0\"\n"), "\(text)")
        }
    }

    @Test("A target that is no path — *, status.json — is 400 on a port that plays its stream at any path; an absolute URL and OPTIONS * are taken")
    func targetThatIsNoPath_Is400_NotTheStream() async throws {
        let port = try serving()
        defer { port.close() }
        for request in ["GET * HTTP/1.1\r\nHost: radio\r\n\r\n", "HEAD * HTTP/1.0\r\n\r\n", "GET status.json HTTP/1.1\r\nHost: radio\r\n\r\n",
                        "GET live HTTP/1.0\r\n\r\n"] {
            let text = try await ask(port, request)
            #expect(text.hasPrefix("HTTP/1.0 400 Bad Request\r\n") && text.contains("malformed request line"), "\(request.debugDescription): \(text)")
            #expect(!text.contains("audio/mpeg"), "\(text)")
        }
        let absolute = try await ask(port, "GET http://radio:8000/status.json HTTP/1.1\r\nHost: radio:8000\r\nConnection: close\r\n\r\n")
        #expect(absolute.hasPrefix("HTTP/1.0 200 OK\r\n") && absolute.contains("\"server_name\""), "\(absolute)")
        let server = try await ask(port, "OPTIONS * HTTP/1.1\r\nHost: radio\r\nConnection: close\r\n\r\n")
        #expect(server.hasPrefix("HTTP/1.0 204 No Content\r\n") && server.contains("Allow: GET, HEAD, OPTIONS\r\n"), "\(server)")
    }

    @Test("A method the server does not know at all is 501 (RFC 9110 §9.1); one it knows, which a path does not take, 405",
          arguments: ["DELETE", "get", "BREW", "PATCH"])
    func unknownMethod_Is501_AKnownOneNotTaken405(method: String) async throws {
        let port = try serving()
        defer { port.close() }
        let text = try await ask(port, "\(method) /live HTTP/1.0\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.0 501 Not Implemented\r\n"), "\(text)")
        #expect(text.contains("Allow: GET, HEAD, OPTIONS\r\n"), "\(text)")
        let post = try await ask(port, "POST /live HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        #expect(post.hasPrefix("HTTP/1.0 405 Method Not Allowed\r\n"), "\(post)")
    }
}

extension StationServerTests {
    @Test("HEAD /admin/… of a station server is 405 — its calls act — also when its one mount plays at any path")
    func headOfTheAdminAPI_IsRefused_EvenWithOneMount() async throws {
        let server = try server(mounts: ["/live"])
        defer { server.close() }
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        #expect(await eventually { ((try? await ask(server, "/status.json")) ?? "").contains("\"title\"") })
        for path in ["/admin/stats", "/admin/metadata?mount=/live&mode=updinfo&song=x"] {
            let head = try await answer(server, "HEAD \(path) HTTP/1.0\r\nAuthorization: Basic \(Base64.encode(Array("admin:adminpw".utf8)))\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.0 405 Method Not Allowed\r\n") && head.contains("Allow: GET, OPTIONS\r\n"), "\(path): \(head)")
            #expect(!head.contains("audio/mpeg"), "\(head)")
        }
        #expect(try await ask(server, "/admin/stats").hasPrefix("HTTP/1.0 200"))
    }
}
