package forward

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// WakeChannel is the kv pub/sub channel on which a hint that statements
// were stored wakes the workers of every replica at once (the message is
// ignored). Without hints they poll.
const WakeChannel = "lrs:statements-stored"

// Options tune a Worker; zero values take the defaults.
type Options struct {
	// Poll is how often the worker looks for new statements (1s).
	Poll time.Duration
	// Grace is how long a gap in sequence numbers is waited for before
	// it is taken as a rolled-back or erased statement (30s). It must be
	// longer than any statement insert transaction.
	Grace time.Duration
	// Batch is the most statements sent in one request (100).
	Batch int
	// LeaseTTL is how long a replica keeps a target without renewing
	// its lease (30s).
	LeaseTTL time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure (1s, 10m).
	MinBackoff, MaxBackoff time.Duration
	// Parallel is how many targets are served at once (8).
	Parallel int
	// Owner names this replica in leases (random).
	Owner  string
	Logger *slog.Logger
	// Wake, when set, makes the worker look at once instead of waiting
	// for the next poll (a hint that statements were stored).
	Wake <-chan []byte
	// Attachments, when set, supplies the bytes of attachments sent
	// without a fileUrl, so they travel with their statements; without
	// it such statements go as JSON alone, which a target may refuse.
	Attachments AttachmentSource
}

func (o *Options) defaults() {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Owner == "" {
		o.Owner = uuid.NewString()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Worker delivers statements to every enabled target.
type Worker struct {
	store  Store
	sender *Sender
	opts   Options
	h      horizon
	now    func() time.Time

	wg       sync.WaitGroup
	mu       sync.Mutex
	leased   map[string]bool
	inflight map[string]bool
	// lastErr and lastLogged keep a failing database from filling the log.
	lastErr    string
	lastLogged time.Time
}

// NewWorker returns a worker over store that sends with sender (a default
// Sender when nil).
func NewWorker(store Store, sender *Sender, opts Options) *Worker {
	opts.defaults()
	if sender == nil {
		sender = NewSender(Guard{}, opts.Logger)
	}
	return &Worker{store: store, sender: sender, opts: opts, h: horizon{grace: opts.Grace}, now: time.Now,
		leased: map[string]bool{}, inflight: map[string]bool{}}
}

// Run delivers until ctx ends, then waits for deliveries in flight and
// gives up its leases so another replica takes over at once.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	defer w.releaseAll()
	defer w.wg.Wait()
	wake := w.opts.Wake
	for {
		err := w.Tick(ctx)
		if isClosed(err) {
			return // the process is closing its database
		}
		w.report(ctx, err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case _, ok := <-wake:
			if !ok {
				wake = nil // the subscription ended: polling carries on
			}
		}
	}
}

// report logs err, but the same failure at most once a minute rather
// than on every poll.
func (w *Worker) report(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if err.Error() == w.lastErr && now.Sub(w.lastLogged) < time.Minute {
		return
	}
	w.lastErr, w.lastLogged = err.Error(), now
	w.opts.Logger.Error("statement forwarding", "err", err)
}

func (w *Worker) releaseAll() {
	w.mu.Lock()
	ids := make([]string, 0, len(w.leased))
	for id := range w.leased {
		ids = append(ids, id)
	}
	w.leased = map[string]bool{}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range ids {
		_ = w.store.Release(ctx, id, w.opts.Owner)
	}
}

// Tick makes one pass over the targets: it moves the horizon and starts
// a delivery for each due target that has statements waiting and none in
// flight. It does not wait for them, so a slow or hanging target never
// holds up the others; Run waits for them when it ends.
func (w *Worker) Tick(ctx context.Context) error {
	ts, sts, err := w.store.Targets(ctx, "")
	if err != nil {
		return err
	}
	var due []int
	minCursor := int64(-1)
	now := w.now()
	for i, t := range ts {
		if !t.Enabled {
			continue
		}
		if minCursor < 0 || sts[i].Cursor < minCursor {
			minCursor = sts[i].Cursor
		}
		if sts[i].NextRetryAt == nil || !sts[i].NextRetryAt.After(now) {
			due = append(due, i)
		}
	}
	if minCursor < 0 {
		return nil
	}
	w.h.start(minCursor)
	settled, err := w.h.advance(ctx, w.store, now)
	if err != nil {
		return err
	}
	for _, i := range due {
		if sts[i].Cursor >= settled {
			continue
		}
		id := ts[i].ID
		w.mu.Lock()
		if w.inflight[id] || len(w.inflight) >= w.opts.Parallel {
			w.mu.Unlock()
			continue // busy: the next tick looks again
		}
		w.inflight[id] = true
		w.mu.Unlock()
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			err := w.deliver(ctx, ts[i], sts[i], settled)
			w.mu.Lock()
			delete(w.inflight, id)
			w.mu.Unlock()
			if err != nil && !isClosed(err) {
				w.report(ctx, err)
			}
		}()
	}
	return nil
}

