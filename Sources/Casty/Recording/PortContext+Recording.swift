internal import CastyNet

extension PortContext {
    /// Records `mount` from now on into the port's recording directory: the stream its packager receives goes
    /// to a ``Recorder`` — its own sources' audio, not its fallback's while it plays that. Returns what stops it
    /// (the file is finished then, with its last frames). Each finished file is announced to the application as
    /// `stream-available` with `x-stream-type: HLS-VOD` and its playlist in `x-index-file`, under the stream ID of
    /// the session it holds: `streamID` for a session's own recording (`x-record: true`); for a mount recorded
    /// anyway (`--record`), the ID of the source publishing when the file started — or, with no source there (a
    /// relay, the built-in station, a branch), an ID of the stream's own. A mount recorded anyway already, by another
    /// port serving its distributor (a branch's `--client-port`), is not recorded a second time: nothing to stop. On
    /// the loop.
    func record(_ mount: String, distributor: Distributor, streamID: String? = nil) -> @Sendable () -> Void {
        let packager = HLSPackager.attached(to: distributor, mount: mount, settings: hls, logger: logger)
        let anyway = streamID == nil
        if anyway {
            guard !packager.assumeIsolated({ $0.recordedAnyway }) else { return {} }
            packager.assumeIsolated { $0.recordedAnyway = true }
        }
        let channel = String(mount.drop { $0 == "/" })
        let control = control
        let directory = options.recording.directory
        let settings = options.recording
        let session = RecordedSession(streamID ?? ControlPlane.newStreamID())
        let recorder = Recorder(mount: mount, settings: settings, targetDuration: hls.targetDuration, logger: logger,
                                session: session, mark: packager.assumeIsolated { $0.nameMark }) { event in
            if let told = StreamEvent(recording: event, channel: channel, directory: directory) { control?.post(told) }
        }
        let mounts = mounts
        // A stream that stops coming without ending (a branch's root away) has its file finished after a while.
        let quiet = QuietEnd(loop: distributor.loop, wait: settings.quietEnd) { recorder.take(.ended) }
        // The mount's own audio only: while it plays its fallback (its source away) — here, or on the tree's root for
        // a branch —, nothing is written.
        let observer = packager.assumeIsolated {
            $0.observe { [weak distributor] feed in
                // A branch told that the root's mount plays its fallback now: the file of the mount's own source is
                // finished at once, as the root's is when that source leaves (no end comes down the link then: the
                // fallback's stream follows it).
                if case .context(let context) = feed, context.fallback { return recorder.take(.ended) }
                if streamID == nil, case .context = feed {  // a new stream: a new session's, or one of its own
                    let id = mounts?.mount(at: mount)?.source?.streamID ?? ControlPlane.newStreamID()
                    session.begin(id)
                }
                if case .segment = feed, distributor?.assumeIsolated({ $0.hearsFallback }) ?? false { return }
                if case .segment = feed { quiet.heard() }
                recorder.take(feed)
            }
        }
        let loop = distributor.loop
        return {
            loop.execute {
                quiet.cancel()
                packager.assumeIsolated {
                    $0.forget(observer)
                    if anyway { $0.recordedAnyway = false }
                }
                recorder.finish()
            }
        }
    }

    /// A source began publishing `mount` (stream `streamID`): it is recorded if the application asked
    /// (`x-record: true`) and the mount is not recorded anyway. Returns what to call when the source ends: that
    /// recording stops. (A mount recorded anyway finishes its file as the stream ends, ``HLSPackager/streamEnded()``.)
    func sourceStarted(_ mount: String, distributor: Distributor, streamID: String, record: Bool?) -> @Sendable () -> Void {
        guard hls.enabled, !options.recording.records(mount), record == true else { return {} }
        return self.record(mount, distributor: distributor, streamID: streamID)
    }

    /// Tells the application that `mount` is live as HLS (after its `ICY-LIVE` event): `stream-available` with
    /// `x-stream-type: HLS-LIVE` and the live playlist's URL in `x-index-file`, when HLS is on — once the playlist
    /// answers (it lasts three target durations), and only if session `streamID` is still the one publishing.
    func announceHLS(_ mount: String, distributor: Distributor, streamID: String) {
        guard hls.enabled, let control else { return }
        let packager = HLSPackager.attached(to: distributor, mount: mount, settings: hls, logger: logger)
        let event = StreamEvent(channel: String(mount.drop { $0 == "/" }), streamID: streamID, kind: .available,
                                streamType: "HLS-LIVE", indexFile: control.configuration.advertisedURL + URLQuery.encodePath(mount) + "/index.m3u8")
        let mounts = mounts
        packager.assumeIsolated {
            $0.onceReady(for: "stream-available HLS-LIVE") {
                guard mounts?.mount(at: mount)?.source?.streamID == streamID else { return }
                control.post(event)
            }
        }
    }
}

extension StreamEvent {
    /// What the application is told of a recording's `event` on `channel` (its files under `directory`):
    /// `stream-available` with `x-stream-type: HLS-VOD` and the playlist's path under `directory` in `x-index-file`
    /// for each finished file; for a failure, `stream-closed` naming the file it cut short (announced just before) —
    /// none when no file was left, so that every `stream-closed` of a recording names one the application was told of.
    init?(recording event: Recorder.Event, channel: String, directory: String) {
        func relative(_ playlist: String) -> String {
            playlist.hasPrefix(directory + "/") ? String(playlist.dropFirst(directory.count + 1)) : playlist
        }
        switch event {
        case .finished(let playlist, let session):
            self.init(channel: channel, streamID: session, kind: .available, streamType: "HLS-VOD", indexFile: relative(playlist))
        case .failed(_, let playlist?, let session):
            self.init(channel: channel, streamID: session, kind: .closed, streamType: "HLS-VOD", indexFile: relative(playlist))
        case .failed(_, nil, _):
            return nil
        }
    }
}
