package forward

import (
	"context"
	"time"
)

// horizon tracks the settled sequence: the highest seq at or below which
// every statement is either visible or never will be. The worker delivers
// only up to it.
//
// Sequence numbers are taken before the inserting transaction commits
// (PostgreSQL identity values, and any store that numbers rows before
// COPY), so a statement with a lower seq can become visible after one
// with a higher seq. Reading past such a gap would skip the late
// statement for good. Two rules move the horizon:
//
//   - a contiguous run of visible seqs above it is settled at once, so
//     the usual case has no delay;
//   - a gap is passed only once it is older than the grace period: every
//     seq at or below the highest seq visible grace ago was taken before
//     then, and no insert transaction lasts that long, so it has
//     committed or rolled back (or was erased).
type horizon struct {
	grace   time.Duration
	settled int64
	started bool
	snaps   []snapshot
}

type snapshot struct {
	at  time.Time
	max int64
}

// pageSize and maxPages bound one walk over visible seqs.
const (
	horizonPage  = 1000
	horizonPages = 50
)

// start sets the horizon the first time there is something to deliver:
// the lowest cursor of the targets, since a cursor never passes an
// unsettled seq.
func (h *horizon) start(from int64) {
	if !h.started {
		h.settled, h.started = from, true
	}
}

// advance moves the horizon as far as the two rules allow at now.
func (h *horizon) advance(ctx context.Context, s SeqSource, now time.Time) (int64, error) {
	max, err := s.MaxSeq(ctx)
	if err != nil {
		return h.settled, err
	}
	h.snaps = append(h.snaps, snapshot{at: now, max: max})
	for len(h.snaps) > 0 && now.Sub(h.snaps[0].at) >= h.grace {
		if h.snaps[0].max > h.settled {
			h.settled = h.snaps[0].max
		}
		h.snaps = h.snaps[1:]
	}
	for page := 0; page < horizonPages; page++ {
		seqs, err := s.Seqs(ctx, h.settled, horizonPage)
		if err != nil {
			return h.settled, err
		}
		for _, seq := range seqs {
			if seq != h.settled+1 {
				return h.settled, nil
			}
			h.settled = seq
		}
		if len(seqs) < horizonPage {
			break
		}
	}
	return h.settled, nil
}
