import Casty
import CastyNet

/// What SIGHUP does to the key of a closed tree: a node that places branches reads its key again (its
/// `--tree-key-file`, or a `--config` file's `--tree-key`/`--tree-key-file`), and a changed key is taken at once —
/// sent to its parents from the next request on, taken for new branches — while the key it replaces is still
/// admitted until the next change (``TreeKey/rotate(to:)``). An operator rotates the key so: the new key in the
/// root's file and SIGHUP to the root, then in each branch's file and SIGHUP to each branch; the branches attached
/// with the old key keep their links and may re-attach meanwhile. No line ever shows a key.
enum TreeKeyReload {
    /// The options that give the key: taken again by a reading that keeps the tree closed (one that opens a closed
    /// tree, or closes an open one, is taken at a restart).
    static let options: Set<String> = ["tree-key", "tree-key-file"]

    /// Where `arguments` take the key from, as a reload's line names it: `--tree-key-file`'s file, or `--tree-key`.
    static func source(_ arguments: Arguments) -> String? {
        arguments.value("tree-key-file") ?? arguments.value("tree-key").map { _ in "--tree-key" }
    }

    /// Takes `new`, read from `source`, as `running`'s key, and returns what the reload's line says of it: that the
    /// key changed, or that it comes from another `source` than the last reading's (`before`), the same key;
    /// `nil` when neither changed. `branch`: the node sends the key to its parents too.
    static func take(_ new: TreeKey, into running: TreeKey, from source: String, before: String?, branch: Bool) -> String? {
        if running.rotate(to: new) {
            return "the tree key (\(source)) changed: "
                + (branch ? "sent to the parents from the next request on, and taken for new branches" : "taken for new branches")
                + "; the previous key is still accepted until the next key change"
        }
        return before == source ? nil : "the tree key is read from \(source) now: the same key"
    }

    /// From now on SIGHUP reads `--tree-key-file` again, for a node of one stream — a `root` of a source or of the
    /// built-in station, a `branch` (`node`) — whose `arguments` give one (the same command line: neither takes
    /// `--config`), and takes its key into `running`: one line says whether it changed; a file that cannot be read,
    /// is no regular file (a FIFO, a device), has a first line longer than 4 KiB, or holds no key, changes nothing
    /// and one line says why — the next SIGHUP reads it again. Without a key file, SIGHUP stops the node as before.
    static func reloadOnHangup(_ running: TreeKey?, _ arguments: Arguments, node: String, logger: EventLog) {
        guard let running, let path = arguments.value("tree-key-file") else { return }
        onHangup {
            do {
                // Off the pool: a regular file only is read, but the reading may still wait on its disk.
                guard let key = try await offThePool({ try treeKey(arguments) }) else { return }
                logger("SIGHUP: " + (take(key, into: running, from: path, before: path, branch: node == "branch")
                    ?? "the tree key (\(path)) read again: the same key"))
            } catch {
                logger("SIGHUP: the tree key not read again, the \(node) keeps the key it has: \((error as? UsageError)?.message ?? "\(error)")")
            }
        }
    }
}
