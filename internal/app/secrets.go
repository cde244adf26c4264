package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/lrs/sqlstore"
)

// openSecrets returns the box that seals stored secrets. REACH_SECRETS_KEY
// wins; the embedded setup (SQLite in the data directory) otherwise keeps
// a key file beside its database; PostgreSQL without a key gets no box, so
// secrets are stored unsealed, and a warning says so: replicas need one key
// shared from outside the database, which only the operator can give.
func openSecrets(cfg config.Config, log *slog.Logger) (*secretbox.Box, error) {
	current, previous, err := cfg.SecretsKeys()
	if err != nil {
		return nil, err
	}
	if current != nil {
		return secretbox.New(current, previous...)
	}
	if cfg.DatabaseURL != "" {
		log.Warn("REACH_SECRETS_KEY is not set: forwarding credentials and token-signing keys are stored unsealed in PostgreSQL; set it, the same on every replica, and run 'reach secrets reseal'")
		return nil, nil
	}
	key, err := keyFile(cfg.SecretsKeyFile())
	if err != nil {
		return nil, fmt.Errorf("secrets key file (REACH_DATA_DIR): %w", err)
	}
	return secretbox.New(key)
}

// keyFile reads the key at path, creating it (mode 0600) on first use. Two
// processes starting at once agree: the file appears whole, by link, and
// the loser reads the winner's key.
func keyFile(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return secretbox.ParseKey(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(secretbox.EncodeKey(secretbox.NewKey()) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return secretbox.ParseKey(string(b))
}

// ResealSecrets seals every stored secret with the current key: those
// stored before a key was set and those sealed with a previous key.
func (a *App) ResealSecrets(ctx context.Context) (targets, signingKeys int, err error) {
	if a.Secrets == nil {
		return 0, 0, errors.New("REACH_SECRETS_KEY is not set: there is no key to seal with")
	}
	if targets, err = sqlstore.NewForwardStore(a.DB, a.Secrets).ResealSecrets(ctx); err != nil {
		return 0, 0, err
	}
	if signingKeys, err = authsql.New(a.DB, a.Secrets).ResealSigningKeys(ctx); err != nil {
		return targets, 0, err
	}
	return targets, signingKeys, nil
}
