-- The admin console: invite links, password reset links, and when each
-- user was last seen. Tokens are known by their SHA-256, like sessions:
-- the token itself is only in the link.

CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    team_id    TEXT REFERENCES teams(id) ON DELETE SET NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses   INTEGER NOT NULL CHECK (max_uses >= 1),
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);
CREATE INDEX invites_created ON invites(created_at);

-- One row per person who joined with an invite.
CREATE TABLE invite_uses (
    invite_id TEXT NOT NULL REFERENCES invites(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    used_at   INTEGER NOT NULL,
    PRIMARY KEY (invite_id, user_id)
) WITHOUT ROWID;

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_user ON password_resets(user_id);

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;

-- Retention walks posts by age.
CREATE INDEX posts_created ON posts(created_at);