// maxBatchesPerTick keeps one busy target from holding a worker slot for
// long; it continues on the next tick.
const maxBatchesPerTick = 50

// deliver sends target t what lies between its cursor and settled. Errors
// returned are the store's; a target's failures are recorded on it.
//
// A batch once started is finished even when stop ends (the worker is
// stopping): its answer and cursor move are recorded, so a clean stop
// sends nothing twice. stop is checked between batches.
func (w *Worker) deliver(stop context.Context, t Target, st State, settled int64) error {
	ctx := context.WithoutCancel(stop)
	// Remember the target before asking, so the lease is released on
	// the way out whatever happens next.
	w.mu.Lock()
	w.leased[t.ID] = true
	w.mu.Unlock()
	ok, err := w.store.Lease(ctx, t.ID, w.opts.Owner, w.now(), w.now().Add(w.opts.LeaseTTL))
	if err != nil || !ok {
		return err
	}
	// The listing this delivery started from may predate the last
	// delivery's advance (ours a moment ago, or another replica's whose
	// lease ran out): start from the state as it is now, under the lease,
	// or a batch would go twice.
	t, st, err = w.store.Target(ctx, t.BoroughID, t.ID)
	if errs.Is(err, errs.NotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if !t.Enabled || (st.NextRetryAt != nil && st.NextRetryAt.After(w.now())) {
		return nil
	}
	cursor := st.Cursor
	batch := w.opts.Batch
	for range maxBatchesPerTick {
		if cursor >= settled || stop.Err() != nil {
			return nil
		}
		entries, err := w.store.Feed(ctx, t.BoroughID, t.Filter, cursor, settled, batch)
		if err != nil {
			return err
		}
		next := settled
		if len(entries) == batch {
			next = entries[len(entries)-1].Seq
		}
		if len(entries) > 0 {
			var err error
			if parts := partsOf(entries); len(parts) > 0 && w.opts.Attachments != nil {
				_, err = w.sender.PostWithAttachments(ctx, t, batchBody(entries, t.Version), w.opts.Attachments, parts)
			} else {
				_, err = w.sender.Post(ctx, t, batchBody(entries, t.Version))
			}
			var de *DeliveryError
			if errors.As(err, &de) && de.Status == http.StatusBadRequest {
				if len(entries) > 1 {
					// One statement the target will not take must not
					// hold back the others before it: go one by one to
					// deliver those and find it.
					batch = 1
					continue
				}
				err = &DeliveryError{Status: de.Status, Msg: "statement " + entries[0].ID + " refused: " + de.Msg}
			}
			if err != nil {
				attempts := st.Attempts + 1
				now := w.now()
				return w.store.Fail(ctx, t.ID, w.opts.Owner, err.Error(), attempts, now, now.Add(Backoff(attempts, w.opts.MinBackoff, w.opts.MaxBackoff)))
			}
		}
		moved, err := w.store.Advance(ctx, t.ID, w.opts.Owner, cursor, next, len(entries), w.now())
		if err != nil || !moved {
			// Another replica took the target over (our lease ran out):
			// it continues from the cursor it finds.
			return err
		}
		st.Attempts = 0
		cursor = next
		// Renew the lease for the next batch.
		if ok, err := w.store.Lease(ctx, t.ID, w.opts.Owner, w.now(), w.now().Add(w.opts.LeaseTTL)); err != nil || !ok {
			return err
		}
	}
	return nil
}

// batchBody is the JSON array of the entries' statements as a reader of
// version sees them: as stored, except that a 1.0.3 target gets statements
// stored under 2.0 in 1.0.3 form (lrs.ForReader), which it would otherwise
// refuse for good.
func batchBody(entries []Entry, version string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		body, err := lrs.ForReader(e.Body, lrs.Version(version))
		if err != nil {
			// A stored statement is valid JSON; should conversion still
			// fail, the target judges the statement as stored.
			body = e.Body
		}
		b.Write(body)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// Backoff is the wait before attempt attempts+1 after attempts failures in
// a row: min doubled per failure up to max, with the upper half jittered
// so targets that failed together do not retry together.
func Backoff(attempts int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// isClosed reports whether err says the database has been closed, so a
// worker whose process is shutting down stops instead of retrying.
func isClosed(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database is closed") || strings.Contains(msg, "closed pool")
}
