package scorm

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// Item is one entry of the organisation the player shows: a SCO the
// learner can choose, or a heading for a group of them.
type Item struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Depth int    `json:"depth"`
	// Launchable is false for headings (SCORM items with children).
	Launchable bool `json:"launchable"`
	Current    bool `json:"current"`
}

// Launch is what the player needs to run a session: the attempt, the
// values to load into the SCORM API, the SCO's URL and the organisation.
type Launch struct {
	Attempt Attempt `json:"attempt"`
	Runtime CMI     `json:"runtime"`
	SCOURL  string  `json:"scoUrl"`
	Title   string  `json:"title"`
	Items   []Item  `json:"items"`
	// ReturnURL is where the player's "back" link goes, if anywhere.
	ReturnURL string `json:"returnUrl,omitempty"`
}

// Launch returns the current session of an attempt for its player.
func (s *Service) Launch(ctx context.Context, p auth.Principal, attemptID string) (Launch, error) {
	a, err := s.Attempt(ctx, p, attemptID)
	if err != nil {
		return Launch{}, err
	}
	if p.SessionID != a.SessionID {
		return Launch{}, errs.E(errs.Conflict, "this attempt was launched again elsewhere; this player is out of date")
	}
	pkg, err := s.opts.Packages.Package(ctx, a.BoroughID, a.PackageID)
	if err != nil {
		return Launch{}, err
	}
	sco, err := findSCO(pkg, a.SCOID)
	if err != nil {
		return Launch{}, err
	}
	token, err := s.opts.Packages.ContentToken(a.BoroughID, pkg.ID, s.opts.TokenTTL)
	if err != nil {
		return Launch{}, err
	}
	title := pkg.Course.Title
	if title == "" {
		title = pkg.Title
	}
	return Launch{Attempt: a, Runtime: a.Runtime(), SCOURL: s.opts.Packages.FileURL(pkg.ID, token, sco.LaunchURL),
		Title: title, Items: organisation(pkg.Course, a.SCOID), ReturnURL: a.Meta.ReturnURL}, nil
}

// organisation flattens the course tree into the player's menu, in the
// manifest's order, leaving out hidden items.
func organisation(c content.Course, current string) []Item {
	type node struct {
		seq  int
		item Item
		kids []content.Block
	}
	var out []Item
	var walk func(aus []content.AU, blocks []content.Block, depth int)
	walk = func(aus []content.AU, blocks []content.Block, depth int) {
		var nodes []node
		for _, au := range aus {
			if au.Hidden {
				continue
			}
			nodes = append(nodes, node{seq: au.Seq, item: Item{ID: au.ID, Title: au.Title, Depth: depth, Launchable: true, Current: au.ID == current}})
		}
		for _, b := range blocks {
			nodes = append(nodes, node{seq: b.Seq, item: Item{ID: b.ID, Title: b.Title, Depth: depth}, kids: []content.Block{b}})
		}
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].seq < nodes[j].seq })
		for _, n := range nodes {
			out = append(out, n.item)
			if len(n.kids) == 1 {
				walk(n.kids[0].AUs, n.kids[0].Blocks, depth+1)
			}
		}
	}
	walk(c.AUs, c.Blocks, 0)
	return out
}

// Navigate starts (or resumes) the learner's attempt on another SCO of the
// same package and registration, for the player's previous, next and
// menu choices, and returns the new player URL.
func (s *Service) Navigate(ctx context.Context, p auth.Principal, fromAttemptID, scoID string) (string, error) {
	a, err := s.Attempt(ctx, p, fromAttemptID)
	if err != nil {
		return "", err
	}
	if scoID == "" {
		return "", errs.E(errs.Invalid, "say which item to go to")
	}
	_, url, err := s.StartAttempt(ctx, AttemptStart{BoroughID: a.BoroughID, Learner: a.Learner, LearnerID: a.LearnerID,
		LearnerName: a.LearnerName, Registration: a.Registration, PackageID: a.PackageID, SCOID: scoID,
		ReturnURL: a.Meta.ReturnURL, ModuleAU: a.Meta.ModuleAU})
	return url, err
}

// StartSCORM starts or resumes the learner's attempt on the launch's SCO
// and returns the player URL; the learner portal's launch (content/launch)
// calls it for SCORM packages. The learner's name for cmi.core.student_name
// / cmi.learner_name is learnerName, or else the agent's name.
func (s *Service) StartSCORM(ctx context.Context, l content.Launchable, registration, learnerID, learnerName string, learner json.RawMessage, returnURL string) (string, error) {
	if learnerName == "" {
		var agent struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(learner, &agent)
		learnerName = agent.Name
	}
	_, u, err := s.StartAttempt(ctx, AttemptStart{BoroughID: l.Version.BoroughID, Learner: learner, LearnerID: learnerID,
		LearnerName: learnerName, Registration: registration, PackageID: l.Package.ID, SCOID: l.AU.ID, ReturnURL: returnURL,
		ModuleAU: l.AU.ID})
	return u, err
}
