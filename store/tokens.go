package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// CreateAPIToken stores a long-lived token (its hash) for a user or bot.
func (s *Store) CreateAPIToken(ctx context.Context, tokenHash, userID, name string) error {
	return s.write(ctx, "create_api_token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES (?, ?, ?, ?)",
			tokenHash, userID, name, toMillis(now()))
		return err
	})
}

// APITokenUser returns the active user an API token belongs to.
func (s *Store) APITokenUser(ctx context.Context, tokenHash string) (*User, error) {
	defer s.observe("api_token_user", time.Now())
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+prefixed("u.", userColumns)+
		" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?", tokenHash))
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, ErrDeactivated
	}
	return u, nil
}

// Webhook is an incoming webhook: a secret URL that posts into one room.
type Webhook struct {
	ID          string    `json:"id"`
	ChannelID   string    `json:"channel_id"`
	UserID      string    `json:"user_id"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateWebhook stores a webhook under the hash of its token.
func (s *Store) CreateWebhook(ctx context.Context, tokenHash, channelID, userID, creatorID, displayName string) (*Webhook, error) {
	w := &Webhook{ID: NewID(), ChannelID: channelID, UserID: userID, DisplayName: displayName, CreatedAt: now()}
	err := s.write(ctx, "create_webhook", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (id, token_hash, channel_id, user_id, creator_id, display_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, w.ID, tokenHash, channelID, userID, creatorID, displayName, toMillis(w.CreatedAt))
		return err
	})
	return w, err
}

// WebhookByToken finds a webhook by the hash of its token.
func (s *Store) WebhookByToken(ctx context.Context, tokenHash string) (*Webhook, error) {
	var w Webhook
	var created int64
	err := s.reader.QueryRowContext(ctx, "SELECT id, channel_id, user_id, display_name, created_at FROM webhooks WHERE token_hash = ?",
		tokenHash).Scan(&w.ID, &w.ChannelID, &w.UserID, &w.DisplayName, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	w.CreatedAt = fromMillis(created)
	return &w, err
}
