package secretbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustBox(t testing.TB, current []byte, previous ...[]byte) *Box {
	t.Helper()
	b, err := New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	oldKey, newKey := NewKey(), NewKey()
	old := mustBox(t, oldKey)
	rotated := mustBox(t, newKey, oldKey)
	sealedOld := old.Seal([]byte("s3cret"), "t/1")

	tests := []struct {
		name    string
		box     *Box
		stored  []byte
		where   string
		want    string
		wantErr string
	}{
		{"same key and place", old, sealedOld, "t/1", "s3cret", ""},
		{"previous key still opens", rotated, sealedOld, "t/1", "s3cret", ""},
		{"another place", old, sealedOld, "t/2", "", "altered or belongs elsewhere"},
		{"unknown key", mustBox(t, newKey), sealedOld, "t/1", "", "neither REACH_SECRETS_KEY"},
		{"no key", nil, sealedOld, "t/1", "", "no secrets key is set"},
		{"plaintext passes through", old, []byte("legacy"), "t/1", "legacy", ""},
		{"plaintext without a key", nil, []byte("legacy"), "t/1", "legacy", ""},
		{"empty", old, nil, "t/1", "", ""},
		{"no key id", old, []byte(prefix + "abc"), "t/1", "", "no key id"},
		{"not base64", old, []byte(prefix + old.CurrentKeyID() + ":!!!"), "t/1", "", "malformed"},
		{"too short", old, []byte(prefix + old.CurrentKeyID() + ":AAAA"), "t/1", "", "malformed"},
		{"altered", old, flipInside(sealedOld), "t/1", "", "altered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Open(tc.stored, tc.where)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Open = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := (*Box)(nil).Open(sealedOld, "t/1"); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil Box: %v, want ErrNoKey", err)
	}
}

// flipInside changes one base64 character well inside the sealed body
// (the last one may carry only padding bits, which decode the same).
func flipInside(b []byte) []byte {
	out := bytes.Clone(b)
	i := len(out) - 10
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func TestSealHidesAndVaries(t *testing.T) {
	b := mustBox(t, NewKey())
	one, two := b.Seal([]byte("s3cret"), "x"), b.Seal([]byte("s3cret"), "x")
	if bytes.Contains(one, []byte("s3cret")) {
		t.Errorf("sealed value shows the secret: %s", one)
	}
	if bytes.Equal(one, two) {
		t.Error("two seals of one value are equal; the nonce must differ")
	}
	if !Sealed(one) || !b.Current(one) {
		t.Errorf("Sealed/Current of a fresh seal: %v/%v", Sealed(one), b.Current(one))
	}
	if got := (*Box)(nil).Seal([]byte("plain"), "x"); string(got) != "plain" {
		t.Errorf("nil Box Seal = %q, want it unchanged", got)
	}
	if got := b.Seal(nil, "x"); len(got) != 0 {
		t.Errorf("Seal of nothing = %q, want nothing", got)
	}
	rotated := mustBox(t, NewKey(), NewKey())
	if rotated.Current(one) || rotated.Current([]byte("plain")) || !rotated.Current(nil) {
		t.Error("Current: a value of another key or plaintext must need resealing, an empty one not")
	}
}

func TestParseKey(t *testing.T) {
	k := NewKey()
	for _, s := range []string{EncodeKey(k), " " + EncodeKey(k) + "\n", strings.TrimRight(EncodeKey(k), "=")} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "not base64 !", EncodeKey(k[:16])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := New(k[:16]); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}

// FuzzOpen: no stored value makes Open panic, and whatever it opens was
// sealed by this box for this place (or was never sealed).
func FuzzOpen(f *testing.F) {
	b := mustBox(f, bytes.Repeat([]byte{7}, KeySize))
	f.Add(b.Seal([]byte("s3cret"), "p"), "p")
	f.Add([]byte(prefix+b.CurrentKeyID()+":"), "p")
	f.Add([]byte("plain"), "p")
	f.Fuzz(func(t *testing.T, stored []byte, where string) {
		got, err := b.Open(stored, where)
		if err == nil && Sealed(stored) {
			// Opened: sealing it again must open to the same value.
			again, err := b.Open(b.Seal(got, where), where)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("reseal of an opened value: %q, %v", again, err)
			}
		}
		if err == nil && !Sealed(stored) && !bytes.Equal(got, stored) {
			t.Fatalf("plaintext changed: %q -> %q", stored, got)
		}
	})
}
