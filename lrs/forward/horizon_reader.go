package forward

import (
	"context"
	"sync"
	"time"
)

// DefaultGrace is how long a gap in sequence numbers is waited for when no
// grace is given: longer than any statement insert transaction.
const DefaultGrace = 30 * time.Second

// SeqSource is what the settled-sequence tracker reads: the statement
// sequence numbers that are visible now.
type SeqSource interface {
	Seqs(ctx context.Context, after int64, limit int) ([]int64, error)
	MaxSeq(ctx context.Context) (int64, error)
}

// Horizon lets other readers of the statement feed (the reports
// projector) read only settled statements, by the same two rules the
// forwarding worker follows (see horizon).
type Horizon struct {
	mu  sync.Mutex
	h   horizon
	src SeqSource
	now func() time.Time
}

// NewHorizon tracks src's settled sequence from the start, passing gaps
// older than grace (DefaultGrace if 0).
func NewHorizon(src SeqSource, grace time.Duration) *Horizon {
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Horizon{h: horizon{grace: grace}, src: src, now: time.Now}
}

// Settled returns the highest sequence at or below which every statement
// is visible or never will be.
func (z *Horizon) Settled(ctx context.Context) (int64, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.h.start(0)
	return z.h.advance(ctx, z.src, z.now())
}
