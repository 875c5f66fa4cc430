-- Call recordings: one row per recording, opened when it starts and
-- completed with its file when it stops. A row left open by a crash is
-- closed at the next start with the reason.

CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    started_by  TEXT NOT NULL REFERENCES users(id),
    started_at  INTEGER NOT NULL,
    stopped_at  INTEGER,
    file_id     TEXT REFERENCES files(id) ON DELETE SET NULL,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    size        INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX recordings_call ON recordings(call_id, started_at);
CREATE INDEX recordings_open ON recordings(stopped_at) WHERE stopped_at IS NULL;
