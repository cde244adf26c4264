// Package web holds the server-rendered pages of the app origin: the
// html/template templates (one base layout, shared form components, one
// file per page) and the static CSS and JavaScript they use, embedded in
// the binary. See README.md for the layout's blocks and the components.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaticPrefix is the URL path the static files are served under.
const StaticPrefix = "/static/"

// Templates is the parsed set of pages. It is safe for concurrent use.
type Templates struct {
	pages  map[string]*template.Template
	assets *Assets
}

// Assets serves the embedded static files with content hashes for cache
// busting: URL returns "/static/NAME?v=HASH", and a request carrying the
// current hash is cacheable for a year.
type Assets struct {
	files  map[string][]byte
	hashes map[string]string
	mod    time.Time
}

// NewAssets reads the embedded static files and hashes them.
func NewAssets() (*Assets, error) {
	a := &Assets{files: map[string][]byte{}, hashes: map[string]string{}, mod: time.Now().UTC()}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(b)
		a.files[name] = b
		a.hashes[name] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return a, err
}

// URL returns the versioned URL of a static file. It panics on an unknown
// name, so a typo in a template fails the first render in tests.
func (a *Assets) URL(name string) string {
	h, ok := a.hashes[name]
	if !ok {
		panic(fmt.Sprintf("web: no static file %q", name))
	}
	return StaticPrefix + name + "?v=" + h
}

// ServeHTTP serves /static/NAME. The long cache applies only when ?v= is
// the file's current hash, so an old page asking for an old version never
// pins new bytes under an old URL.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, StaticPrefix)
	b, ok := a.files[name]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	etag := `"` + a.hashes[name] + `"`
	h.Set("ETag", etag)
	if r.URL.Query().Get("v") == a.hashes[name] {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, name, a.mod, bytes.NewReader(b))
}

// Field is one labelled form control, for the "field" component. Error
// is shown beside the control and tied to it with aria-describedby.
type Field struct {
	Name         string
	Label        string
	Type         string // text, email, password, ...
	Value        string
	Hint         string
	Error        string
	Autocomplete string
	Required     bool
}

// Option is one choice of a radio group ("radios" component).
type Option struct {
	Value string
	Label string
	Hint  string
}

// Radios is a fieldset of radio buttons with a legend.
type Radios struct {
	Name    string
	Legend  string
	Hint    string
	Error   string
	Value   string
	Options []Option
}

// FormErrors maps field names to messages, in the order fields appear;
// the layout shows them as an error summary linking to each field.
type FormErrors []FieldError

// FieldError is one field's message.
type FieldError struct {
	Field   string
	Message string
}

// Add appends a message for field.
func (e *FormErrors) Add(field, msg string) { *e = append(*e, FieldError{field, msg}) }

// For returns the message for field, or "".
func (e FormErrors) For(field string) string {
	for _, fe := range e {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}

// Page is what every template receives. Data is the page's own content.
type Page struct {
	Title string
	// Borough, when set, brands the header and scopes links.
	Borough *Borough
	// User is the signed-in person's display name, or "".
	User string
	// CSRF is the double-submit token forms echo in their _csrf field.
	CSRF   string
	Errors FormErrors
	// Notice is a one-line confirmation shown at the top of main.
	Notice string
	Data   any
}

// Borough is the branding a page shows.
type Borough struct {
	Slug     string
	Name     string
	BrandCSS string // URL of the borough's colour stylesheet, or ""
	LogoURL  string
	LogoAlt  string
}

// Parse parses every page against the layout and components.
func Parse(a *Assets) (*Templates, error) {
	funcs := template.FuncMap{
		"asset": a.URL,
		"field": func(name, label, typ string, args ...any) Field {
			f := Field{Name: name, Label: label, Type: typ, Required: true}
			for i := 0; i+1 < len(args); i += 2 {
				k, _ := args[i].(string)
				switch v := args[i+1].(type) {
				case string:
					switch k {
					case "value":
						f.Value = v
					case "hint":
						f.Hint = v
					case "error":
						f.Error = v
					case "autocomplete":
						f.Autocomplete = v
					}
				case bool:
					if k == "required" {
						f.Required = v
					}
				}
			}
			return f
		},
		"radios": func(name, legend, value, errMsg string, opts []Option) Radios {
			return Radios{Name: name, Legend: legend, Value: value, Error: errMsg, Options: opts}
		},
		"percent": func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: map[string]*template.Template{}, assets: a}
	for _, n := range names {
		file := path.Base(n)
		if strings.HasPrefix(file, "_") {
			continue
		}
		clone, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := clone.ParseFS(templateFS, n); err != nil {
			return nil, err
		}
		t.pages[strings.TrimSuffix(file, ".html")] = clone
	}
	return t, nil
}

// Render writes page name with p. Pages define "title" and "main" (and
// optionally "head"); the "layout" template wraps them.
func (t *Templates) Render(w io.Writer, name string, p Page) error {
	tpl, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	entry := "layout"
	if tpl.Lookup("document") != nil {
		entry = "document" // a page with its own document shell (the certificate)
	}
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, entry, p); err != nil {
		return err
	}
	_, err := buf.WriteTo(w)
	return err
}

// Has reports whether a page template exists.
func (t *Templates) Has(name string) bool { _, ok := t.pages[name]; return ok }
