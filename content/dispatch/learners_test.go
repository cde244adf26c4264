package dispatch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

func TestLearnerHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", DefaultLearnerName},
		{" \t\n ", DefaultLearnerName},
		{"  Doe,  Jane ", "Doe, Jane"},
		{"A\x00B\u0085C", "A B C"},
		{strings.Repeat("é", 250), strings.Repeat("é", 200)},
		{"\xff\xfe", DefaultLearnerName},
	} {
		if got := LearnerName(tc.in); got != tc.want {
			t.Errorf("LearnerName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"", false}, {"   ", false}, {"s1", true}, {strings.Repeat("x", 255), true}, {strings.Repeat("x", 256), false},
	} {
		if err := CheckStudentID(tc.id); (err == nil) != tc.ok || (err != nil && !errs.Is(err, errs.Invalid)) {
			t.Errorf("CheckStudentID(%d chars): %v", len(tc.id), err)
		}
	}
	// Every dispatch id makes an address the account store accepts.
	for i := 0; i < 200; i++ {
		id := "dsp_" + random(12)
		e := auth.NormalizeEmail(LearnerEmail(id, StudentKey(fmt.Sprint(i))))
		if err := auth.ValidateEmail(e); err != nil || !strings.HasSuffix(e, "@dispatch.invalid") {
			t.Fatalf("LearnerEmail for %s = %q: %v", id, e, err)
		}
	}
	if k := StudentKey("s1"); len(k) != 64 || k == StudentKey("s2") {
		t.Errorf("StudentKey = %q", k)
	}
}

func TestClaim(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, url)
			d, err := s.Create(ctx, "camden", "admin", "Moodle", 2)
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				student, newUser string
				wantUser         string
				created          bool
				kind             errs.Kind
				fails            bool
			}{
				{"s1", "u1", "u1", true, 0, false},
				{"s1", "u9", "u1", false, 0, false},
				{"", "u9", "", false, errs.Invalid, true},
				{"s2", "u2", "u2", true, 0, false},
				{"s3", "u3", "", false, errs.Forbidden, true},
				{"s2", "u9", "u2", false, 0, false},
			}
			for i, st := range steps {
				l, created, err := s.Claim(ctx, d, st.student, st.newUser)
				if st.fails {
					if !errs.Is(err, st.kind) {
						t.Errorf("step %d: err = %v, want %v", i, err, st.kind)
					}
					continue
				}
				if err != nil || l.UserID != st.wantUser || created != st.created || l.StudentKey != StudentKey(st.student) {
					t.Errorf("step %d: got %+v created=%v err=%v", i, l, created, err)
				}
			}
			if _, _, err := s.Claim(ctx, d, "s3", "u3"); err == nil || !strings.Contains(err.Error(), LimitMessage) {
				t.Errorf("full dispatch: %v", err)
			}
			if n, _ := s.CountLearners(ctx, d.ID); n != 2 {
				t.Errorf("CountLearners = %d, want 2", n)
			}
			other, err := s.Create(ctx, "hackney", "admin", "Totara", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Claim(ctx, other, "s1", "h1"); err != nil {
				t.Fatal(err)
			}
			if m, err := s.LearnerCounts(ctx, "camden"); err != nil || len(m) != 1 || m[d.ID] != 2 {
				t.Errorf("LearnerCounts(camden) = %v, %v; want only %s: 2", m, err, d.ID)
			}
			if m, err := s.LearnerCounts(ctx, "islington"); err != nil || len(m) != 0 {
				t.Errorf("LearnerCounts of a borough without dispatches = %v, %v", m, err)
			}
			if ok, _ := s.LearnerOf(ctx, d.ID, "u2"); !ok {
				t.Error("LearnerOf(u2) = false")
			}
			if ok, _ := s.LearnerOf(ctx, d.ID, "u3"); ok {
				t.Error("LearnerOf(u3) = true")
			}

			// Erasure in another borough leaves the mapping; in its own it
			// frees the slot.
			if n, err := s.EraseLearner(ctx, "hackney", "u1"); err != nil || n != 0 {
				t.Fatalf("erase in another borough: %d %v", n, err)
			}
			if n, err := s.EraseLearner(ctx, "camden", "u1"); err != nil || n != 1 {
				t.Fatalf("erase: %d %v", n, err)
			}
			if ok, _ := s.LearnerOf(ctx, d.ID, "u1"); ok {
				t.Error("the erased learner is still mapped")
			}
			if l, created, err := s.Claim(ctx, d, "s3", "u3"); err != nil || !created || l.UserID != "u3" {
				t.Errorf("claim after erasure: %+v %v %v", l, created, err)
			}

			// Revoked: returning students are refused by ByToken before
			// they get here; a new claim is refused too.
			if _, err := s.Revoke(ctx, "camden", d.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Claim(ctx, d, "s4", "u4"); !errs.Is(err, errs.Forbidden) {
				t.Errorf("revoked: %v", err)
			}
		})
	}
}

