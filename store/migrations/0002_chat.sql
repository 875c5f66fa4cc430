-- Teams, rooms (channels, DMs, group DMs, discussions), posts, reactions,
-- files and message search.

CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    display_name TEXT NOT NULL,
    creator_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;
CREATE INDEX team_members_user ON team_members(user_id);

-- kind: public and private channels belong to a team; dm (2 people) and
-- group (3-8) are found again by dm_key, the sorted member ids, so asking
-- twice gives the same room; a discussion hangs under parent_id.
CREATE TABLE channels (
    id             TEXT PRIMARY KEY,
    team_id        TEXT REFERENCES teams(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('public', 'private', 'dm', 'group', 'discussion')),
    name           TEXT NOT NULL DEFAULT '',
    display_name   TEXT NOT NULL DEFAULT '',
    header         TEXT NOT NULL DEFAULT '',
    purpose        TEXT NOT NULL DEFAULT '',
    parent_id      TEXT REFERENCES channels(id) ON DELETE CASCADE,
    parent_post_id TEXT,
    dm_key         TEXT UNIQUE,
    creator_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    last_post_at   INTEGER NOT NULL DEFAULT 0,
    archived_at    INTEGER,
    deleted_at     INTEGER
);
CREATE UNIQUE INDEX channels_team_name ON channels(team_id, name COLLATE NOCASE)
    WHERE team_id IS NOT NULL AND deleted_at IS NULL AND kind IN ('public', 'private');
CREATE INDEX channels_parent ON channels(parent_id) WHERE parent_id IS NOT NULL;

-- last_read_pk is the newest post the member has seen (posts.pk).
CREATE TABLE channel_members (
    channel_id    TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_read_pk  INTEGER NOT NULL DEFAULT 0,
    mention_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
CREATE INDEX channel_members_user ON channel_members(user_id);

-- pk gives posts a total order (ids are random); paging walks it.
CREATE TABLE posts (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    channel_id    TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id),
    root_id       TEXT,
    type          TEXT NOT NULL DEFAULT '',
    message       TEXT NOT NULL,
    props         TEXT NOT NULL DEFAULT '{}',
    reply_count   INTEGER NOT NULL DEFAULT 0,
    last_reply_at INTEGER,
    created_at    INTEGER NOT NULL,
    edited_at     INTEGER,
    deleted_at    INTEGER
);
CREATE INDEX posts_channel ON posts(channel_id, pk);
CREATE INDEX posts_root ON posts(root_id, pk) WHERE root_id IS NOT NULL;

CREATE TABLE reactions (
    post_id    TEXT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, emoji, user_id)
) WITHOUT ROWID;

-- A file row names a blob (files/<sha256>) written before the row.
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id),
    channel_id   TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    post_id      TEXT REFERENCES posts(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX files_post ON files(post_id) WHERE post_id IS NOT NULL;
CREATE INDEX files_sha ON files(sha256);

-- Full-text search over live messages, kept in step by triggers.
CREATE VIRTUAL TABLE posts_fts USING fts5(
    message, content='posts', content_rowid='pk', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO posts_fts(rowid, message) VALUES (new.pk, new.message);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF message, deleted_at ON posts BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, message) SELECT 'delete', old.pk, old.message WHERE old.deleted_at IS NULL;
    INSERT INTO posts_fts(rowid, message) SELECT new.pk, new.message WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO posts_fts(posts_fts, rowid, message) VALUES ('delete', old.pk, old.message);
END;

-- Incoming webhooks: a bot user posts into one channel with a secret URL.
CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    channel_id   TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    creator_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);

-- Long-lived API tokens for bots and integrations (sessions expire).
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
