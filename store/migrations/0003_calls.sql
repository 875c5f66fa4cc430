-- Calls in rooms and who took part, for the conference log.

CREATE TABLE calls (
    id         TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    host_id    TEXT NOT NULL REFERENCES users(id),
    title      TEXT NOT NULL DEFAULT '',
    post_id    TEXT,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX calls_channel ON calls(channel_id, started_at);
CREATE INDEX calls_open ON calls(ended_at) WHERE ended_at IS NULL;

-- One row per join: a participant id is one device's session in the call.
CREATE TABLE call_participants (
    id        TEXT PRIMARY KEY,
    call_id   TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id),
    joined_at INTEGER NOT NULL,
    left_at   INTEGER
);
CREATE INDEX call_participants_call ON call_participants(call_id);
