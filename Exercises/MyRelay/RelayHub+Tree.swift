// my-relay --root / --branch — your chapter 5 cores on real sockets. The tree's four messages travel the way
// Casty's own tree sends them: a branch asks its parent with a player's request plus `X-Casty-Branch: host:port`
// (where it serves branches itself); the parent answers with the stream (`reply`, then `data`) or with
// `302 Found` and a `Location:` (`redirect(to:)`). Which answer, and which child a redirect names, is decided by
// your `Seats`; whether a branch follows a redirect is decided by your `Route`. The bytes of the stream are
// your chapter 3 cores' (`ClientCore` writes them at the parent, `ProxyCore` reads them at the branch).

import CastyNet
import CastyWire
import Icy
import Tree

/// Which node of a tree this relay is.
enum TreeRole: Sendable, Equatable {
    /// Attached to the station; it places the branches that ask it.
    case root
    /// Attached to a parent (another my-relay), found by following redirects from the one it was given; it
    /// places branches of its own.
    case branch
}

extension RelayHub {
    /// The extra header of a branch's request to its parent: where the branch serves branches of its own.
    func branchHeaders() -> Headers {
        guard tree == .branch, let advertise else { return [:] }
        return ["X-Casty-Branch": advertise]
    }

    /// A request with `X-Casty-Branch: address`: your ``Seats`` accept it (it is then served like any player)
    /// or name a child, and it gets `302 Found` with that child's URL. Returns whether it was accepted.
    /// Players (no `X-Casty-Branch`) are always served, never redirected, as in Casty.
    func placeBranch(_ address: String, asking request: Request, on connection: Connection) -> Bool {
        switch seats.place(address) {
        case .accept:
            log("tree: \(Self.whose) Seats accept branch \(SafeText.logLine(address)) (children: \(seats.children.map(SafeText.logLine).joined(separator: ", ")))")
            return true
        case .redirect(let child):
            let location = "http://\(child)\(request.path)"
            log("tree: \(Self.whose) Seats redirect branch \(SafeText.logLine(address)) to \(SafeText.logLine(location))")
            var bytes: [UInt8] = []
            let found = StatusLine(version: .http10, code: 302, reason: "Found")
            sendReply(["Location": location, "Content-Length": "0"], status: found) { bytes += $0 }
            connection.write(bytes)
            connection.close()
            return false
        }
    }

    /// A parent's `302` (read by your ``ProxyCore``): your ``Route`` follows it to the next node to ask, or gives
    /// up on a loop or too many redirects, and the branch starts over from the parent it was given in 1 s.
    func followInTree(_ location: String, from url: StreamURL) {
        guard let target = url.resolving(location) else {
            return retry("\(url) redirected to \(location), which is not a URL")
        }
        var route = self.route ?? Route(start: url.description)
        do {
            let next = try route.follow(target.description)
            self.route = route
            guard let nextURL = StreamURL(next) else { return retry("\(Self.whose) Route.follow(_:) named \(next), which is not a URL") }
            log("tree: \(url) redirects to \(target); \(Self.whose) Route follows it (\(route.visited.joined(separator: " → ")))")
            Task { await attach(nextURL) }
        } catch {
            switch error {
            case .loop(let path): log("tree: \(Self.whose) Route refuses \(target): a loop, \(path.joined(separator: " → "))")
            case .tooManyRedirects(let path): log("tree: \(Self.whose) Route refuses \(target): too many redirects, \(path.joined(separator: " → "))")
            }
            retry("no place found in the tree")
        }
    }

    /// A branch's parent replied with the stream: it has its place.
    func attachedInTree() {
        guard tree == .branch else { return }
        let path = route?.visited ?? [stationURL.description]
        log("tree: attached under \(path.last ?? "?") (asked \(path.joined(separator: " → ")))")
    }
}
