internal import Dispatch
internal import Glibc
internal import Synchronization

/// Writes lines to a descriptor (standard error) on a thread of its own, in the order they were queued, so that a
/// reader that stalls — a journald under pressure, a paused terminal, a `| logger` that stops reading — blocks that
/// thread only, never the event loop or the task that logged.
///
/// At most `limit` bytes wait: a line past them is dropped and counted, and a line says how many were
/// (`dropped(count)`) where they were — before the next line queued, or once all queued is written. Memory stays
/// bounded however long the reader stalls.
final class LineWriter: Sendable {
    private let fd: Int32
    private let limit: Int
    private let dropped: @Sendable (Int) -> String
    /// The one thread that writes, in the order the lines were queued.
    private let queue = DispatchQueue(label: "casty.line-writer")
    /// The bytes queued and not written yet, and the lines dropped since the last one written.
    private let backlog = Mutex<(bytes: Int, dropped: Int)>((0, 0))

    /// A writer to `fd` holding at most `limit` bytes; `dropped` words the line that says how many were dropped.
    init(fd: Int32, limit: Int, dropped: @escaping @Sendable (Int) -> String) {
        self.fd = fd
        self.limit = limit
        self.dropped = dropped
    }

    /// Queues `bytes` (one line or more, whole) to be written, unless `limit` bytes wait already: then returns
    /// `false`, and the line is counted as dropped. Never blocks on the descriptor. Any thread.
    func enqueue(_ bytes: [UInt8]) -> Bool {
        // The count of lines dropped goes where they were: before the first line queued after them, or, if none
        // comes, after the last one written before them (below).
        let queued: [UInt8]? = backlog.withLock { backlog in
            guard backlog.bytes + bytes.count <= limit else {
                backlog.dropped += 1
                return nil
            }
            backlog.bytes += bytes.count
            defer { backlog.dropped = 0 }
            return backlog.dropped > 0 ? Array(dropped(backlog.dropped).utf8) + bytes : bytes
        }
        guard let queued else { return false }
        queue.async { [self] in
            writeAll(queued)
            let count = backlog.withLock { backlog in
                backlog.bytes -= bytes.count
                guard backlog.bytes == 0 else { return 0 }
                defer { backlog.dropped = 0 }
                return backlog.dropped
            }
            if count > 0 { writeAll(Array(dropped(count).utf8)) }
        }
        return true
    }

    /// Waits until what was queued so far is written, for `wait` at most. Blocks the caller: call it as the process
    /// ends, off the cooperative pool and the loops.
    func flush(wait: Duration) {
        let written = DispatchSemaphore(value: 0)
        queue.async { written.signal() }
        let (seconds, attoseconds) = wait.components
        _ = written.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }

    /// Writes all of `bytes`, blocking this thread (the writer's) as long as it takes; a write that fails otherwise
    /// than interrupted drops the rest.
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