// TestClaimRace claims from many goroutines at once: the limit holds and
// one student gets one learner.
func TestClaimRace(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, url)
			d, err := s.Create(ctx, "camden", "admin", "Moodle", 3)
			if err != nil {
				t.Fatal(err)
			}
			const n = 12
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, full := 0, 0
			users := map[string]bool{}
			for i := 0; i < n; i++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, _, err := s.Claim(ctx, d, fmt.Sprintf("student-%d", i), fmt.Sprintf("user-%d", i))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errs.Is(err, errs.Forbidden):
						full++
					default:
						t.Errorf("claim %d: %v", i, err)
					}
				}()
				go func() {
					defer wg.Done()
					l, _, err := s.Claim(ctx, d, "same", fmt.Sprintf("same-%d", i))
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						users[l.UserID] = true
					} else if !errs.Is(err, errs.Forbidden) {
						t.Errorf("same student %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			count, _ := s.CountLearners(ctx, d.ID)
			if count != 3 || len(users) > 1 || ok+len(users) != 3 || ok+full != n {
				t.Errorf("count %d, distinct ok %d, full %d, users of one student %v", count, ok, full, users)
			}
		})
	}
}

// fakeAccounts keeps accounts in memory; failCreate makes the next
// CreateUser fail with that error after storing the account (a request
// that lost the race to make it).
type fakeAccounts struct {
	mu         sync.Mutex
	users      map[string]auth.User
	creates    int
	failCreate error
}

func (f *fakeAccounts) LearnerIn(_ context.Context, boroughID, userID string) (auth.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[userID]
	if !ok || u.BoroughID != boroughID || u.Role != auth.RoleLearner {
		return auth.User{}, errs.E(errs.NotFound, "no learner %q", userID)
	}
	return u, nil
}

func (f *fakeAccounts) CreateUser(_ context.Context, _ string, n auth.NewUser) (auth.User, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := auth.User{ID: n.ID, BoroughID: n.BoroughID, Email: n.Email, Name: n.Name, Role: n.Role, Status: auth.StatusActive}
	f.users[u.ID] = u
	if err := f.failCreate; err != nil {
		f.failCreate = nil
		return auth.User{}, "", err
	}
	f.creates++
	return u, "generated", nil
}

func TestLearnerFor(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, url)
			d, err := s.Create(ctx, "camden", "admin", "Moodle", 0)
			if err != nil {
				t.Fatal(err)
			}
			acc := &fakeAccounts{users: map[string]auth.User{}}
			u, created, err := s.LearnerFor(ctx, acc, d, "s1", " Doe, Jane ")
			if err != nil || !created || u.Name != "Doe, Jane" || u.Role != auth.RoleLearner || u.BoroughID != "camden" ||
				u.Email != LearnerEmail(d.ID, StudentKey("s1")) {
				t.Fatalf("first visit: %+v %v %v", u, created, err)
			}
			again, created, err := s.LearnerFor(ctx, acc, d, "s1", "Someone Else")
			if err != nil || created || again.ID != u.ID || acc.creates != 1 {
				t.Fatalf("second visit: %+v %v %v (creates %d)", again, created, err, acc.creates)
			}
			// Another request made the account first.
			acc.failCreate = errs.E(errs.Conflict, "exists")
			raced, created, err := s.LearnerFor(ctx, acc, d, "s2", "")
			if err != nil || created || raced.Name != DefaultLearnerName {
				t.Fatalf("raced: %+v %v %v", raced, created, err)
			}
			// Deactivated learners are refused.
			acc.mu.Lock()
			x := acc.users[u.ID]
			x.Status = auth.StatusDeactivated
			acc.users[u.ID] = x
			acc.mu.Unlock()
			if _, _, err := s.LearnerFor(ctx, acc, d, "s1", ""); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("deactivated: %v", err)
			}
			// A failure to make the account leaves the claim, and the next
			// visit makes it.
			acc.failCreate = errs.E(errs.Unavailable, "down")
			if _, _, err := s.LearnerFor(ctx, acc, d, "s3", ""); !errs.Is(err, errs.Unavailable) {
				t.Fatalf("account store down: %v", err)
			}
			acc.mu.Lock()
			acc.users = map[string]auth.User{} // the failed request stored nothing after all
			acc.mu.Unlock()
			if u3, created, err := s.LearnerFor(ctx, acc, d, "s3", ""); err != nil || !created {
				t.Fatalf("after the failure: %+v %v %v", u3, created, err)
			}
		})
	}
}
