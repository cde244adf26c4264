// Package secretbox seals the few secrets Reach must be able to read back
// (the credentials a borough gives for a forwarding target, the private
// keys that sign tokens) before they are stored, so a copy of the database
// or one of its backups does not hand them out.
//
// A sealed value is AES-256-GCM under a 32-byte key that is kept outside
// the database (REACH_SECRETS_KEY, the same on every replica), bound to
// where it is stored (the table and row), and written as
//
//	reach-sealed:v1:<key id>:<base64url of nonce and ciphertext>
//
// where the key id is the first 8 hex digits of the key's SHA-256. Previous
// keys can still open what they sealed, so keys can be rotated: set the new
// key, keep the old one as a previous key, reseal, then drop it.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes.
const KeySize = 32

const prefix = "reach-sealed:v1:"

// ErrNoKey is returned when a sealed value is read but no key is set.
var ErrNoKey = errors.New("the value is sealed, but no secrets key is set (REACH_SECRETS_KEY)")

// Box seals and opens values. A nil *Box stores values as they are and
// refuses to open sealed ones (ErrNoKey); that is how a deployment without
// a key behaves.
type Box struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a Box that seals with current and opens what current or any
// of previous sealed. Every key must be KeySize bytes.
func New(current []byte, previous ...[]byte) (*Box, error) {
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{current}, previous...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("a secrets key must be %d bytes, got %d", KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(k)
		if i == 0 {
			b.current = id
		}
		b.aeads[id] = aead
	}
	return b, nil
}

// KeyID names a key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// EncodeKey writes a key as base64, the form ParseKey reads.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey reads a key written as base64 (standard or URL alphabet, padded
// or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("the key is %d bytes; it must be %d (generate one with 'reach secrets new-key')", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("the key is not base64 (generate one with 'reach secrets new-key')")
}

// Sealed reports whether stored is a sealed value.
func Sealed(stored []byte) bool { return bytes.HasPrefix(stored, []byte(prefix)) }

// Seal seals plain for the place named by where (such as
// "lrs_forward_targets.auth_secret/" + id); Open must be given the same
// place. An empty value stays empty: there is nothing to hide, and "no
// secret" stays recognisable. A nil Box returns plain unchanged.
func (b *Box) Seal(plain []byte, where string) []byte {
	if b == nil || len(plain) == 0 {
		return plain
	}
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	sealed := aead.Seal(nonce, nonce, plain, []byte(where))
	out := make([]byte, 0, len(prefix)+len(b.current)+1+base64.RawURLEncoding.EncodedLen(len(sealed)))
	out = append(out, prefix...)
	out = append(out, b.current...)
	out = append(out, ':')
	return base64.RawURLEncoding.AppendEncode(out, sealed)
}

// Open returns the value stored at where. A value that is not sealed (one
// stored before a key was set) is returned as it is.
func (b *Box) Open(stored []byte, where string) ([]byte, error) {
	if !Sealed(stored) {
		return stored, nil
	}
	if b == nil {
		return nil, ErrNoKey
	}
	id, body, ok := bytes.Cut(stored[len(prefix):], []byte(":"))
	if !ok {
		return nil, errors.New("a sealed value is malformed (no key id)")
	}
	aead, ok := b.aeads[string(id)]
	if !ok {
		return nil, fmt.Errorf("a value is sealed with key %s, which is neither REACH_SECRETS_KEY (%s) nor one of REACH_SECRETS_KEYS_PREVIOUS", id, b.current)
	}
	raw, err := base64.RawURLEncoding.AppendDecode(nil, body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("a sealed value is malformed")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(where))
	if err != nil {
		return nil, fmt.Errorf("a sealed value does not open with key %s: it was altered or belongs elsewhere", id)
	}
	return plain, nil
}

// Current reports whether stored needs no resealing: it is sealed with the
// current key, or it is empty. With a nil Box nothing can be resealed, so
// every value counts as current.
func (b *Box) Current(stored []byte) bool {
	if b == nil || len(stored) == 0 {
		return true
	}
	return bytes.HasPrefix(stored, []byte(prefix+b.current+":"))
}

// CurrentKeyID is the id of the key that seals.
func (b *Box) CurrentKeyID() string {
	if b == nil {
		return ""
	}
	return b.current
}
