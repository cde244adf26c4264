package auth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// TestHashConcurrencyIsBounded: a burst of sign-ins computes at most
// cap(hashSlots) argon2id keys at once, so memory does not grow with the
// burst; every caller still gets a correct answer.
func TestHashConcurrencyIsBounded(t *testing.T) {
	var running, peak atomic.Int32
	idKey = func(password, salt []byte, tm, mem uint32, threads uint8, keyLen uint32) []byte {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		defer running.Add(-1)
		return argon2.IDKey(password, salt, tm, mem, threads, keyLen)
	}
	t.Cleanup(func() { idKey = argon2.IDKey })
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for i := range 4 * cap(hashSlots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "correct horse battery"
			if i%2 == 1 {
				pw = "wrong horse battery"
			}
			if VerifyPassword(hash, pw) != (i%2 == 0) {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Errorf("%d verifications gave the wrong answer", wrong.Load())
	}
	if p := peak.Load(); p > int32(cap(hashSlots)) || p < 2 {
		t.Errorf("peak concurrent argon2id computations: %d, want 2..%d", p, cap(hashSlots))
	}
}
