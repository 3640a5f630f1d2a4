import Icy
import CastyNet
import CastyWire
import Casty

/// `casty-cli tree <url>`: shows a distribution tree, walking it from the root.
enum TreeCommand: Command {
    static let name = "tree"
    static let summary = "show a distribution tree: who feeds whom, depth, children, segments, gaps"
    static let options: Set<String> = []
    static let usage = """
        usage: casty-cli tree <url of the root>[/<mount>]

        Asks the root for its state (GET /tree), then each of its branches, and so on down, and prints the tree:
        each node's address, depth, players, segments received, gaps, and its branches. A root that cannot be
        reached, or that is not a Casty tree node, is an error (exit status 1); a branch below it that cannot be
        read is shown as such, the whole tree printed, and the exit status is 1 too; so is a branch with no place in
        the tree now (its parent lost and its root not answering, or not placed yet), shown with the root it asks.

        With a mount's path (http://root:8000/live), it walks that mount's tree (GET /tree?mount=/live at every
        node; a query after it names no mount, and is left out); without one, the root's first (or only) stream's.
        Given a branch rather than the root, it walks the subtree below that branch — of a many-mount root's
        branch without a mount in the URL, the first mount it relays with a place in its tree.
        """

    /// Prints one line of the walk: what the nodes answered is shown with its control characters escaped (`\e`,
    /// `\r`), so that a node answering `/tree` with terminal escapes cannot clear the screen or forge lines.
    private static func say(_ line: String) {
        print(SafeText.logLine(line))
    }

    static func run(_ arguments: Arguments) async throws {
        let text = try arguments.single("the root's URL")
        var root = try StreamURL.given(text)
        // A query names no mount: `http://root:8000/live?x=1` is /live's tree, not a mount `/live?x=1` (404).
        if let question = root.path.firstIndex(of: "?") { root.path = root.path[..<question].isEmpty ? "/" : String(root.path[..<question]) }
        var query = root.path == "/" ? "" : "?mount=" + percentEncoded(root.path)
        var pending = [(root, 0)]
        var visited: Set<String> = []
        var nodes = 0
        var deepest = 0
        var unreachable = 0
        var unplaced = 0
        while let (url, indent) = pending.popLast() {
            guard visited.insert(url.authority).inserted else { continue }
            let line: String
            do {
                line = try await Upstream.fetchText(StreamURL(host: url.host, port: url.port, path: "/tree" + query))
            } catch {
                // Reached, but with no such mount: said so, not "not reachable".
                if nodes == 0, !query.isEmpty, case .notAStream(_, let answer) = error, case .status(404, _) = answer {
                    // A Casty node answers /tree without a mount; another server (Icecast) has no /tree at all.
                    let casty = (try? await Upstream.fetchText(StreamURL(host: url.host, port: url.port, path: "/tree"))) != nil
                    throw ServeError(casty
                        ? "\(url.authority) has no mount \(root.path) (GET /tree\(query) answered 404)"
                        : "\(url.authority) is not a Casty node (GET /tree answered 404): give the address of a Casty root or branch")
                }
                if nodes == 0 { throw ServeError("\(url.authority) is not reachable as a Casty tree node: \(error)") }
                say(String(repeating: "  ", count: indent) + "\(url.authority)  unreachable: \(error)")
                unreachable += 1
                continue
            }
            let fields = TreeLine(line)
            guard fields.isTreeNode else {
                // A proxy or a station answers a line too, with no place in a tree (address=-).
                let what = line.hasPrefix("address=-")
                    ? "\(url.authority) is a Casty node of no tree (a proxy, a station or a station server, not a root or a branch)"
                    : "\(url.authority) answered GET /tree with something other than a Casty tree node's line"
                if nodes == 0 { throw ServeError(what) }
                say(String(repeating: "  ", count: indent) + what)
                unreachable += 1
                continue
            }
            nodes += 1
            // Without a mount in the URL, the walk follows the mount the node showed: a station server's first, or
            // the first a branch of a many-mount root relays with a place in its tree.
            if nodes == 1, query.isEmpty, let mount = fields["mount"], mount != "/" {
                query = "?mount=" + percentEncoded(mount)
                let whose = fields.depth > 0 ? "the first this branch relays with a place in its tree" : "the root's first"
                say("mount \(mount) (\(whose); name another in the URL: http://\(root.authority)\(mount))")
            }
            // A branch with no place now says which root it asks: not a root itself, and not fine.
            if let asking = fields["root"] {
                say(String(repeating: "  ", count: indent) + "\(fields["address"] ?? url.authority)  a branch with no place in the tree"
                    + " now (its parent lost, or not placed yet): it asks its root \(asking)  players \(fields["listeners"] ?? "?")")
                unplaced += 1
                continue
            }
            deepest = max(deepest, fields.depth)
            // A stream that has brought nothing for a while is said so: the source or upstream is away, or the
            // node is cut off.
            // A node with no stream at all (`stream=-`: no source has published the mount since the root started)
            // is said so too, not shown as a node that works with 0 segments.
            let quiet = fields.quiet.map { $0 / .milliseconds(1) }.map { Int($0) } ?? 0
            let silent = fields["stream"] == "-" ? "  no stream yet (nothing has played here since it started)"
                : quiet >= 2000 ? "  no audio for \(quiet / 1000).\(quiet % 1000 / 100) s" : ""
            say(String(repeating: "  ", count: indent)
                + "\(fields["address"] ?? url.authority)  depth \(fields.depth)  players \(fields["listeners"] ?? "?")"
                + (fields["hls"].map { "  HLS players \($0)" } ?? "")
                + "  segments \(fields["segments"] ?? "?")  gaps \(fields["gaps"] ?? "?")  branches \(fields.children.count)\(silent)")
            for child in fields.children.reversed() {
                if let url = StreamURL("http://\(child)/") { pending.append((url, indent + 1)) }
            }
        }
        if unplaced > 0, unreachable == 0 {
            say("\(nodes) node\(nodes == 1 ? "" : "s"), depth \(deepest); \(unplaced) with no place")
            throw ServeError("\(counted(unplaced, "branch", plural: "branches")) with no place in the tree, asking the root")
        }
        guard unreachable == 0 else {
            // A monitoring script reads the status: part of the tree is out of sight, not fine.
            say("\(nodes) node\(nodes == 1 ? "" : "s"), depth \(deepest); \(unreachable) more could not be read")
            throw ServeError("\(unreachable) node\(unreachable == 1 ? "" : "s") of the tree could not be read")
        }
        say("\(nodes) node\(nodes == 1 ? "" : "s"), depth \(deepest)")
    }

    /// `text` as a query value: bytes other than letters, digits and `/-._~` as `%XX`.
    private static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "/-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count < 2 ? "0" : "") + hex
            }
        }
        return out
    }
}
