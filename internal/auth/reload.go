package auth

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// A request naming a signing key or an LRS key this replica does not know
// may be naming one another replica has just made, so it is worth a look
// in the database; but anyone can send such requests, as fast as they
// like, each with a new random id. A reloader makes that look cheap to
// offer: concurrent callers share one database read, and after a small
// burst at most one read happens per interval. Unknown ids that arrive
// while the budget is spent are refused without one; keys made on
// another replica reach this one through a kv message at once (see
// FollowKeyChanges), so the budget only matters when that message is lost.
type reloader struct {
	limit *rate.Limiter
	group singleflight.Group
}

// reloadBurst is how many reloads may happen back to back before the
// interval applies.
const reloadBurst = 2

// DefaultReloadInterval is Options.ReloadInterval's default.
const DefaultReloadInterval = 5 * time.Second

func newReloader(interval time.Duration) *reloader {
	return &reloader{limit: rate.NewLimiter(rate.Every(interval), reloadBurst)}
}

// run calls load, unless the budget is spent and force is false, and
// reports whether it ran. Callers arriving while a load runs wait for it
// and share its outcome.
func (r *reloader) run(ctx context.Context, force bool, load func(context.Context) error) (bool, error) {
	v, err, _ := r.group.Do("", func() (any, error) {
		if !force && !r.limit.Allow() {
			return false, nil
		}
		// The caller that started the load may go away; the others
		// still want its result.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return true, load(lctx)
	})
	ran, _ := v.(bool)
	return ran, err
}
