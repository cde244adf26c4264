package course

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/reach-london/reach/internal/errs"
)

// BuildOptions are the choices a build makes beyond the sources: today the
// borough's local slots.
type BuildOptions struct {
	Slots Slots
}

// Slots is what a borough fills without editing the course. Empty fields
// fall back to the London-wide defaults written in the sources. The JSON
// form (a logo as base64) lets a CLI or API take slots from a file.
type Slots struct {
	BoroughName string      `json:"boroughName,omitempty"` // replaces {{borough}}; "London" when empty
	Branding    Branding    `json:"branding,omitempty"`
	Offers      []Offer     `json:"offers,omitempty"`
	Contacts    []Contact   `json:"contacts,omitempty"`
	CaseStudies []CaseStudy `json:"caseStudies,omitempty"`
}

// Branding is the borough's look. The colour is used for links, buttons
// and the header, so it must keep text readable (contrast at least 4.5:1
// against white).
type Branding struct {
	PrimaryColour string `json:"primaryColour,omitempty"` // "#rrggbb"
	LogoURL       string `json:"logoUrl,omitempty"`       // an https URL of the logo; or give Logo bytes
	Logo          []byte `json:"logo,omitempty"`          // the logo file, packaged with the course
	LogoType      string `json:"logoType,omitempty"`      // Logo's media type: image/png, image/jpeg, image/svg+xml or image/webp
	LogoAlt       string `json:"logoAlt,omitempty"`       // the logo's text alternative; defaults to "<borough> logo"
}

// Offer is one entry of the local offers directory.
type Offer struct {
	Name         string `json:"name,omitempty"`
	Organisation string `json:"organisation,omitempty"`
	Description  string `json:"description,omitempty"` // what happens
	WhoFor       string `json:"whoFor,omitempty"`
	WhereWhen    string `json:"whereWhen,omitempty"`
	Cost         string `json:"cost,omitempty"`
	Access       string `json:"access,omitempty"` // access needs met
	HowToRefer   string `json:"howToRefer,omitempty"`
	Contact      string `json:"contact,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Contact is a local contact or referral route.
type Contact struct {
	Name         string `json:"name,omitempty"`
	Role         string `json:"role,omitempty"`
	Organisation string `json:"organisation,omitempty"`
	Email        string `json:"email,omitempty"`
	Phone        string `json:"phone,omitempty"`
	URL          string `json:"url,omitempty"`
	Notes        string `json:"notes,omitempty"`
}

// CaseStudy is a local case study. Body is plain text; blank lines
// separate paragraphs.
type CaseStudy struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

const (
	maxSlotText = 5000
	maxLogo     = 512 << 10
)

var (
	hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	logoTypes = map[string]string{"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg", "image/webp": "webp"}
)

// borough returns the name {{borough}} becomes.
func (s Slots) borough() string {
	if n := strings.TrimSpace(s.BoroughName); n != "" {
		return n
	}
	return "London"
}

// validate checks the slots so that a bad value is refused with a clear
// message instead of producing a broken or inaccessible course.
func (s Slots) validate() error {
	var bad []string
	text := func(field, v string) {
		if len(v) > maxSlotText {
			bad = append(bad, fmt.Sprintf("%s is longer than %d characters", field, maxSlotText))
		}
	}
	link := func(field, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad = append(bad, fmt.Sprintf("%s %q must be an http(s) URL", field, v))
		}
	}
	if len(s.BoroughName) > 100 {
		bad = append(bad, "borough name is longer than 100 characters")
	}
	b := s.Branding
	if b.PrimaryColour != "" {
		if !hexColour.MatchString(b.PrimaryColour) {
			bad = append(bad, fmt.Sprintf("primary colour %q must look like #1d4f91", b.PrimaryColour))
		} else if r := contrast(b.PrimaryColour, "#ffffff"); r < 4.5 {
			bad = append(bad, fmt.Sprintf("primary colour %s has contrast %.2f:1 against white; it needs at least 4.5:1 to keep text readable (choose a darker colour)", b.PrimaryColour, r))
		}
	}
	link("logo URL", b.LogoURL)
	if b.LogoURL != "" && !strings.HasPrefix(b.LogoURL, "https://") {
		bad = append(bad, "logo URL must use https")
	}
	if len(b.Logo) > 0 {
		if b.LogoURL != "" {
			bad = append(bad, "give either a logo file or a logo URL, not both")
		}
		if _, ok := logoTypes[b.LogoType]; !ok {
			bad = append(bad, fmt.Sprintf("logo type %q must be image/png, image/jpeg, image/svg+xml or image/webp", b.LogoType))
		}
		if len(b.Logo) > maxLogo {
			bad = append(bad, fmt.Sprintf("logo is %d bytes; the limit is %d", len(b.Logo), maxLogo))
		}
	}
	text("logo text alternative", b.LogoAlt)
	for i, o := range s.Offers {
		f := fmt.Sprintf("offer %d", i+1)
		if strings.TrimSpace(o.Name) == "" {
			bad = append(bad, f+" needs a name")
		}
		for _, v := range []string{o.Name, o.Organisation, o.Description, o.WhoFor, o.WhereWhen, o.Cost, o.Access, o.HowToRefer, o.Contact} {
			text(f, v)
		}
		link(f+" URL", o.URL)
	}
	for i, c := range s.Contacts {
		f := fmt.Sprintf("contact %d", i+1)
		if strings.TrimSpace(c.Name) == "" && strings.TrimSpace(c.Organisation) == "" {
			bad = append(bad, f+" needs a name or an organisation")
		}
		for _, v := range []string{c.Name, c.Role, c.Organisation, c.Email, c.Phone, c.Notes} {
			text(f, v)
		}
		if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " <>\"")) {
			bad = append(bad, fmt.Sprintf("%s email %q is not an email address", f, c.Email))
		}
		link(f+" URL", c.URL)
	}
	for i, cs := range s.CaseStudies {
		f := fmt.Sprintf("case study %d", i+1)
		if strings.TrimSpace(cs.Title) == "" || strings.TrimSpace(cs.Body) == "" {
			bad = append(bad, f+" needs a title and a body")
		}
		text(f, cs.Title)
		if len(cs.Body) > 4*maxSlotText {
			bad = append(bad, fmt.Sprintf("%s is longer than %d characters", f, 4*maxSlotText))
		}
	}
	if len(bad) > 0 {
		return errs.E(errs.Invalid, "local slots: %s", strings.Join(bad, "; "))
	}
	return nil
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}
